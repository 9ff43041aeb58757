"""Mutual TLS: a client certificate of the configured CA, bound to an application, proves it instead of a bearer token.

The certificates are made here with `cryptography`; the gateway is a real uvicorn server over TLS.
"""
import hashlib
import ssl
import uuid

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import NameOID

from gateway.app import create_app
from gateway.tls import server_options
from kernel.testing import Authority, serve


def fingerprint(cert: x509.Certificate) -> str:
    return hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest()


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    directory = tmp_path_factory.mktemp("pki")
    ca, rogue = Authority(directory, "exchange-ca"), Authority(directory, "rogue-ca")
    server = ca.issue("server", [(NameOID.COMMON_NAME, "gateway")], ip="127.0.0.1")
    suffix = uuid.uuid4().hex[:8]
    return {
        "ca": ca, "server": server, "suffix": suffix,
        "payments": ca.issue("payments", [(NameOID.COUNTRY_NAME, "LA"), (NameOID.ORGANIZATION_NAME, "Ministry of Finance"),
                                          (NameOID.COMMON_NAME, f"payments-{suffix}")]),
        "loans": ca.issue("loans", [(NameOID.COMMON_NAME, f"loans-{suffix}")]),
        "rogue": rogue.issue("rogue", [(NameOID.COUNTRY_NAME, "LA"), (NameOID.ORGANIZATION_NAME, "Ministry of Finance"),
                                       (NameOID.COMMON_NAME, f"payments-{suffix}")]),
    }


@pytest.fixture(scope="module")
def tls_gateway(settings, infrastructure, pki, provider_url, admin_headers, tmp_path_factory):
    own = settings.model_copy(update={
        "database_url": infrastructure.new_database("gateway_tls"), "fixtures": "", "data_dir": tmp_path_factory.mktemp("tls-data"),
        "tls_cert_file": pki["server"][0], "tls_key_file": pki["server"][1], "tls_client_ca_file": pki["ca"].cert_file})
    suffix = pki["suffix"]
    with serve(create_app(own), **server_options(own)) as url:
        # Payments is bound by fingerprint, loans by subject name; both may call the records service.
        config = {"members": [
            {"class": "GOV", "code": f"MOH{suffix}", "applications": [{"id": "patients", "services": [
                {"id": "records", "serviceUrl": provider_url, "rights": [{"member": f"GOV/MOF{suffix}", "application": "payments"},
                                                                          {"member": f"COM/BANK{suffix}", "application": "loans"}]}]}]},
            {"class": "GOV", "code": f"MOF{suffix}", "applications": [
                {"id": "payments", "clientId": f"payments-{suffix}", "tlsClientCert": fingerprint(pki["payments"][2])}]},
            {"class": "COM", "code": f"BANK{suffix}", "applications": [{"id": "loans", "tlsClientCert": f"CN=loans-{suffix}"}]},
        ]}
        response = httpx.patch(f"{url}/api/v1/config", json=config, headers=admin_headers, verify=tls_context(pki))
        assert response.status_code == 201, response.text
        yield url


def tls_context(pki, client: str | None = None) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=pki["ca"].cert_file)
    if client:
        certificate, key, _ = pki[client]
        context.load_cert_chain(certificate, key)
    return context


def call(url: str, pki, *, certificate: str | None, client: str, token: str | None = None) -> httpx.Response:
    headers = {"Information-Mediator-Client": client, **({"Authorization": f"Bearer {token}"} if token else {})}
    with httpx.Client(verify=tls_context(pki, certificate)) as http:
        return http.get(f"{url}/r1/LA/GOV/MOH{pki['suffix']}/patients/records/x", headers=headers)


def test_a_bound_client_certificate_proves_the_application_without_a_token(tls_gateway, pki):
    response = call(tls_gateway, pki, certificate="payments", client=f"LA/GOV/MOF{pki['suffix']}/payments")

    assert response.status_code == 200, response.text
    assert response.json()["headers"]["x-road-client"] == f"LA/GOV/MOF{pki['suffix']}/payments"
    assert "authorization" not in response.json()["headers"]


def test_an_application_can_be_bound_by_its_certificate_subject(tls_gateway, pki):
    response = call(tls_gateway, pki, certificate="loans", client=f"LA/COM/BANK{pki['suffix']}/loans")

    assert response.status_code == 200, response.text


def test_a_certificate_naming_another_application_is_refused(tls_gateway, pki):
    response = call(tls_gateway, pki, certificate="loans", client=f"LA/GOV/MOF{pki['suffix']}/payments")

    assert response.status_code == 401
    assert response.json()["type"] == "Client.AuthenticationFailed"


def test_a_certificate_of_another_authority_does_not_get_through_the_handshake(tls_gateway, pki):
    with pytest.raises(httpx.HTTPError):
        call(tls_gateway, pki, certificate="rogue", client=f"LA/GOV/MOF{pki['suffix']}/payments")


def test_without_a_certificate_the_bearer_token_still_proves_the_application(tls_gateway, pki, oidc_issuer):
    token = oidc_issuer.token(audience="gateway", client_id=f"payments-{pki['suffix']}", expires_in=600)

    with_token = call(tls_gateway, pki, certificate=None, client=f"LA/GOV/MOF{pki['suffix']}/payments", token=token)
    without = call(tls_gateway, pki, certificate=None, client=f"LA/GOV/MOF{pki['suffix']}/payments")

    assert with_token.status_code == 200
    assert without.status_code == 401
