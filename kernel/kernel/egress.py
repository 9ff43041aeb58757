"""Requests to URLs that callers choose (messaging's delivery callbacks, the gateway's pub/sub pushes): without a policy a
caller could aim the service at hosts inside the cluster (SSRF). A URL is checked when it is registered and again when
it is used, and the request then goes to the very address that was checked (DNS may change in between)."""
import ipaddress
import socket
from dataclasses import dataclass, field
from urllib.parse import SplitResult, urlsplit

DEFAULT_PORTS = {"http": 80, "https": 443}


class UrlRefused(ValueError):
    """The reason names the rule, never the URL."""


@dataclass(frozen=True)
class Target:
    """Where to send: `url` (the checked IP address in place of the host name when pinned), headers, httpx extensions."""

    url: str
    headers: dict = field(default_factory=dict)
    extensions: dict = field(default_factory=dict)


def url_parts(url: str) -> tuple[SplitResult, int]:
    """An http(s) URL's parts and port; raises UrlRefused."""
    try:
        parts = urlsplit(url)
        port = parts.port or DEFAULT_PORTS.get(parts.scheme)
    except ValueError:
        raise UrlRefused("not a valid URL") from None
    if parts.scheme not in DEFAULT_PORTS or not parts.hostname:
        raise UrlRefused("not an http(s) URL")
    if parts.username is not None or parts.password is not None:
        raise UrlRefused("credentials in the URL")  # also defeats "https://allowed.host@elsewhere/" tricks
    return parts, port


def internal(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])  # without an IPv6 zone
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped  # ::ffff:127.0.0.1 is loopback too
    # is_global excludes loopback, private, link-local (cloud metadata), unspecified, reserved and shared space.
    return not ip.is_global or ip.is_multicast


def public_addresses(host: str, port: int) -> list[str]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise UrlRefused("host does not resolve") from None
    addresses = list(dict.fromkeys(info[4][0] for info in infos))
    # Every address must be public: a name with one public and one internal address could be steered to either.
    if not addresses or any(internal(address) for address in addresses):
        raise UrlRefused("host resolves to an internal address")
    return addresses


def target(url: str, *, allow_private: bool) -> Target:
    """The target of a caller-chosen URL; raises UrlRefused. Unless allow_private, its host must resolve to public
    addresses only, and the target is pinned to the first of them."""
    parts, port = url_parts(url)
    if allow_private:
        return Target(url)
    address = public_addresses(parts.hostname, port)[0]
    host = f"[{address}]" if ":" in address else address
    # Host header and TLS server name stay the caller's host name, so virtual hosts and certificate checks still work.
    return Target(parts._replace(netloc=f"{host}:{port}").geturl(), headers={"Host": parts.netloc},
                  extensions={"sni_hostname": parts.hostname})
