"""The service directory kept in memory for the forwarding path, reloaded when it changes or grows old."""
import asyncio
import time
from dataclasses import dataclass, field

from sqlalchemy.engine import Engine
from sqlmodel import Session, select
from starlette.concurrency import run_in_threadpool

from gateway.models import AccessRight, Application, Member, Service
from gateway.settings import GatewaySettings

AppKey = tuple[str, str, str, str]  # instance, member class, member code, application code
ServiceKey = tuple[str, str, str, str, str]


@dataclass(frozen=True)
class AppEntry:
    id: str
    key: AppKey
    client_id: str | None
    is_room: bool = False
    tls_client_cert: str | None = None

    @property
    def name(self) -> str:
        return "/".join(self.key)


@dataclass(frozen=True)
class ServiceEntry:
    id: str
    key: ServiceKey
    url: str
    enabled: bool
    data_agreement_id: str | None
    consent_path_prefix: str | None

    @property
    def name(self) -> str:
        return "/".join(self.key)

    def needs_consent(self, path: str) -> bool:
        if not self.data_agreement_id:
            return False
        prefix = _segments(self.consent_path_prefix or "")
        return _segments(path)[:len(prefix)] == prefix


def _segments(path: str) -> list[str]:
    """A path's segments as a provider may read them: empty ones (//) dropped, letters in any case, ;parameters cut off
    (servlet containers do): a variant spelling of a consent-gated path must not pass the gate."""
    return [segment.split(";", 1)[0].casefold() for segment in path.split("/") if segment]


@dataclass
class Snapshot:
    apps: dict[AppKey, AppEntry] = field(default_factory=dict)
    services: dict[ServiceKey, ServiceEntry] = field(default_factory=dict)
    allowed: set[tuple[str, str]] = field(default_factory=set)  # (client application id, service id)


def load_snapshot(engine: Engine) -> Snapshot:
    """Approved members, applications and services, and the allowed (client, service) pairs."""
    snapshot = Snapshot()
    with Session(engine) as session:
        members = {m.id: m for m in session.exec(select(Member).where(Member.status == "approved"))}
        apps = {}
        for app in session.exec(select(Application).where(Application.status == "approved")):
            member = members.get(app.member_id)
            if member is None:
                continue
            entry = AppEntry(app.id, (member.instance, member.member_class, member.code, app.code), app.client_id, app.is_room,
                             app.tls_client_cert)
            apps[app.id] = entry
            snapshot.apps[entry.key] = entry
        for service in session.exec(select(Service).where(Service.status == "approved")):
            app = apps.get(service.application_id)
            if app is None:
                continue
            entry = ServiceEntry(service.id, (*app.key, service.code), service.url, service.enabled,
                                 service.data_agreement_id, service.consent_path_prefix)
            snapshot.services[entry.key] = entry
        for right in session.exec(select(AccessRight).where(AccessRight.allowed == True)):  # noqa: E712
            snapshot.allowed.add((right.client_application_id, right.service_id))
    return snapshot


class DirectoryCache:
    """Lookups without a database round trip; invalidate() after a change here, max_age covers other processes."""

    def __init__(self, engine: Engine, max_age: float):
        self.engine, self.max_age = engine, max_age
        self.snapshot: Snapshot | None = None
        self.loaded_at = 0.0
        self._lock = asyncio.Lock()

    def invalidate(self) -> None:
        self.loaded_at = 0.0

    async def get(self) -> Snapshot:
        if self.snapshot is not None and time.monotonic() - self.loaded_at < self.max_age:
            return self.snapshot
        async with self._lock:
            if self.snapshot is None or time.monotonic() - self.loaded_at >= self.max_age:
                started = time.monotonic()
                self.snapshot = await run_in_threadpool(load_snapshot, self.engine)
                self.loaded_at = started
        return self.snapshot


BUILDING_BLOCKS = ("identity", "registration", "consent", "messaging")


def default_services(settings: GatewaySettings) -> list[tuple[str, str, str]]:
    """The platform's own building blocks under the government member GOV/LA-DGC: (application, service, url)."""
    urls = {"identity": settings.identity_url, "registration": settings.registration_url,
            "consent": settings.consent_url, "messaging": settings.messaging_url}
    return [(f"{name}-bb", name, urls[name]) for name in BUILDING_BLOCKS]


# The citizen portal (web/) as a client application of GOV/LA-DGC: its OIDC client, and the building blocks it calls.
PORTAL_APPLICATION = "web-portal"
PORTAL_CLIENT_ID = "govstack-portal"
PORTAL_CALLS = ("registration", "consent")
