"""Staff sign-in for local use: username + password -> an access token carrying the staff member's roles."""
import time

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field
from kernel.db import UowDep
from kernel.errors import ApiError
from identity import staff, tokens

router = APIRouter(prefix="/staff", tags=["Staff"])


class StaffSignIn(BaseModel):
    username: str = Field(min_length=1, max_length=100)
    password: str = Field(min_length=1, max_length=256)
    audience: str | None = Field(default=None, max_length=100)


@router.post("/token")
def sign_in_staff(sign_in: StaffSignIn, request: Request, uow: UowDep) -> dict:
    settings = request.app.state.settings
    if sign_in.audience is not None and sign_in.audience not in settings.staff_token_audiences:
        raise ApiError(400, "invalid_audience", "This audience does not accept staff tokens.")
    account, outcome = staff.sign_in(uow.session, settings, username=sign_in.username, password=sign_in.password)
    uow.commit()
    if outcome.locked:
        raise ApiError(429, "locked", "Too many failed attempts; try again later.")
    if not outcome.ok:
        raise ApiError(401, "invalid_credentials", "The username or password is not correct.")
    audience = sign_in.audience or settings.staff_token_audiences
    claims = tokens.access_token_claims(settings, sub=account.id, audience=audience, client_id="identity-staff", scope="",
                                        lifetime=settings.access_token_seconds, roles=list(account.roles),
                                        preferred_username=account.username, auth_time=int(time.time()))
    return {"access_token": tokens.sign(uow.session, settings, claims, typ="at+jwt"), "token_type": "Bearer",
            "expires_in": settings.access_token_seconds}
