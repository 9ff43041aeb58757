"""Which callback URLs the service may POST to: callers choose them, so without a policy a caller could aim the
consumer at services inside the cluster (SSRF). Checked when a request registers one and again at send time,
where the request goes to the very address that was checked (DNS may change in between)."""
from kernel.egress import Target, UrlRefused, target, url_parts
from messaging.settings import MessagingSettings

CallbackRefused = UrlRefused  # the reason names the rule, never the URL
__all__ = ["CallbackRefused", "Target", "check"]


def _listed(url: str, prefixes: list[str]) -> bool:
    """Same scheme, host and port as a listed prefix, and its path below the prefix's (a plain startswith would let
    https://registration.gov.la.evil.example/ pass for https://registration.gov.la)."""
    parts, port = url_parts(url)
    for prefix in prefixes:
        try:
            allowed, allowed_port = url_parts(prefix)
        except CallbackRefused:
            continue
        if (parts.scheme, parts.hostname, port) == (allowed.scheme, allowed.hostname, allowed_port) \
                and (parts.path or "/").startswith(allowed.path or "/"):
            return True
    return False


def check(url: str, settings: MessagingSettings) -> Target:
    """The target for this callback URL under the settings' policy; raises CallbackRefused."""
    url_parts(url)  # no http(s) URL passes, listed or not
    if settings.callback_url_prefixes:
        if not _listed(url, settings.callback_url_prefixes):
            raise CallbackRefused("not under an allowed prefix")
        return Target(url)  # explicitly allowed by the operator, internal hosts included
    return target(url, allow_private=settings.callback_private_allowed)
