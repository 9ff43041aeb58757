"""Quotas per calling application: over its messages-per-minute or per-day limit a key gets 429 and nothing is queued."""
import httpx
import pytest
from sqlmodel import Session, func, select

from kernel.outbox import OutboxMessage
from messaging.models import Message, SendRequest
from .helpers import address, email_body, send
from .test_admin_api_keys import create_key


def counts(engine) -> tuple[int, int, int]:
    with Session(engine) as session:
        return tuple(session.exec(select(func.count()).select_from(table)).one() for table in (SendRequest, Message, OutboxMessage))


def test_request_over_the_minute_quota_is_refused_with_429_and_nothing_queued(base_url, oidc_issuer, engine):
    key = create_key(base_url, oidc_issuer, messagesPerMinute=3)["apiKey"]
    send(base_url, key, email_body(address(), address()), path="/send/email/batch")
    before = counts(engine)

    response = httpx.post(f"{base_url}/send/email/batch", json=email_body(address(), address()), headers={"api_key": key})

    assert response.status_code == 429
    assert response.json()["code"] == "quota_exceeded" and "3 messages per minute" in response.json()["message"]
    assert 1 <= int(response.headers["Retry-After"]) <= 60
    assert counts(engine) == before


def test_the_rest_of_the_quota_can_still_be_used(base_url, oidc_issuer):
    key = create_key(base_url, oidc_issuer, messagesPerMinute=3)["apiKey"]
    send(base_url, key, email_body(address(), address()), path="/send/email/batch")

    response = httpx.post(f"{base_url}/send/email/single", json=email_body(address()), headers={"api_key": key})

    assert response.status_code == 200


def test_repeated_request_costs_no_quota(base_url, oidc_issuer):
    key = create_key(base_url, oidc_issuer, messagesPerDay=1)["apiKey"]
    body = email_body(address())

    first = send(base_url, key, body)
    again = httpx.post(f"{base_url}/send/email/single", json=body, headers={"api_key": key})

    assert again.status_code == 200 and again.json()["requestUID"] == first


def test_day_quota_counts_across_requests(base_url, oidc_issuer):
    key = create_key(base_url, oidc_issuer, messagesPerDay=2)["apiKey"]
    send(base_url, key, email_body(address()))
    send(base_url, key, email_body(address()))

    response = httpx.post(f"{base_url}/send/email/single", json=email_body(address()), headers={"api_key": key})

    assert response.status_code == 429 and "per day" in response.json()["message"]


def test_quota_is_per_key(base_url, oidc_issuer):
    limited = create_key(base_url, oidc_issuer, messagesPerMinute=1)["apiKey"]
    other = create_key(base_url, oidc_issuer, messagesPerMinute=1)["apiKey"]
    send(base_url, limited, email_body(address()))

    response = httpx.post(f"{base_url}/send/email/single", json=email_body(address()), headers={"api_key": other})

    assert response.status_code == 200


def test_key_without_its_own_quota_is_unlimited_by_default(base_url, oidc_issuer):
    created = create_key(base_url, oidc_issuer)

    response = httpx.post(f"{base_url}/send/email/batch", json=email_body(*[address() for _ in range(20)]),
                          headers={"api_key": created["apiKey"]})

    assert response.status_code == 200
    assert (created["messagesPerMinute"], created["messagesPerDay"]) == (None, None)


def test_negative_quota_is_refused(base_url, oidc_issuer):
    from .test_admin_api_keys import bearer

    response = httpx.post(f"{base_url}/admin/api-keys", json={"name": "app", "messagesPerMinute": -1}, headers=bearer(oidc_issuer))

    assert response.status_code in (400, 422)


def test_service_wide_quota_applies_where_a_key_has_none_of_its_own(settings):
    from messaging.models import ApiKey
    from messaging.quotas import limits_of

    service_wide = settings.model_copy(update={"quota_messages_per_minute": 100, "quota_messages_per_day": 1000})

    assert limits_of(ApiKey(name="a", key_hash="x"), service_wide) == {"minute": 100, "day": 1000}
    assert limits_of(ApiKey(name="b", key_hash="y", messages_per_minute=5, messages_per_day=0), service_wide) == {"minute": 5}


# ---------------------------------------------------------------- an admin changes a key's quotas


def patch_quotas(base_url, oidc_issuer, key_id: str, body, **bearer_options) -> httpx.Response:
    from .test_admin_api_keys import bearer

    return httpx.patch(f"{base_url}/admin/api-keys/{key_id}/quotas", json=body, headers=bearer(oidc_issuer, **bearer_options))


def test_admin_lowers_a_keys_quota_and_its_next_send_is_refused(base_url, oidc_issuer):
    created = create_key(base_url, oidc_issuer)
    send(base_url, created["apiKey"], email_body(address(), address()), path="/send/email/batch")

    updated = patch_quotas(base_url, oidc_issuer, created["id"], {"messagesPerMinute": 2})

    assert updated.status_code == 200, updated.text
    assert (updated.json()["messagesPerMinute"], updated.json()["messagesPerDay"]) == (2, None)
    response = httpx.post(f"{base_url}/send/email/single", json=email_body(address()), headers={"api_key": created["apiKey"]})
    assert response.status_code == 429 and "2 messages per minute" in response.json()["message"]


def test_admin_raises_a_keys_quota_and_it_may_send_again(base_url, oidc_issuer):
    created = create_key(base_url, oidc_issuer, messagesPerDay=1)
    send(base_url, created["apiKey"], email_body(address()))
    refused = httpx.post(f"{base_url}/send/email/single", json=email_body(address()), headers={"api_key": created["apiKey"]})
    assert refused.status_code == 429

    assert patch_quotas(base_url, oidc_issuer, created["id"], {"messagesPerDay": 10}).status_code == 200

    assert httpx.post(f"{base_url}/send/email/single", json=email_body(address()), headers={"api_key": created["apiKey"]}).status_code == 200


def test_a_field_left_out_keeps_its_value_and_null_returns_to_the_service_wide_quota(base_url, oidc_issuer, engine):
    from .test_admin_api_keys import bearer

    created = create_key(base_url, oidc_issuer, messagesPerMinute=5, messagesPerDay=50)

    only_day = patch_quotas(base_url, oidc_issuer, created["id"], {"messagesPerDay": 0}).json()
    back_to_default = patch_quotas(base_url, oidc_issuer, created["id"], {"messagesPerMinute": None}).json()

    assert (only_day["messagesPerMinute"], only_day["messagesPerDay"]) == (5, 0)
    assert (back_to_default["messagesPerMinute"], back_to_default["messagesPerDay"]) == (None, 0)
    listed = httpx.get(f"{base_url}/admin/api-keys", headers=bearer(oidc_issuer)).json()
    [entry] = [key for key in listed if key["id"] == created["id"]]
    assert (entry["messagesPerMinute"], entry["messagesPerDay"]) == (None, 0)


def test_quota_change_is_audited_with_ids_and_numbers(base_url, oidc_issuer, caplog):
    import logging

    created = create_key(base_url, oidc_issuer, messagesPerMinute=5)
    caplog.set_level(logging.INFO, logger="messaging.audit")

    patch_quotas(base_url, oidc_issuer, created["id"], {"messagesPerMinute": 7})

    [record] = [record.fields for record in caplog.records if record.name == "messaging.audit" and record.getMessage() == "api key quotas updated"]
    assert record["api_key_id"] == created["id"] and record["by"]
    assert (record["before"]["messagesPerMinute"], record["after"]["messagesPerMinute"]) == (5, 7)
    assert created["apiKey"] not in str(record)


@pytest.mark.parametrize("body", [{"messagesPerMinute": -1}, {"messagesPerDay": "10"}, {"messagesPerMinute": 1.5},
                                  {"messagesPerDay": 2**31}, {"messagesPerMinutes": 5}, {}, [1]])
def test_invalid_quota_update_is_400_and_changes_nothing(base_url, oidc_issuer, engine, body):
    from messaging.models import ApiKey

    created = create_key(base_url, oidc_issuer, messagesPerMinute=5, messagesPerDay=50)

    response = patch_quotas(base_url, oidc_issuer, created["id"], body)

    assert response.status_code == 400, response.text
    with Session(engine) as session:
        stored = session.get(ApiKey, created["id"])
        assert (stored.messages_per_minute, stored.messages_per_day) == (5, 50)


def test_quota_update_needs_an_admin_token(base_url, oidc_issuer):
    created = create_key(base_url, oidc_issuer, messagesPerMinute=5)

    anonymous = httpx.patch(f"{base_url}/admin/api-keys/{created['id']}/quotas", json={"messagesPerMinute": 500})
    not_admin = patch_quotas(base_url, oidc_issuer, created["id"], {"messagesPerMinute": 500}, roles=("registrar",))
    other_audience = patch_quotas(base_url, oidc_issuer, created["id"], {"messagesPerMinute": 500}, audience="consent")

    assert (anonymous.status_code, not_admin.status_code, other_audience.status_code) == (401, 403, 401)
    assert patch_quotas(base_url, oidc_issuer, created["id"], {"messagesPerDay": 1}).json()["messagesPerMinute"] == 5


def test_quota_update_of_an_unknown_key_is_404_and_of_a_revoked_key_409(base_url, oidc_issuer):
    from .test_admin_api_keys import bearer, unique

    revoked = create_key(base_url, oidc_issuer)
    httpx.delete(f"{base_url}/admin/api-keys/{revoked['id']}", headers=bearer(oidc_issuer))

    assert patch_quotas(base_url, oidc_issuer, unique(), {"messagesPerMinute": 1}).status_code == 404
    assert patch_quotas(base_url, oidc_issuer, revoked["id"], {"messagesPerMinute": 1}).status_code == 409
