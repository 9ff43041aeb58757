"""Dependencies and helpers the registration routers share: body parsing, the IM header, load-or-404, callers."""
import re
from typing import Annotated

from fastapi import Depends, Query, Request
from fastapi.responses import JSONResponse
from starlette.datastructures import UploadFile

from kernel import safejson
from kernel.db import UowDep
from kernel.errors import ApiError
from registration import designer
from registration.models import ServiceDefinition
from registration.settings import RegistrationSettings

IM_HEADER = "Information-Mediator-Client"
_IM_VALUE = re.compile(r"^[A-Za-z0-9_.:-]+/[A-Za-z0-9_.:-]+/[A-Za-z0-9_.:-]+/[A-Za-z0-9_.:-]+$")  # INSTANCE/CLASS/MEMBER/SUBSYSTEM


class Utf8JSONResponse(JSONResponse):
    # The GovStack suite compares the content type with this exact value.
    media_type = "application/json; charset=utf-8"


def get_settings(request: Request) -> RegistrationSettings:
    return request.app.state.settings


SettingsDep = Annotated[RegistrationSettings, Depends(get_settings)]


def information_mediator_client(request: Request) -> str:
    """The X-Road style client header the spec requires on some endpoints; missing or malformed is a 400."""
    value = request.headers.get(IM_HEADER, "").strip()
    if not _IM_VALUE.match(value):
        raise ApiError(400, "invalid_information_mediator_client", f"The {IM_HEADER} header must be INSTANCE/CLASS/MEMBER/SUBSYSTEM.",
                       details=[{"field": IM_HEADER, "reason": "missing or not INSTANCE/CLASS/MEMBER/SUBSYSTEM"}])
    return value


IMClient = Depends(information_mediator_client)


async def read_body(request: Request) -> dict:
    """A JSON, form-encoded or multipart body as a dict; the GovStack suite sends forms where the spec says JSON."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    try:
        if content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
            form = await request.form()
            body = {}
            for key in form.keys():
                values = [v for v in form.getlist(key) if not isinstance(v, UploadFile)]
                if values:
                    body[key] = values if len(values) > 1 else values[0]
            if safejson.unsafe_text(body):  # what JSON bodies refuse in safejson.loads
                raise safejson.UnsafeJson("NUL character or lone surrogate")
            return body
        raw = await request.body()
        if not raw.strip():
            return {}
        body = safejson.loads(raw)
    except (ValueError, UnicodeDecodeError, AssertionError) as exc:
        raise ApiError(400, "malformed_body", "The request body cannot be read.", details=[{"field": "body", "reason": type(exc).__name__}])
    if not isinstance(body, dict):
        raise ApiError(400, "malformed_body", "The request body must be an object.", details=[{"field": "body", "reason": "must be an object"}])
    refuse_non_finite(body, "body")
    return body


def refuse_non_finite(value, field: str) -> None:
    """Python's json reads 1e400 as infinity (and NaN, Infinity as such), which JSON columns then store as null."""
    if not safejson.finite(value):
        raise ApiError(400, "malformed_body", f"{field} holds a number out of range.", details=[{"field": field, "reason": "numbers must be finite"}])


def text_field(body: dict, name: str, default: str = "", *, field: str | None = None) -> str:
    """A text field: any other JSON type is refused rather than stored as its Python text ("None", "['a', 'b']")."""
    value = body.get(name, default)
    if not isinstance(value, str):
        raise ApiError(400, "malformed_body", f"{field or name} must be text.", details=[{"field": field or name, "reason": "must be a string"}])
    return value


def json_field(body: dict, name: str, default, expected: type):
    """A nested field that a form body carries as a JSON string."""
    value = body.get(name, default)
    if isinstance(value, str) and expected is not str:
        try:
            value = safejson.loads(value) if value.strip() else default
        except ValueError:
            raise ApiError(400, "malformed_body", f"{name} is not valid JSON.", details=[{"field": name, "reason": "not valid JSON"}])
        refuse_non_finite(value, name)
    if expected is list and isinstance(value, str):
        value = [value]
    if not isinstance(value, expected):
        raise ApiError(400, "malformed_body", f"{name} has the wrong type.", details=[{"field": name, "reason": f"must be {'an object' if expected is dict else 'a list'}"}])
    return value


# Paging offsets: a negative one counts as 0 (as before); one past any list we hold is a 400, since a value beyond
# PostgreSQL's bigint cannot even be sent to the database (it was a 500).
MAX_FIRST_RESULT = 1_000_000_000
FirstResult = Annotated[int, Query(le=MAX_FIRST_RESULT)]


def language(request: Request) -> str:
    return "en" if request.headers.get("accept-language", "lo").lower().startswith("en") else "lo"


def current_service(service_id: str, uow: UowDep) -> ServiceDefinition:
    return designer.get_or_raise(uow, service_id=service_id)


CurrentService = Annotated[ServiceDefinition, Depends(current_service)]


# Endpoints with a body read it on the event loop, then do their database work (and the consent check through the
# gateway) in a worker thread: on the event loop that work would block it while holding a pooled connection, and
# under load every request would wait for a connection that only a blocked request could give back.
async def body_or_error(request: Request) -> dict | ApiError:
    """The parsed body, or the 400 it deserves, raised where the body is first used (so 401 and 404 come first)."""
    try:
        return await read_body(request)
    except ApiError as exc:
        return exc


def given(body: dict | ApiError) -> dict:
    if isinstance(body, ApiError):
        raise body
    return body
