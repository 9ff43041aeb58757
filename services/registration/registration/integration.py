"""Integration steps that run before a submission is accepted: a signed-in citizen (Identity BB) and consent to the
e-service's data agreement (Consent BB, asked through the gateway with our own service token)."""
import logging

import httpx

from kernel.auth import Caller
from kernel.errors import ApiError
from kernel.httpclient import shared_client
from kernel.service_token import ServiceTokenSource, TokenUnavailable
from registration import design
from registration.settings import RegistrationSettings

log = logging.getLogger(__name__)

VERIFICATION_PATH = "/service/verification/consent-record/"


def _is_service_token(caller: Caller) -> bool:
    # Client credentials name a system: the Identity BB sets sub = client id, Keycloak a service-account user.
    username = str(caller.claims.get("preferred_username") or "")
    return caller.subject == caller.client_id or username.startswith("service-account-")


def require_citizen(settings: RegistrationSettings, *, document: dict, caller: Caller) -> None:
    """The require_signed_in_citizen step: a person's token from a citizen issuer, neither a system's nor a staff member's."""
    if not design.has_step(document, "require_signed_in_citizen"):
        return
    issuers = {issuer.rstrip("/") for issuer in (settings.citizen_issuers or settings.oidc_issuers)}
    staff_roles = {*settings.admin_roles, *settings.staff_roles,
                   *(name for role in document.get("roles", []) for name in role.get("operator_roles", []))}
    if (not caller.subject or caller.issuer.rstrip("/") not in issuers or _is_service_token(caller)
            or caller.has_any_role(staff_roles)):
        raise ApiError(403, "citizen_required", "This e-service must be used by a citizen signed in with the Identity BB.",
                       details=[{"field": "Authorization", "reason": "not a citizen's token from the Identity BB"}])


_token_sources: dict[tuple, ServiceTokenSource] = {}


def _token_source(settings: RegistrationSettings) -> ServiceTokenSource:
    token_url = settings.identity_url.rstrip("/") + "/oauth/token"
    key = (token_url, settings.service_client_id, settings.service_private_jwk, settings.consent_audience)
    if key not in _token_sources:
        _token_sources[key] = ServiceTokenSource(token_url=token_url, client_id=settings.service_client_id,
                                                 private_jwk=settings.service_private_jwk, audience=settings.consent_audience,
                                                 timeout=settings.consent_timeout_seconds)
    return _token_sources[key]


def _consent_unavailable(reason: str) -> ApiError:
    log.warning("consent could not be verified: %s", reason)
    return ApiError(503, "consent_unavailable", "The Consent BB cannot be asked right now; nothing was submitted. Try again later.")


def consent_is_valid(settings: RegistrationSettings, *, individual_id: str, agreement_id: str) -> bool:
    """The Consent BB's answer: does the individual hold a signed, opted-in record at the agreement's current revision?"""
    tokens = _token_source(settings)
    try:
        token = tokens.get_sync()
    except TokenUnavailable as exc:
        raise _consent_unavailable(f"no service token ({exc})") from exc
    url = settings.gateway_url.rstrip("/") + settings.consent_gateway_path + VERIFICATION_PATH
    try:
        response = shared_client().get(url, params={"individualId": individual_id, "dataAgreementId": agreement_id},
                             timeout=settings.consent_timeout_seconds,
                             headers={"Authorization": f"Bearer {token}", "Information-Mediator-Client": settings.gateway_client})
    except httpx.HTTPError as exc:
        raise _consent_unavailable(type(exc).__name__) from exc
    if response.status_code == 401:
        tokens.forget()  # rotated keys or a revoked token: the next submission fetches a fresh one
    if response.status_code == 400 and _error_code(response) in ("invalid_request", "not_found"):
        # The Consent BB itself refused the ids (an individual id it cannot hold, or an agreement it does not know):
        # no consent can exist, so the applicant is refused like anyone without consent.
        return False
    if response.status_code != 200:
        raise _consent_unavailable(f"the gateway answered {response.status_code}")
    try:
        return response.json().get("valid") is True
    except (ValueError, AttributeError) as exc:
        raise _consent_unavailable("unreadable answer") from exc


def _error_code(response: httpx.Response) -> str | None:
    """The Consent BB's error code (its body names it `error`), so that a gateway's own 400 is not taken for its answer."""
    try:
        body = response.json()
    except ValueError:
        return None
    return body.get("error") if isinstance(body, dict) else None


def require_consent(settings: RegistrationSettings, *, document: dict, caller: Caller) -> None:
    """The require_consent step: the applicant (the token's subject) must have consented to the step's data agreement."""
    step = design.has_step(document, "require_consent")
    if step is None:
        return
    agreement_id = step["agreement_id"]
    if not consent_is_valid(settings, individual_id=caller.subject, agreement_id=agreement_id):
        raise ApiError(403, "consent_required",
                       f"Consent to data agreement {agreement_id} is required before this application can be submitted.",
                       details=[{"field": "dataAgreementId", "reason": f"no valid consent to data agreement {agreement_id}",
                                 "dataAgreementId": agreement_id}])

