"""create_app: the gateway wired to its settings (tests pass their own)."""
import logging
from contextlib import asynccontextmanager

import aiohttp
from fastapi import FastAPI
from opentelemetry import trace
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from gateway.callers import CachedVerifier
from gateway.consent import ConsentChecker
from gateway.directory import DirectoryCache
from gateway.errors import error_shape, xroad_error
from gateway.fixtures import FIXTURES
from gateway.messagelog import MessageLogWriter, new_id, replay_orphaned_journals, use_key_secret
from gateway.metrics import ExchangeMetrics
from gateway.registry import seed_default_directory
from gateway.routes import api_router, proxy
from kernel.service_token import ServiceTokenSource
from gateway.settings import GatewaySettings
from gateway.upstream import UpstreamPool
from kernel.app import build_app

log = logging.getLogger(__name__)


def _seed(engine, settings: GatewaySettings) -> None:
    with Session(engine) as session:
        seed_default_directory(session, settings)
        session.commit()


def _spans_recorded() -> bool:
    # The kernel installs an ALWAYS_OFF sampler when there is nowhere to export spans; anything else may record them.
    return getattr(trace.get_tracer_provider(), "sampler", None) is not ALWAYS_OFF


class GatewayApp:
    """The FastAPI app, except that a forwarded call goes straight to its endpoint while no span is recorded: the
    middleware stack (two telemetry layers, error and exception middleware, routing) cost more CPU per call than the
    forwarding itself. With tracing on, the call takes the full stack and gets its server span. Everything else of the
    FastAPI app (state, routes) is reached through this object as before."""

    def __init__(self, app: FastAPI):
        self.app = app

    def __getattr__(self, name: str):
        return getattr(self.app, name)

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http" and scope["path"].startswith("/r1/") and not scope.get("root_path") and not _spans_recorded():
            params = proxy.forward_params(scope["path"])
            if params is not None and scope["method"] in proxy.METHODS:
                scope["path_params"], scope["endpoint"], scope["app"] = params, proxy.forward, self.app
                request = Request(scope, receive, send)
                try:
                    response = await proxy.forward(request)
                except Exception:  # forward logs its own faults; this is the last resort
                    log.exception("forwarding failed")
                    response = xroad_error(500, "Server.ServerProxy.InternalError", "The gateway failed to handle the request.",
                                          message_id=request.headers.get("x-road-id") or new_id())
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


def create_app(settings: GatewaySettings | None = None) -> GatewayApp:
    settings = settings or GatewaySettings()
    app = build_app(
        settings,
        title="GovStack Information Mediator gateway",
        version="1.0.0",
        api_router=api_router,
        migrations_package="gateway.migrations",
        error_shape=error_shape,
        fixtures=FIXTURES,
    )
    # Per-chunk "http send/receive" spans triple the tracing cost of a forwarded call and say nothing the server span
    # does not; the gateway keeps the server span only (same excluded URLs as the kernel's setup).
    FastAPIInstrumentor.uninstrument_app(app)
    FastAPIInstrumentor.instrument_app(app, excluded_urls="health/live,health/ready,metrics", exclude_spans=["send", "receive"])
    app.middleware_stack = None  # uninstrument_app built the plain stack; the next request builds it with the instrumentation
    # Route matching walks the routes (twice: routing and the tracing span name), so the hot path goes first.
    # It shadows nothing: no other route has six or more segments under /r1.
    app.router.routes.insert(0, proxy.forward_route)
    engine = app.state.engine
    app.state.directory = DirectoryCache(engine, settings.directory_cache_seconds)
    app.state.caller_verifier = CachedVerifier(app.state.verifier, settings.token_cache_seconds)
    app.state.metrics = ExchangeMetrics.create()
    use_key_secret(settings.message_log_key_secret)  # seals the log's signing key (messagelog.signing_key)
    app.state.message_log = MessageLogWriter(engine, journal_dir=settings.journal_dir, batch_size=settings.message_log_batch_size,
                                             linger=settings.message_log_linger_seconds, sync_seconds=settings.message_log_sync_seconds)
    token_source = ServiceTokenSource(token_url=settings.service_token_url, client_id=settings.service_client_id,
                                      private_jwk=settings.service_private_jwk, audience="consent") \
        if settings.service_token_url and settings.service_client_id and settings.service_private_jwk else None
    app.state.consent = ConsentChecker(engine, consent_url=settings.consent_url, cache_seconds=settings.consent_cache_seconds,
                                       timeout=settings.consent_timeout_seconds, poll_seconds=settings.consent_poll_seconds,
                                       token_source=token_source)
    kernel_lifespan = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        async with kernel_lifespan(app):
            await run_in_threadpool(_seed, engine, settings)
            # Before serving: what a crashed process journaled as delivered reaches the log first.
            await run_in_threadpool(replay_orphaned_journals, engine, settings.journal_dir)
            # One pooled client for the calls the gateway makes itself (the consent check and its service token; each
            # call sets its own timeout). No cookie jar: nothing one answer sets rides along on the next call.
            timeout = aiohttp.ClientTimeout(total=None, connect=settings.upstream_connect_timeout_seconds,
                                            sock_read=settings.upstream_timeout_seconds)
            app.state.http = aiohttp.ClientSession(timeout=timeout, auto_decompress=False, cookie_jar=aiohttp.DummyCookieJar(),
                                                   connector=aiohttp.TCPConnector(limit=200, keepalive_timeout=30),
                                                   skip_auto_headers=("Accept", "Accept-Encoding", "User-Agent"))
            # The forwarding client (gateway.upstream): its own connections, not aiohttp's, by measurement.
            app.state.upstream = UpstreamPool(connect_timeout=settings.upstream_connect_timeout_seconds)
            app.state.message_log.start()
            await app.state.consent.start()
            try:
                yield
            finally:
                await app.state.consent.stop()
                await app.state.message_log.stop()
                await app.state.http.close()
                await app.state.upstream.close()

    app.router.lifespan_context = lifespan
    return GatewayApp(app)
