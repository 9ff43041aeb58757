import logging

import httpx

from .helpers import address, email_body, send


def audit_records(caplog) -> list[dict]:
    return [record.fields for record in caplog.records if record.name == "messaging.audit"]


def test_each_api_call_is_audited_with_ids_and_outcome_only(base_url, api_key, caplog):
    recipient = address()
    caplog.set_level(logging.INFO, logger="messaging.audit")

    send(base_url, api_key, email_body(recipient))
    httpx.post(f"{base_url}/send/email/single", json={}, headers={"api_key": "unknown"})

    accepted, refused = audit_records(caplog)[-2:]
    assert (accepted["operation"], accepted["status"]) == ("send_email_single", 200) and accepted["api_key_id"]
    assert (refused["status"], refused["api_key_id"]) == (405, None)
    assert recipient not in str(audit_records(caplog))
