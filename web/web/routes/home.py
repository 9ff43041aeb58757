"""The landing page: the service catalogue for everyone, signed in or not."""
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from kernel.db import UowDep
from web import catalogue, sessions
from web.bb import Unavailable
from web.pages import language, render
from web.routes.deps import portal_blocks

router = APIRouter(tags=["pages"], include_in_schema=False)


@router.get("/", response_class=HTMLResponse)
def get_home(request: Request, uow: UowDep):
    # The portal's own token reads the public catalogue, so a visitor sees what is offered before signing in.
    try:
        services = catalogue.services(portal_blocks(request), language(request))
    except Unavailable as exc:
        if exc.status == 401:
            request.app.state.portal_token.forget()  # e.g. the Identity BB rotated its keys: fetch a new token next time
        services = None  # the welcome and sign-in still work while the catalogue cannot be read
    return render(request, "home.html", user=sessions.current(request, uow, kind="citizen"), services=services)
