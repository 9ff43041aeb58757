"""Delivery reports from the HTTP SMS gateway (our extension): they settle messages the gateway accepted."""
import hmac
from datetime import datetime, timezone
from typing import Literal

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from kernel.auth import bearer_token
from kernel.db import UowDep
from kernel.errors import ApiError
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
    message = uow.session.get(Message, report.reference)
    if message is None:
        raise ApiError(404, "not_found", "No such message.")
    if message.status != MessageStatus.sent:
        return  # a repeated report, or one for a message already settled
    delivered = report.status in DELIVERED
    message.status = MessageStatus.delivered if delivered else MessageStatus.bounced
    message.last_error = None if delivered else f"dlr_{report.status}"
    message.updated_at = datetime.now(timezone.utc)
    request_row = uow.session.get(SendRequest, message.request_id)
    if request_row.callback_uri:
        uow.emit((MessageDelivered if delivered else MessageBounced)(message_id=message.id, request_id=request_row.id))
    uow.commit()
