"""Pub/sub rooms: event types with a schema, publish, push to subscribers with retries, pull, delivery status."""
import threading
from datetime import datetime
import uuid

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from gateway.handlers import handlers_for
from kernel.consumer import Consumer
from kernel.relay import run as run_relay
from kernel.testing import ServerThread, free_port, running, serve, wait_until

BIRTH_SCHEMA = {"type": "object", "required": ["childId"], "properties": {"childId": {"type": "string"}}, "additionalProperties": False}


class Inbox:
    """A subscriber's push endpoint that keeps what it received."""

    def __init__(self):
        self.received: list[dict] = []
        self.lock = threading.Lock()

    def app(self) -> Starlette:
        async def receive(request: Request):
            with self.lock:
                self.received.append(await request.json())
            return JSONResponse({}, status_code=200)

        return Starlette(routes=[Route("/events", receive, methods=["POST"])])


class Room:
    def __init__(self, base_url, oidc_issuer, admin_headers):
        suffix = uuid.uuid4().hex[:8]
        self.base_url, self.code = base_url, f"CIV{suffix}"
        self.apps = {name: f"{name}-{suffix}" for name in ("events", "hospital", "school", "tax", "archive", "outsider")}
        config = {"members": [{"class": "GOV", "code": self.code, "applications": [
            {"id": "events", "clientId": self.apps["events"], "room": True},
            *({"id": name, "clientId": self.apps[name]} for name in ("hospital", "school", "tax", "archive", "outsider"))]}]}
        assert httpx.patch(f"{base_url}/api/v1/config", json=config, headers=admin_headers).status_code == 201
        self.tokens = {name: oidc_issuer.token(audience="gateway", client_id=client_id, expires_in=3600) for name, client_id in self.apps.items()}
        self.admin_headers = admin_headers

    def url(self, path: str) -> str:
        return f"{self.base_url}/r1/LA/GOV/{self.code}/events/{path}"

    def as_(self, name: str) -> dict:
        return {"Information-Mediator-Client": f"LA/GOV/{self.code}/{name}", "Authorization": f"Bearer {self.tokens[name]}"}

    def grant(self, event_type: str, *names: str) -> None:
        right = [{"memberClass": "GOV", "memberCode": self.code, "applicationId": "events", "serviceId": event_type,
                  "rights": [{"memberClass": "GOV", "memberCode": self.code, "applicationId": name} for name in names]}]
        assert httpx.patch(f"{self.base_url}/api/v1/rights/allow", json=right, headers=self.admin_headers).status_code == 200


@pytest.fixture(scope="module")
def room(base_url, oidc_issuer, admin_headers) -> Room:
    room = Room(base_url, oidc_issuer, admin_headers)
    created = httpx.post(room.url("api/v1/eventType"), json={"eventType": "newBirth", "schema": BIRTH_SCHEMA}, headers=room.as_("events"))
    assert created.status_code == 200, created.text
    room.grant("newBirth", "hospital", "school", "tax", "archive")
    return room


@pytest.fixture(scope="module")
def delivery(settings, engine):
    consumer = Consumer(engine, amqp_url=settings.amqp_url, exchange=settings.events_exchange, queue="gateway", source="gateway",
                        handlers=handlers_for(settings), retry_delay_ms=settings.consumer_retry_delay_ms)
    consumer.declare()  # bound before anything is published: the broker drops what no queue takes
    with running(lambda stop: run_relay(engine, amqp_url=settings.amqp_url, exchange=settings.events_exchange, stop=stop)), \
            running(consumer.run):
        yield


def status(room: Room, event_id: str) -> dict:
    return httpx.get(room.url(f"pub/v1/newBirth/{event_id}"), headers=room.as_("hospital")).json()


def test_event_reaches_two_subscribers_one_of_them_only_on_retry(room, delivery):
    up, down = Inbox(), Inbox()
    down_port = free_port()
    with serve(up.app()) as up_url:
        assert httpx.post(room.url("api/v1/subs/newBirth"), json={"delivery": "PUSH", "pushUrl": f"{up_url}/events"},
                          headers=room.as_("school")).status_code == 201
        assert httpx.post(room.url("api/v1/subs/newBirth"), json={"delivery": "PUSH", "pushUrl": f"http://127.0.0.1:{down_port}/events"},
                          headers=room.as_("tax")).status_code == 201

        published = httpx.post(room.url("pub/v1/newBirth"), json={"eventType": "newBirth", "event": {"childId": "c-1"}},
                               headers=room.as_("hospital"))
        event_id = published.json()["id"]
        wait_until(lambda: up.received, message="the push to the subscriber that is up")
        wait_until(lambda: any(a["outcome"] == "failed" for a in status(room, event_id)["attempts"]), message="a failed push attempt")
        late = ServerThread(down.app(), down_port).start()  # the second subscriber comes up
        try:
            final = wait_until(lambda: (s := status(room, event_id))["deliveries"].get("delivered") == 2 and s,
                               message="delivered to both subscribers")
        finally:
            late.stop()

    assert published.status_code == 201
    assert up.received[0]["id"] == event_id and up.received[0]["event"] == {"childId": "c-1"}
    assert down.received[0]["id"] == event_id
    assert final["status"] == "complete" and final["deliveries"]["total"] == 2
    assert [a["outcome"] for a in final["attempts"]].count("delivered") == 2


def test_pull_subscriber_gets_events_in_order_until_acknowledged(room):
    assert httpx.post(room.url("api/v1/subs/newBirth"), json={"delivery": "PULL"}, headers=room.as_("hospital")).status_code == 201
    ids = [httpx.post(room.url("pub/v1/newBirth"), json={"eventType": "newBirth", "event": {"childId": f"p-{n}"}},
                      headers=room.as_("hospital")).json()["id"] for n in range(2)]

    first = httpx.get(room.url("pull/v1/newBirth"), headers=room.as_("hospital"))
    acknowledged = httpx.delete(room.url(f"pull/v1/newBirth/{ids[0]}"), headers=room.as_("hospital"))
    second = httpx.get(room.url("pull/v1/newBirth"), headers=room.as_("hospital"))
    httpx.delete(room.url(f"pull/v1/newBirth/{ids[1]}"), headers=room.as_("hospital"))
    empty = httpx.get(room.url("pull/v1/newBirth"), headers=room.as_("hospital"))

    assert first.json()["id"] == ids[0] and first.json()["sequence"] < second.json()["sequence"]
    assert acknowledged.status_code == 204
    assert second.json()["id"] == ids[1]
    assert empty.status_code == 404


def test_event_not_matching_the_schema_is_refused(room):
    response = httpx.post(room.url("pub/v1/newBirth"), json={"eventType": "newBirth", "event": {"childId": 7, "name": "x"}},
                          headers=room.as_("hospital"))

    assert response.status_code == 400
    assert response.json()["type"] == "Client.InvalidEvent"


def test_unknown_event_type_is_404_and_duplicates_are_409(room):
    unknown = httpx.post(room.url("pub/v1/noSuch"), json={"eventType": "noSuch", "event": {}}, headers=room.as_("hospital"))
    duplicate = httpx.post(room.url("api/v1/eventType"), json={"eventType": "newBirth", "schema": {}}, headers=room.as_("events"))

    assert unknown.status_code == 404
    assert duplicate.status_code == 409


def test_applications_without_a_right_cannot_publish_or_subscribe(room):
    publish = httpx.post(room.url("pub/v1/newBirth"), json={"eventType": "newBirth", "event": {"childId": "x"}}, headers=room.as_("outsider"))
    subscribe = httpx.post(room.url("api/v1/subs/newBirth"), json={"delivery": "PULL"}, headers=room.as_("outsider"))
    create = httpx.post(room.url("api/v1/eventType"), json={"eventType": "other", "schema": {}}, headers=room.as_("outsider"))

    assert (publish.status_code, subscribe.status_code, create.status_code) == (403, 403, 403)


def test_event_types_are_listed(room):
    response = httpx.get(room.url("api/v1/eventType"), headers=room.as_("hospital"))

    assert response.status_code == 200 and "newBirth" in response.json()


def test_events_past_the_subscriptions_ttl_are_not_handed_out(room):
    assert httpx.post(room.url("api/v1/subs/newBirth"), json={"delivery": "PULL", "options": {"TTL": 1}},
                      headers=room.as_("archive")).status_code == 201
    event_id = httpx.post(room.url("pub/v1/newBirth"), json={"eventType": "newBirth", "event": {"childId": "ttl"}},
                          headers=room.as_("hospital")).json()["id"]

    fresh = httpx.get(room.url("pull/v1/newBirth"), headers=room.as_("archive"))
    wait_until(lambda: httpx.get(room.url("pull/v1/newBirth"), headers=room.as_("archive")).status_code == 404,
               message="the event expired for the subscriber")

    assert fresh.json()["id"] == event_id
    assert status(room, event_id)["deliveries"].get("expired", 0) >= 1


class FlakyInbox:
    """A push endpoint that fails its first `failures` requests; keeps every attempt and what it accepted, in order."""

    def __init__(self, failures: int):
        self.failures, self.attempts, self.accepted = failures, [], []
        self.lock = threading.Lock()

    def app(self) -> Starlette:
        async def receive(request: Request):
            item = await request.json()
            with self.lock:
                self.attempts.append(item["id"])
                if len(self.attempts) <= self.failures:
                    return JSONResponse({}, status_code=503)
                self.accepted.append(item["id"])
            return JSONResponse({}, status_code=200)

        return Starlette(routes=[Route("/events", receive, methods=["POST"])])


def new_event_type(room: Room, *subscribers: str) -> str:
    name = f"check{uuid.uuid4().hex[:8]}"
    assert httpx.post(room.url("api/v1/eventType"), json={"eventType": name, "schema": BIRTH_SCHEMA}, headers=room.as_("events")).status_code == 200
    room.grant(name, "hospital", *subscribers)
    return name


def publish(room: Room, event_type: str, child_id: str) -> str:
    response = httpx.post(room.url(f"pub/v1/{event_type}"), json={"eventType": event_type, "event": {"childId": child_id}},
                          headers=room.as_("hospital"))
    assert response.status_code == 201, response.text
    return response.json()["id"]


def test_a_fifo_subscriber_gets_events_one_at_a_time_in_publishing_order(room, delivery):
    event_type = new_event_type(room, "school")
    inbox = FlakyInbox(failures=2)
    with serve(inbox.app()) as url:
        subscribed = httpx.post(room.url(f"api/v1/subs/{event_type}"), headers=room.as_("school"),
                                json={"delivery": "PUSH", "pushUrl": f"{url}/events", "options": {"FIFO": True, "backoffSeconds": 0.2}})
        ids = [publish(room, event_type, f"f-{n}") for n in range(3)]
        wait_until(lambda: len(inbox.accepted) == 3, timeout=30, message="three events accepted")

    assert subscribed.status_code == 201 and subscribed.json()["options"]["FIFO"] is True
    # The first event's two failed pushes and its retry come before anything of the later ones.
    assert inbox.attempts == [ids[0], ids[0], ids[0], ids[1], ids[2]]
    assert inbox.accepted == ids


def test_a_subscribers_own_retry_strategy_replaces_the_default(room, delivery):
    event_type = new_event_type(room, "tax")
    down = f"http://127.0.0.1:{free_port()}/events"  # nobody listens there
    subscribed = httpx.post(room.url(f"api/v1/subs/{event_type}"), headers=room.as_("tax"),
                            json={"delivery": "PUSH", "pushUrl": down, "options": {"maxAttempts": 2, "backoffSeconds": 1}})

    event_id = publish(room, event_type, "r-1")

    final = wait_until(lambda: (s := httpx.get(room.url(f"pub/v1/{event_type}/{event_id}"), headers=room.as_("hospital")).json())
                       ["deliveries"].get("dropped") == 1 and s, timeout=30, message="the delivery dropped")
    assert subscribed.json()["options"] == {"TTL": 3600, "FIFO": False, "maxAttempts": 2, "backoffSeconds": 1.0}
    attempts = final["attempts"]
    assert [a["outcome"] for a in attempts] == ["failed", "dropped"]  # two attempts, not the gateway's default eight
    first, second = (datetime.fromisoformat(a["at"]) for a in attempts)
    assert (second - first).total_seconds() >= 1.0


def test_a_retry_strategy_out_of_bounds_is_refused(room):
    event_type = new_event_type(room, "archive")
    url = room.url(f"api/v1/subs/{event_type}")

    responses = [httpx.post(url, headers=room.as_("archive"), json={"delivery": "PULL", "options": options})
                 for options in ({"maxAttempts": 0}, {"maxAttempts": 500}, {"backoffSeconds": "soon"}, {"backoffSeconds": 0})]

    assert [r.status_code for r in responses] == [400] * 4
    assert httpx.get(url, headers=room.as_("archive")).status_code == 404  # nothing was stored
