"""GET /authorize and the pages behind it: PIN/password or OTP login (with the QR panel of linked wallet sign-in for clients
that registered a linked-wallet ACR, or that panel alone), consent, then the redirect with a single-use code."""
import hashlib
import secrets
from datetime import timedelta
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from jinja2 import Environment, PackageLoader, select_autoescape
from sqlalchemy import update

from kernel.db import UowDep
from identity import claims as claim_rules
from identity import link_codes, otp, persons, staff
from identity.models import AuthTransaction, OidcClient, utcnow
from identity.ui_text import CLAIM_LABELS, ERRORS, TEXT, pick_locale

router = APIRouter(tags=["OIDC"])
templates = Environment(loader=PackageLoader("identity", "templates"), autoescape=select_autoescape(["html"]))
PIN_ACR = "idbb:acr:static-code"
OTP_ACR = "idbb:acr:generated-code"
LOGIN_ACRS = (PIN_ACR, OTP_ACR)  # the factors these pages implement, in order of preference when acr_values allows several
# A staff member's password: offered only to the clients in STAFF_LOGIN_CLIENTS (the staff consoles), never registrable by a client.
STAFF_ACR = "idbb:acr:staff-password"
COOKIE_PREFIX = "idbb_txn_"
XSRF_COOKIE = "XSRF-TOKEN"
_HEADERS = {"Cache-Control": "no-store", "X-Frame-Options": "DENY", "Content-Security-Policy": "frame-ancestors 'none'"}


def _sha256(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def _with_params(uri: str, params: dict) -> str:
    parts = urlsplit(uri)
    query = parse_qsl(parts.query, keep_blank_values=True) + [(k, v) for k, v in params.items() if v is not None]
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), ""))


def _page(name: str, locale: str, *, status: int = 200, switch_url: str | None = None, **context) -> HTMLResponse:
    other = "en" if locale == "lo" else "lo"
    html = templates.get_template(name).render(locale=locale, other_locale=other, t=TEXT[locale], switch_url=switch_url, **context)
    return HTMLResponse(html, status_code=status, headers=_HEADERS)


def _error_page(locale: str, code: str) -> HTMLResponse:
    # Always a page, never a redirect to an address we have not verified (and the harness expects 200).
    return _page("error.html", locale, code=code, message=ERRORS[locale].get(code, code))


def _switch_url(request: Request, locale: str) -> str:
    params = dict(request.query_params)
    params["ui_locales"] = "en" if locale == "lo" else "lo"
    return f"{request.url.path}?{urlencode(params)}"


@router.get("/authorize", response_class=HTMLResponse)
def get_authorize(request: Request, uow: UowDep):
    settings = request.app.state.settings
    q = request.query_params  # the last value wins when a parameter repeats
    locale = pick_locale(q.get("ui_locales"))
    client_id, redirect_uri = q.get("client_id") or "", q.get("redirect_uri") or ""
    client = uow.session.get(OidcClient, client_id) if 0 < len(client_id) <= 50 else None
    if client is None or client.status != "active":
        return _error_page(locale, "invalid_client")
    if redirect_uri not in client.redirect_uris:
        return _error_page(locale, "invalid_redirect_uri")
    if q.get("response_type") != "code":
        return _error_page(locale, "unsupported_response_type")
    try:
        scopes = claim_rules.parse_scope(q.get("scope"))
    except claim_rules.InvalidClaimsRequest:
        return _error_page(locale, "invalid_scope")
    try:
        requested = claim_rules.requested(scopes, q.get("claims"), client.user_claims)
    except claim_rules.InvalidClaimsRequest:
        return _error_page(locale, "invalid_request")
    wanted_acrs = (q.get("acr_values") or "").split() or client.auth_context_refs
    staff_login = client.client_id in settings.staff_login_clients
    acr = next((a for a in wanted_acrs if (a in LOGIN_ACRS and a in client.auth_context_refs) or (a == STAFF_ACR and staff_login)), None)
    if acr is None:  # only a wallet is wanted (or registered): the page offers the QR code alone
        acr = next((a for a in wanted_acrs if a in link_codes.LINKED_ACRS and a in client.auth_context_refs), None)
    if acr is None:
        return _error_page(locale, "invalid_acr")
    if "none" in (q.get("prompt") or "").split():
        return _error_page(locale, "login_required")  # there is no single sign-on session to reuse
    challenge, method = q.get("code_challenge"), q.get("code_challenge_method")
    if (challenge or method) and (method != "S256" or not challenge or not 43 <= len(challenge) <= 128):
        return _error_page(locale, "invalid_request")
    max_age = q.get("max_age")
    if max_age is not None and (not max_age.isdigit() or len(max_age) > 9):
        return _error_page(locale, "invalid_request")
    state, nonce = q.get("state"), q.get("nonce")
    if (state and len(state) > 256) or (nonce and len(nonce) > 256) or len(q.get("claims_locales") or "") > 128:
        return _error_page(locale, "invalid_request")

    browser_secret = secrets.token_urlsafe(32)
    # One XSRF token per browser, so that two open login tabs both keep working.
    xsrf_token = request.cookies.get(XSRF_COOKIE, "")
    if not 40 <= len(xsrf_token) <= 64:
        xsrf_token = secrets.token_urlsafe(32)
    transaction = AuthTransaction(
        id=secrets.token_urlsafe(24), browser_binding=_sha256(browser_secret), client_id=client.client_id, redirect_uri=redirect_uri,
        scope=" ".join(scopes), requested_claims=requested, claims_locales=q.get("claims_locales"), ui_locale=locale,
        state=state, nonce=nonce, acr=acr, code_challenge=challenge, max_age=int(max_age) if max_age is not None else None,
        id_token_claims=claim_rules.for_id_token(q.get("claims"), client.user_claims), xsrf_hash=_sha256(xsrf_token),
        expires_at=utcnow() + timedelta(seconds=settings.authorize_transaction_seconds),
    )
    link_code = link_codes.issue(transaction, settings) if link_codes.offered(client) else None  # the QR panel's first code
    uow.session.add(transaction)
    uow.commit()
    response = _login_page(transaction, client, locale, switch_url=_switch_url(request, locale), staff_login=staff_login,
                           link_code=link_code)
    response.set_cookie(COOKIE_PREFIX + transaction.id, browser_secret, max_age=settings.authorize_transaction_seconds,
                        path="/authorize", httponly=True, samesite="lax", secure=settings.issuer.startswith("https"))
    # Double-submit token for the QR (linked authorization) calls the page makes: the page's script reads it, so it is
    # neither httponly nor limited to a path other than the page's.
    response.set_cookie(XSRF_COOKIE, xsrf_token, max_age=settings.authorize_transaction_seconds, path="/",
                        samesite="strict", secure=settings.issuer.startswith("https"))
    return response


def _login_page(transaction: AuthTransaction, client: OidcClient, locale: str, *, error: str | None = None, status: int = 200,
                switch_url: str | None = None, staff_login: bool = False, staff_error: str | None = None,
                link_code: str | None = None) -> HTMLResponse:
    # Without a code (a page shown again after an error) the panel's script asks for a fresh one.
    qr = {"qr_panel": link_codes.offered(client), "link_code": link_code, "qr_svg": link_codes.qr_svg(link_code) if link_code else None}
    if transaction.acr in link_codes.LINKED_ACRS:
        return _page("qr_login.html", locale, status=status, switch_url=switch_url, client_name=client.name_in(locale),
                     transaction_id=transaction.id, error=error, qr_only=True, **qr)
    if transaction.acr == OTP_ACR:
        return _page("otp_request.html", locale, status=status, switch_url=switch_url, client_name=client.name_in(locale),
                     transaction_id=transaction.id, error=error, **qr)
    return _page("login.html", locale, status=status, switch_url=switch_url, client_name=client.name_in(locale),
                 transaction_id=transaction.id, action="/authorize/login", error=error, staff_login=staff_login or transaction.acr == STAFF_ACR,
                 staff_first=transaction.acr == STAFF_ACR or staff_error is not None, staff_error=staff_error, **qr)


class _Refused(Exception):
    pass


def _transaction(request: Request, uow, transaction_id: str) -> AuthTransaction:
    """The transaction, only for the browser that started it, while it is open; row-locked until the request commits."""
    # Locked: concurrent guesses in one transaction otherwise each read the same failed_attempts and all get their try.
    transaction = (uow.session.get(AuthTransaction, transaction_id, with_for_update=True, populate_existing=True)
                   if 0 < len(transaction_id) <= 64 else None)
    cookie = request.cookies.get(COOKIE_PREFIX + transaction_id, "")
    if (transaction is None or transaction.revoked or transaction.code_hash is not None
            or transaction.expires_at <= utcnow() or not secrets.compare_digest(_sha256(cookie), transaction.browser_binding)):
        raise _Refused()
    return transaction


@router.post("/authorize/login", response_class=HTMLResponse)
def post_login(request: Request, uow: UowDep, transaction_id: str = Form(""), individual_id: str = Form(""), pin: str = Form("")):
    settings = request.app.state.settings
    try:
        transaction = _transaction(request, uow, transaction_id)
    except _Refused:
        return _error_page(pick_locale(None), "invalid_transaction")
    locale = transaction.ui_locale
    client = uow.session.get(OidcClient, transaction.client_id)
    if transaction.person_id is not None:
        return RedirectResponse(f"/authorize/consent?transaction_id={transaction.id}", status_code=303)
    if transaction.acr != PIN_ACR:
        return _error_page(locale, "invalid_acr")  # a PIN cannot stand in for the factor the client asked for
    person = persons.by_individual_id(uow.session, individual_id[:32])
    outcome = persons.check_pin(uow.session, settings, person, pin)
    if not outcome.ok:
        _count_failure(uow, transaction, settings)
        if outcome.locked or transaction.revoked:
            return _login_page(transaction, client, locale, error=TEXT[locale]["locked"], status=429)
        return _login_page(transaction, client, locale, error=TEXT[locale]["bad_credentials"], status=401)
    return _authenticated(uow, transaction, person.id, settings)


def _count_failure(uow, transaction: AuthTransaction, settings) -> None:
    """One more failure of the transaction, which _transaction locked when the request began."""
    transaction.failed_attempts += 1
    if transaction.failed_attempts >= settings.max_failed_attempts:
        transaction.revoked = True  # guessing across many accounts inside one transaction ends it
    uow.session.add(transaction)
    uow.commit()


@router.post("/authorize/staff-login", response_class=HTMLResponse)
def post_staff_login(request: Request, uow: UowDep, transaction_id: str = Form(""), username: str = Form(""), password: str = Form("")):
    """Staff sign-in for the staff consoles' clients: no claim-consent screen; the code's tokens carry the staff member's roles."""
    settings = request.app.state.settings
    try:
        transaction = _transaction(request, uow, transaction_id)
    except _Refused:
        return _error_page(pick_locale(None), "invalid_transaction")
    locale = transaction.ui_locale
    if transaction.client_id not in settings.staff_login_clients:
        return _error_page(locale, "invalid_acr")
    if transaction.person_id is not None:
        return _error_page(locale, "invalid_transaction")  # a citizen already signed in on this transaction
    client = uow.session.get(OidcClient, transaction.client_id)
    account, outcome = staff.sign_in(uow.session, settings, username=username, password=password)
    if not outcome.ok:
        _count_failure(uow, transaction, settings)
        locked = outcome.locked or transaction.revoked
        return _login_page(transaction, client, locale, status=429 if locked else 401, staff_login=True,
                           staff_error=TEXT[locale]["locked" if locked else "bad_staff_credentials"])
    transaction.staff_account_id, transaction.auth_time, transaction.acr = account.id, utcnow(), STAFF_ACR
    redirect = _issue_code(uow, transaction, settings)
    uow.commit()
    return RedirectResponse(redirect, status_code=303)


def _authenticated(uow, transaction: AuthTransaction, person_id: str, settings) -> RedirectResponse:
    transaction.person_id, transaction.auth_time = person_id, utcnow()
    uow.session.add(transaction)
    if not transaction.requested_claims:  # scope openid alone: nothing to consent to
        redirect = _issue_code(uow, transaction, settings)
        uow.commit()
        return RedirectResponse(redirect, status_code=303)
    uow.commit()
    return RedirectResponse(f"/authorize/consent?transaction_id={transaction.id}", status_code=303)


def _otp_transaction(request: Request, uow, transaction_id: str) -> AuthTransaction:
    transaction = _transaction(request, uow, transaction_id)
    if transaction.acr != OTP_ACR or transaction.person_id is not None:
        raise _Refused()
    return transaction


@router.post("/authorize/otp/send", response_class=HTMLResponse)
def post_otp_send(request: Request, uow: UowDep, transaction_id: str = Form(""), individual_id: str = Form(""),
                  channel: str = Form("sms")):
    settings = request.app.state.settings
    try:
        transaction = _otp_transaction(request, uow, transaction_id)
    except _Refused:
        return _error_page(pick_locale(None), "invalid_transaction")
    locale = transaction.ui_locale
    client = uow.session.get(OidcClient, transaction.client_id)
    if channel not in otp.CHANNELS:
        return _login_page(transaction, client, locale, status=400)
    person = persons.by_individual_id(uow.session, individual_id[:32])
    try:
        otp.send(uow, settings, transaction_id=transaction.id, person=person, individual_id=individual_id[:32], channel=channel,
                 language=locale)
    except otp.TooManyCodes:  # for this transaction, or for the person (whether or not the ID exists: the page is the same)
        transaction.revoked = True
        uow.session.add(transaction)
        uow.commit()
        return _login_page(transaction, client, locale, error=TEXT[locale]["locked"], status=429)
    uow.commit()
    return _page("otp.html", locale, transaction_id=transaction.id)


@router.post("/authorize/otp/verify", response_class=HTMLResponse)
def post_otp_verify(request: Request, uow: UowDep, transaction_id: str = Form(""), otp_code: str = Form("", alias="otp")):
    settings = request.app.state.settings
    try:
        transaction = _otp_transaction(request, uow, transaction_id)
    except _Refused:
        return _error_page(pick_locale(None), "invalid_transaction")
    locale = transaction.ui_locale
    outcome = otp.verify(uow, settings, transaction_id=transaction.id, code=otp_code[:6])
    if outcome.person_id is None:
        uow.commit()
        if outcome.locked:  # too many wrong codes for the person, across transactions: as the PIN lockout answers
            client = uow.session.get(OidcClient, transaction.client_id)
            return _login_page(transaction, client, locale, error=TEXT[locale]["locked"], status=429)
        if outcome.exhausted:
            client = uow.session.get(OidcClient, transaction.client_id)
            return _login_page(transaction, client, locale, error=TEXT[locale]["otp_expired"], status=401)
        return _page("otp.html", locale, status=401, transaction_id=transaction.id, error=TEXT[locale]["bad_otp"])
    return _authenticated(uow, transaction, outcome.person_id, settings)


@router.get("/authorize/consent", response_class=HTMLResponse)
def get_consent(request: Request, uow: UowDep, transaction_id: str = "", ui_locales: str | None = None):
    try:
        transaction = _transaction(request, uow, transaction_id)
    except _Refused:
        return _error_page(pick_locale(ui_locales), "invalid_transaction")
    if transaction.person_id is None:
        return _error_page(transaction.ui_locale, "login_required")
    locale = pick_locale(ui_locales, default=transaction.ui_locale)
    client = uow.session.get(OidcClient, transaction.client_id)
    labels = CLAIM_LABELS[locale]
    claims = [{"name": c["name"], "essential": c["essential"], "label": labels.get(c["name"], c["name"])} for c in transaction.requested_claims]
    return _page("consent.html", locale, switch_url=_switch_url(request, locale), client_name=client.name_in(locale), claims=claims,
                 transaction_id=transaction.id, action="/authorize/consent")


@router.post("/authorize/consent", response_class=HTMLResponse)
def post_consent(request: Request, uow: UowDep, transaction_id: str = Form(""), decision: str = Form(""),
                 claims: list[str] = Form([])):
    return _consent(request, uow, transaction_id, decision, set(claims))


def _consent(request: Request, uow, transaction_id: str, decision, accepted: set[str]):
    settings = request.app.state.settings
    try:
        transaction = _transaction(request, uow, transaction_id)
    except _Refused:
        return _error_page(pick_locale(None), "invalid_transaction")
    if transaction.person_id is None:
        return _error_page(transaction.ui_locale, "login_required")
    if authentication_too_old(transaction):
        transaction.person_id, transaction.auth_time = None, None  # max_age passed while the consent page was open: log in again
        uow.session.add(transaction)
        uow.commit()
        client = uow.session.get(OidcClient, transaction.client_id)
        return _login_page(transaction, client, transaction.ui_locale, error=TEXT[transaction.ui_locale]["reauthenticate"])
    if decision != "allow":
        transaction.revoked = True
        uow.session.add(transaction)
        uow.commit()
        return RedirectResponse(_with_params(transaction.redirect_uri, {"error": "access_denied", "state": transaction.state}), status_code=303)
    transaction.consented_claims = [c["name"] for c in transaction.requested_claims if c["name"] in accepted]
    redirect = _issue_code(uow, transaction, settings)
    uow.commit()
    return RedirectResponse(redirect, status_code=303)


def authentication_too_old(transaction: AuthTransaction) -> bool:
    """OIDC max_age: the login happened longer ago than the client allows. max_age=0 only asks for a fresh login, which every
    transaction has here (there is no single sign-on session)."""
    if not transaction.max_age or transaction.auth_time is None:
        return False
    return (utcnow() - transaction.auth_time).total_seconds() > transaction.max_age


def _issue_code(uow, transaction: AuthTransaction, settings) -> str:
    code = secrets.token_urlsafe(32)
    transaction.code_hash = _sha256(code)  # only the hash is stored: a database read does not yield usable codes
    transaction.code_expires_at = utcnow() + timedelta(seconds=settings.authorization_code_seconds)
    uow.session.add(transaction)
    return _with_params(transaction.redirect_uri, {"code": code, "state": transaction.state})


def redeem_code(uow, code: str) -> AuthTransaction | None:
    """Mark the code used, once; a second redemption gets None and revokes what the first one issued."""
    transaction = uow.session.query(AuthTransaction).filter(AuthTransaction.code_hash == _sha256(code)).one_or_none()
    if transaction is None:
        return None
    marked = uow.session.execute(
        update(AuthTransaction).where(AuthTransaction.id == transaction.id, AuthTransaction.code_used_at.is_(None)).values(code_used_at=utcnow())
    ).rowcount
    if marked != 1:
        # RFC 6749 4.1.2: a replayed code is refused and the tokens issued from it are revoked.
        uow.session.execute(update(AuthTransaction).where(AuthTransaction.id == transaction.id).values(revoked=True))
        uow.commit()
        return None
    uow.commit()  # spent now, whatever the later checks decide
    uow.session.refresh(transaction)
    return transaction
