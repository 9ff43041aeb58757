"""Data sets loaded with FIXTURES=conformance or FIXTURES=demo: data only, never behaviour."""
import hashlib
import secrets
from datetime import timedelta

from joserfc.jwk import RSAKey
from sqlmodel import select

from kernel.app import FixtureLoader
from identity import persons, service_accounts, staff
from identity.models import AuthTransaction, OidcClient, Person, PersonRevision, StaffAccount, WalletPartner, utcnow
from identity.secrets_check import hash_secret

# The person the GovStack harness authenticates (NOTES §6): PIN "password"; the wrong PIN "9999" must fail.
CONFORMANCE_PERSON_ID = "05a5eecd-8b70-480d-9662-b2e63e4bafdb"
CONFORMANCE_UIN = "2759183642"  # fixed test number with a valid Verhoeff check digit, so it can be typed into the login page
CONFORMANCE_ATTRIBUTES = {"name": {"lo": "ຜູ້ທົດສອບ ຄວາມສອດຄ່ອງ", "en": "Conformance Tester"}, "gender": "F",
                          "birthdate": "1990-01-01", "email": "conformance@example.la", "phone_number": "+856200000000"}


def load_conformance(uow, settings) -> None:
    session = uow.session
    if session.get(Person, CONFORMANCE_PERSON_ID) is None:
        session.add(Person(id=CONFORMANCE_PERSON_ID, uin=CONFORMANCE_UIN, attributes=CONFORMANCE_ATTRIBUTES))
        session.add(PersonRevision(person_id=CONFORMANCE_PERSON_ID, version=1, attributes=CONFORMANCE_ATTRIBUTES))
        session.flush()
    persons.set_pin(session, person_id=CONFORMANCE_PERSON_ID, pin="password")
    _load_wallet_partner(session)
    _load_pending_transactions(session)


# The harness sends these literal header values (NOTES §6); the bearer token with scope wallet_binding is still required.
CONFORMANCE_PARTNER_ID, CONFORMANCE_PARTNER_API_KEY = "PARTNER-ID", "PARTNER-API-KEY"
CONFORMANCE_CLIENT_ID = "conformance-wallet-rp"
# Transactions the harness expects to exist as if /authorize had started them; its pages send this XSRF token.
CONFORMANCE_XSRF_TOKEN = "X-XSRF-TOKEN"
PENDING_TRANSACTIONS = ("transactionId01", "transactionId02", "transactionId03", "transactionIdToBeExpired", "transaction_id_003")
COMPLETED_TRANSACTIONS = ("transactionId04",)


def _load_wallet_partner(session) -> None:
    if session.get(WalletPartner, CONFORMANCE_PARTNER_ID) is None:
        session.add(WalletPartner(partner_id=CONFORMANCE_PARTNER_ID, name="Conformance wallet backend",
                                  api_key_hash=hash_secret(CONFORMANCE_PARTNER_API_KEY)))
        session.flush()


def _load_pending_transactions(session) -> None:
    if session.get(OidcClient, CONFORMANCE_CLIENT_ID) is None:
        # Its private key is thrown away: the client exists only so that the transactions have a relying party.
        public_key = RSAKey.generate_key(2048, parameters={"use": "sig"}).as_dict(private=False)
        session.add(OidcClient(client_id=CONFORMANCE_CLIENT_ID, client_name="Conformance relying party", relying_party_id="conformance-rp",
                               logo_uri="https://rp.example.la/logo.png", redirect_uris=["https://rp.example.la/callback"],
                               auth_context_refs=["idbb:acr:static-code"], public_key=public_key,
                               user_claims=["name", "gender", "birthdate", "email", "phone_number"], grant_types=["authorization_code"],
                               client_auth_methods=["private_key_jwt"], registration_digest="fixture"))
        session.flush()
    for transaction_id in PENDING_TRANSACTIONS + COMPLETED_TRANSACTIONS:
        if session.get(AuthTransaction, transaction_id) is not None:
            continue
        completed = transaction_id in COMPLETED_TRANSACTIONS
        session.add(AuthTransaction(
            id=transaction_id, browser_binding="", client_id=CONFORMANCE_CLIENT_ID, redirect_uri="https://rp.example.la/callback",
            scope="openid profile", requested_claims=[{"name": "name", "essential": True}, {"name": "birthdate", "essential": False}],
            ui_locale="lo", state=f"state-{transaction_id}", nonce=f"nonce-{transaction_id}", acr="idbb:acr:static-code",
            xsrf_hash=hashlib.sha256(CONFORMANCE_XSRF_TOKEN.encode()).hexdigest(),
            code_hash=hashlib.sha256(secrets.token_bytes(32)).hexdigest() if completed else None,  # a code nobody holds
            code_used_at=utcnow() if completed else None, expires_at=utcnow() + timedelta(days=1)))
    session.flush()


FIXTURES: dict[str, FixtureLoader] = {"conformance": load_conformance}


# --- demo: the citizen portal (web/) as an OIDC client, and a citizen to sign in with -----------------------------

# DEV-ONLY key: the public half of web's WebSettings.portal_client_jwk default. Production registers its own key.
PORTAL_CLIENT_ID = "govstack-portal"
PORTAL_DEV_PUBLIC_JWK = {"kty": "RSA", "n": "t3tfiY99HW0O3nvcDDvXACosxmM75lIOSyiw9826ORLFod6bHI2vgy3RziFpdUveq0q3VMViDvYvXYejLbRBJIeR3p1dXpUG3ubKqJDsspgf3c51nPF9dLIcp-5vEJVFb3pRRHBIzWmKBDRfrKSQ9Wqt7vnEc8HXDjnYUxc0EWAlMx75aJImNOFsTpBEqLWHZ6_6M2Sy1frXK3wYR3NbqG9nE4XdGLVNzZuN1DNXYOKKfuH_h1ztrJusUjhNnR2WwxT_m3nH9lKKjaAJZ3V27lGXfbcy_StmjteaTvzyLkWbAUrqw80WYp1GpRe6p1H8VvyZgW83avK2g6jtxN_DeQ", "e": "AQAB", "kid": "govstack-portal-dev-1", "use": "sig", "alg": "RS256"}


def portal_redirect_uris(settings) -> list[str]:
    """The portal's sign-in callback, by its host name and by its address (browsers may be given either)."""
    url = settings.portal_url.rstrip("/")
    return list(dict.fromkeys([f"{url}/auth/callback", f"{url.replace('://localhost', '://127.0.0.1', 1)}/auth/callback"]))


DEMO_CITIZEN_ID = "7d0c4a4e-3f7b-4a57-9a8e-1c5d6e2f9b10"
DEMO_CITIZEN_UIN = "6170843404"  # valid Verhoeff check digit; PIN "123456"
DEMO_CITIZEN_ATTRIBUTES = {"name": {"lo": "ສົມພອນ ພົນເມືອງ", "en": "Somphone Citizen"}, "gender": "M",
                           "birthdate": "1988-05-12", "email": "somphone@example.la", "phone_number": "+8562055550101"}


# The portal's own titles (web/web/i18n.py, "site_title"), so that the sign-in page names it as the portal does
# (tests/test_portal_names.py keeps the two in step).
PORTAL_CLIENT_NAME = "Lao Government Online Services"
PORTAL_CLIENT_NAMES = {"lo": "ການບໍລິການລັດ ອອນລາຍ"}


def load_demo(uow, settings) -> None:
    session = uow.session
    portal = session.get(OidcClient, PORTAL_CLIENT_ID)
    if portal is None:
        session.add(OidcClient(
            client_id=PORTAL_CLIENT_ID, client_name=PORTAL_CLIENT_NAME, client_names=dict(PORTAL_CLIENT_NAMES),
            relying_party_id="govstack-portal",
            logo_uri=f"{settings.portal_url.rstrip('/')}/static/logo.png", redirect_uris=portal_redirect_uris(settings),
            auth_context_refs=["idbb:acr:static-code"], public_key=PORTAL_DEV_PUBLIC_JWK, user_claims=["name", "email", "phone_number"],
            grant_types=["authorization_code"], client_auth_methods=["private_key_jwt"], registration_digest="demo-fixture",
        ))
    elif portal.registration_digest == "demo-fixture" and not portal.client_names:
        # Loaded before clients had names per language (and when the default name was "Lao citizen portal").
        portal.client_name, portal.client_names = PORTAL_CLIENT_NAME, dict(PORTAL_CLIENT_NAMES)
    if session.get(Person, DEMO_CITIZEN_ID) is None:
        session.add(Person(id=DEMO_CITIZEN_ID, uin=DEMO_CITIZEN_UIN, attributes=DEMO_CITIZEN_ATTRIBUTES))
        session.add(PersonRevision(person_id=DEMO_CITIZEN_ID, version=1, attributes=DEMO_CITIZEN_ATTRIBUTES))
        session.flush()
        persons.set_pin(session, person_id=DEMO_CITIZEN_ID, pin="123456")
    _load_demo_staff(session)


# DEV-ONLY staff accounts of the demo (README, demo section): they sign in to the portal's consoles through /authorize.
# The operator holds the processing roles of both demo e-services (registration's fixture_data).
DEMO_STAFF = {
    "designer": ("designer-demo-pass", ["designer"]),
    "operator": ("operator-demo-pass", ["operator", "enterprise_reviewer", "enterprise_registrar", "sct_social_worker", "sct_programme_officer"]),
    "auditor": ("auditor-demo-pass", ["auditor"]),
}


def _load_demo_staff(session) -> None:
    for username, (password, roles) in DEMO_STAFF.items():
        if session.exec(select(StaffAccount).where(StaffAccount.username == username)).first() is None:
            staff.create_local(session, username=username, password=password, roles=roles)
    session.flush()




# --- the Messaging BB's service account: it reads applicants' notification contacts from the Registration BB -----

# DEV-ONLY key: the public half of messaging's MessagingSettings.service_private_jwk default. Production registers its own key.
MESSAGING_CLIENT_ID = "messaging-bb"
MESSAGING_DEV_PUBLIC_JWK = {"n": "2yK1gnRTJ7meC-AiJy8OWSMx6UqPWt7d8-1DF3Cbsh2K1MnlMx-l-XmAt6QLyXvmvWwmtrrDApcASArtOvpo_dapvUJUmtw20ljlPsskrxyQuLVInn3wZ5hVX6QvA49lyAmlPjDgt_2uHY4WDfL8k-AU-djR1gte2rQxXH45Sq5tT8e7FbCpLom37CAie7WTtift5Llg9UN8ynaz_77ieGfbn9BrAtHWCIW3VuxDoOWuU0XDzkPXjzrN8zxLoS0HuwpoQWI25VcRY4B0Dn1YBA6cuIUIakurTU5Uc1XBQnVELU_QZ3EZFhph35v8Yf5jZD8atZrwfo6AGBw9f_9vYQ", "e": "AQAB", "kid": "messaging-bb-dev-1", "use": "sig", "alg": "RS256", "kty": "RSA"}
MESSAGING_SCOPES = ["notification.read"]


def load_messaging_account(uow, settings) -> None:
    # The token's audience is asked for per call (registration); the gateway checks that the client id is bound to its application.
    service_accounts.upsert(uow.session, client_id=MESSAGING_CLIENT_ID, name="Messaging BB", public_key=MESSAGING_DEV_PUBLIC_JWK,
                            scopes=MESSAGING_SCOPES, roles=[])


# --- the Registration BB's service account: it asks the Consent BB (through the gateway) about applicants' consent ----

# DEV-ONLY key: the public half of registration's RegistrationSettings.service_private_jwk default (DEV_SERVICE_PUBLIC_JWK).
REGISTRATION_CLIENT_ID = "registration-bb"
REGISTRATION_DEV_PUBLIC_JWK = {"n": "5VaOpkexe_JAoaV4QnsCcZvvgpuzGXQYV7VX5Yaulc3F4_uwR4O1gbMkZbxBAkj0V490GXKN8evc2JBalt-rugGhNPmMXC_MmiZXTxhgcN1nR4Fnf-q0HI17lRW0f4lUHbVlr-7TlOIKPAyFeb2jh4OFPnP8e9ExaAtpxWHNRrFysLm5tnkVbR3cDODi2OwUtsW0qeKTidW6JEJHj7JVzFIMTeb2reVaKzzpAKwzFLWQ5xja-juGtWtfdAtndzTMUDos0yjQDTjoRv8JozwyHj0JShc55ZYAy26snQftzyDP2QnW_oNAAzjJEqMt3dhlIQZglJFv_Mm_O00gyBiXXw", "e": "AQAB", "kid": "registration-bb-dev-1", "use": "sig", "alg": "RS256", "kty": "RSA"}


def _load_demo_with_messaging(uow, settings) -> None:
    load_demo(uow, settings)
    load_messaging_account(uow, settings)
    # The Registration BB asks the Consent BB whether an applicant consented (role verifier there), with its own token.
    service_accounts.upsert(uow.session, client_id=REGISTRATION_CLIENT_ID, name="Registration BB", public_key=REGISTRATION_DEV_PUBLIC_JWK,
                            scopes=[], roles=["verifier"])
    # The portal's own client-credentials token (same key as its OIDC client): no roles or scopes, so through the
    # gateway it reads only what is public (the service catalogue, published data agreements) for signed-out visitors.
    service_accounts.upsert(uow.session, client_id=PORTAL_CLIENT_ID, name="Citizen portal", public_key=PORTAL_DEV_PUBLIC_JWK,
                            scopes=[], roles=[])


# Demo only: the private half of this key is in the repository, and a token from it reads applicants' emails and phone
# numbers. The conformance data set may run where others can reach it, so it does not get this account.
FIXTURES["demo"] = _load_demo_with_messaging
