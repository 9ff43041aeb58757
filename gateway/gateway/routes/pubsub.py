"""Pub/sub API of a room (GovStack IM PubSub API), reached under the room's address /r1/{instance}/{class}/{member}/{room}/.

The forwarding route hands a call here when the addressed application is a room and no real service of it has that code.
"""
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass

from fastapi.responses import JSONResponse, Response
from referencing.exceptions import Unresolvable
from sqlalchemy.exc import IntegrityError
from sqlmodel import select
from starlette.concurrency import run_in_threadpool

from gateway.directory import AppEntry
from gateway.events import PushRequested
from gateway.models import AccessRight, Delivery, DeliveryAttempt, EventType, PublishedEvent, Service, Subscription, utcnow
from gateway.pubsub import (PushUrlRefused, event_item, event_validator, is_expired, publisher_id, push_next, push_target,
                            schema_problem)
from gateway.registry import audit
from kernel import safejson
from kernel.db import UnitOfWork
from kernel.errors import ApiError
from kernel.jsonschemas import stored_slow_pattern_problem

log = logging.getLogger(__name__)

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,99}$")
# The sections of a room's address (…/{room}/api/…, pub/…, pull/…). An event type is a service of the room, and a service
# of one of these names would take the section's place in routing.
SECTIONS = {"api", "pub", "pull"}
# A subscriber's retry strategy stays within these: each distinct delay is a RabbitMQ queue, and a push is held that long.
MAX_PUSH_ATTEMPTS = 20
MIN_BACKOFF_SECONDS, MAX_BACKOFF_SECONDS = 0.1, 3600.0
MAX_TTL_SECONDS = 2**31 - 1  # what the column holds


@dataclass
class Call:
    uow: UnitOfWork
    room: AppEntry
    client: AppEntry
    method: str
    body: bytes
    settings: object

    def json(self) -> dict:
        try:
            value = safejson.loads(self.body or b"{}")  # deep nesting, NUL and lone surrogates are a ValueError too
        except ValueError:
            raise ApiError(400, "Client.BadRequest", "The body is not valid JSON.")
        if not isinstance(value, dict):
            raise ApiError(400, "Client.BadRequest", "The body must be a JSON object.")
        return value

    @property
    def is_owner(self) -> bool:
        return self.client.id == self.room.id


def _event_type_or_404(call: Call, name: str) -> EventType:
    event_type = call.uow.session.exec(select(EventType).where(EventType.room_id == call.room.id, EventType.name == name)).first()
    if event_type is None:
        raise ApiError(404, "Client.UnknownEventType", f"No event type {name} in this room.")
    return event_type


def _may_use(call: Call, event_type: EventType) -> None:
    if call.is_owner:
        return
    right = call.uow.session.exec(select(AccessRight).where(AccessRight.service_id == event_type.service_id,
                                                           AccessRight.client_application_id == call.client.id,
                                                           AccessRight.allowed == True)).first()  # noqa: E712
    if right is None:
        raise ApiError(403, "Server.ServerProxy.AccessDenied", f"Request is not allowed: EVENTTYPE:{event_type.name}")


def _owner_only(call: Call) -> None:
    if not call.is_owner:
        raise ApiError(403, "Server.ServerProxy.AccessDenied", "Only the room's own application manages its event types.")


# --- event types -----------------------------------------------------------------------------------------------

def create_event_type(call: Call) -> Response:
    _owner_only(call)
    body = call.json()
    name, schema = body.get("eventType"), body.get("schema", {})
    if not isinstance(name, str) or not _NAME.match(name) or not isinstance(schema, dict):
        raise ApiError(400, "Client.BadRequest", "Give eventType (a name) and schema (a JSON Schema object).")
    if name in SECTIONS:
        raise ApiError(400, "Client.BadRequest", f"{name} names a section of the room's address; give the event type another name.")
    if problem := schema_problem(schema):
        raise ApiError(400, "Client.BadRequest", f"schema cannot be used: {problem}.")
    session = call.uow.session
    if session.exec(select(EventType).where(EventType.room_id == call.room.id, EventType.name == name)).first():
        raise ApiError(409, "Client.Conflict", f"Event type {name} exists already.")
    # The event type is a service of the room, so access rights are granted the same way as for any service. The service
    # of a deleted event type of that name is taken up again.
    service = session.exec(select(Service).where(Service.application_id == call.room.id, Service.code == name)).first()
    if service is not None and not service.url.startswith("pubsub:"):
        raise ApiError(409, "Client.Conflict", f"The room has a service {name} of its own.")
    if service is None:
        service = Service(application_id=call.room.id, code=name, url="pubsub://room")
    service.status, service.enabled = "approved", True
    session.add(service)
    session.flush()
    session.add(EventType(room_id=call.room.id, service_id=service.id, name=name, schema_=schema))
    audit(session, actor=call.client.name, action="create event type", target=f"{call.room.name}/{name}")
    call.uow.commit()
    return JSONResponse({"eventType": name, "schema": schema}, status_code=200)


def list_event_types(call: Call) -> Response:
    names = call.uow.session.exec(select(EventType.name).where(EventType.room_id == call.room.id).order_by(EventType.name)).all()
    return JSONResponse(list(names)) if names else Response(status_code=204)


def get_event_type(call: Call, name: str) -> Response:
    event_type = call.uow.session.exec(select(EventType).where(EventType.room_id == call.room.id, EventType.name == name)).first()
    if event_type is None:
        return Response(status_code=204)  # the PubSub YAML's answer for an event type that is not defined
    return JSONResponse({"eventType": event_type.name, "schema": event_type.schema_})


def delete_event_type(call: Call, name: str) -> Response:
    """The event type goes with its service (marked removed, as PUT /config does: the logs name it), the rights to it and
    its subscriptions: an event type created again under this name starts with none of them."""
    _owner_only(call)
    event_type = _event_type_or_404(call, name)
    session = call.uow.session
    service = session.get(Service, event_type.service_id)
    service.status = "removed"
    session.add(service)
    rights = session.exec(select(AccessRight).where(AccessRight.service_id == service.id)).all()
    for right in rights:
        session.delete(right)
    subscriptions = session.exec(_open_subscriptions(call, name).with_for_update()).all()
    for subscription in subscriptions:
        _end(call, subscription)
    session.delete(event_type)
    audit(session, actor=call.client.name, action="delete event type", target=f"{call.room.name}/{name}",
          rights=len(rights), subscriptions=len(subscriptions))
    call.uow.commit()
    return Response(status_code=204)


# --- publishing ------------------------------------------------------------------------------------------------

def publish(call: Call, name: str) -> Response:
    event_type = _event_type_or_404(call, name)
    _may_use(call, event_type)
    body = call.json()
    if body.get("eventType", name) != name or not isinstance(body.get("event"), dict):
        raise ApiError(400, "Client.BadRequest", "The body is {eventType, event} with the event type of the path and the event a JSON object.")
    if not safejson.finite(body["event"]):
        raise ApiError(400, "Client.BadRequest", "The event holds NaN or an infinite number, which JSON cannot express.")
    errors = _schema_errors(event_type, body["event"])
    if errors:
        raise ApiError(400, "Client.InvalidEvent", "The event does not match the event type's schema.",
                       details=[{"field": ".".join(map(str, e.path)) or "event", "reason": e.validator} for e in errors[:20]])
    session = call.uow.session
    event = PublishedEvent(room_id=call.room.id, event_type=name, publisher=call.client.name, payload=body["event"])
    given_id = body["event"].get("id")
    if isinstance(given_id, str) and 0 < len(given_id) <= 100:
        event.id = given_id  # the publisher's own event id, as the spec allows
        if session.exec(select(PublishedEvent).where(PublishedEvent.id == given_id)).first():
            raise ApiError(409, "Client.Conflict", "An event with this id was published already.")
    session.add(event)
    session.flush()
    subscriptions = session.exec(_open_subscriptions(call, name).with_for_update(read=True)).all()
    for subscription in subscriptions:
        delivery = Delivery(event_id=event.id, subscription_id=subscription.id)
        session.add(delivery)
        if subscription.delivery == "PUSH":
            call.uow.emit(PushRequested(delivery_id=delivery.id))  # sent on by the relay once this commits
    call.uow.commit()
    return JSONResponse({"id": event.id}, status_code=201)


def _schema_errors(event_type: EventType, event: dict) -> list:
    # A pattern that backtracks for seconds is refused at creation; one stored before that must not run at publish.
    problem = stored_slow_pattern_problem(event_type.schema_)
    if problem is None:
        try:
            return sorted(event_validator(event_type.schema_).iter_errors(event), key=lambda e: list(e.path))
        except (Unresolvable, RecursionError):
            problem = schema_problem(event_type.schema_)
        if problem is None:  # a sound schema: the event nests deeper than the check can follow
            raise ApiError(400, "Client.InvalidEvent", "The event is nested too deeply to be checked against the event type's schema.")
    # A schema stored before schemas were checked at creation. Not the publisher's fault, and not passing unchecked either:
    # the event type is out of service until the room replaces it, as a disabled service is (503).
    log.error("event type %s/%s cannot be used: its schema %s", event_type.room_id, event_type.name, problem)
    raise ApiError(503, "Server.ServerProxy.EventTypeUnusable",
                   f"The event type's schema cannot be used ({problem}); the room must delete and create it again.")


def _event_or_404(call: Call, name: str, event_id: str) -> PublishedEvent:
    event = call.uow.session.exec(select(PublishedEvent).where(PublishedEvent.id == event_id, PublishedEvent.room_id == call.room.id,
                                                               PublishedEvent.event_type == name)).first()
    if event is None:
        raise ApiError(404, "Client.UnknownEvent", "No such event.")
    return event


def event_status(call: Call, name: str, event_id: str) -> Response:
    """Where the event is: delivered to how many of how many, with every attempt."""
    event = _event_or_404(call, name, event_id)
    if not (call.is_owner or event.publisher == call.client.name):
        raise ApiError(403, "Server.ServerProxy.AccessDenied", "Only the publisher or the room sees an event's status.")
    session = call.uow.session
    deliveries = session.exec(select(Delivery).where(Delivery.event_id == event.id)).all()
    counts: dict[str, int] = {}
    for delivery in deliveries:
        counts[delivery.status] = counts.get(delivery.status, 0) + 1
    attempts = session.exec(select(DeliveryAttempt).where(DeliveryAttempt.delivery_id.in_([d.id for d in deliveries]))
                            .order_by(DeliveryAttempt.seq)).all() if deliveries else []
    by_delivery = {d.id: d for d in deliveries}
    return JSONResponse({
        **event_item(event, publisher_id(event.publisher)),
        "status": "stopped" if event.stopped else ("complete" if deliveries and not counts.get("pending") else "processing"),
        "deliveries": {"total": len(deliveries), **counts},
        "attempts": [{"subscriptionId": by_delivery[a.delivery_id].subscription_id, "attempt": a.attempt, "outcome": a.outcome,
                      "statusCode": a.status_code, "error": a.error, "at": a.at.isoformat()} for a in attempts],
    })


def stop_event(call: Call, name: str, event_id: str) -> Response:
    event = _event_or_404(call, name, event_id)
    if not (call.is_owner or event.publisher == call.client.name):
        raise ApiError(403, "Server.ServerProxy.AccessDenied", "Only the publisher or the room stops an event.")
    event.stopped = True
    stopped = list(call.uow.session.exec(select(Delivery).where(Delivery.event_id == event.id, Delivery.status == "pending")))
    for delivery in stopped:
        delivery.status, delivery.updated_at = "stopped", utcnow()
    call.uow.session.flush()
    for delivery in stopped:  # a FIFO line this event was heading moves on
        subscription = call.uow.session.get(Subscription, delivery.subscription_id)
        if subscription is not None:
            push_next(call.uow, subscription)
    call.uow.commit()
    return Response(status_code=204)


# --- subscriptions ---------------------------------------------------------------------------------------------

def _subscription_item(call: Call, subscription: Subscription) -> dict:
    # maxAttempts and backoffSeconds extend the spec's options: the subscriber's own retry strategy (spec 6: subscribers
    # configure their retries, overriding the default exponential backoff); shown as in effect.
    return {"id": subscription.id, "subscriberId": publisher_id(call.client.name), "eventType": subscription.event_type,
            "delivery": subscription.delivery, "pushUrl": subscription.push_url,
            "options": {"TTL": subscription.ttl, "FIFO": subscription.fifo,
                        "maxAttempts": subscription.max_attempts or call.settings.push_max_attempts,
                        "backoffSeconds": subscription.backoff_seconds or call.settings.push_backoff_seconds}}


def _open_subscriptions(call: Call, name: str):
    # Locked in id order wherever they are locked (publish shares, deleting the event type ends them): no deadlock. An
    # unsubscribe waits for a publish that has locked its subscription, then stops the delivery that publish made too.
    return (select(Subscription).where(Subscription.room_id == call.room.id, Subscription.event_type == name,
                                       Subscription.ended_at == None).order_by(Subscription.id))  # noqa: E711


def _own_subscription(call: Call, name: str) -> Subscription | None:
    return call.uow.session.exec(_open_subscriptions(call, name).where(Subscription.subscriber_id == call.client.id)).first()


def _end(call: Call, subscription: Subscription) -> None:
    """Kept, with its deliveries: they are part of each event's status. What was still pending is stopped."""
    subscription.ended_at = utcnow()
    call.uow.session.add(subscription)
    call.uow.session.flush()  # the row is locked before its pending deliveries are read (see _open_subscriptions)
    for delivery in call.uow.session.exec(select(Delivery).where(Delivery.subscription_id == subscription.id, Delivery.status == "pending")):
        delivery.status, delivery.updated_at = "stopped", utcnow()
        call.uow.session.add(delivery)


def _apply_subscription(call: Call, subscription: Subscription, body: dict) -> None:
    delivery = body.get("delivery", subscription.delivery)
    options = body.get("options") or {}
    push_url = body.get("pushUrl", subscription.push_url)
    if delivery not in ("PUSH", "PULL") or not isinstance(options, dict):
        raise ApiError(400, "Client.BadRequest", "delivery is PUSH or PULL; options is an object.")
    if delivery == "PUSH" and not (isinstance(push_url, str) and len(push_url) <= 1000):
        raise ApiError(400, "Client.BadRequest", "A PUSH subscription needs pushUrl, the http(s) address events are posted to "
                                                 "(at most 1000 characters).")
    if delivery == "PUSH":
        try:
            push_target(push_url, allow_private=call.settings.push_private_allowed)  # checked again at each push
        except PushUrlRefused as refused:
            raise ApiError(400, "Client.BadRequest", f"pushUrl cannot be used: {refused}.")
    ttl, fifo = options.get("TTL", subscription.ttl), options.get("FIFO", subscription.fifo)
    if not isinstance(ttl, int) or isinstance(ttl, bool) or not 1 <= ttl <= MAX_TTL_SECONDS or not isinstance(fifo, bool):
        raise ApiError(400, "Client.BadRequest", f"options.TTL is a whole number of seconds from 1 to {MAX_TTL_SECONDS} "
                                                 "and options.FIFO a boolean.")
    max_attempts = options.get("maxAttempts", subscription.max_attempts)
    backoff = options.get("backoffSeconds", subscription.backoff_seconds)
    if max_attempts is not None and (not isinstance(max_attempts, int) or isinstance(max_attempts, bool)
                                     or not 1 <= max_attempts <= MAX_PUSH_ATTEMPTS):
        raise ApiError(400, "Client.BadRequest", f"options.maxAttempts is a whole number from 1 to {MAX_PUSH_ATTEMPTS}.")
    if backoff is not None and (not isinstance(backoff, (int, float)) or isinstance(backoff, bool)
                                or not MIN_BACKOFF_SECONDS <= backoff <= MAX_BACKOFF_SECONDS):
        raise ApiError(400, "Client.BadRequest",
                       f"options.backoffSeconds is a number of seconds from {MIN_BACKOFF_SECONDS:g} to {MAX_BACKOFF_SECONDS:g}.")
    subscription.delivery, subscription.push_url, subscription.ttl, subscription.fifo = delivery, push_url, ttl, fifo
    # Rounded to tenths of a second: each distinct delay is a queue of its own.
    subscription.max_attempts, subscription.backoff_seconds = max_attempts, round(float(backoff), 1) if backoff is not None else None


def subscribe(call: Call, name: str) -> Response:
    event_type = _event_type_or_404(call, name)
    _may_use(call, event_type)
    if _own_subscription(call, name) is not None:
        raise ApiError(409, "Client.Conflict", "You are subscribed to this event type already.")
    subscription = Subscription(room_id=call.room.id, event_type=name, subscriber_id=call.client.id)
    _apply_subscription(call, subscription, call.json())
    call.uow.session.add(subscription)
    try:
        call.uow.commit()
    except IntegrityError:
        raise ApiError(409, "Client.Conflict", "You are subscribed to this event type already.")
    return JSONResponse(_subscription_item(call, subscription), status_code=200)  # addSub's "Subscription created"


def list_subscriptions(call: Call) -> Response:
    subscriptions = call.uow.session.exec(select(Subscription).where(Subscription.room_id == call.room.id,
                                                                     Subscription.subscriber_id == call.client.id,
                                                                     Subscription.ended_at == None)).all()  # noqa: E711
    return JSONResponse([_subscription_item(call, s) for s in subscriptions])


def get_subscription(call: Call, name: str) -> Response:
    subscription = _own_subscription(call, name)
    if subscription is None:
        raise ApiError(404, "Client.UnknownSubscription", "You are not subscribed to this event type.")
    return JSONResponse(_subscription_item(call, subscription))


def update_subscription(call: Call, name: str) -> Response:
    subscription = _own_subscription(call, name)
    if subscription is None:
        raise ApiError(404, "Client.UnknownSubscription", "You are not subscribed to this event type.")
    _apply_subscription(call, subscription, call.json())
    call.uow.session.add(subscription)
    call.uow.commit()
    return JSONResponse(_subscription_item(call, subscription), status_code=201)  # as patchSub has it


def unsubscribe(call: Call, name: str) -> Response:
    subscription = _own_subscription(call, name)
    if subscription is None:
        raise ApiError(404, "Client.UnknownSubscription", "You are not subscribed to this event type.")
    _end(call, subscription)
    call.uow.commit()
    return Response(status_code=204)


# --- pull ------------------------------------------------------------------------------------------------------

def pull(call: Call, name: str) -> Response:
    subscription = _own_subscription(call, name)
    if subscription is None or subscription.delivery != "PULL":
        raise ApiError(404, "Client.UnknownSubscription", "You have no PULL subscription to this event type.")
    query = (select(Delivery, PublishedEvent).join(PublishedEvent, PublishedEvent.id == Delivery.event_id)
             .where(Delivery.subscription_id == subscription.id, Delivery.status == "pending").order_by(PublishedEvent.seq).limit(100))
    expired = False
    for delivery, event in call.uow.session.exec(query):
        if not is_expired(event, subscription):
            if expired:
                call.uow.commit()
            return JSONResponse(event_item(event, publisher_id(event.publisher)))
        delivery.status, delivery.updated_at, expired = "expired", utcnow(), True
        call.uow.session.add(delivery)
    if expired:
        call.uow.commit()
    return JSONResponse("No unacknowledged event.", status_code=404)


def acknowledge(call: Call, name: str, event_id: str) -> Response:
    subscription = _own_subscription(call, name)
    delivery = call.uow.session.exec(select(Delivery).where(Delivery.subscription_id == subscription.id, Delivery.event_id == event_id)).first() \
        if subscription is not None else None
    if delivery is None:
        raise ApiError(404, "Client.UnknownEvent", "No such event in your subscription.")
    delivery.status, delivery.updated_at = "acknowledged", utcnow()
    call.uow.session.add(delivery)
    call.uow.commit()
    return Response(status_code=204)


# (method, section, pattern of the rest of the path) -> handler(call, *groups)
ROUTES: list[tuple[str, str, re.Pattern, Callable]] = [
    ("POST", "api", re.compile(r"^v1/eventType/?$"), create_event_type),
    ("GET", "api", re.compile(r"^v1/eventType/?$"), list_event_types),
    ("GET", "api", re.compile(r"^v1/eventType/([^/]+)$"), get_event_type),
    ("DELETE", "api", re.compile(r"^v1/eventType/([^/]+)$"), delete_event_type),
    ("GET", "api", re.compile(r"^v1/subs/?$"), list_subscriptions),
    ("POST", "api", re.compile(r"^v1/subs/([^/]+)$"), subscribe),
    ("GET", "api", re.compile(r"^v1/subs/([^/]+)$"), get_subscription),
    ("PATCH", "api", re.compile(r"^v1/subs/([^/]+)$"), update_subscription),
    ("DELETE", "api", re.compile(r"^v1/subs/([^/]+)$"), unsubscribe),
    ("POST", "pub", re.compile(r"^v1/([^/]+)$"), publish),
    ("GET", "pub", re.compile(r"^v1/([^/]+)/([^/]+)$"), event_status),
    ("DELETE", "pub", re.compile(r"^v1/([^/]+)/([^/]+)$"), stop_event),
    ("GET", "pull", re.compile(r"^v1/([^/]+)$"), pull),
    ("DELETE", "pull", re.compile(r"^v1/([^/]+)/([^/]+)$"), acknowledge),
]


def _run(engine, settings, handler, room, client, method, body, groups) -> Response:
    with UnitOfWork(engine, source=settings.service_name) as uow:
        return handler(Call(uow, room, client, method, body, settings), *groups)


async def dispatch(request, *, room: AppEntry, client: AppEntry, section: str, path: str, body: bytes) -> Response | None:
    """The room's answer, or None when no pub/sub operation has this method and path."""
    for method, route_section, pattern, handler in ROUTES:
        match = pattern.match(path) if route_section == section else None
        if match and method == request.method:
            state = request.app.state
            return await run_in_threadpool(_run, state.engine, state.settings, handler, room, client, request.method, body, match.groups())
    return None

