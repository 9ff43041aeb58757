"""The messaging spec's error answer: every failure of its API is a 405 "Invalid input" (see docs/conformance/messaging.md)."""


def error_shape(status: int, code: str, message: str, details: list[dict], trace_id: str) -> dict:
    body = {"response": "Invalid input" if status == 405 else message, "code": code, "message": message, "traceId": trace_id}
    if details:
        body["details"] = details
    return body
