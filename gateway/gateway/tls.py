"""Mutual TLS for callers: the gateway serves TLS when configured, and a client certificate verified against the
configured CA reaches the app as the ASGI TLS extension (scope["extensions"]["tls"]), fingerprint included.

uvicorn verifies the certificate but does not pass it on, so its HTTP protocol is extended here by one step.
"""
import hashlib
import ssl

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from gateway.settings import GatewaySettings

# RFC 4514 short names of the attributes ssl reports by their long names.
_SHORT = {"commonName": "CN", "organizationName": "O", "organizationalUnitName": "OU", "countryName": "C",
          "localityName": "L", "stateOrProvinceName": "ST", "domainComponent": "DC", "userId": "UID"}


def _escape(value: str) -> str:
    escaped = "".join("\\" + ch if ch in ',+"\\<>;=' else ch for ch in value)
    if escaped[:1] in (" ", "#"):
        escaped = "\\" + escaped
    return escaped[:-1] + "\\ " if escaped.endswith(" ") else escaped


def subject_name(peer: dict) -> str:
    """The certificate subject as an RFC 4514 string (most specific first), e.g. CN=payments,O=Ministry of Finance,C=LA."""
    rdns = ["+".join(f"{_SHORT.get(name, name)}={_escape(value)}" for name, value in rdn) for rdn in peer.get("subject", ())]
    return ",".join(reversed(rdns))


def peer_certificate(transport) -> dict | None:
    """The verified client certificate of a TLS connection, in the shape of the ASGI TLS extension, or None."""
    ssl_object = transport.get_extra_info("ssl_object")
    if ssl_object is None:
        return None
    der = ssl_object.getpeercert(binary_form=True)
    if not der:
        return None
    return {"client_cert_chain": [ssl.DER_cert_to_PEM_cert(der)], "client_cert_name": subject_name(ssl_object.getpeercert()),
            "client_cert_error": None, "client_cert_sha256": hashlib.sha256(der).hexdigest()}


class ClientCertificateProtocol(HttpToolsProtocol):
    """uvicorn's HTTP protocol, with the connection's client certificate in every request's scope."""

    client_certificate: dict | None = None

    def connection_made(self, transport) -> None:
        super().connection_made(transport)
        # Called once the TLS handshake is done, so the certificate is there and was verified against the CA.
        self.client_certificate = peer_certificate(transport)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self.client_certificate is not None:
            self.scope["extensions"] = {"tls": self.client_certificate}


def server_options(settings: GatewaySettings) -> dict:
    """uvicorn settings: TLS when a server certificate is configured, asking for client certificates when a CA is."""
    if not settings.tls_cert_file:
        return {}
    options = {"ssl_certfile": settings.tls_cert_file, "ssl_keyfile": settings.tls_key_file or None}
    if settings.tls_client_ca_file:
        options.update(ssl_ca_certs=settings.tls_client_ca_file, http=ClientCertificateProtocol,
                       ssl_cert_reqs=ssl.CERT_REQUIRED if settings.tls_client_cert_required else ssl.CERT_OPTIONAL)
    return options


def certificate_matches(binding: str | None, certificate: dict) -> bool:
    """An application's binding is its certificate's SHA-256 fingerprint (hex, colons allowed) or its subject name."""
    if not binding:
        return False
    fingerprint = binding.replace(":", "").lower()
    return fingerprint == certificate["client_cert_sha256"] or binding == certificate["client_cert_name"]
