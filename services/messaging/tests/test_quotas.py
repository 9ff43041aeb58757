"""Quotas per calling application: over its messages-per-minute or per-day limit a key gets 429 and nothing is queued."""
import httpx
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
