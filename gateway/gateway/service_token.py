"""The gateway's own access token for calls it makes itself (the Consent BB check): OAuth client credentials with private_key_jwt."""
import asyncio
import json
import time
import uuid

import aiohttp
from joserfc import jwt
from joserfc.jwk import import_key

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


class TokenUnavailable(Exception):
    pass


class ServiceTokenSource:
    """Fetches a token from the Identity BB's token endpoint and reuses it until shortly before it expires."""

    def __init__(self, *, token_url: str, client_id: str, private_jwk: str, audience: str, timeout: float = 5.0):
        self.token_url, self.client_id, self.audience = token_url, client_id, audience
        self.key = import_key(json.loads(private_jwk))
        self.timeout = aiohttp.ClientTimeout(total=timeout)
        self.token: str | None = None
        self.expires_at = 0.0
        self._lock = asyncio.Lock()

    def _assertion(self) -> str:
        now = int(time.time())
        claims = {"iss": self.client_id, "sub": self.client_id, "aud": self.token_url, "iat": now, "exp": now + 60,
                  "jti": uuid.uuid4().hex}
        return jwt.encode({"alg": self.key.alg or "RS256", "kid": self.key.kid}, claims, self.key)

    async def get(self, http: aiohttp.ClientSession) -> str:
        if self.token and time.time() < self.expires_at:
            return self.token
        async with self._lock:
            if self.token and time.time() < self.expires_at:
                return self.token
            form = {"grant_type": "client_credentials", "client_id": self.client_id, "client_assertion_type": ASSERTION_TYPE,
                    "client_assertion": self._assertion(), "audience": self.audience}
            try:
                async with http.post(self.token_url, data=form, timeout=self.timeout) as response:
                    body = await response.json(content_type=None)
                    if response.status != 200 or not isinstance(body.get("access_token"), str):
                        raise TokenUnavailable(f"token endpoint answered {response.status}")
            except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as exc:
                raise TokenUnavailable(type(exc).__name__) from exc
            self.token = body["access_token"]
            # Renew a little early so a token never expires on its way to the Consent BB.
            self.expires_at = time.time() + max(0, int(body.get("expires_in", 60)) - 30)
            return self.token
