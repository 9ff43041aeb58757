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
                          headers=room.as_("school")).status_code == 200
        assert httpx.post(room.url("api/v1/subs/newBirth"), json={"delivery": "PUSH", "pushUrl": f"http://127.0.0.1:{down_port}/events"},
                          headers=room.as_("tax")).status_code == 200

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
    assert httpx.post(room.url("api/v1/subs/newBirth"), json={"delivery": "PULL"}, headers=room.as_("hospital")).status_code == 200
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
                      headers=room.as_("archive")).status_code == 200
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

    assert subscribed.status_code == 200 and subscribed.json()["options"]["FIFO"] is True
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


# --- unsubscribing ---------------------------------------------------------------------------------------------

def test_a_subscriber_that_received_events_can_unsubscribe_and_the_events_status_keeps_its_delivery(room):
    event_type = new_event_type(room, "school")
    url = room.url(f"api/v1/subs/{event_type}")
    assert httpx.post(url, json={"delivery": "PULL"}, headers=room.as_("school")).status_code == 200
    event_id = publish(room, event_type, "u-1")
    assert httpx.get(room.url(f"pull/v1/{event_type}"), headers=room.as_("school")).json()["id"] == event_id

    unsubscribed = httpx.delete(url, headers=room.as_("school"))

    assert unsubscribed.status_code == 204
    assert httpx.get(url, headers=room.as_("school")).status_code == 404
    status = httpx.get(room.url(f"pub/v1/{event_type}/{event_id}"), headers=room.as_("hospital")).json()
    assert status["deliveries"] == {"total": 1, "stopped": 1}  # pulled but never acknowledged: stopped, not lost


def test_an_application_subscribes_again_after_unsubscribing_and_gets_only_new_events(room):
    event_type = new_event_type(room, "school")
    url = room.url(f"api/v1/subs/{event_type}")
    first = httpx.post(url, json={"delivery": "PULL"}, headers=room.as_("school")).json()
    publish(room, event_type, "before")
    assert httpx.delete(url, headers=room.as_("school")).status_code == 204
    publish(room, event_type, "between")

    again = httpx.post(url, json={"delivery": "PULL"}, headers=room.as_("school"))
    after = publish(room, event_type, "after")

    assert again.status_code == 200 and again.json()["id"] != first["id"]
    assert [s["id"] for s in httpx.get(room.url("api/v1/subs"), headers=room.as_("school")).json() if s["eventType"] == event_type] \
        == [again.json()["id"]]
    assert httpx.get(room.url(f"pull/v1/{event_type}"), headers=room.as_("school")).json()["id"] == after


# --- event type schemas ----------------------------------------------------------------------------------------

class Counter:
    """A server that counts the requests it gets: nothing may ever fetch from it."""

    def __init__(self):
        self.requests = 0

    def app(self) -> Starlette:
        async def count(request: Request):
            self.requests += 1
            return JSONResponse({"type": "string"})

        return Starlette(routes=[Route("/{path:path}", count)])


def test_schemas_with_refs_that_do_not_resolve_inside_them_are_refused_and_nothing_is_fetched(room, tmp_path):
    counter = Counter()
    (tmp_path / "x.json").write_text('{"type": "string"}')
    with serve(counter.app()) as url:
        schemas = [{"$ref": f"{url}/x.json"}, {"$ref": (tmp_path / "x.json").as_uri()}, {"$ref": "#/$defs/missing"},
                   {"properties": {"a": {"$ref": "other.json"}}},
                   {"$ref": "#"}, {"$defs": {"a": {"allOf": [{"$ref": "#/$defs/b"}]}, "b": {"anyOf": [{"$ref": "#/$defs/a"}]}},
                                   "$ref": "#/$defs/a"}]  # the last two loop back onto the same value for ever
        responses = [httpx.post(room.url("api/v1/eventType"), json={"eventType": f"ref{uuid.uuid4().hex[:8]}", "schema": schema},
                                headers=room.as_("events")) for schema in schemas]

    assert [r.status_code for r in responses] == [400] * len(schemas)
    assert {r.json()["type"] for r in responses} == {"Client.BadRequest"}
    assert counter.requests == 0


def test_refs_inside_the_schema_are_followed(room):
    schema = {"type": "object", "properties": {"child": {"$ref": "#/$defs/person"}},
              "$defs": {"person": {"type": "object", "required": ["id"], "properties": {"id": {"type": "string"}}}}}
    name = f"refs{uuid.uuid4().hex[:8]}"
    assert httpx.post(room.url("api/v1/eventType"), json={"eventType": name, "schema": schema}, headers=room.as_("events")).status_code == 200

    valid = httpx.post(room.url(f"pub/v1/{name}"), json={"event": {"child": {"id": "c-1"}}}, headers=room.as_("events"))
    invalid = httpx.post(room.url(f"pub/v1/{name}"), json={"event": {"child": {"id": 7}}}, headers=room.as_("events"))

    assert valid.status_code == 201
    assert invalid.status_code == 400 and invalid.json()["type"] == "Client.InvalidEvent"


def test_schemas_whose_patterns_backtrack_catastrophically_are_refused_and_plain_patterns_accepted(room):
    # With ^(a+)+$ checking "a" * 30 + "b" takes tens of seconds (each further "a" doubles it): every publish would burn CPU.
    slow = [{"type": "object", "properties": {"x": {"type": "string", "pattern": "^(a+)+$"}}},
            {"type": "object", "patternProperties": {"^(a|aa)*$": {"type": "string"}}}]
    plain = {"type": "object", "properties": {"x": {"type": "string", "pattern": "^[A-Z]{2}-[0-9]+$"}}}

    refused = [httpx.post(room.url("api/v1/eventType"), json={"eventType": f"slow{uuid.uuid4().hex[:8]}", "schema": schema},
                          headers=room.as_("events")) for schema in slow]
    name = f"plain{uuid.uuid4().hex[:8]}"
    accepted = httpx.post(room.url("api/v1/eventType"), json={"eventType": name, "schema": plain}, headers=room.as_("events"))

    assert [r.status_code for r in refused] == [400] * len(slow)
    assert {r.json()["type"] for r in refused} == {"Client.BadRequest"}
    assert all("repeats a group that itself varies in length" in r.text for r in refused)
    assert accepted.status_code == 200
    valid = httpx.post(room.url(f"pub/v1/{name}"), json={"event": {"x": "LA-1"}}, headers=room.as_("events"))
    invalid = httpx.post(room.url(f"pub/v1/{name}"), json={"event": {"x": "la-1"}}, headers=room.as_("events"))
    assert valid.status_code == 201
    assert invalid.status_code == 400 and invalid.json()["type"] == "Client.InvalidEvent"


@pytest.mark.parametrize("stored", ["remote", "loop", "slow pattern"])
def test_a_stored_schema_that_cannot_be_followed_puts_its_event_type_out_of_service_without_fetching(room, engine, stored):
    """Schemas stored before they were checked at creation."""
    from sqlmodel import Session, select

    from gateway.models import EventType, PublishedEvent

    name = new_event_type(room)
    counter = Counter()
    with serve(counter.app()) as url:
        with Session(engine) as session:
            event_type = session.exec(select(EventType).where(EventType.name == name)).one()
            event_type.schema_ = {"remote": {"$ref": f"{url}/x.json"}, "loop": {"$ref": "#"},
                                  # "aaa...!" against it backtracks: 2^n steps for n letters
                                  "slow pattern": {"properties": {"childId": {"pattern": "^(a+)+$"}}}}[stored]
            session.add(event_type)
            session.commit()

        response = httpx.post(room.url(f"pub/v1/{name}"), json={"event": {"childId": "a" * 22 + "!"}}, headers=room.as_("hospital"))

    assert response.status_code == 503
    assert response.json()["type"] == "Server.ServerProxy.EventTypeUnusable"
    assert counter.requests == 0
    with Session(engine) as session:
        assert session.exec(select(PublishedEvent).where(PublishedEvent.event_type == name)).first() is None


def test_an_event_nested_deeper_than_its_check_can_follow_is_refused(room):
    name = f"tree{uuid.uuid4().hex[:8]}"
    schema = {"type": "object", "additionalProperties": {"$ref": "#"}}  # sound: each step goes one level into the value
    assert httpx.post(room.url("api/v1/eventType"), json={"eventType": name, "schema": schema}, headers=room.as_("events")).status_code == 200
    event: dict = {}
    for _ in range(600):
        event = {"a": event}

    response = httpx.post(room.url(f"pub/v1/{name}"), json={"event": event}, headers=room.as_("events"))

    assert response.status_code == 400 and response.json()["type"] == "Client.InvalidEvent"


# --- event type names and deletion ----------------------------------------------------------------------------

def test_event_types_named_like_a_section_of_the_room_are_refused(room):
    responses = [httpx.post(room.url("api/v1/eventType"), json={"eventType": name, "schema": {}}, headers=room.as_("events"))
                 for name in ("api", "pub", "pull")]

    assert [r.status_code for r in responses] == [400] * 3
    assert "newBirth" in httpx.get(room.url("api/v1/eventType"), headers=room.as_("hospital")).json()  # the api section still answers


def test_a_deleted_event_type_leaves_no_service_right_or_subscription_behind(room):
    name = new_event_type(room, "school")
    assert httpx.post(room.url(f"api/v1/subs/{name}"), json={"delivery": "PULL"}, headers=room.as_("school")).status_code == 200
    event_id = publish(room, name, "d-1")
    methods = lambda: [m["serviceCode"] for m in httpx.get(f"{room.base_url}/LA/GOV/{room.code}/events/listMethods").json()["member"]]  # noqa: E731
    listed = methods()

    deleted = httpx.delete(room.url(f"api/v1/eventType/{name}"), headers=room.as_("events"))
    listed_after = methods()
    recreated = httpx.post(room.url("api/v1/eventType"), json={"eventType": name, "schema": BIRTH_SCHEMA}, headers=room.as_("events"))

    assert deleted.status_code == 204
    assert name in listed and name not in listed_after
    assert recreated.status_code == 200
    assert httpx.get(room.url(f"api/v1/subs/{name}"), headers=room.as_("school")).status_code == 404  # ended with the old type
    assert httpx.post(room.url(f"pub/v1/{name}"), json={"event": {"childId": "x"}}, headers=room.as_("hospital")).status_code == 403
    assert httpx.get(room.url(f"pub/v1/{name}/{event_id}"), headers=room.as_("events")).json()["deliveries"] == {"total": 1, "stopped": 1}


# --- answers as the PubSub YAML gives them ---------------------------------------------------------------------

def test_an_event_type_that_is_not_defined_is_204(room):
    response = httpx.get(room.url("api/v1/eventType/noSuchType"), headers=room.as_("hospital"))

    assert response.status_code == 204 and response.content == b""


def test_a_subscription_is_changed_with_patch(room):
    event_type = new_event_type(room, "archive")
    url = room.url(f"api/v1/subs/{event_type}")
    assert httpx.post(url, json={"delivery": "PULL"}, headers=room.as_("archive")).status_code == 200

    changed = httpx.patch(url, json={"options": {"TTL": 60}}, headers=room.as_("archive"))

    assert changed.status_code == 201 and changed.json()["options"]["TTL"] == 60
    assert httpx.get(url, headers=room.as_("archive")).json()["options"]["TTL"] == 60


# --- bad input -------------------------------------------------------------------------------------------------

def test_subscription_values_out_of_range_are_400_and_nothing_is_stored(room):
    event_type = new_event_type(room, "archive")
    url = room.url(f"api/v1/subs/{event_type}")
    bodies = [{"delivery": "PULL", "options": {"TTL": 99999999999999999999}}, {"delivery": "PULL", "options": {"TTL": 2**31}},
              {"delivery": "PUSH", "pushUrl": "ftp://127.0.0.1/events"}, {"delivery": "PUSH", "pushUrl": "file:///etc/passwd"},
              {"delivery": "PUSH", "pushUrl": "http://" + "a" * 1000 + ".example/events"}]

    responses = [httpx.post(url, json=body, headers=room.as_("archive")) for body in bodies]

    assert [r.status_code for r in responses] == [400] * len(bodies)
    assert {r.json()["type"] for r in responses} == {"Client.BadRequest"}
    assert httpx.get(url, headers=room.as_("archive")).status_code == 404


def test_a_ttl_out_of_range_is_400_on_patch_too(room):
    event_type = new_event_type(room, "archive")
    url = room.url(f"api/v1/subs/{event_type}")
    assert httpx.post(url, json={"delivery": "PULL"}, headers=room.as_("archive")).status_code == 200

    response = httpx.patch(url, json={"options": {"TTL": 99999999999999999999}}, headers=room.as_("archive"))

    assert response.status_code == 400 and response.json()["type"] == "Client.BadRequest"
    assert httpx.get(url, headers=room.as_("archive")).json()["options"]["TTL"] == 3600


@pytest.mark.parametrize("event", ['"abc"', "5", "[]", "null", '{"childId": "x", "n": NaN}', '{"childId": "x", "n": 1e400}'])
def test_an_event_that_is_no_json_object_is_refused(room, event):
    name = new_event_type(room)
    body = f'{{"eventType": "{name}", "event": {event}}}'

    response = httpx.post(room.url(f"pub/v1/{name}"), content=body, headers={**room.as_("hospital"), "Content-Type": "application/json"})

    assert response.status_code == 400 and response.json()["type"] == "Client.BadRequest"


@pytest.mark.parametrize("url", ["http://127.0.0.1:9/events", "http://localhost/events", "http://169.254.169.254/latest/meta-data",
                                 "http://10.1.2.3/events", "http://[::ffff:127.0.0.1]/events", "http://[::1]/events"])
def test_a_push_url_on_an_internal_address_is_refused_unless_allowed(url):
    from gateway.pubsub import PushUrlRefused, push_target

    with pytest.raises(PushUrlRefused, match="internal address"):
        push_target(url, allow_private=False)
    assert push_target(url, allow_private=True).url == url  # PUSH_ALLOW_PRIVATE, the default outside production


def test_a_push_to_a_public_address_goes_to_the_address_that_was_checked():
    from gateway.pubsub import push_target

    target = push_target("https://93.184.215.14/events?x=1", allow_private=False)

    assert target.url == "https://93.184.215.14:443/events?x=1"
    assert target.headers == {"Host": "93.184.215.14"} and target.extensions == {"sni_hostname": "93.184.215.14"}
