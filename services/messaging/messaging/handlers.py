"""Reactions to events from RabbitMQ: routing-key pattern -> handler(envelope, uow).

Delivery and reply callbacks go to the callback URI the client gave with its request; a failed POST raises, so the
kernel consumer retries it and finally dead-letters it.
"""
import functools
import logging

import httpx
from jinja2 import TemplateError

from kernel.consumer import Handler, outside_effects
from kernel.db import UnitOfWork
from kernel.events import Envelope
from kernel.httpclient import new_client
from messaging import callback_urls, contacts, crypto
from messaging.addresses import InvalidRecipient
from messaging.enums import Channel, MessageStatus, Priority, status_bucket
from messaging.events import MessageBounced, MessageDelivered, MessageFailed, ReplyReceived
from messaging.models import Message, Reply, SendRequest
from messaging.notify import notify
from messaging.settings import MessagingSettings

OTP_REQUESTED = "identity.otp.requested"
# The Registration BB's events (registration.events); each names the template and its extra parameters.
APPLICATION_EVENTS = {
    "registration.application.submitted": ("application_submitted", {}),
    "registration.application.sent_back": ("application_sent_back", {}),
    "registration.application.approved": ("application_decided", {"approved": True}),
    "registration.application.rejected": ("application_decided", {"approved": False}),
}

log = logging.getLogger(__name__)


@functools.cache
def _settings() -> MessagingSettings:
    return MessagingSettings()


def _post(url: str, payload: dict, settings: MessagingSettings) -> None:
    # Raises CallbackRefused when the host now resolves inside: retried, then dead-lettered, never posted there.
    target = callback_urls.check(url, settings)
    with new_client(timeout=settings.callback_timeout_seconds) as client:  # no redirects followed
        response = client.post(target.url, json=payload, headers=target.headers, extensions=target.extensions)
    if response.status_code >= 300:
        raise RuntimeError(f"callback answered {response.status_code}")  # retried by the consumer


@outside_effects
def post_delivery_callback(envelope: Envelope, uow: UnitOfWork, settings: MessagingSettings | None = None) -> None:
    """Tell the client how one recipient's message ended (no address or content, just ids and the status)."""
    settings = settings or _settings()
    message = uow.session.get(Message, envelope.data["message_id"])
    request = uow.session.get(SendRequest, envelope.data["request_id"])
    if message is None or request is None or not request.callback_uri:
        return
    _post(request.callback_uri, {"requestUID": request.request_uid, "messageId": message.id,
                                 "status": status_bucket(MessageStatus(message.status))}, settings)
    log.info("delivery callback sent", extra={"fields": {"message_id": message.id}})


@outside_effects
def forward_reply(envelope: Envelope, uow: UnitOfWork, settings: MessagingSettings | None = None) -> None:
    """Hand a P2G reply to the client's callback URI, in the spec's callbackContent shape."""
    settings = settings or _settings()
    reply = uow.session.get(Reply, envelope.data["reply_id"])
    request = uow.session.get(SendRequest, envelope.data["request_id"])
    if reply is None or request is None or not request.callback_uri or reply.content_enc is None:
        return
    _post(request.callback_uri, {"requestUID": request.request_uid, "replyId": reply.id,
                                 "meta": crypto.decrypt(settings.messaging_secret, reply.meta_enc),
                                 "content": crypto.decrypt(settings.messaging_secret, reply.content_enc)}, settings)
    log.info("reply forwarded", extra={"fields": {"reply_id": reply.id}})


def send_otp(envelope: Envelope, uow: UnitOfWork, settings: MessagingSettings | None = None) -> None:
    """The Identity BB's command: send a login code on the emergency lane, in the citizen's language.

    Data (identity.events.SendOtp): transaction_id, channel (sms|email), recipient, otp, language, expires_seconds.
    """
    settings = settings or _settings()
    data = envelope.data
    try:
        notify(uow, settings=settings, channel=Channel(data["channel"]), recipient=data["recipient"],
               language=data.get("language", "lo"), template="otp", priority=Priority.emergency,
               params={"code": data["otp"], "minutes": max(1, -(-int(data.get("expires_seconds", 300)) // 60))})
    except (InvalidRecipient, KeyError, ValueError, TemplateError) as exc:
        # Retrying cannot fix a malformed command; it is logged (ids only) and dropped.
        log.error("otp not sent", extra={"fields": {"transaction_id": data.get("transaction_id"), "error": type(exc).__name__}})
        return
    log.info("otp queued", extra={"fields": {"transaction_id": data.get("transaction_id")}})


def notify_applicant(envelope: Envelope, uow: UnitOfWork, settings: MessagingSettings | None = None) -> None:
    """Tell the applicant what happened to their application, by email and/or SMS, in their language.

    The event carries ids only; the contact comes from the Registration BB (through the gateway). An unreachable
    registration raises, so the consumer retries; an application without a usable contact is logged and skipped.
    """
    settings = settings or _settings()
    data = envelope.data
    if not data.get("notify_applicant"):
        return
    template, extra = APPLICATION_EVENTS[envelope.type]
    ids = {"application_id": data.get("application_id"), "event_id": envelope.id}
    contact = contacts.fetch(settings, application_id=str(data["application_id"]))
    if contact is None:
        log.warning("applicant not notified: unknown application", extra={"fields": ids})
        return
    params = {"application_number": contact.application_number, "service_name": contact.service_name, **extra}
    queued = []
    for channel, address in ((Channel.email, contact.email), (Channel.sms, contact.phone)):
        if not address:
            continue
        try:
            request = notify(uow, settings=settings, channel=channel, recipient=address, language=contact.language,
                             template=template, params=params)
        except InvalidRecipient:
            # Retrying cannot fix an address the applicant typed; the other channel may still work.
            log.warning("applicant not notified on this channel: invalid address", extra={"fields": {**ids, "channel": str(channel)}})
            continue
        queued.append(request.id)
    if not queued:
        log.warning("applicant not notified: no usable contact", extra={"fields": ids})
        return
    log.info("applicant notification queued", extra={"fields": {**ids, "request_ids": queued}})


def handlers_for(settings: MessagingSettings) -> dict[str, Handler]:
    """The table with settings bound (tests pass their own; the consumer process reads the environment)."""
    delivery = outside_effects(lambda envelope, uow: post_delivery_callback(envelope, uow, settings))
    return {
        MessageDelivered.type: delivery,
        MessageBounced.type: delivery,
        MessageFailed.type: delivery,
        ReplyReceived.type: outside_effects(lambda envelope, uow: forward_reply(envelope, uow, settings)),
        OTP_REQUESTED: lambda envelope, uow: send_otp(envelope, uow, settings),
        **{key: (lambda envelope, uow: notify_applicant(envelope, uow, settings)) for key in APPLICATION_EVENTS},
    }


HANDLERS: dict[str, Handler] = {
    MessageDelivered.type: post_delivery_callback,
    MessageBounced.type: post_delivery_callback,
    MessageFailed.type: post_delivery_callback,
    ReplyReceived.type: forward_reply,
    OTP_REQUESTED: send_otp,
    **{key: notify_applicant for key in APPLICATION_EVENTS},
}
