"""The identity spec's error body: the same envelope as its business errors, with the HTTP status kept."""
from identity.schemas import envelope


def error_shape(status: int, code: str, message: str, details: list[dict], trace_id: str) -> dict:
    body = envelope({}, [(code, message)])
    if details:
        body["errors"][0]["errorMessage"] = message + " " + "; ".join(f"{d['field']}: {d['reason']}" for d in details)
    if trace_id:
        body["traceId"] = trace_id
    return body
