"""Delivery reports from the HTTP SMS gateway (our extension): they settle messages the gateway accepted."""
import hmac
from datetime import datetime, timezone
from typing import Literal

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field
from sqlmodel import select

from kernel.auth import bearer_token
from kernel.db import UowDep
from kernel.errors import ApiError
from messaging import history
from messaging.enums import MessageStatus
from messaging.events import MessageBounced, MessageDelivered
from messaging.models import Message, SendRequest

router = APIRouter(tags=["sms"])

DELIVERED = {"delivered"}
NOT_DELIVERED = {"failed", "undelivered", "rejected", "expired"}


class DeliveryReport(BaseModel):
    reference: str = Field(max_length=36)  # our message id, sent to the gateway as `reference`
    status: Literal["delivered", "failed", "undelivered", "rejected", "expired"]


def _gateway(request: Request) -> None:
    expected = request.app.state.settings.sms_delivery_report_token
    token = bearer_token(request)
    if not expected:
        raise ApiError(404, "not_found", "Delivery reports are not enabled.")
    # Constant-time comparison: the token is a shared secret.
    if token is None or not hmac.compare_digest(token.encode(), expected.encode()):
        raise ApiError(401, "unauthorized", "The gateway's bearer token is required.", headers={"WWW-Authenticate": "Bearer"})


@router.post("/callback/sms/delivery-report", status_code=204, dependencies=[Depends(_gateway)])  # token before body
def receive_sms_delivery_report(report: DeliveryReport, request: Request, uow: UowDep) -> None:
    query = select(Message).where(Message.id == report.reference)
    if uow.session.get_bind().dialect.name == "postgresql":
        # Waits while a worker's batch still holds the message; NO KEY UPDATE, so that the worker's journal rows (which
        # reference the message) are not queued behind this wait while the worker waits for them.
        query = query.with_for_update(key_share=True)
    message = uow.session.exec(query).first()
    if message is None:
        raise ApiError(404, "not_found", "No such message.")
    if message.status in (MessageStatus.queued, MessageStatus.deferred):
        # Reported before the worker recorded it as sent (e.g. the worker died first): the gateway should report again.
        raise ApiError(409, "not_sent_yet", "The message is not recorded as sent yet; report again later.")
    if message.status not in (MessageStatus.sent, MessageStatus.unconfirmed):
        return  # a repeated report, or one for a message already settled
    delivered = report.status in DELIVERED
    already_reported = message.status == MessageStatus.unconfirmed and delivered  # the client heard "delivered" already
    message.last_error = None if delivered else f"dlr_{report.status}"
    history.transition(uow.session, message, MessageStatus.delivered if delivered else MessageStatus.bounced, source="gateway",
                       detail=f"dlr_{report.status}", at=datetime.now(timezone.utc))
    request_row = uow.session.get(SendRequest, message.request_id)
    if request_row.callback_uri and not already_reported:
        uow.emit((MessageDelivered if delivered else MessageBounced)(message_id=message.id, request_id=request_row.id))
    uow.commit()
