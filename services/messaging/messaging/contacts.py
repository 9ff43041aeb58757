"""Applicants' notification contacts, asked of the Registration BB through the gateway with our own service token."""
import logging
from dataclasses import dataclass
from urllib.parse import quote

import httpx

from kernel.httpclient import shared_client
from kernel.service_token import ServiceTokenSource, TokenUnavailable
from messaging.settings import MessagingSettings

log = logging.getLogger(__name__)


class RegistrationUnavailable(Exception):
    """The contact could not be asked for now; raised so the consumer retries the event."""


@dataclass(frozen=True)
class Contact:
    language: str
    application_number: str
    service_name: str
    email: str | None = None
    phone: str | None = None


_token_sources: dict[tuple, ServiceTokenSource] = {}


def _token_source(settings: MessagingSettings) -> ServiceTokenSource:
    token_url = settings.identity_url.rstrip("/") + "/oauth/token"
    key = (token_url, settings.service_client_id, settings.service_private_jwk, settings.registration_audience)
    if key not in _token_sources:
        _token_sources[key] = ServiceTokenSource(token_url=token_url, client_id=settings.service_client_id,
                                                 private_jwk=settings.service_private_jwk, audience=settings.registration_audience,
                                                 scope="notification.read", timeout=settings.registration_timeout_seconds)
    return _token_sources[key]


def fetch(settings: MessagingSettings, *, application_id: str) -> Contact | None:
    """The applicant's contact, or None when registration knows no such application (raises RegistrationUnavailable)."""
    tokens = _token_source(settings)
    try:
        token = tokens.get_sync()
    except TokenUnavailable as exc:
        raise RegistrationUnavailable(f"no service token: {exc}") from exc
    url = f"{settings.gateway_url.rstrip('/')}{settings.registration_gateway_path}/applications/{quote(application_id, safe='')}/notification-contact"
    try:
        response = shared_client().get(url, timeout=settings.registration_timeout_seconds,
                             headers={"Authorization": f"Bearer {token}", "Information-Mediator-Client": settings.gateway_client})
    except httpx.HTTPError as exc:
        raise RegistrationUnavailable(type(exc).__name__) from exc
    if response.status_code == 404 and _error_code(response) == "file_not_found":
        return None
    if response.status_code == 401:
        tokens.forget()  # revoked or rotated keys: the retry fetches a fresh token
    if response.status_code != 200:
        raise RegistrationUnavailable(f"registration answered {response.status_code}")
    try:
        body = response.json()
        return Contact(language=str(body.get("language") or "lo"), application_number=str(body.get("applicationNumber") or application_id),
                       service_name=str(body.get("serviceName") or ""), email=body.get("email") or None, phone=body.get("phone") or None)
    except (ValueError, AttributeError) as exc:
        raise RegistrationUnavailable("unreadable contact") from exc


def _error_code(response: httpx.Response) -> str | None:
    """Registration's error code, so that a gateway 404 (an unknown service) is not taken for an unknown application."""
    try:
        body = response.json()
    except ValueError:
        return None
    return body.get("code") if isinstance(body, dict) else None
