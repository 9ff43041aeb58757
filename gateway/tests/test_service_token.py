"""The gateway's own token for the Consent BB check: private_key_jwt client credentials, reused until near expiry."""
import asyncio
import json

import aiohttp
import pytest
from joserfc import jwt
from joserfc.jwk import RSAKey
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from gateway.consent import ConsentChecker, ConsentUnavailable
from kernel.service_token import ASSERTION_TYPE, ServiceTokenSource
from kernel.testing import serve

KEY = RSAKey.generate_key(2048, parameters={"kid": "gw-1", "alg": "RS256"})


class IdentityAndConsent:
    """A token endpoint that checks the signed client assertion, and a consent check that wants its token."""

    def __init__(self):
        self.issued = 0
        self.url = ""

    def app(self) -> Starlette:
        async def token(request: Request):
            form = await request.form()
            claims = jwt.decode(form["client_assertion"], KEY).claims  # signature with the registered public key
            if form["grant_type"] != "client_credentials" or form["client_assertion_type"] != ASSERTION_TYPE \
                    or claims["iss"] != "gateway" or claims["aud"] != f"{self.url}/token":
                return JSONResponse({"error": "invalid_client"}, status_code=400)
            self.issued += 1
            return JSONResponse({"access_token": f"tok-{self.issued}", "token_type": "Bearer", "expires_in": 300})

        async def verify(request: Request):
            if request.headers.get("authorization") != f"Bearer tok-{self.issued}":
                return JSONResponse({"detail": "unauthorized"}, status_code=401)
            return JSONResponse({"valid": request.query_params["individualId"] == "person-1"})

        return Starlette(routes=[Route("/token", token, methods=["POST"]), Route("/service/verification/consent-record/", verify)])


@pytest.fixture(scope="module")
def servers():
    stand_in = IdentityAndConsent()
    with serve(stand_in.app()) as url:
        stand_in.url = url
        yield stand_in


def checker(url: str, token_source=None) -> ConsentChecker:
    return ConsentChecker(None, consent_url=url, cache_seconds=60, timeout=5, poll_seconds=1, token_source=token_source)


def test_consent_check_carries_the_gateways_own_token_and_reuses_it(servers):
    source = ServiceTokenSource(token_url=f"{servers.url}/token", client_id="gateway",
                                private_jwk=json.dumps(KEY.as_dict(private=True)), audience="consent")
    consent = checker(servers.url, source)

    async def check():
        async with aiohttp.ClientSession() as http:
            return [await consent.is_valid(http, individual_id=person, agreement_id="da-1") for person in ("person-1", "person-2")]

    answers = asyncio.run(check())

    assert answers == [True, False]
    assert servers.issued == 1


def test_without_a_token_the_consent_check_fails_closed(servers):
    async def check():
        async with aiohttp.ClientSession() as http:
            await checker(servers.url).is_valid(http, individual_id="person-1", agreement_id="da-1")

    with pytest.raises(ConsentUnavailable):
        asyncio.run(check())
