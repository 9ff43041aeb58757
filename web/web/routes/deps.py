"""Dependencies the portal's routers share: the signed-in citizen and a gateway client acting for them."""
from typing import Annotated
from urllib.parse import quote

from fastapi import Depends, Request

from kernel.db import UowDep
from web import sessions
from kernel.service_token import TokenUnavailable
from web.bb import BuildingBlocks, Unavailable
from web.models import WebSession
from web.pages import language


class SignInRequired(Exception):
    """No signed-in session of the kind a page needs: the handler sends the browser to sign in, then back."""


def _signed_in(request: Request, uow, kind: str) -> WebSession:
    row = sessions.current(request, uow, kind=kind)
    if row is None:
        raise SignInRequired()
    return row


def signed_in_citizen(request: Request, uow: UowDep) -> WebSession:
    return _signed_in(request, uow, "citizen")


Citizen = Annotated[WebSession, Depends(signed_in_citizen)]


def _acting_for(request: Request, row: WebSession) -> BuildingBlocks:
    return BuildingBlocks(request.app.state.http, request.app.state.settings, row.access_token or "", language(request))


def citizen_blocks(request: Request, citizen: Citizen) -> BuildingBlocks:
    return _acting_for(request, citizen)


CitizenBlocks = Annotated[BuildingBlocks, Depends(citizen_blocks)]


def portal_blocks(request: Request) -> BuildingBlocks:
    """A gateway client acting as the portal itself, for public reads (no personal data) by anyone, signed in or not."""
    try:
        token = request.app.state.portal_token.get_sync(request.app.state.http)
    except TokenUnavailable:
        raise Unavailable(503)
    return BuildingBlocks(request.app.state.http, request.app.state.settings, token, language(request))


class NotPermitted(Exception):
    """A signed-in staff member without the role a console page needs."""

    def __init__(self, staff: WebSession):
        # A detached copy: the handler may render after the request's database session has rolled back and closed,
        # which expires the row (reading it then raised DetachedInstanceError: a 500 instead of the 403 page).
        self.staff = WebSession(**staff.model_dump())


def signed_in_staff(request: Request, uow: UowDep) -> WebSession:
    return _signed_in(request, uow, "staff")


Staff = Annotated[WebSession, Depends(signed_in_staff)]


def staff_blocks(request: Request, staff: Staff) -> BuildingBlocks:
    return _acting_for(request, staff)


StaffBlocks = Annotated[BuildingBlocks, Depends(staff_blocks)]
STAFF_PAGES = ("/operator", "/designer", "/audit")


def sign_in_url(next_path: str) -> str:
    if next_path.startswith(STAFF_PAGES):
        return "/staff/sign-in?next=" + quote(next_path, safe="/")
    return "/auth/login?next=" + quote(next_path, safe="/")
