"""The spec's email API (send single/batch, status, reply callback) and our SMS mirror of it under /send/sms/..."""
import base64
import binascii
from datetime import datetime, timedelta, timezone

from fastapi import APIRouter, Depends, Request
from pydantic import ValidationError
from sqlalchemy import func
from sqlmodel import select

from kernel import safejson
from kernel.db import UowDep
from messaging import callback_urls, crypto, history
from messaging.addresses import InvalidRecipient, is_one_line, normalise_email, recipients_of
from messaging.apikeys import CallingApplication, header, invalid_input
from messaging.callback_urls import CallbackRefused
from messaging.enums import BUCKETS, Channel, MessageStatus, Priority, bucket_of, status_bucket
from messaging.events import ReplyReceived
from messaging.models import Message, Reply, SendRequest
from messaging.queueing import accept
from messaging.schemas import CallbackContent, EmailIn, RequestAccepted, SmsIn

router = APIRouter(tags=["messaging"])

ACCEPTED = "Request successfully accepted. Use \"requestUid\" to track its status."


async def _json_body(request: Request) -> dict:
    settings = request.app.state.settings
    raw = await request.body()
    if not raw:
        raise invalid_input("A JSON body is required.")
    if len(raw) > settings.max_body_bytes:
        raise invalid_input(f"The body exceeds {settings.max_body_bytes} bytes.")
    try:
        body = safejson.loads(raw)
    except safejson.UnsafeJson as exc:  # deep nesting, NUL, lone surrogates
        raise invalid_input("The body cannot be accepted.", str(exc)) from None
    except (ValueError, UnicodeDecodeError):
        raise invalid_input("The body is not JSON.") from None
    if not isinstance(body, dict):
        raise invalid_input("The body must be a JSON object.")
    return body


def _parse(model, body: dict):
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        fields = sorted({".".join(str(part) for part in error["loc"]) or "body" for error in exc.errors()})
        raise invalid_input("The body is not valid.", f"invalid fields: {', '.join(fields)}") from None


def _callback_uri(value: str | None, settings) -> str | None:
    if value is None:
        return None
    try:
        callback_urls.check(value, settings)  # checked again when posting: DNS may have changed by then
    except CallbackRefused as exc:
        raise invalid_input("The callback URI is not an allowed http(s) URL.", str(exc)) from None
    return value


def _single_line(value: str | None, field: str) -> None:
    if value is not None and not is_one_line(value):
        raise invalid_input("The body is not valid.", f"{field} must be one line")


def _sender(sender_info) -> dict | None:
    """Reply-To and display names become mail headers: addresses must be valid and texts single lines."""
    if sender_info is None:
        return None
    sender = sender_info.model_dump(exclude_none=True)
    try:
        for key in ("email", "replyTo"):
            if sender.get(key):
                sender[key] = normalise_email(sender[key])
    except InvalidRecipient as exc:
        raise invalid_input("The sender is not valid.", str(exc)) from None
    for key, value in sender.items():
        _single_line(value, f"senderInfo.{key}")
    return sender


def _send(channel: Channel, request: Request, uow, application, body: dict) -> RequestAccepted:
    settings = request.app.state.settings
    send_in = _parse(EmailIn if channel == Channel.email else SmsIn, body)
    if send_in.priority == Priority.emergency and not application.emergency_allowed:
        raise invalid_input("This api_key may not send emergency messages.")
    try:
        recipients = recipients_of(send_in.recipientInfo, channel=channel, allowed_regions=settings.sms_allowed_regions,
                                   max_recipients=settings.max_batch_recipients)
    except InvalidRecipient as exc:
        raise invalid_input("The recipients are not valid.", str(exc)) from None
    if channel == Channel.email:
        content = send_in.emailContent
        if content.encoding.upper().replace("_", "-") not in ("UTF-8", "UTF8"):
            raise invalid_input("Only UTF-8 content is accepted.")
        if len(content.content) > settings.max_content_chars:
            raise invalid_input("The content is too long.")
        _single_line(content.title, "emailContent.title")
        content_value = {"title": content.title, "content": content.content}
    else:
        content_value = {"content": send_in.smsContent.content}
    sender = _sender(send_in.senderInfo)
    send_request, _ = accept(uow, settings=settings, caller=application.id, channel=channel, priority=send_in.priority,
                             recipients=recipients, sender=sender, content=content_value,
                             callback_uri=_callback_uri(send_in.callback_uri, settings), api_key=application)
    return RequestAccepted(response=ACCEPTED, requestUID=send_request.request_uid, requestUid=send_request.request_uid)


def _own_request(request: Request, uow, application, channel: Channel) -> SendRequest:
    uid = header(request, "requestUID", "requestUid")
    if uid is None:
        raise invalid_input("The requestUID header is required.")
    send_request = uow.session.exec(select(SendRequest).where(SendRequest.request_uid == uid)).first()
    # Another application's request answers exactly like an unknown one.
    if send_request is None or send_request.caller != application.id or send_request.channel != channel:
        raise invalid_input("No such request for this api_key.")
    return send_request


def _status(channel: Channel, request: Request, uow, application) -> dict[str, int]:
    requested = [part.strip() for value in request.query_params.getlist("status[]") + request.query_params.getlist("status")
                 for part in value.split(",") if part.strip()]
    send_request = _own_request(request, uow, application, channel)
    if not requested:
        raise invalid_input("At least one status is required.")
    buckets = {name: bucket_of(name) for name in requested}
    if None in buckets.values():
        raise invalid_input("Unknown status.", "status values: scheduled, processing, deferred, bounced, notSent, delivered")
    counts = dict(uow.session.exec(
        select(Message.status, func.count()).where(Message.request_id == send_request.id).group_by(Message.status)
    ).all())
    # The reply names exactly the statuses asked for, spelled as asked.
    return {name: sum(counts.get(state, 0) for state in BUCKETS[bucket]) for name, bucket in buckets.items()}


def _history(channel: Channel, request: Request, uow, application) -> dict:
    """Our extension: each message of a request with its status and every transition (ids, times, codes; no contacts)."""
    send_request = _own_request(request, uow, application, channel)
    messages = uow.session.exec(select(Message.id, Message.status).where(Message.request_id == send_request.id)
                                .order_by(Message.created_at, Message.id)).all()
    events: dict[str, list[dict]] = {message_id: [] for message_id, _ in messages}
    for event in history.of_messages(uow.session, list(events)):
        events[event.message_id].append({"status": event.status, "at": event.at.isoformat(), "source": event.source,
                                         "attempt": event.attempt, "detail": event.detail})
    return {"requestUID": send_request.request_uid,
            "messages": [{"messageId": message_id, "status": status_bucket(MessageStatus(status)), "history": events[message_id]}
                         for message_id, status in messages]}


def _reply(channel: Channel, request: Request, uow, application, body: dict) -> dict:
    settings = request.app.state.settings
    send_request = _own_request(request, uow, application, channel)
    reply_in = _parse(CallbackContent, body)
    try:
        base64.b64decode(reply_in.content, validate=True)
    except (binascii.Error, ValueError):
        raise invalid_input("content must be base64.") from None
    content_hash = crypto.content_hash(settings.messaging_secret, {"request": send_request.id, "meta": reply_in.meta, "content": reply_in.content})
    since = datetime.now(timezone.utc) - timedelta(seconds=settings.duplicate_window_seconds)
    earlier = uow.session.exec(select(Reply).where(Reply.request_id == send_request.id, Reply.content_hash == content_hash,
                                                   Reply.received_at >= since)).first()
    if earlier is None:
        reply = Reply(request_id=send_request.id, content_hash=content_hash,
                      meta_enc=crypto.encrypt(settings.messaging_secret, reply_in.meta),
                      content_enc=crypto.encrypt(settings.messaging_secret, reply_in.content))
        uow.session.add(reply)
        uow.emit(ReplyReceived(reply_id=reply.id, request_id=send_request.id))
        uow.commit()
    return {"response": "Reply accepted.", "requestUID": send_request.request_uid}


def _routes_for(channel: Channel) -> None:
    # Sync routes (the session blocks); the body is read by an async dependency.
    Body = Depends(_json_body)

    @router.post(f"/send/{channel}/single", name=f"send_{channel}_single")
    def send_single(request: Request, uow: UowDep, application: CallingApplication, body: dict = Body) -> RequestAccepted:
        return _send(channel, request, uow, application, body)

    @router.post(f"/send/{channel}/batch", name=f"send_{channel}_batch")
    def send_batch(request: Request, uow: UowDep, application: CallingApplication, body: dict = Body) -> RequestAccepted:
        return _send(channel, request, uow, application, body)

    @router.get(f"/status/{channel}", name=f"get_{channel}_status")
    def get_status(request: Request, uow: UowDep, application: CallingApplication) -> dict[str, int]:
        return _status(channel, request, uow, application)

    @router.get(f"/status/{channel}/history", name=f"get_{channel}_status_history")
    def get_status_history(request: Request, uow: UowDep, application: CallingApplication) -> dict:
        return _history(channel, request, uow, application)

    @router.post(f"/callback/{channel}", name=f"receive_{channel}_reply")
    def receive_reply(request: Request, uow: UowDep, application: CallingApplication, body: dict = Body) -> dict:
        return _reply(channel, request, uow, application, body)


for _channel in Channel:
    _routes_for(_channel)
