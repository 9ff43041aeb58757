"""A service's own access token for calls it makes itself: OAuth client credentials with private_key_jwt (RFC 7523).

One source serves async callers (aiohttp, the gateway) and sync ones (httpx, consumers' handlers); either way the token
is reused until shortly before it expires.
"""
import asyncio
import json
import threading
import time
import uuid

import httpx
from joserfc import jwt
from joserfc.jwk import import_key

from kernel.httpclient import new_client

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
RENEW_BEFORE_EXPIRY_SECONDS = 30  # so a token never expires on its way to the service that checks it


class TokenUnavailable(Exception):
    pass


class ServiceTokenSource:
    """Fetches a token from the Identity BB's token endpoint and reuses it until shortly before it expires."""

    def __init__(self, *, token_url: str, client_id: str, private_jwk: str, audience: str, timeout: float = 5.0,
                 scope: str | None = None):
        self.token_url, self.client_id, self.audience, self.scope = token_url, client_id, audience, scope
        self.key = import_key(json.loads(private_jwk))
        self.timeout = timeout
        self.token: str | None = None
        self.expires_at = 0.0
        self._lock = asyncio.Lock()
        self._thread_lock = threading.Lock()

    def _assertion(self) -> str:
        now = int(time.time())
        claims = {"iss": self.client_id, "sub": self.client_id, "aud": self.token_url, "iat": now, "exp": now + 60,
                  "jti": uuid.uuid4().hex}
        return jwt.encode({"alg": self.key.alg or "RS256", "kid": self.key.kid}, claims, self.key)

    def _form(self) -> dict:
        form = {"grant_type": "client_credentials", "client_id": self.client_id, "client_assertion_type": ASSERTION_TYPE,
                "client_assertion": self._assertion(), "audience": self.audience}
        if self.scope:
            form["scope"] = self.scope
        return form

    def _fresh(self) -> str | None:
        return self.token if self.token and time.time() < self.expires_at else None

    def _keep(self, status: int, body) -> str:
        if status != 200 or not isinstance(body, dict) or not isinstance(body.get("access_token"), str):
            raise TokenUnavailable(f"token endpoint answered {status}")
        try:
            lifetime = int(body.get("expires_in", 60))
        except (TypeError, ValueError):
            lifetime = 60
        self.token = body["access_token"]
        self.expires_at = time.time() + max(0, lifetime - RENEW_BEFORE_EXPIRY_SECONDS)
        return self.token

    async def get(self, http) -> str:
        """The token, through an aiohttp ClientSession (raises TokenUnavailable)."""
        import aiohttp  # only async callers need aiohttp; the kernel does not depend on it

        if token := self._fresh():
            return token
        async with self._lock:
            if token := self._fresh():
                return token
            try:
                async with http.post(self.token_url, data=self._form(), timeout=aiohttp.ClientTimeout(total=self.timeout)) as response:
                    return self._keep(response.status, await response.json(content_type=None))
            except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as exc:
                raise TokenUnavailable(type(exc).__name__) from exc

    def get_sync(self, http: httpx.Client | None = None) -> str:
        """The token, through an httpx Client (a short-lived one when none is given; raises TokenUnavailable)."""
        if token := self._fresh():
            return token
        with self._thread_lock:
            if token := self._fresh():
                return token
            try:
                if http is None:
                    with new_client(timeout=self.timeout) as client:
                        response = client.post(self.token_url, data=self._form())
                else:
                    response = http.post(self.token_url, data=self._form(), timeout=self.timeout)
                return self._keep(response.status_code, response.json())
            except (httpx.HTTPError, ValueError) as exc:
                raise TokenUnavailable(type(exc).__name__) from exc

    def forget(self) -> None:
        """Drop the cached token (e.g. after a 401), so the next call fetches a new one."""
        self.token, self.expires_at = None, 0.0
