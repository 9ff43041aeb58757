"""Which callback URLs the service may POST to: callers choose them, so without a policy a caller could aim the
consumer at services inside the cluster (SSRF). Checked when a request registers one and again at send time,
where the request goes to the very address that was checked (DNS may change in between)."""
import ipaddress
import socket
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from messaging.settings import MessagingSettings

_DEFAULT_PORTS = {"http": 80, "https": 443}


class CallbackRefused(ValueError):
    """The reason names the rule, never the URL."""


@dataclass(frozen=True)
class Target:
    """Where to POST: `url` (an IP address in place of the host when pinned) with these headers and httpx extensions."""

    url: str
    headers: dict = field(default_factory=dict)
    extensions: dict = field(default_factory=dict)


def _parts(url: str):
    try:
        parts = urlsplit(url)
        port = parts.port or _DEFAULT_PORTS.get(parts.scheme)
    except ValueError:
        raise CallbackRefused("not a valid URL") from None
    if parts.scheme not in _DEFAULT_PORTS or not parts.hostname:
        raise CallbackRefused("not an http(s) URL")
    if parts.username is not None or parts.password is not None:
        raise CallbackRefused("credentials in the URL")  # also defeats "https://allowed.host@elsewhere/" tricks
    return parts, port


def _listed(url: str, prefixes: list[str]) -> bool:
    """Same scheme, host and port as a listed prefix, and its path below the prefix's (a plain startswith would let
    https://registration.gov.la.evil.example/ pass for https://registration.gov.la)."""
    parts, port = _parts(url)
    for prefix in prefixes:
        try:
            allowed, allowed_port = _parts(prefix)
        except CallbackRefused:
            continue
        if (parts.scheme, parts.hostname, port) == (allowed.scheme, allowed.hostname, allowed_port) \
                and (parts.path or "/").startswith(allowed.path or "/"):
            return True
    return False


def _internal(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])  # drop an IPv6 zone
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped  # ::ffff:127.0.0.1 is loopback too
    # is_global excludes loopback, private, link-local (cloud metadata), unspecified, reserved and shared space.
    return not ip.is_global or ip.is_multicast


def _public_addresses(host: str, port: int) -> list[str]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise CallbackRefused("host does not resolve") from None
    addresses = list(dict.fromkeys(info[4][0] for info in infos))
    # Every address must be public: a name with one public and one internal address could be steered to either.
    if not addresses or any(_internal(address) for address in addresses):
        raise CallbackRefused("host resolves to an internal address")
    return addresses


def check(url: str, settings: MessagingSettings) -> Target:
    """The target for this callback URL under the settings' policy; raises CallbackRefused."""
    parts, port = _parts(url)
    if settings.callback_url_prefixes:
        if not _listed(url, settings.callback_url_prefixes):
            raise CallbackRefused("not under an allowed prefix")
        return Target(url)  # explicitly allowed by the operator, internal hosts included
    if settings.callback_private_allowed:
        return Target(url)
    address = _public_addresses(parts.hostname, port)[0]
    host = f"[{address}]" if ":" in address else address
    pinned = parts._replace(netloc=f"{host}:{port}").geturl()
    # Host header and TLS server name stay the caller's host name, so virtual hosts and certificate checks still work.
    return Target(pinned, headers={"Host": parts.netloc}, extensions={"sni_hostname": parts.hostname})
