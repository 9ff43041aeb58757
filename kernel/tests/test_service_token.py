"""A service's own token: private_key_jwt client credentials at a real token endpoint, reused until shortly before expiry."""
import asyncio
import json

import aiohttp
import pytest
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import RSAKey
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from kernel.auth import TokenVerifier
from kernel.service_token import ASSERTION_TYPE, ServiceTokenSource, TokenUnavailable
from kernel.testing import free_port, serve

CLIENT_KEY = RSAKey.generate_key(2048, parameters={"kid": "svc-1", "alg": "RS256"})
OTHER_KEY = RSAKey.generate_key(2048, parameters={"kid": "svc-1", "alg": "RS256"})


class TokenEndpoint:
    """The test issuer's token endpoint for one service account: checks the signed assertion, then issues a real JWT."""

    def __init__(self, issuer, lifetime: int = 300):
        self.issuer, self.lifetime = issuer, lifetime
        self.issued, self.seen_jti, self.url = 0, set(), ""

    def app(self) -> Starlette:
        async def token(request: Request):
            form = await request.form()
            try:
                claims = jwt.decode(form["client_assertion"], CLIENT_KEY).claims  # the registered public key
            except (JoseError, ValueError):
                return JSONResponse({"error": "invalid_client"}, status_code=401)
            if form["grant_type"] != "client_credentials" or form["client_assertion_type"] != ASSERTION_TYPE \
                    or claims["iss"] != "messaging-bb" or claims["aud"] != f"{self.url}/token" or claims["jti"] in self.seen_jti:
                return JSONResponse({"error": "invalid_client"}, status_code=401)
            self.seen_jti.add(claims["jti"])
            self.issued += 1
            scopes = form.get("scope", "notification.read").split()
            access = self.issuer.token(sub="messaging-bb", client_id="messaging-bb", audience=form["audience"], scopes=scopes,
                                       expires_in=self.lifetime)
            return JSONResponse({"access_token": access, "token_type": "Bearer", "expires_in": self.lifetime})

        return Starlette(routes=[Route("/token", token, methods=["POST"])])


@pytest.fixture
def endpoint(oidc_issuer):
    stand_in = TokenEndpoint(oidc_issuer)
    with serve(stand_in.app()) as url:
        stand_in.url = url
        yield stand_in


def source(url: str, key: RSAKey = CLIENT_KEY, **options) -> ServiceTokenSource:
    return ServiceTokenSource(token_url=f"{url}/token", client_id="messaging-bb", private_jwk=json.dumps(key.as_dict(private=True)),
                              audience="registration", **options)


def test_token_is_a_valid_jwt_for_the_audience_and_is_reused(endpoint, oidc_issuer):
    tokens = source(endpoint.url)

    first, second = tokens.get_sync(), tokens.get_sync()

    caller = TokenVerifier(issuers=[oidc_issuer.url], audiences=["registration"]).verify(first)
    assert (caller.client_id, caller.scopes) == ("messaging-bb", frozenset({"notification.read"}))
    assert second == first
    assert endpoint.issued == 1


def test_token_close_to_expiry_is_renewed_with_a_new_assertion(endpoint):
    endpoint.lifetime = 20  # below the renewal margin: never worth reusing
    tokens = source(endpoint.url)

    tokens.get_sync()
    tokens.get_sync()

    assert endpoint.issued == 2 and len(endpoint.seen_jti) == 2


def test_forget_drops_the_cached_token(endpoint):
    tokens = source(endpoint.url)
    tokens.get_sync()

    tokens.forget()
    tokens.get_sync()

    assert endpoint.issued == 2


def test_requested_scope_is_sent(endpoint, oidc_issuer):
    token = source(endpoint.url, scope="notification.read other.scope").get_sync()

    caller = TokenVerifier(issuers=[oidc_issuer.url], audiences=["registration"]).verify(token)
    assert caller.scopes == frozenset({"notification.read", "other.scope"})


def test_assertion_signed_with_a_wrong_key_gives_token_unavailable(endpoint):
    with pytest.raises(TokenUnavailable):
        source(endpoint.url, OTHER_KEY).get_sync()
    assert endpoint.issued == 0


def test_unreachable_token_endpoint_gives_token_unavailable():
    with pytest.raises(TokenUnavailable):
        source(f"http://127.0.0.1:{free_port()}", timeout=2).get_sync()


def test_async_callers_share_the_cached_token(endpoint):
    tokens = source(endpoint.url)

    async def fetch_twice():
        async with aiohttp.ClientSession() as http:
            return await tokens.get(http), await tokens.get(http)

    first, second = asyncio.run(fetch_twice())

    assert first == second == tokens.get_sync()
    assert endpoint.issued == 1
