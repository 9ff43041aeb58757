"""Wire shapes of the identity API, mirroring its GovStack OpenAPI documents."""
from datetime import datetime, timezone


def response_time() -> str:
    """The spec's timestamp form: 2022-09-22T08:03:45.000Z."""
    now = datetime.now(timezone.utc)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"


def envelope(response: dict | None = None, errors: list[tuple[str, str]] = ()) -> dict:
    """{responseTime, response, errors:[{errorCode, errorMessage}]}; business errors keep HTTP 200 (see NOTES)."""
    return {
        "responseTime": response_time(),
        "response": response if response is not None else {},
        "errors": [{"errorCode": code, "errorMessage": message} for code, message in errors],
    }


def enrollment_envelope(response: list[dict] | None = None, errors: list[tuple[str, str]] = (), *, request_id: str = "govstack.enrollment",
                        version: str = "v1", meta_data: dict | None = None) -> dict:
    """The enrollment.yaml response: {id, version, responsetime, [metaData,] response:[...], errors:[{errorCode, message}]}."""
    body = {
        "id": request_id,
        "version": version,
        "responsetime": response_time(),
        "response": response,
        "errors": [{"errorCode": code, "message": message} for code, message in errors],
    }
    if meta_data is not None:
        body["metaData"] = meta_data
    return body


def parse_request_time(value) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
