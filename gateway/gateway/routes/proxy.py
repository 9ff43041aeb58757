"""Routing: /r1/{instance}/{class}/{member}/{application}/{service}/{path} forwarded to the registered URL."""
import asyncio
import hashlib
import logging
import re
import time
from urllib.parse import quote
from datetime import datetime, timezone

from fastapi import Request
from fastapi.responses import Response, StreamingResponse
from starlette.routing import Route
from opentelemetry import propagate, trace
from starlette.concurrency import run_in_threadpool
from uvicorn.protocols.http.httptools_impl import HEADER_VALUE_RE, STATUS_LINE, RequestResponseCycle

from gateway.callers import CLIENT_HEADERS, client_from_headers
from gateway.consent import ConsentUnavailable
from gateway.errors import xroad_error
from gateway.messagelog import Exchange, JournalFailed, corrected, new_id
from gateway.routes import pubsub
from gateway.tls import certificate_matches
from gateway.upstream import Origin, UpstreamFailed, origin
from kernel.auth import bearer_token_of
from kernel.errors import ApiError

log = logging.getLogger(__name__)

# Hop-by-hop headers (RFC 9110 7.6.1) belong to one connection, never forwarded; the rest is rewritten by us.
HOP_BY_HOP = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer",
              "transfer-encoding", "upgrade", "host", "content-length"}
HOP_BY_HOP_RAW = {name.encode() for name in HOP_BY_HOP}
# The gateway sets these itself: a caller's own must not reach the provider beside them.
# Expect: the gateway reads the whole body before forwarding, so the caller's 100-continue was answered already.
NOT_FORWARDED = HOP_BY_HOP_RAW | {name.encode() for name in CLIENT_HEADERS} | {b"x-road-service", b"x-road-id", b"expect"}
NOT_FORWARDED_NOR_TOKEN = NOT_FORWARDED | {b"authorization"}
# The gateway's server adds its own Date and Server to every response: the provider's would go out beside them, twice.
RESPONSE_NOT_FORWARDED = HOP_BY_HOP | {"date", "server"}
RESPONSE_NOT_FORWARDED_RAW = {name.encode() for name in RESPONSE_NOT_FORWARDED}
METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
SMALL_RESPONSE_BYTES = 64 * 1024


def _base_url(url: str) -> Origin:
    return origin(url)


def _message_id() -> str:
    return new_id()


def _now() -> datetime:
    return datetime.now(timezone.utc)


class _Refused(Exception):
    def __init__(self, status: int, error_type: str, message: str, headers: dict | None = None, details: list[dict] | None = None):
        self.status, self.error_type, self.message, self.headers, self.details = status, error_type, message, headers, details


def _first_values(request: Request) -> dict[str, str]:
    """The request's headers by (lower-case) name, the first value of a repeated one as Starlette's Headers.get gives it:
    built once, then every lookup is a dict's, not a scan of the list."""
    return {name.decode("latin-1"): value.decode("latin-1") for name, value in reversed(request.scope["headers"])}


async def _read_body(request: Request, headers_in: dict[str, str], limit: int) -> bytes:
    declared = headers_in.get("content-length")
    if declared is None and "transfer-encoding" not in headers_in:
        return b""  # no body announced (most GETs): HTTP/1.1 has none to read
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise _Refused(413, "Client.RequestTooLarge", f"The request body exceeds {limit} bytes.")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _Refused(413, "Client.RequestTooLarge", f"The request body exceeds {limit} bytes.")
        chunks.append(chunk)
    return b"".join(chunks)


async def _authenticate(request: Request, headers_in: dict[str, str], snapshot, client_key):
    """The client application named in the header, if its client certificate (mutual TLS) or the bearer token belongs to it."""
    if client_key is None:
        raise _Refused(400, "Client.BadRequest", "Name the client application in Information-Mediator-Client as INSTANCE/CLASS/MEMBER/APPLICATION.")
    extensions = request.scope.get("extensions")
    if extensions and "tls" in extensions:  # only there when a configured CA verified the certificate
        client = snapshot.apps.get(client_key)
        if client is not None and certificate_matches(client.tls_client_cert, extensions["tls"]):
            return client
    token = bearer_token_of(headers_in.get("authorization", ""))
    if token is None:
        raise _Refused(401, "Client.AuthenticationFailed", "A bearer token of the client application is required.",
                       {"WWW-Authenticate": "Bearer"})
    verifier = request.app.state.caller_verifier
    try:
        # A cache miss may fetch the issuer's keys over HTTP, so it runs off the event loop.
        caller = verifier.cached(token) or await run_in_threadpool(verifier.verify, token)
    except ApiError as exc:
        raise _Refused(exc.status, "Client.AuthenticationFailed", exc.message, exc.headers)
    client = snapshot.apps.get(client_key)
    if client is None:
        raise _Refused(403, "Client.UnknownClient", "The client application is not registered.")
    if not client.client_id or caller.client_id != client.client_id:
        raise _Refused(403, "Client.AuthenticationFailed", "The token does not belong to the named client application.")
    return client


class _InProgress:
    """Forwarded calls of this process between their start and their logging."""

    count = 0


_in_progress = _InProgress()


async def forward(request: Request) -> Response:
    """The hot path: a plain Starlette endpoint, no FastAPI parameter machinery."""
    _in_progress.count += 1
    try:
        return await _forward(request)
    finally:
        _in_progress.count -= 1


async def _forward(request: Request) -> Response:
    params = request.path_params
    instance, member_class, member_code = params["instance"], params["member_class"], params["member_code"]
    application, service, path = params["application"], params["service"], params.get("path", "")
    state = request.app.state
    settings = state.settings
    started, clock = _now(), time.perf_counter()
    headers_in = _first_values(request)
    message_id = headers_in.get("x-road-id") or _message_id()
    client_key = client_from_headers(headers_in)
    client_name = "/".join(client_key) if client_key else ""
    service_name = f"{instance}/{member_class}/{member_code}/{application}/{service}"
    request_size = 0
    # Metric labels only for what the directory knows: names taken from an unverified header or the URL as they come
    # would let anyone add series without end.
    metric_client, metric_service = "unauthenticated", "unknown"

    def finish(status: int, outcome: str, *, error: str = "", response_size: int = 0, request_hash: str = "",
               response_hash: str = "", request_body: bytes | None = None, response_body: bytes | None = None) -> Exchange:
        """The exchange's metrics observed and its log entry made; the caller records it (durably for a delivery)."""
        state.metrics.observe(client=metric_client, service=metric_service, status=status, seconds=time.perf_counter() - clock,
                              request_size=request_size, response_size=response_size)
        # Caller-controlled values are cut to the log's column sizes: one odd request must not stall the log writer.
        return Exchange(
            message_id=message_id[:200], client=client_name[:500], service=service_name[:500], method=request.method[:10],
            path=("/" + path)[:2000],
            status=status, outcome=outcome, error=error, started_at=started, finished_at=_now(), request_size=request_size,
            response_size=response_size, request_hash=request_hash, response_hash=response_hash,
            request_body=request_body.decode("utf-8", "replace") if settings.log_payloads and request_body is not None else None,
            response_body=response_body.decode("utf-8", "replace") if settings.log_payloads and response_body is not None else None,
        )

    message_log = state.message_log

    try:
        try:
            if "." in path and any(segment in (".", "..") for segment in path.split("/")):
                # Never normalised here: the provider, or a proxy before it, may resolve them, and the consent check and
                # the service's base path must hold for the path it will serve.
                raise _Refused(400, "Client.BadRequest", "The service path must not contain . or .. segments.")
            snapshot = await state.directory.get()
            entry = snapshot.services.get((instance, member_class, member_code, application, service))
            room = snapshot.apps.get((instance, member_class, member_code, application))
            if entry is not None or (room is not None and room.is_room and service in pubsub.SECTIONS):
                metric_service = service_name
            client = await _authenticate(request, headers_in, snapshot, client_key)
            metric_client = client_name
            if entry is None and room is not None and room.is_room and service in pubsub.SECTIONS:
                body = await _read_body(request, headers_in, settings.max_body_bytes)
                request_size = len(body)
                try:
                    response = await pubsub.dispatch(request, room=room, client=client, section=service, path=path, body=body)
                except ApiError as exc:
                    raise _Refused(exc.status, exc.code, exc.message, details=exc.details)
                if response is not None:
                    if not await _logged_durably(message_log, finish(response.status_code, "delivered", response_size=len(response.body))):
                        return _log_failed(message_id)
                    response.headers.update({"X-Road-Client": client_name, "X-Road-Service": service_name, "X-Road-Id": message_id})
                    return response
            if entry is None or entry.url.startswith("pubsub:"):
                raise _Refused(404, "Server.ServerProxy.UnknownService", f"Unknown service: SERVICE:{service_name}")
            if not entry.enabled:
                raise _Refused(503, "Server.ServerProxy.ServiceDisabled", f"Service SERVICE:{service_name} is disabled.")
            if (client.id, entry.id) not in snapshot.allowed:
                raise _Refused(403, "Server.ServerProxy.AccessDenied", f"Request is not allowed: SERVICE:{service_name}")
            body = await _read_body(request, headers_in, settings.max_body_bytes)
            request_size = len(body)
            if entry.needs_consent(path):
                await _check_consent(request, headers_in, entry.data_agreement_id)
        except _Refused as refused:
            message_log.record(finish(refused.status, "refused", error=refused.error_type))
            return xroad_error(refused.status, refused.error_type, refused.message, message_id=message_id, headers=refused.headers,
                               details=refused.details)

        request_hash = hashlib.sha256(body).hexdigest()
        # From the raw ASGI headers, repeated ones kept.
        dropped = NOT_FORWARDED if settings.forward_bearer_token else NOT_FORWARDED_NOR_TOKEN
        headers = [(name.decode("latin-1"), value.decode("latin-1")) for name, value in request.scope["headers"] if name not in dropped]
        headers += (("X-Road-Client", client_name), ("Information-Mediator-Client", client_name), ("X-GovStack-Client", client_name),
                    ("X-Road-Service", service_name), ("X-Road-Id", message_id))
        if trace.get_current_span().get_span_context().is_valid:
            carrier: dict[str, str] = {}
            propagate.inject(carrier)  # the upstream continues this trace (else the caller's traceparent went along as is)
            headers = [(name, value) for name, value in headers if name.lower() not in carrier] + list(carrier.items())
        # The path arrives decoded: encoded again, "%23" or "%3F" stays part of the path instead of cutting it short as a
        # fragment or a query (which sent /drafts/%23 to the provider's /drafts/). The query goes as the caller sent it, byte
        # for byte: nothing parsed and re-encoded.
        target = _base_url(entry.url)
        path_qs = "/" + quote(path, safe="/:@!$&'()*+,;=")
        query = request.scope["query_string"]
        if query:
            path_qs += "?" + query.decode("latin-1")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + settings.upstream_timeout_seconds  # headers and a small body, in all
        try:
            upstream = await state.upstream.request(request.method, target, path_qs, headers, body, deadline=deadline)
        except asyncio.TimeoutError:
            message_log.record(finish(504, "failed", error="Server.ServerProxy.ServiceTimeout", request_hash=request_hash, request_body=body))
            return xroad_error(504, "Server.ServerProxy.ServiceTimeout", f"SERVICE:{service_name} did not answer in time.", message_id=message_id)
        except UpstreamFailed:
            message_log.record(finish(502, "failed", error="Server.ServerProxy.ServiceFailed", request_hash=request_hash, request_body=body))
            return xroad_error(502, "Server.ServerProxy.ServiceFailed", f"SERVICE:{service_name} could not be reached.", message_id=message_id)

        xroad_headers = {"X-Road-Client": client_name, "X-Road-Service": service_name, "X-Road-Id": message_id,
                         "X-Road-Request-Id": message_id, "X-Road-Request-Hash": request_hash}

        declared = upstream.header(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) <= SMALL_RESPONSE_BYTES:
            # Small bodies go out in one piece: cheaper than a streaming response, and nothing is held back for long.
            try:
                content = await upstream.read(deadline=deadline)
            except (UpstreamFailed, asyncio.TimeoutError) as exc:
                # The provider answered in time but did not finish its body: broken off, or still dripping at the deadline
                # (UPSTREAM_TIMEOUT_SECONDS for the whole exchange). Nothing went to the caller yet, so it gets the error.
                upstream.close()  # the connection is in an unknown state: not back to the pool
                message_log.record(finish(502, "failed", error="Server.ServerProxy.ServiceFailed", request_hash=request_hash, request_body=body))
                what = "did not finish its response in time" if isinstance(exc, asyncio.TimeoutError) else "broke off its response"
                return xroad_error(502, "Server.ServerProxy.ServiceFailed", f"SERVICE:{service_name} {what}.", message_id=message_id)
            upstream.release()
            # The log entry is durable before the response goes out (X-Road: logged before returned to the client).
            delivered = finish(upstream.status, "delivered", response_size=len(content), request_hash=request_hash,
                               response_hash=hashlib.sha256(content).hexdigest(), request_body=body, response_body=content)
            if not await _logged_durably(message_log, delivered, alone=_in_progress.count == 1):
                return _log_failed(message_id)
            # ASGI headers straight from the upstream's raw ones: no decoding into a dict and encoding back.
            raw_headers = [(name, value) for name, value in upstream.raw_headers if name not in RESPONSE_NOT_FORWARDED_RAW]
            raw_headers += [(name.lower().encode(), value.encode("latin-1")) for name, value in xroad_headers.items()]
            raw_headers.append((b"content-length", str(len(content)).encode()))
            return _LoggedResponse(content, status_code=upstream.status, raw_headers=raw_headers,
                                   on_broken=lambda: message_log.record(_interrupted(delivered)))

        stream_deadline = loop.time() + settings.upstream_stream_timeout_seconds

        async def stream():
            digest, size, kept, completed, held = hashlib.sha256(), 0, [], False, None
            try:
                # One chunk is held back, so the last one goes out only after the exchange is durably logged.
                async for chunk in upstream.iter_chunks(silence=settings.upstream_timeout_seconds):
                    if loop.time() > stream_deadline:  # a provider dripping just inside the read timeout: cut, not delivered
                        upstream.close()
                        # Raised, not returned: the server then aborts the connection, so the caller cannot take the
                        # shortened body (chunked, no length) for a complete one.
                        raise asyncio.TimeoutError("the provider's streamed response passed UPSTREAM_STREAM_TIMEOUT_SECONDS")
                    digest.update(chunk)
                    size += len(chunk)
                    if settings.log_payloads:
                        kept.append(chunk)
                    if held is not None:
                        yield held
                    held = chunk
                completed = True
            finally:
                upstream.release()
                if not completed:  # upstream broke off, or the client left: never logged as delivered
                    message_log.record(finish(upstream.status, "failed", error="Server.ServerProxy.ResponseInterrupted", response_size=size,
                                              request_hash=request_hash, response_hash=digest.hexdigest(), request_body=body,
                                              response_body=b"".join(kept) if settings.log_payloads else None))
            delivered = finish(upstream.status, "delivered", response_size=size, request_hash=request_hash, response_hash=digest.hexdigest(),
                               request_body=body, response_body=b"".join(kept) if settings.log_payloads else None)
            if not await _logged_durably(message_log, delivered):
                return  # the response ends short: the client cannot take it as complete
            try:
                if held is not None:
                    yield held
            except BaseException:
                message_log.record(_interrupted(delivered))
                raise

        streamed = StreamingResponse(stream(), status_code=upstream.status)
        # Raw, as for a whole body: repeated headers (Set-Cookie) kept.
        streamed.raw_headers = [(name, value) for name, value in upstream.raw_headers if name not in RESPONSE_NOT_FORWARDED_RAW]
        streamed.raw_headers += [(name.lower().encode(), value.encode("latin-1")) for name, value in xroad_headers.items()]
        return streamed
    except Exception:
        # A fault of ours: still an exchange, logged as failed under the caller's message id (not lost from the log).
        log.exception("forwarding failed")
        message_log.record(finish(500, "failed", error="Server.ServerProxy.InternalError"))
        return xroad_error(500, "Server.ServerProxy.InternalError", "The gateway failed to handle the request.",
                           message_id=message_id)


async def _logged_durably(message_log, exchange: Exchange, *, alone: bool = False) -> bool:
    try:
        await message_log.record_durably(exchange, alone=alone)
        return True
    except JournalFailed:
        return False


def _log_failed(message_id: str) -> Response:
    return xroad_error(500, "Server.ServerProxy.MessageLogFailed", "The exchange could not be logged, so its response is withheld.",
                       message_id=message_id)


def _interrupted(delivered: Exchange) -> Exchange:
    return corrected(delivered, outcome="failed", error="Server.ServerProxy.ResponseInterrupted")


class _LoggedResponse(Response):
    """A whole-body response logged as delivered before it went out; a send that breaks adds a correcting entry."""

    def __init__(self, content: bytes, *, status_code: int, raw_headers: list[tuple[bytes, bytes]], on_broken):
        # Response.__init__ would rebuild the headers from a dict; these are ready ASGI headers already.
        self.body, self.status_code, self.raw_headers, self.background, self.on_broken = content, status_code, raw_headers, None, on_broken

    async def __call__(self, scope, receive, send) -> None:
        try:
            cycle = getattr(send, "__self__", None)
            if type(cycle) is RequestResponseCycle and self.status_code in STATUS_LINE and not cycle.response_started:
                await _send_in_one_write(cycle, self)
            else:
                await super().__call__(scope, receive, send)
        except BaseException:
            self.on_broken()
            raise


async def _send_in_one_write(cycle: RequestResponseCycle, response: Response) -> None:
    """What uvicorn's send() does for a start and a body message, as one socket write: two writes cost the gateway a
    system call and the caller a second wake-up per response (measured, benchmarks/bench_gateway.py). The headers are
    checked as uvicorn checks them, in one pass."""
    if cycle.flow.write_paused and not cycle.disconnected:
        await cycle.flow.drain()
    if cycle.disconnected:
        return
    headers = cycle.default_headers + response.raw_headers
    if HEADER_VALUE_RE.search(b"".join(value for _, value in headers)):
        raise RuntimeError("Invalid HTTP header value.")
    content = [STATUS_LINE[response.status_code]]
    for name, value in headers:
        content += (name, b": ", value, b"\r\n")
    if not cycle.keep_alive:
        content.append(b"connection: close\r\n")
    content.append(b"\r\n")
    if cycle.scope["method"] != "HEAD":
        content.append(response.body)
    cycle.response_started = cycle.response_complete = True
    cycle.waiting_for_100_continue = False
    cycle.transport.write(b"".join(content))
    cycle.message_event.set()
    if not cycle.keep_alive:
        cycle.transport.close()
    cycle.on_response()


async def _check_consent(request: Request, headers_in: dict[str, str], agreement_id: str) -> None:
    state = request.app.state
    individual = headers_in.get(state.settings.individual_header.lower())
    if not individual:
        raise _Refused(403, "Server.ServerProxy.ConsentRequired",
                       f"This service carries personal data; name the individual in {state.settings.individual_header}.")
    try:
        valid = await state.consent.is_valid(state.http, individual_id=individual, agreement_id=agreement_id)
    except ConsentUnavailable:
        raise _Refused(503, "Server.ServerProxy.ConsentUnavailable", "The Consent BB could not confirm consent right now.")
    if not valid:
        raise _Refused(403, "Server.ServerProxy.ConsentRequired", "There is no valid consent for this data agreement.")


async def malformed_path(request: Request) -> Response:
    return xroad_error(400, "Client.BadRequest", "Use /r1/{instance}/{memberClass}/{memberCode}/{application}/{serviceCode}/{path}.",
                       message_id=request.headers.get("x-road-id") or _message_id())


_PARAMS = ("instance", "member_class", "member_code", "application", "service", "path")


def forward_params(path: str) -> dict[str, str] | None:
    """forward_route's path parameters by splitting the path, as its pattern would match them (five non-empty segments
    after /r1/, then the rest, which may be empty): the regex walk and scope copy of Route.matches cost more per call."""
    parts = path.split("/", 7)
    if len(parts) != 8 or parts[1] != "r1" or parts[0] or not all(parts[2:7]):
        return None
    return dict(zip(_PARAMS, parts[2:]))


def _whole_path(route: Route) -> Route:
    """The route matching a path with line breaks in it, to its end: Starlette's pattern ends in "$", which also matches
    before a final newline, and its {path:path} is ".*", which stops at one. So a path ending in %0A went to the
    provider without it, and one with %0A inside found no route at all."""
    route.path_regex = re.compile(route.path_regex.pattern.removesuffix("$") + r"\Z", re.DOTALL)
    return route


# The hot route is put first in the app itself (app.py); these come after the directory's /r1 routes, the catch-all last.
forward_route = _whole_path(Route("/r1/{instance}/{member_class}/{member_code}/{application}/{service}/{path:path}", forward,
                                  methods=METHODS))
routes = [
    _whole_path(Route("/r1/{instance}/{member_class}/{member_code}/{application}/{service}", forward, methods=METHODS)),
    _whole_path(Route("/r1/{rest:path}", malformed_path, methods=METHODS)),
]
