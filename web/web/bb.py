"""Calls to the building blocks, always through the gateway, as the portal's client application with the user's token."""
from dataclasses import dataclass
from urllib.parse import quote

import httpx

from kernel.service_token import ServiceTokenSource
from web.settings import WebSettings


def segment(value: str) -> str:
    """An id from the browser as one path segment: "..", "/" or "?" cannot steer the call elsewhere."""
    return quote(value, safe="")


class Unavailable(Exception):
    """The gateway or the building block could not answer (network, 5xx, or the gateway refused the portal)."""

    def __init__(self, status: int, body: str = ""):
        super().__init__(f"building block call failed with {status}")
        self.status, self.body = status, body


@dataclass
class BuildingBlocks:
    http: httpx.Client
    settings: WebSettings
    token: str
    lang: str

    def url(self, bb: str, path: str) -> str:
        return f"{self.settings.gateway_url.rstrip('/')}/r1/{self.settings.im_provider}/{bb}-bb/{bb}/{path.lstrip('/')}"

    def call(self, method: str, bb: str, path: str, **kwargs) -> httpx.Response:
        """The response when its status is ok or an expected client error; anything else raises Unavailable."""
        return self._request(method, self.url(bb, path), **kwargs)

    def call_gateway(self, method: str, path: str, **kwargs) -> httpx.Response:
        """One of the gateway's own APIs (e.g. its operational monitoring), not a building block behind it; as call()."""
        return self._request(method, f"{self.settings.gateway_url.rstrip('/')}/{path.lstrip('/')}", **kwargs)

    def _request(self, method: str, url: str, *, ok=(200, 201, 204), expected=(400, 404, 409, 413, 415), **kwargs) -> httpx.Response:
        headers = {"Information-Mediator-Client": self.settings.im_client, "Authorization": f"Bearer {self.token}",
                   "Accept-Language": self.lang, **kwargs.pop("headers", {})}
        try:
            response = self.http.request(method, url, headers=headers, **kwargs)
        except httpx.HTTPError:
            raise Unavailable(503)
        if response.status_code in ok or response.status_code in expected:
            return response
        raise Unavailable(response.status_code, response.text[:500])


def portal_token_source(settings: WebSettings) -> ServiceTokenSource:
    """The portal's own client-credentials token, for public reads when no citizen is signed in (the gateway still
    wants to know which client application calls). Its audience is the portal's, as citizens' tokens are."""
    return ServiceTokenSource(token_url=settings.identity_url.rstrip("/") + "/oauth/token", client_id=settings.portal_client_id,
                              private_jwk=settings.portal_client_jwk, audience=settings.portal_client_id)
