"""Recipients as the spec encodes them (one object, or base64 JSON for a batch), validated and normalised."""
import base64
import binascii

import phonenumbers
from email_validator import EmailNotValidError, validate_email

from kernel import safejson
from messaging.enums import Channel

BATCH_KEYS = {Channel.email: ("batchEmailAsBase64",), Channel.sms: ("batchSmsAsBase64", "batchEmailAsBase64")}


class InvalidRecipient(ValueError):
    """The reason names the field, never the value."""


def is_one_line(text: str) -> bool:
    r"""Mail headers refuse every line break str.splitlines() knows (also \v, \f, \x1c-\x1e, \x85, \u2028, \u2029), not
    only \n and \r: a text with one, once accepted, would be a message the worker can never write (bounced, unsendable)."""
    return "".join(text.splitlines()) == text


def normalise_email(value) -> str:
    if not isinstance(value, str) or not value:
        raise InvalidRecipient("email address missing")
    try:
        return validate_email(value, check_deliverability=False).normalized
    except EmailNotValidError:
        raise InvalidRecipient("email address not valid") from None


def normalise_phone(value, *, allowed_regions: list[str]) -> str:
    """A Lao (or other allowed) number in any common writing -> E.164."""
    if not isinstance(value, str) or not value:
        raise InvalidRecipient("phone number missing")
    try:
        number = phonenumbers.parse(value, allowed_regions[0] if allowed_regions else "LA")
    except phonenumbers.NumberParseException:
        raise InvalidRecipient("phone number not valid") from None
    if not phonenumbers.is_valid_number(number) or phonenumbers.region_code_for_number(number) not in allowed_regions:
        raise InvalidRecipient("phone number not valid or not in an allowed region")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalise_recipient(info, *, channel: Channel, allowed_regions: list[str]) -> dict:
    if not isinstance(info, dict):
        raise InvalidRecipient("recipientInfo must be an object")
    name = info.get("name")
    if name is not None and (not isinstance(name, str) or len(name) > 300 or not is_one_line(name)):
        raise InvalidRecipient("recipient name not valid")
    if channel == Channel.sms:
        return {"phoneNumber": normalise_phone(info.get("phoneNumber"), allowed_regions=allowed_regions), "name": name}
    recipient = {"email": normalise_email(info.get("email")), "name": name}
    for copy in ("emailCC", "emailBCC"):
        if info.get(copy):
            recipient[copy] = normalise_email(info[copy])
    return recipient


def recipients_of(recipient_info: dict, *, channel: Channel, allowed_regions: list[str], max_recipients: int) -> list[dict]:
    """Both endpoints accept both shapes: the suite reuses one body object for single and batch sends."""
    batch_key = next((key for key in BATCH_KEYS[channel] if key in recipient_info), None)
    if batch_key is None:
        return [normalise_recipient(recipient_info, channel=channel, allowed_regions=allowed_regions)]
    try:
        entries = safejson.loads(base64.b64decode(recipient_info[batch_key], validate=True))
    except (binascii.Error, ValueError, TypeError):
        raise InvalidRecipient(f"{batch_key} is not base64-encoded JSON") from None
    if not isinstance(entries, list) or not entries:
        raise InvalidRecipient(f"{batch_key} must hold a non-empty list")
    if len(entries) > max_recipients:
        raise InvalidRecipient(f"a batch holds at most {max_recipients} recipients")
    recipients = []
    for entry in entries:
        info = entry.get("recipientInfo") if isinstance(entry, dict) else None
        recipients.append(normalise_recipient(info, channel=channel, allowed_regions=allowed_regions))
    return recipients
