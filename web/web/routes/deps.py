"""Dependencies the portal's routers share: the signed-in citizen and a gateway client acting for them."""
from typing import Annotated
from urllib.parse import quote

from fastapi import Depends, Request

from kernel.db import UowDep
from web import sessions
from web.bb import BuildingBlocks
from web.models import WebSession
from web.pages import language


class SignInRequired(Exception):
    def __init__(self, next_path: str):
        self.next_path = next_path


def signed_in_citizen(request: Request, uow: UowDep) -> WebSession:
    row = sessions.current(request, uow, kind="citizen")
    if row is None:
        raise SignInRequired(request.url.path)
    return row


Citizen = Annotated[WebSession, Depends(signed_in_citizen)]


def citizen_blocks(request: Request, citizen: Citizen) -> BuildingBlocks:
    return BuildingBlocks(request.app.state.http, request.app.state.settings, citizen.access_token or "", language(request))


CitizenBlocks = Annotated[BuildingBlocks, Depends(citizen_blocks)]


def sign_in_url(next_path: str) -> str:
    return "/auth/login?next=" + quote(next_path, safe="/")
