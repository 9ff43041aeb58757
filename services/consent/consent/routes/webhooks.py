"""Webhooks: third parties the admin registers to receive consent events by signed HTTP push."""
from fastapi import APIRouter
from sqlmodel import col, delete, select

from consent.models import Webhook, WebhookEvent, WebhookEventSubscription
from consent.routes.deps import Admin, PageDep, id_path, not_found
from consent.schemas import WebhookBody, WebhookIn, webhook_wire
from kernel.db import UnitOfWork, UowDep

router = APIRouter(tags=["config"])
WebhookId = id_path("webhookId")


def subscribed_events(uow: UnitOfWork, webhook_id: str) -> list[str]:
    return sorted(uow.session.exec(
        select(WebhookEvent.name).join(WebhookEventSubscription, WebhookEventSubscription.webhook_event_id == WebhookEvent.id)
        .where(WebhookEventSubscription.webhook_id == webhook_id)).all())


def _apply(uow: UnitOfWork, webhook: Webhook, webhook_in: WebhookIn) -> None:
    webhook.payload_url, webhook.content_type = str(webhook_in.payload_url), webhook_in.content_type
    webhook.disabled, webhook.secret_key = webhook_in.disabled, webhook_in.secret_key
    uow.session.add(webhook)
    uow.session.flush()
    uow.session.exec(delete(WebhookEventSubscription).where(WebhookEventSubscription.webhook_id == webhook.id))
    for name in sorted(set(webhook_in.subscribed_events)):
        event = uow.session.exec(select(WebhookEvent).where(WebhookEvent.name == name)).first()
        if event is None:
            event = WebhookEvent(name=name)
            uow.session.add(event)
            uow.session.flush()
        uow.session.add(WebhookEventSubscription(webhook_id=webhook.id, webhook_event_id=event.id))
    uow.session.flush()


def _load(uow: UnitOfWork, webhook_id: str) -> Webhook:
    webhook = uow.session.get(Webhook, webhook_id)
    if webhook is None:
        raise not_found("webhook")
    return webhook


def _wire(uow: UnitOfWork, webhook: Webhook) -> dict:
    return {"webhook": webhook_wire(webhook, subscribed_events=subscribed_events(uow, webhook.id))}


@router.post("/config/webhook/")
def config_webhook_create(body: WebhookBody, uow: UowDep, caller: Admin) -> dict:
    webhook = Webhook(payload_url="", secret_key="")
    _apply(uow, webhook, body.webhook)
    uow.commit()
    return _wire(uow, webhook)


@router.get("/config/webhook/{webhookId}/")
def config_webhook_read(webhook_id: WebhookId, uow: UowDep, caller: Admin) -> dict:
    return _wire(uow, _load(uow, webhook_id))


@router.put("/config/webhook/{webhookId}/")
def config_webhook_update(webhook_id: WebhookId, body: WebhookBody, uow: UowDep, caller: Admin) -> dict:
    webhook = _load(uow, webhook_id)
    _apply(uow, webhook, body.webhook)
    uow.commit()
    return _wire(uow, webhook)


@router.delete("/config/webhook/{webhookId}/")
def config_webhook_delete(webhook_id: WebhookId, uow: UowDep, caller: Admin) -> dict:
    webhook = _load(uow, webhook_id)
    wire = _wire(uow, webhook)
    uow.session.exec(delete(WebhookEventSubscription).where(WebhookEventSubscription.webhook_id == webhook.id))
    uow.session.delete(webhook)
    uow.commit()
    return wire


@router.get("/config/webhooks/")
def config_webhook_list(uow: UowDep, caller: Admin, page: PageDep) -> dict:
    webhooks = uow.session.exec(select(Webhook).order_by(col(Webhook.id)).offset(page.offset).limit(page.limit)).all()
    return {"webhooks": [webhook_wire(w, subscribed_events=subscribed_events(uow, w.id)) for w in webhooks]}
