"""POST /wallet-binding: a wallet backend binds a wallet's public key to a person (bearer scope wallet_binding + partner key);
POST /binding-otp sends the person the one-time code that can prove who they are for it."""
from datetime import timedelta

from fastapi import APIRouter, Body, Header, Request
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from kernel.auth import require
from kernel.db import UowDep
from kernel.errors import ApiError
from identity import otp, persons, tokens, wallet
from identity.models import WalletBinding, WalletPartner, utcnow
from identity.routes.linked_authorization import BusinessError, iso_time, otp_request, request_of, text_field
from identity.schemas import envelope
from identity.secrets_check import matches
from identity.ui_text import pick_locale

router = APIRouter(tags=["Wallet - QR Code"])
BINDABLE_FACTORS = ("WLA",)  # what a bound key may later be used for (the WLA challenge of linked authentication)
PROOF_FACTORS = ("PIN", "OTP")  # how the person proves who they are when binding
OTP_FORMATS = ("number", "alpha-numeric")


def _partner(uow, partner_id: str, api_key: str) -> WalletPartner:
    partner = uow.session.get(WalletPartner, partner_id) if 0 < len(partner_id) <= 100 else None
    known = partner is not None and partner.status == "active"
    if not matches(partner.api_key_hash if known else None, api_key[:256]) or not known:
        raise ApiError(401, "invalid_partner", "PARTNER-ID / PARTNER-API-KEY are not valid.")
    return partner


@router.post("/binding-otp", dependencies=[require(scopes=("wallet_binding",))])
def send_binding_otp(http_request: Request, uow: UowDep, body=Body(None),
                     partner_id: str = Header("", alias="PARTNER-ID"), partner_api_key: str = Header("", alias="PARTNER-API-KEY")) -> dict:
    """eSignet's binding-otp: a code to the person's phone or e-mail, for an OTP challenge in /wallet-binding by this partner.

    The answer is the same whether or not the ID exists or has that contact (no masked contact is returned), so a partner
    cannot probe ID numbers with it; only a real person receives a code.
    """
    settings = http_request.app.state.settings
    partner = _partner(uow, partner_id, partner_api_key)
    try:
        individual_id, channels = otp_request(request_of(body))
    except BusinessError as invalid:
        return _error(invalid.code, invalid.message)
    person = persons.by_individual_id(uow.session, individual_id)
    try:
        otp.send(uow, settings, transaction_id=otp.binding_key(settings, partner_id=partner.partner_id, individual_id=individual_id),
                 person=person, individual_id=individual_id, channel=otp.preferred_channel(person, channels),
                 language=pick_locale(http_request.headers.get("accept-language")), binding=True)
        uow.commit()
    except (otp.TooManyCodes, IntegrityError):  # a limit (per code lifetime, partner and ID, or person), or two first requests at once
        return _error("send_otp_failed", "Too many codes were requested; try again later.")
    return envelope({})


@router.post("/wallet-binding", dependencies=[require(scopes=("wallet_binding",))])
def bind_wallet(http_request: Request, uow: UowDep, body=Body(None),
                partner_id: str = Header("", alias="PARTNER-ID"), partner_api_key: str = Header("", alias="PARTNER-API-KEY")) -> dict:
    settings = http_request.app.state.settings
    partner = _partner(uow, partner_id, partner_api_key)
    try:
        request = request_of(body)
        if request.get("format") not in wallet.CHALLENGE_FORMATS:
            raise BusinessError("unsupported_challenge_format", "format must be one of " + ", ".join(wallet.CHALLENGE_FORMATS) + ".")
        try:
            public_key = wallet.parse_public_key(request.get("publicKey"))
        except wallet.InvalidKey as invalid:
            raise BusinessError("invalid_public_key", str(invalid))
        challenges = request.get("challengeList")
        if (not isinstance(challenges, list) or len(challenges) != 1 or not isinstance(challenges[0], dict)
                or not isinstance(challenges[0].get("challenge"), str) or not challenges[0]["challenge"].strip()
                or len(challenges[0]["challenge"]) > 256):
            raise BusinessError("invalid_auth_challenge", "One non-blank challenge is required.")
        if challenges[0].get("authFactorType") not in PROOF_FACTORS:
            raise BusinessError("invalid_auth_challenge", "The challenge must be a PIN or an OTP.")
        if challenges[0]["authFactorType"] == "OTP" and challenges[0].get("format") not in OTP_FORMATS:
            raise BusinessError("invalid_auth_challenge", "An OTP challenge has the format number or alpha-numeric.")
        auth_factor_type = request.get("authFactorType")
        if auth_factor_type not in BINDABLE_FACTORS:
            raise BusinessError("key_binding_failed", "Keys can be bound for the WLA auth factor only.")
        individual_id = text_field(request, "individualId")
    except BusinessError as invalid:
        return _error(invalid.code, invalid.message)

    person = persons.by_individual_id(uow.session, individual_id) if individual_id else None
    if not _proven(uow, settings, partner, person, individual_id, challenges[0]):
        return _error("invalid_auth_challenge", "The person could not be authenticated.")

    subject = tokens.pairwise_subject(settings, person_id=person.id, relying_party_id=f"wallet-partner:{partner.partner_id}")
    duplicate = uow.session.exec(select(WalletBinding).where(
        WalletBinding.subject == subject, WalletBinding.key_thumbprint == public_key.thumbprint,
        WalletBinding.auth_factor_type == auth_factor_type)).first()
    if duplicate is not None:
        return _error("duplicate_public_key", "This key is already bound for this person and auth factor.")
    binding = WalletBinding(partner_id=partner.partner_id, person_id=person.id, subject=subject, key_thumbprint=public_key.thumbprint,
                            auth_factor_type=auth_factor_type, public_key=public_key.jwk, certificate="",
                            expires_at=utcnow() + timedelta(days=settings.wallet_certificate_days))
    binding.certificate = wallet.issue_certificate(uow.session, settings, wallet_user_id=binding.wallet_user_id, public_key=public_key,
                                                   not_after=binding.expires_at)
    uow.session.add(binding)
    try:
        uow.commit()
    except IntegrityError:  # the same binding requested concurrently
        return _error("duplicate_public_key", "This key is already bound for this person and auth factor.")
    return envelope({"walletUserId": binding.wallet_user_id, "certificate": binding.certificate, "expireDateTime": iso_time(binding.expires_at)})


def _proven(uow, settings, partner: WalletPartner, person, individual_id: str, challenge: dict) -> bool:
    """The PIN or the code sent through /binding-otp; failed attempts count (and are committed) even though binding stops."""
    if challenge["authFactorType"] == "OTP":
        key = otp.binding_key(settings, partner_id=partner.partner_id, individual_id=individual_id)
        sent_to = otp.verify(uow, settings, transaction_id=key, code=challenge["challenge"][:16]).person_id
        uow.commit()
        return person is not None and sent_to == person.id
    outcome = persons.check_pin(uow.session, settings, person, challenge["challenge"])
    uow.commit()
    return outcome.ok


def _error(code: str, message: str) -> dict:
    return envelope({}, [(code, message)])
