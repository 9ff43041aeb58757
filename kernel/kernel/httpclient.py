"""Outgoing HTTP (httpx) for every service: one TLS context per process, and one pooled client for calls made often.

httpx builds a TLS context, reading the whole CA bundle, for every client it makes, `httpx.get()` included: about 35 ms
of CPU on the 2-core machine, which made it the largest single cost of a submission (its consent check) and of each
notification (the contact lookup) when profiled.
"""
import functools
import ssl
from http.cookiejar import CookieJar, DefaultCookiePolicy

import httpx


@functools.cache
def tls_context() -> ssl.SSLContext:
    """httpx's default verification (its CA bundle, SSL_CERT_FILE / SSL_CERT_DIR honoured), built once."""
    return httpx.create_ssl_context()


def _no_cookies() -> CookieJar:
    # A cookie one server sets must never ride along on a later call, whoever makes it.
    return CookieJar(policy=DefaultCookiePolicy(allowed_domains=[]))


def new_client(**options) -> httpx.Client:
    """An httpx Client with the shared TLS context and no cookie jar; redirects are not followed (httpx's default)."""
    return httpx.Client(verify=tls_context(), cookies=_no_cookies(), **options)


@functools.cache
def shared_client() -> httpx.Client:
    """One pooled client for the process (httpx's sync pool is safe across threads): keep-alive connections to the
    gateway and to pub/sub subscribers instead of a new connection per call. Pass each call's timeout."""
    return new_client()
