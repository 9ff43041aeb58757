"""Request bodies in the spec's shapes and API calls that assert the expected answer."""
import base64
import json
import uuid

import httpx


def unique(prefix: str = "x") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def address(prefix: str = "citizen") -> str:
    return f"{unique(prefix)}@example.la"


def email_body(*recipients: str, title: str | None = None, content: str = "Your appointment is on Monday.",
               callback_uri: str | None = None, **extra) -> dict:
    if len(recipients) == 1:
        recipient_info = {"email": recipients[0], "name": "Citizen"}
    else:
        batch = [{"recipientInfo": {"email": recipient, "name": "Citizen"}} for recipient in recipients]
        recipient_info = {"batchEmailAsBase64": base64.b64encode(json.dumps(batch).encode()).decode()}
    body = {
        "senderInfo": {"organisationName": "Ministry of Health", "email": "sender@moh.gov.la", "replyTo": "reply@moh.gov.la", "name": "Clinic"},
        "recipientInfo": recipient_info,
        "emailContent": {"encoding": "UTF-8", "title": unique("title") if title is None else title, "content": content},
        **extra,
    }
    if callback_uri:
        body["callback"] = {"URI": callback_uri}
    return body


def sms_body(*numbers: str, content: str | None = None, **extra) -> dict:
    if len(numbers) == 1:
        recipient_info = {"phoneNumber": numbers[0]}
    else:
        batch = [{"recipientInfo": {"phoneNumber": number}} for number in numbers]
        recipient_info = {"batchSmsAsBase64": base64.b64encode(json.dumps(batch).encode()).decode()}
    return {"recipientInfo": recipient_info, "smsContent": {"content": content or unique("sms")}, **extra}


def send(base_url: str, key: str, body: dict, *, path: str = "/send/email/single") -> str:
    response = httpx.post(f"{base_url}{path}", json=body, headers={"api_key": key})
    assert response.status_code == 200, response.text
    return response.json()["requestUID"]


def status(base_url: str, key: str, request_uid: str, *names: str, path: str = "/status/email") -> dict:
    names = names or ("scheduled", "processing", "deferred", "bounced", "notSent", "delivered")
    response = httpx.get(f"{base_url}{path}", params=[("status[]", name) for name in names],
                         headers={"api_key": key, "requestUID": request_uid})
    assert response.status_code == 200, response.text
    return response.json()
