"""The consent error body. The OpenAPI gives 400 "bad input parameter" without a schema; we answer in the
shape iGrant.io (the spec's reference product) uses, plus a machine code, field details and the trace id."""


def error_shape(status: int, code: str, message: str, details: list[dict], trace_id: str) -> dict:
    body = {"errorCode": status, "errorDescription": message, "error": code, "traceId": trace_id}
    if details:
        body["details"] = details
    return body
