"""Linked (QR code + wallet) authorization: the login page asks for a link code, the wallet redeems it, authenticates and
consents, and the page collects the authorization code. Business errors are HTTP 200 with errors[] (spec envelope)."""
import hashlib
import secrets
import time
from datetime import datetime, timedelta

from fastapi import APIRouter, Body, Request
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError

from kernel.db import UowDep
from kernel.errors import ApiError
from identity import link_codes, otp, persons, wallet
from identity.models import AuthTransaction, OidcClient, utcnow
from identity.routes.authorize import XSRF_COOKIE, authentication_too_old
from identity.schemas import envelope, parse_request_time

router = APIRouter(prefix="/linked-authorization", tags=["Wallet - QR Code"])
PIN_ACR, WALLET_ACR, WALLET_PIN_ACR = "idbb:acr:static-code", "idbb:acr:linked-wallet", "idbb:acr:linked-wallet-static-code"
OTP_ACR = "idbb:acr:generated-code"
OTP_FORMATS = ("number", "alpha-numeric")
MAX_ID = 128
_POLL_INTERVAL = 0.2


class BusinessError(Exception):
    def __init__(self, code: str, message: str):
        self.code, self.message = code, message


def _sha256(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def iso_time(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def request_of(body) -> dict:
    if not isinstance(body, dict) or parse_request_time(body.get("requestTime")) is None or not isinstance(body.get("request"), dict):
        raise BusinessError("invalid_request", "requestTime (ISO date-time) and request are required.")
    return body["request"]


def text_field(request: dict, name: str) -> str:
    value = request.get(name)
    return value.strip() if isinstance(value, str) and len(value) <= MAX_ID else ""


def _check_xsrf(http_request: Request) -> str:
    """Double-submit check: the header must repeat the XSRF-TOKEN cookie the login page set."""
    header, cookie = http_request.headers.get("x-xsrf-token", ""), http_request.cookies.get(XSRF_COOKIE, "")
    if not header or not cookie or not secrets.compare_digest(header, cookie):
        raise ApiError(403, "invalid_xsrf_token", "The X-XSRF-TOKEN header must match the XSRF-TOKEN cookie.")
    return cookie


def _is_open(transaction: AuthTransaction | None) -> bool:
    return (transaction is not None and not transaction.revoked and transaction.code_hash is None
            and transaction.expires_at > utcnow())


def _own_transaction(uow, transaction_id: str, xsrf: str) -> AuthTransaction | None:
    """The transaction if this browser started it (its XSRF cookie was issued with the transaction's login page), open or
    not; another browser's transaction is not told apart from an unknown one."""
    transaction = uow.session.get(AuthTransaction, transaction_id) if transaction_id else None
    if transaction is None or transaction.xsrf_hash is None or not secrets.compare_digest(_sha256(xsrf), transaction.xsrf_hash):
        return None
    return transaction


def _browser_transaction(uow, transaction_id: str, xsrf: str) -> AuthTransaction:
    """The open transaction started by this browser."""
    transaction = _own_transaction(uow, transaction_id, xsrf)
    if not _is_open(transaction):
        raise BusinessError("invalid_transaction_id", "The transaction is unknown, expired or already completed.")
    return transaction


def _wallet_transaction(uow, linked_transaction_id: str, *, lock: bool = False) -> AuthTransaction:
    """The open linked transaction; with lock, row-locked until the request commits."""
    transaction = None
    if linked_transaction_id:
        query = uow.session.query(AuthTransaction).filter(AuthTransaction.linked_transaction_id == linked_transaction_id)
        if lock:
            query = query.with_for_update().populate_existing()
        transaction = query.one_or_none()
    if not _is_open(transaction):
        raise BusinessError("invalid_transaction_id", "The linked transaction is unknown, expired or already completed.")
    return transaction


def _unauthenticated_wallet_transaction(uow, linked_transaction_id: str, *,
                                        lock: bool = False) -> tuple[AuthTransaction, OidcClient | None]:
    """The open linked transaction, before anyone authenticated on it, and its relying party."""
    transaction = _wallet_transaction(uow, linked_transaction_id, lock=lock)
    if transaction.person_id is not None:
        raise BusinessError("invalid_transaction_id", "The linked transaction is already authenticated.")
    return transaction, uow.session.get(OidcClient, transaction.client_id)


def _factor_types(client: OidcClient) -> list[str]:
    """Challenge types the wallet may use, from the ACRs the client registered."""
    types = []
    if PIN_ACR in client.auth_context_refs or WALLET_PIN_ACR in client.auth_context_refs:
        types.append("PIN")
    if OTP_ACR in client.auth_context_refs:
        types.append("OTP")
    if WALLET_ACR in client.auth_context_refs or WALLET_PIN_ACR in client.auth_context_refs:
        types.append("WLA")
    return types


# The factors each ACR needs, all of them: a client that registered only wallet + PIN is not served by a PIN alone.
ACR_FACTORS = {PIN_ACR: {"PIN"}, OTP_ACR: {"OTP"}, WALLET_ACR: {"WLA"}, WALLET_PIN_ACR: {"WLA", "PIN"}}


def _acr(types: set[str], registered: list[str]) -> str | None:
    """The ACR the factors satisfied (spec 7.2.3) among those the client registered, the strongest first; None if none.
    OTP with PIN or WLA reports the wallet or PIN ACR it includes."""
    satisfied = [acr for acr in registered if ACR_FACTORS.get(acr, {"-"}) <= types]
    for acr in (WALLET_PIN_ACR, WALLET_ACR, PIN_ACR, OTP_ACR):
        if acr in satisfied:
            return acr
    return None


def _issue_link_code(http_request: Request, uow, body) -> tuple[AuthTransaction, str]:
    """A new link code for the page's own open transaction (raises BusinessError)."""
    xsrf = _check_xsrf(http_request)
    request = request_of(body)
    transaction = _browser_transaction(uow, text_field(request, "transactionId"), xsrf)
    if transaction.linked_at is not None or transaction.person_id is not None:
        raise BusinessError("invalid_transaction", "The transaction is already linked or authenticated.")
    link_code = link_codes.issue(transaction, http_request.app.state.settings)
    uow.session.add(transaction)
    uow.commit()
    return transaction, link_code


def _link_code_answer(http_request: Request, uow, body, *, with_qr: bool) -> dict:
    try:
        transaction, link_code = _issue_link_code(http_request, uow, body)
    except BusinessError as invalid:
        return envelope({}, [(invalid.code, invalid.message)])
    answer = {"transactionId": transaction.id, "linkCode": link_code, "expireDateTime": iso_time(transaction.link_code_expires_at)}
    return envelope(answer | {"qrCode": link_codes.qr_svg(link_code)} if with_qr else answer)


@router.post("/link-code")
def generate_link_code(http_request: Request, uow: UowDep, body=Body(None)) -> dict:
    return _link_code_answer(http_request, uow, body, with_qr=False)


@router.post("/qr-code")
def generate_qr_code(http_request: Request, uow: UowDep, body=Body(None)) -> dict:
    """For the login page's QR panel (not in the spec): link-code's answer plus `qrCode`, the link code's QR code as SVG."""
    return _link_code_answer(http_request, uow, body, with_qr=True)


def _poll(uow, settings, transaction_id: str, ready) -> AuthTransaction | None:
    """Re-read the transaction until ready(transaction) or the bounded wait ends (then None)."""
    deadline = time.monotonic() + settings.link_poll_seconds
    while True:
        uow.session.rollback()  # nothing written yet; ends the read so the next one sees other requests' commits
        transaction = uow.session.get(AuthTransaction, transaction_id, populate_existing=True)
        if transaction is None or ready(transaction):
            return transaction
        if time.monotonic() >= deadline:
            return None
        time.sleep(_POLL_INTERVAL)


@router.post("/link-status")
def get_link_status(http_request: Request, uow: UowDep, body=Body(None)) -> dict:
    settings = http_request.app.state.settings
    xsrf = _check_xsrf(http_request)
    try:
        request = request_of(body)
        transaction = _browser_transaction(uow, text_field(request, "transactionId"), xsrf)
        link_code = text_field(request, "linkCode")
        if not link_code or transaction.link_code_hash is None or not secrets.compare_digest(_sha256(link_code), transaction.link_code_hash):
            raise BusinessError("invalid_link_code", "The link code is not the one issued for this transaction.")
        if transaction.linked_at is None and transaction.link_code_expires_at <= utcnow():
            raise BusinessError("invalid_link_code", "The link code expired before a wallet used it.")
    except BusinessError as invalid:
        return envelope({}, [(invalid.code, invalid.message)])
    linked = _poll(uow, settings, transaction.id, lambda t: t.linked_at is not None or not _is_open(t))
    if linked is None:
        return envelope({"transactionId": transaction.id}, [("response_timeout", "No wallet has used the link code yet.")])
    if linked.linked_at is None:
        return envelope({}, [("invalid_transaction_id", "The transaction is no longer open.")])
    return envelope({"transactionId": linked.id, "linkStatus": "LINKED", "linkedDateTime": iso_time(linked.linked_at)})


@router.post("/link-transaction")
def link_transaction(uow: UowDep, body=Body(None)) -> dict:
    try:
        request = request_of(body)
        link_code = text_field(request, "linkCode")
        transaction = None
        if link_code:
            transaction = uow.session.query(AuthTransaction).filter(AuthTransaction.link_code_hash == _sha256(link_code)).one_or_none()
        # A link code is redeemed once: whoever scans a QR code later cannot take over the wallet's transaction.
        if transaction is None or transaction.linked_at is not None or transaction.link_code_expires_at <= utcnow():
            raise BusinessError("invalid_link_code", "The link code is unknown, expired or already used.")
        if not _is_open(transaction):
            raise BusinessError("invalid_transaction", "The transaction is expired or already completed.")
        client = uow.session.get(OidcClient, transaction.client_id)
        if client is None or client.status != "active":
            raise BusinessError("invalid_client_id", "The relying party is no longer active.")
    except BusinessError as invalid:
        return envelope({}, [(invalid.code, invalid.message)])
    linked_transaction_id = secrets.token_urlsafe(24)
    marked = uow.session.execute(
        update(AuthTransaction).where(AuthTransaction.id == transaction.id, AuthTransaction.linked_at.is_(None))
        .values(linked_transaction_id=linked_transaction_id, linked_at=utcnow())
    ).rowcount
    if marked != 1:  # another wallet redeemed the same code at the same moment
        return envelope({}, [("invalid_link_code", "The link code is unknown, expired or already used.")])
    uow.commit()
    factors = {"PIN": [{"type": "PIN"}], "OTP": [{"type": "OTP"}], "WLA": [{"type": "Wallet"}]}
    return envelope({
        "linkTransactionId": linked_transaction_id,
        "clientName": client.client_name,
        "logoUrl": client.logo_uri,
        "authorizeScopes": [],  # only standard OIDC scopes are supported; their claims are listed below
        "essentialClaims": [c["name"] for c in transaction.requested_claims if c["essential"]],
        "voluntaryClaims": [c["name"] for c in transaction.requested_claims if not c["essential"]],
        "authFactors": [factors[kind] for kind in _factor_types(client)],
        "configs": {},
    })


def _challenges(request: dict) -> list[dict]:
    challenges = request.get("challengeList")
    if not isinstance(challenges, list) or not challenges or len(challenges) > 2:
        raise BusinessError("invalid_no_of_challenges", "One or two challenges are required.")
    for challenge in challenges:
        if (not isinstance(challenge, dict) or challenge.get("authFactorType") not in wallet.AUTH_FACTOR_TYPES
                or not isinstance(challenge.get("challenge"), str) or not 0 < len(challenge["challenge"]) <= 8192
                or challenge.get("format") not in wallet.CHALLENGE_FORMATS):
            raise BusinessError("invalid_request", "Each challenge needs authFactorType, challenge and format from the spec's lists.")
    if len({c["authFactorType"] for c in challenges}) != len(challenges):
        raise BusinessError("invalid_no_of_challenges", "Each auth factor may be sent once.")
    if any(c["authFactorType"] == "OTP" and c["format"] not in OTP_FORMATS for c in challenges):
        raise BusinessError("invalid_request", "An OTP challenge has the format number or alpha-numeric.")
    return challenges


def otp_request(request: dict) -> tuple[str, list[str]]:
    """individualId and otpChannels of a request for a one-time code (raises BusinessError)."""
    individual_id = text_field(request, "individualId")
    if not individual_id:
        raise BusinessError("invalid_identifier", "individualId is required.")
    try:
        return individual_id, otp.parse_channels(request.get("otpChannels"))
    except ValueError as invalid:
        raise BusinessError("invalid_otp_channel", str(invalid))


@router.post("/send-otp")
def send_otp(http_request: Request, uow: UowDep, body=Body(None)) -> dict:
    """eSignet's linked send-otp: the wallet asks for a code to the person's phone or e-mail, for an OTP challenge in
    /authenticate. The answer is the same whether or not the ID exists (nothing is sent then, and no code matches)."""
    settings = http_request.app.state.settings
    try:
        request = request_of(body)
        individual_id, channels = otp_request(request)
        linked_transaction_id = text_field(request, "linkedTransactionId")
        transaction, client = _unauthenticated_wallet_transaction(uow, linked_transaction_id)
        if client is None or "OTP" not in _factor_types(client):
            raise BusinessError("invalid_auth_factor", "This relying party does not accept OTP.")
    except BusinessError as invalid:
        return envelope({}, [(invalid.code, invalid.message)])
    person = persons.by_individual_id(uow.session, individual_id)
    try:
        otp.send(uow, settings, transaction_id=transaction.id, person=person, individual_id=individual_id,
                 channel=otp.preferred_channel(person, channels), language=transaction.ui_locale)
        uow.commit()
    except (otp.TooManyCodes, IntegrityError):  # a limit (per transaction or per person), or two first requests at once
        return envelope({}, [("send_otp_failed", "Too many codes were requested; try again later.")])
    return envelope({"linkedTransactionId": linked_transaction_id})


@router.post("/authenticate")
def authenticate(http_request: Request, uow: UowDep, body=Body(None)) -> dict:
    settings = http_request.app.state.settings
    try:
        request = request_of(body)
        individual_id = text_field(request, "individualId")
        if not individual_id:
            raise BusinessError("invalid_identifier", "individualId is required.")
        challenges = _challenges(request)
        linked_transaction_id = text_field(request, "linkedTransactionId")
        # Locked before the factors are checked: concurrent guesses otherwise each read the same failed_attempts and all
        # get their try (and two right answers could both authenticate).
        transaction, client = _unauthenticated_wallet_transaction(uow, linked_transaction_id, lock=True)
        allowed = _factor_types(client) if client is not None else []
        if any(c["authFactorType"] not in allowed for c in challenges):
            raise BusinessError("auth_failed", "This relying party does not accept that auth factor.")
        acr = _acr({c["authFactorType"] for c in challenges}, client.auth_context_refs if client is not None else [])
        if acr is None:
            raise BusinessError("auth_failed", "These auth factors do not meet the sign-in level this relying party registered.")
    except BusinessError as invalid:
        return envelope({}, [(invalid.code, invalid.message)])

    person = persons.by_individual_id(uow.session, individual_id)
    ok = True
    for challenge in challenges:
        if challenge["authFactorType"] == "PIN":
            ok = persons.check_pin(uow.session, settings, person, challenge["challenge"]).ok and ok
        elif challenge["authFactorType"] == "OTP":
            sent_to = otp.verify(uow, settings, transaction_id=transaction.id, code=challenge["challenge"][:16]).person_id
            ok = ok and person is not None and sent_to == person.id
        else:
            ok = ok and person is not None and wallet.verify_wla(uow.session, settings, person_id=person.id,
                                                                 linked_transaction_id=linked_transaction_id, challenge=challenge["challenge"])
    if not ok:
        transaction.failed_attempts += 1
        if transaction.failed_attempts >= settings.max_failed_attempts:
            transaction.revoked = True  # guessing inside one transaction ends it
        uow.session.add(transaction)
        uow.commit()
        return envelope({}, [("auth_failed", "Authentication failed.")])
    transaction.acr = acr
    transaction.person_id, transaction.auth_time = person.id, utcnow()
    uow.session.add(transaction)
    uow.commit()
    # The spec names it linkedTransactionId; clients written against eSignet read linkTransactionId.
    return envelope({"linkedTransactionId": linked_transaction_id, "linkTransactionId": linked_transaction_id})


def _names(value, field: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and 0 < len(v) <= 64 for v in value) or len(value) > 64:
        raise BusinessError("invalid_request", f"{field} must be a list of names.")
    return value


@router.post("/consent")
def give_consent(uow: UowDep, body=Body(None)) -> dict:
    try:
        request = request_of(body)
        linked_transaction_id = text_field(request, "linkedTransactionId")
        transaction = _wallet_transaction(uow, linked_transaction_id)
        accepted = _names(request.get("acceptedClaims"), "acceptedClaims")
        permitted = _names(request.get("permittedAuthorizeScopes"), "permittedAuthorizeScopes")
        requested = {c["name"] for c in transaction.requested_claims}
        if any(name not in requested for name in accepted):
            raise BusinessError("invalid_accepted_claim", "An accepted claim was not requested.")
        if permitted:
            raise BusinessError("invalid_permitted_scope", "No authorize scope was requested.")
        if transaction.person_id is None:
            raise BusinessError("invalid_transaction", "The person has not been authenticated in this transaction.")
    except BusinessError as invalid:
        return envelope({}, [(invalid.code, invalid.message)])
    transaction.consented_claims = [c["name"] for c in transaction.requested_claims if c["name"] in set(accepted)]
    transaction.consented_at = utcnow()
    uow.session.add(transaction)
    uow.commit()
    return envelope({"linkedTransactionId": linked_transaction_id})


def _auth_code_error(code: str, message: str) -> dict:
    body = envelope({}, [(code, message)])
    del body["response"]  # the spec's success schema requires code etc. inside response, so errors carry none
    return body


@router.post("/link-auth-code")
def get_link_auth_code(http_request: Request, uow: UowDep, body=Body(None)) -> dict:
    settings = http_request.app.state.settings
    xsrf = _check_xsrf(http_request)
    try:
        request = request_of(body)
        transaction, link_code = _own_transaction(uow, text_field(request, "transactionId"), xsrf), text_field(request, "linkedCode")
        # The GovStack suite's order: this browser's finished transaction, then a code no transaction holds, then an unknown
        # transaction, then another transaction's code. Naming an unknown code first tells nothing about any transaction.
        if transaction is not None and not _is_open(transaction):
            raise BusinessError("invalid_transaction_id", "The transaction is expired or already completed.")
        if not link_code or uow.session.query(AuthTransaction.id).filter(AuthTransaction.link_code_hash == _sha256(link_code)).first() is None:
            raise BusinessError("invalid_link_code", "The link code is unknown.")
        if transaction is None:
            raise BusinessError("invalid_transaction_id", "The transaction is unknown, expired or already completed.")
        if (transaction.link_code_hash is None or transaction.linked_at is None
                or not secrets.compare_digest(_sha256(link_code), transaction.link_code_hash)):
            raise BusinessError("invalid_link_code", "The link code is not linked to this transaction.")
    except BusinessError as invalid:
        return _auth_code_error(invalid.code, invalid.message)
    ready = _poll(uow, settings, transaction.id, lambda t: t.consented_at is not None or not _is_open(t))
    if ready is None:
        return _auth_code_error("response_timeout", "The wallet has not finished yet.")
    if not _is_open(ready) or ready.person_id is None:
        return _auth_code_error("invalid_transaction", "The transaction ended without an authorization.")
    if authentication_too_old(ready):
        ready.revoked = True
        uow.session.add(ready)
        uow.commit()
        return _auth_code_error("invalid_transaction", "The authentication is older than the relying party's max_age.")
    code = secrets.token_urlsafe(32)
    claimed = uow.session.execute(
        update(AuthTransaction).where(AuthTransaction.id == ready.id, AuthTransaction.code_hash.is_(None))
        .values(code_hash=_sha256(code), code_expires_at=utcnow() + timedelta(seconds=settings.authorization_code_seconds))
    ).rowcount
    if claimed != 1:  # a concurrent poll already took the code: it is delivered once
        uow.session.rollback()
        return _auth_code_error("invalid_transaction", "The authorization code was already delivered.")
    uow.commit()
    return envelope({"code": code, "redirectUri": ready.redirect_uri, "state": ready.state, "nonce": ready.nonce})
