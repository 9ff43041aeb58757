"""The gateway's error body, X-Road style: {type, message, detail} plus the X-Road-Error header on routing errors."""
from fastapi.responses import JSONResponse


def error_shape(status: int, code: str, message: str, details: list[dict], trace_id: str) -> dict:
    body = {"type": code, "message": message, "detail": trace_id}
    if details:
        body["errors"] = details
    return body


def xroad_error(status: int, error_type: str, message: str, *, message_id: str, trace_id: str = "",
                headers: dict | None = None, details: list[dict] | None = None) -> JSONResponse:
    """A gateway-originated routing error; provider errors pass through untouched instead."""
    return JSONResponse(error_shape(status, error_type, message, details or [], trace_id or message_id), status_code=status,
                        headers={"X-Road-Error": error_type, "X-Road-Id": message_id, **(headers or {})})
