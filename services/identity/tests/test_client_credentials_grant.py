"""The client-credentials grant's lean path: replay, account status, audience and expiry checks, and its own input limits."""
import httpx
from sqlalchemy import update
from sqlmodel import Session

from kernel.testing import serve
from identity import service_accounts
from identity.app import create_app
from identity.models import ServiceAccount
from .helpers import ASSERTION_TYPE, assertion, new_key, unique


def _account(engine) -> dict:
    key, client_id = new_key(), unique("svc")
    with Session(engine) as session:
        service_accounts.upsert(session, client_id=client_id, name="Test service", public_key=key.as_dict(private=False),
                                scopes=["messaging.send"], roles=["service"])
        session.commit()
    return {"client_id": client_id, "key": key}


def _fields(base_url: str, account: dict, client_assertion: str | None = None) -> dict:
    return {"grant_type": "client_credentials", "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": client_assertion or assertion(account["key"], account["client_id"], f"{base_url}/oauth/token")}


def _grant(base_url: str, account: dict, *, client_assertion: str | None = None) -> httpx.Response:
    return httpx.post(f"{base_url}/oauth/token", data=_fields(base_url, account, client_assertion))


def test_replayed_service_assertion_is_refused(base_url, engine):
    account = _account(engine)
    reused = assertion(account["key"], account["client_id"], f"{base_url}/oauth/token")

    first = _grant(base_url, account, client_assertion=reused)
    second = _grant(base_url, account, client_assertion=reused)

    assert first.status_code == 200
    assert second.status_code == 400 and second.json() == {"error": "invalid_assertion",
                                                           "error_description": "The client assertion was already used."}


def test_deactivated_service_account_gets_no_token_from_the_next_request(base_url, engine):
    account = _account(engine)
    assert _grant(base_url, account).status_code == 200
    with Session(engine) as session:
        session.exec(update(ServiceAccount).where(ServiceAccount.client_id == account["client_id"]).values(status="inactive"))
        session.commit()

    response = _grant(base_url, account)

    assert response.status_code == 400 and response.json()["error"] == "invalid_assertion"


def test_assertion_signed_by_another_key_is_refused(base_url, engine):
    account = _account(engine)
    forged = assertion(new_key(), account["client_id"], f"{base_url}/oauth/token")

    response = _grant(base_url, account, client_assertion=forged)

    assert response.status_code == 400 and response.json()["error"] == "invalid_assertion"


def test_assertion_for_another_audience_is_refused(base_url, engine):
    account = _account(engine)

    response = _grant(base_url, account, client_assertion=assertion(account["key"], account["client_id"], "https://elsewhere.example/token"))

    assert response.status_code == 400 and response.json()["error"] == "invalid_assertion"


def test_expired_assertion_is_refused(base_url, engine):
    account = _account(engine)
    expired = assertion(account["key"], account["client_id"], f"{base_url}/oauth/token", iat=1_600_000_000, exp=1_600_000_120)

    response = _grant(base_url, account, client_assertion=expired)

    assert response.status_code == 400 and response.json()["error"] == "invalid_assertion"


def test_refused_assertion_does_not_spend_its_jti(base_url, engine):
    account = _account(engine)
    other = _account(engine)
    jti = unique("jti")
    # The same jti under another client's name, signed by the wrong key: refused before anything is stored.
    _grant(base_url, other, client_assertion=assertion(account["key"], other["client_id"], f"{base_url}/oauth/token", jti=jti))

    response = _grant(base_url, other, client_assertion=assertion(other["key"], other["client_id"], f"{base_url}/oauth/token", jti=jti))

    assert response.status_code == 200


def test_json_and_multipart_token_requests_are_accepted(base_url, engine):
    account = _account(engine)

    as_json = httpx.post(f"{base_url}/oauth/token", json=_fields(base_url, account))
    as_multipart = httpx.post(f"{base_url}/oauth/token", files={k: (None, v) for k, v in _fields(base_url, account).items()})

    assert as_json.status_code == 200 and as_json.json()["token_type"] == "Bearer"
    assert as_multipart.status_code == 200 and as_multipart.json()["token_type"] == "Bearer"


def test_oversized_token_request_is_refused_in_the_oauth_error_shape(base_url, engine):
    account = _account(engine)

    response = httpx.post(f"{base_url}/oauth/token", data=_fields(base_url, account) | {"padding": "x" * 70_000})

    assert response.status_code == 413 and response.json()["error"] == "invalid_request"
    assert response.headers["cache-control"] == "no-store"


def test_nul_characters_are_refused_as_bad_input_not_a_server_error(base_url, engine):
    account = _account(engine)
    audience = f"{base_url}/oauth/token"
    fields = _fields(base_url, account)

    in_form = httpx.post(audience, data=fields | {"client_id": "svc\x00x"})
    in_issuer = httpx.post(audience, data=_fields(base_url, account, assertion(account["key"], "svc\x00x", audience)))
    in_jti = httpx.post(audience, data=_fields(base_url, account, assertion(account["key"], account["client_id"], audience, jti="j\x00")))

    assert (in_form.status_code, in_form.json()["error"]) == (400, "invalid_request")
    assert (in_issuer.status_code, in_issuer.json()["error"]) == (400, "invalid_assertion")
    assert (in_jti.status_code, in_jti.json()["error"]) == (400, "invalid_assertion")


def test_grant_works_through_the_middleware_stack_when_traces_are_exported(base_url, settings, engine):
    account = _account(engine)
    # With an exporter configured the token route is not served ahead (the tracer itself is per process, set up already).
    traced = settings.model_copy(update={"otel_exporter_otlp_endpoint": "http://127.0.0.1:9"})
    fields = _fields(base_url, account)  # the assertion's audience is the issuer's token endpoint, whichever process answers

    with serve(create_app(traced)) as traced_url:
        granted = httpx.post(f"{traced_url}/oauth/token", data=fields)
        too_large = httpx.post(f"{traced_url}/oauth/token", data=_fields(base_url, account) | {"padding": "x" * 70_000})

    assert granted.status_code == 200 and granted.json()["token_type"] == "Bearer"
    assert too_large.status_code == 413 and too_large.json()["error"] == "invalid_request"


def test_a_replaced_key_and_removed_scope_take_effect_on_the_next_grant(base_url, engine):
    account = _account(engine)
    assert httpx.post(f"{base_url}/oauth/token", data=_fields(base_url, account) | {"scope": "messaging.send"}).status_code == 200
    new = new_key()
    with Session(engine) as session:
        service_accounts.upsert(session, client_id=account["client_id"], name="Test service", public_key=new.as_dict(private=False),
                                scopes=["other"], roles=["service"])
        session.commit()

    old_key = httpx.post(f"{base_url}/oauth/token", data=_fields(base_url, account))
    removed_scope = httpx.post(f"{base_url}/oauth/token", data=_fields(base_url, account | {"key": new}) | {"scope": "messaging.send"})
    new_key_granted = httpx.post(f"{base_url}/oauth/token", data=_fields(base_url, account | {"key": new}))

    assert old_key.status_code == 400 and old_key.json()["error"] == "invalid_assertion"
    assert removed_scope.status_code == 400 and removed_scope.json()["error"] == "invalid_scope"
    assert new_key_granted.status_code == 200 and new_key_granted.json()["scope"] == "other"
