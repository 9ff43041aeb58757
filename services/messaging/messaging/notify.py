"""Notifications other BBs ask for: a named template in the citizen's language, rendered and queued like any message."""
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from kernel.db import UnitOfWork
from messaging.addresses import normalise_email, normalise_phone
from messaging.enums import Channel, Priority
from messaging.models import SendRequest
from messaging.queueing import accept
from messaging.settings import MessagingSettings

LANGUAGES = ("lo", "en")
_templates = Environment(loader=FileSystemLoader(Path(__file__).parent / "templates"), undefined=StrictUndefined,
                         autoescape=select_autoescape(default=False), keep_trailing_newline=False)


def render(*, template: str, language: str, channel: Channel, params: dict) -> dict:
    """templates/<language>/<template>.<channel>.txt: for email the first line is the subject, the rest the body."""
    language = language if language in LANGUAGES else "lo"  # Lao is the default for citizens
    text = _templates.get_template(f"{language}/{template}.{channel}.txt").render(**params).strip()
    if channel == Channel.email:
        title, _, body = text.partition("\n")
        return {"title": title.strip(), "content": body.strip()}
    return {"content": text}


def notify(uow: UnitOfWork, *, settings: MessagingSettings, channel: Channel, recipient: str, language: str, template: str,
           params: dict, priority: Priority = Priority.routine) -> SendRequest:
    """Queue one templated message to one address, in the caller's transaction (raises InvalidRecipient)."""
    if channel == Channel.email:
        address = {"email": normalise_email(recipient), "name": None}
    else:
        address = {"phoneNumber": normalise_phone(recipient, allowed_regions=settings.sms_allowed_regions), "name": None}
    content = render(template=template, language=language, channel=channel, params=params)
    request, _ = accept(uow, settings=settings, caller="internal", channel=channel, priority=priority, recipients=[address],
                        sender=None, content=content, callback_uri=None, dedupe=False)
    return request
