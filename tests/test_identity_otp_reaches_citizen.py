"""A login code reaches the citizen: Identity's /authorize page -> identity.otp.requested (outbox, relay, RabbitMQ) ->
Messaging (consumer, emergency lane, delivery worker) -> SMTP, and the code read from the mail completes the login.
Every piece runs for real; the mailbox is an aiosmtpd server."""
import re
import time
import uuid
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey

from identity.app import create_app as create_identity
from identity.settings import IdentitySettings
from kernel import relay
from kernel.consumer import Consumer
from kernel.db import make_engine
from kernel.testing import free_port, running, serve, smtp_mailbox, wait_until
from messaging.app import create_app as create_messaging
from messaging.delivery import DeliveryWorker, ensure_topology
from messaging.handlers import handlers_for
from messaging.settings import MessagingSettings

OTP_ACR = "idbb:acr:generated-code"
CALLBACK = "https://rp.example.la/callback"


@pytest.fixture(scope="module")
def mailbox():
    with smtp_mailbox() as box_and_port:
        yield box_and_port


@pytest.fixture(scope="module")
def suite(infrastructure, oidc_issuer, mailbox):
    """Identity (API, relay) and Messaging (API, relay, consumer, delivery worker) on one broker vhost."""
    amqp_url = infrastructure.new_vhost("otp_citizen")
    identity_port = free_port()
    identity_url = f"http://127.0.0.1:{identity_port}"
    identity = IdentitySettings(database_url=infrastructure.new_database("otp_identity"), amqp_url=amqp_url, port=identity_port,
                                public_url=identity_url, oidc_issuers=[oidc_issuer.url, identity_url], environment="test")
    messaging = MessagingSettings(database_url=infrastructure.new_database("otp_messaging"), amqp_url=amqp_url,
                                  oidc_issuers=[oidc_issuer.url], environment="test", smtp_host="127.0.0.1", smtp_port=mailbox[1],
                                  consumer_retry_delay_ms=200, scheduler_poll_seconds=0.1)
    with serve(create_identity(identity), port=identity_port), serve(create_messaging(messaging)):
        identity_engine, messaging_engine = make_engine(identity), make_engine(messaging)
        ensure_topology(messaging)
        consumer = Consumer(messaging_engine, amqp_url=amqp_url, exchange=messaging.events_exchange, queue=messaging.service_name,
                            source=messaging.service_name, handlers=handlers_for(messaging), retry_delay_ms=200)
        consumer.declare()  # bound before anything is published: a command published before that would be unroutable
        with running(consumer.run):
            with running(lambda stop: relay.run(identity_engine, amqp_url=amqp_url, exchange=identity.events_exchange, poll_seconds=0.02, stop=stop)), \
                    running(lambda stop: relay.run(messaging_engine, amqp_url=amqp_url, exchange=messaging.events_exchange, poll_seconds=0.02, stop=stop)), \
                    running(DeliveryWorker(messaging_engine, messaging).run):
                yield identity_url
        identity_engine.dispose()
        messaging_engine.dispose()


def _stamp() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())


def _relying_party(identity_url: str, admin: str) -> tuple[str, RSAKey]:
    key = RSAKey.generate_key(2048, parameters={"kid": uuid.uuid4().hex, "use": "sig"})
    client_id = f"rp-{uuid.uuid4().hex[:10]}"
    request = {"clientId": client_id, "clientName": "ບໍລິການ Health Service", "relyingPartyId": f"rp-{client_id}",
               "logoUri": "https://rp.example.la/logo.png", "redirectUris": [CALLBACK], "authContextRefs": [OTP_ACR],
               "publicKey": key.as_dict(private=False), "userClaims": ["name", "email"], "grantTypes": ["authorization_code"],
               "clientAuthMethods": ["private_key_jwt"]}
    response = httpx.post(f"{identity_url}/client-mgmt/oidc-client", headers={"Authorization": f"Bearer {admin}"},
                          json={"requestTime": _stamp(), "request": request})
    assert response.status_code == 200 and response.json()["errors"] == [], response.text
    return client_id, key


def _citizen(identity_url: str, admin: str, mail_address: str) -> str:
    """Enrols a person with this e-mail address (and a phone); returns the UIN."""
    enrollment_id = f"enr-{uuid.uuid4().hex[:10]}"
    fields = {"fullName": '[{"language": "lao", "value": "ສົມໃຈ ໄຊຍະວົງ"}]', "dateOfBirth": "1990/01/01",
              "phone": "+856201234567", "email": mail_address, "city": "Vientiane"}
    headers = {"Authorization": f"Bearer {admin}"}
    enrolled = httpx.put(f"{identity_url}/enrollment", headers=headers, json={
        "id": "govstack.enrollment", "version": "v1", "requesttime": _stamp(),
        "request": {"id": enrollment_id, "process": "NEW", "source": "REGISTRATION_CLIENT", "fields": fields, "finalize": True}})
    assert enrolled.status_code == 201, enrolled.text
    return httpx.get(f"{identity_url}/enrollment/{enrollment_id}", headers=headers).json()["uin"]


def test_the_login_code_arrives_by_mail_in_lao_and_signs_the_citizen_in(suite, mailbox, oidc_issuer):
    identity_url = suite
    box, _ = mailbox
    admin = oidc_issuer.token(sub="admin-1", audience="identity", roles=["operator"], expires_in=600,
                              scopes=["add_oidc_client", "enrollment"])
    client_id, key = _relying_party(identity_url, admin)
    mail_address = f"citizen-{uuid.uuid4().hex[:8]}@example.la"
    uin = _citizen(identity_url, admin, mail_address)

    with httpx.Client(base_url=identity_url) as browser:
        page = browser.get("/authorize", params={"client_id": client_id, "redirect_uri": CALLBACK, "response_type": "code",
                                                 "scope": "openid profile", "state": "s-1", "nonce": uuid.uuid4().hex})
        assert page.status_code == 200 and 'name="channel"' in page.text, page.text
        transaction_id = re.search(r'name="transaction_id" value="([^"]+)"', page.text).group(1)
        sent = browser.post("/authorize/otp/send", data={"transaction_id": transaction_id, "individual_id": uin, "channel": "email"})
        assert sent.status_code == 200 and 'name="otp"' in sent.text, sent.text

        [mail] = wait_until(lambda: box.to(mail_address), timeout=30, message="the login code by mail")
        [code] = re.findall(r"\b\d{6}\b", mail.get_content())
        verified = browser.post("/authorize/otp/verify", data={"transaction_id": transaction_id, "otp": code})
        assert verified.status_code == 303 and verified.headers["location"].startswith("/authorize/consent"), verified.text
        consent = browser.post("/authorize/consent", data={"transaction_id": transaction_id, "decision": "allow", "claims": ["name"]})

    assert mail["Subject"] == "ລະຫັດຢືນຢັນຄັ້ງດຽວຂອງທ່ານ"  # no ui_locales: Lao, the citizens' default
    callback = {k: v[0] for k, v in parse_qs(urlsplit(consent.headers["location"]).query).items()}
    assert callback["state"] == "s-1"
    now = int(time.time())
    assertion = jwt.encode({"alg": "RS256", "kid": key.kid}, {"iss": client_id, "sub": client_id, "aud": f"{identity_url}/oauth/token",
                                                             "iat": now, "exp": now + 120, "jti": uuid.uuid4().hex}, key)
    tokens = httpx.post(f"{identity_url}/oauth/token", data={
        "grant_type": "authorization_code", "code": callback["code"], "client_id": client_id, "redirect_uri": CALLBACK,
        "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer", "client_assertion": assertion})
    assert tokens.status_code == 200, tokens.text
    jwks = KeySet.import_key_set(httpx.get(f"{identity_url}/.well-known/jwks.json").json())
    assert jwt.decode(tokens.json()["id_token"], jwks, algorithms=["RS256"]).claims["acr"] == OTP_ACR
    # One command, one mail.
    assert len(box.to(mail_address)) == 1
