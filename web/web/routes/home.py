"""The landing page."""
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from kernel.db import UowDep
from web import sessions
from web.pages import render

router = APIRouter(tags=["pages"], include_in_schema=False)


@router.get("/", response_class=HTMLResponse)
def get_home(request: Request, uow: UowDep):
    return render(request, "home.html", user=sessions.current(request, uow, kind="citizen"))
