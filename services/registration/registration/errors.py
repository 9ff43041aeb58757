"""The registration spec's error body: systemError {traceId, code (string), message, localizedMessage}."""


def error_shape(status: int, code: str, message: str, details: list[dict], trace_id: str) -> dict:
    body = {"traceId": trace_id, "code": code, "message": message, "localizedMessage": message}
    if details:
        # Each invalid field by name and reason; an extension the spec's shape leaves room for.
        body["details"] = details
    return body
