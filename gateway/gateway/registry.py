"""Directory changes shared by the admin API, fixtures and start-up seeding: upserts by natural key."""
from sqlmodel import Session, select

from gateway.directory import PORTAL_APPLICATION, PORTAL_CALLS, PORTAL_CLIENT_ID, default_services
from gateway.models import AccessRight, Application, AuditEntry, Member, Service, utcnow
from gateway.settings import GatewaySettings


def get_member(session: Session, *, instance: str, member_class: str, code: str) -> Member | None:
    return session.exec(select(Member).where(Member.instance == instance, Member.member_class == member_class,
                                             Member.code == code)).first()


def get_application(session: Session, *, instance: str, member_class: str, member_code: str, code: str) -> Application | None:
    member = get_member(session, instance=instance, member_class=member_class, code=member_code)
    if member is None:
        return None
    return session.exec(select(Application).where(Application.member_id == member.id, Application.code == code)).first()


def get_service(session: Session, *, application: Application, code: str) -> Service | None:
    return session.exec(select(Service).where(Service.application_id == application.id, Service.code == code)).first()


def upsert_member(session: Session, *, instance: str, member_class: str, code: str, name: str = "",
                  status: str = "approved") -> Member:
    member = get_member(session, instance=instance, member_class=member_class, code=code)
    if member is None:
        member = Member(instance=instance, member_class=member_class, code=code, name=name, status=status)
        session.add(member)
        session.flush()
    elif name and member.name != name:
        member.name = name
    return member


def upsert_application(session: Session, *, member: Member, code: str, client_id: str | None = None,
                       connection: str | None = None, status: str = "approved", is_room: bool | None = None,
                       tls_client_cert: str | None = None) -> Application:
    """None leaves a value as it is (a new application gets connection https)."""
    application = session.exec(select(Application).where(Application.member_id == member.id, Application.code == code)).first()
    if application is None:
        application = Application(member_id=member.id, code=code, client_id=client_id, connection=connection or "https",
                                  status=status, is_room=bool(is_room), tls_client_cert=tls_client_cert)
        session.add(application)
        session.flush()
    else:
        if client_id and application.client_id != client_id:
            application.client_id = client_id
        if tls_client_cert and application.tls_client_cert != tls_client_cert:
            application.tls_client_cert = tls_client_cert
        if connection and application.connection != connection:
            application.connection = connection
        if is_room is not None:
            application.is_room = is_room
    return application


def upsert_service(session: Session, *, application: Application, code: str, url: str, openapi: dict | None = None,
                   status: str = "approved") -> Service:
    service = get_service(session, application=application, code=code)
    if service is None:
        service = Service(application_id=application.id, code=code, url=url, openapi=openapi or {}, status=status)
        session.add(service)
        session.flush()
    else:
        service.url = url
        if openapi:
            service.openapi = openapi
    return service


def set_right(session: Session, *, service: Service, client: Application, allowed: bool, only_if_absent: bool = False) -> None:
    right = session.exec(select(AccessRight).where(AccessRight.service_id == service.id,
                                                   AccessRight.client_application_id == client.id)).first()
    if right is None:
        session.add(AccessRight(service_id=service.id, client_application_id=client.id, allowed=allowed))
    elif not only_if_absent:
        right.allowed, right.changed_at = allowed, utcnow()


def _fit(value: str, limit: int) -> str:
    # Audited text comes partly from the request (its path, a token's subject): the entry must still be stored.
    return value.replace("\x00", "")[:limit]


def audit(session: Session, *, actor: str, action: str, target: str = "", outcome: str = "success", **details) -> None:
    session.add(AuditEntry(actor=_fit(actor, 200), action=_fit(action, 100), target=_fit(target, 500), outcome=outcome,
                           details=details))


def seed_default_directory(session: Session, settings: GatewaySettings) -> None:
    """The four building blocks under GOV/LA-DGC, each allowed to call the others, and the portal allowed to call the
    ones it needs; admin changes are kept (a right an administrator denied stays denied, a removed entry stays removed)."""
    member = upsert_member(session, instance=settings.instance, member_class="GOV", code="LA-DGC",
                           name="Lao PDR Digital Government Centre")
    pairs = []
    for app_code, service_code, url in default_services(settings):
        # Bound to its OAuth client when created only: an administrator may bind it to another client, or remove the
        # binding (PUT /config without its clientId), and a restart must not bring the old binding back.
        existing = session.exec(select(Application).where(Application.member_id == member.id, Application.code == app_code)).first()
        application = existing or upsert_application(session, member=member, code=app_code, client_id=app_code)
        pairs.append((application, upsert_service(session, application=application, code=service_code, url=url)))
    for client, _ in pairs:
        for provider, service in pairs:
            if provider.id != client.id:
                set_right(session, service=service, client=client, allowed=True, only_if_absent=True)
    # Created once: an administrator may bind the portal to another OIDC client (e.g. a Keycloak realm's) and keep it.
    portal = session.exec(select(Application).where(Application.member_id == member.id, Application.code == PORTAL_APPLICATION)).first() \
        or upsert_application(session, member=member, code=PORTAL_APPLICATION, client_id=PORTAL_CLIENT_ID)
    for provider, service in pairs:
        if service.code in PORTAL_CALLS:
            set_right(session, service=service, client=portal, allowed=True, only_if_absent=True)
