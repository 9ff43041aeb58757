"""Operational monitoring: Prometheus metrics and per-exchange records without payloads."""
from datetime import datetime

from fastapi import APIRouter, Depends, Query, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlmodel import func, select

from gateway.models import Application, Member, MessageLogEntry
from gateway.routes.deps import admin_with
from kernel.auth import CallerDep
from kernel.db import UowDep
from kernel.errors import ApiError

router = APIRouter(tags=["monitoring"])
Monitor = admin_with("read:monitoring")


@router.get("/metrics")
def get_metrics(request: Request, caller: Monitor) -> Response:
    return Response(generate_latest(request.app.state.metrics.registry), media_type=CONTENT_TYPE_LATEST)


ALL_EXCHANGES_ROLES = ("admin", "auditor")  # auditors oversee every exchange's record (never its payload)


def _the_application_itself(caller) -> bool:
    """A client-credentials token: its subject is the client (our Identity BB) or the client's Keycloak service account."""
    if not caller.client_id:
        return False
    return caller.subject == caller.client_id or caller.claims.get("preferred_username") == f"service-account-{caller.client_id}"


def _own_client_names(session, client_id: str | None) -> list[str]:
    if not client_id:
        return []
    rows = session.exec(select(Member, Application).join(Application, Application.member_id == Member.id)
                        .where(Application.client_id == client_id))
    return [f"{m.instance}/{m.member_class}/{m.code}/{a.code}" for m, a in rows]


async def _message_log_caught_up(request: Request, caller: CallerDep) -> None:
    # The writer lets batches gather for up to MESSAGE_LOG_LINGER_SECONDS; a reader sees this process's exchanges at once.
    # After the caller's token is checked: an anonymous request does not get to make the writer write.
    await request.app.state.message_log.caught_up()


@router.get("/api/v1/monitoring/operational", dependencies=[Depends(_message_log_caught_up)])
def operational_data(uow: UowDep, caller: CallerDep, since: datetime | None = None, client: str | None = None,
                     service: str | None = None, limit: int = Query(100, ge=1, le=1000)) -> dict:
    """Exchange records (no payloads) and health statistics; a client application sees only its own exchanges."""
    filters = []
    if not (caller.has_any_role(ALL_EXCHANGES_ROLES) or caller.has_any_scope(("read:monitoring",))):
        if not _the_application_itself(caller):
            # A user signed in through an application (a citizen at the portal) holds a token of that application too:
            # its exchange records (who called which service when) are not theirs to read.
            raise ApiError(403, "forbidden", "Exchange records are read by the client application itself (its own "
                                             "client-credentials token), an auditor or a monitoring account.")
        filters.append(MessageLogEntry.client.in_(_own_client_names(uow.session, caller.client_id)))
    if since is not None:
        filters.append(MessageLogEntry.started_at >= since)
    if client is not None:
        filters.append(MessageLogEntry.client == client)
    if service is not None:
        filters.append(MessageLogEntry.service == service)
    records = uow.session.exec(select(MessageLogEntry).where(*filters).order_by(MessageLogEntry.seq.desc()).limit(limit)).all()
    statistics = uow.session.exec(select(MessageLogEntry.outcome, func.count()).where(*filters).group_by(MessageLogEntry.outcome))
    return {
        "records": [{
            "messageId": r.message_id, "client": r.client, "service": r.service, "method": r.method, "path": r.path,
            "status": r.status, "outcome": r.outcome, "error": r.error, "requestSize": r.request_size,
            "responseSize": r.response_size, "requestHash": r.request_hash, "responseHash": r.response_hash,
            "requestTime": r.started_at.isoformat(), "responseTime": r.finished_at.isoformat(),
        } for r in records],
        "statistics": {outcome: {"count": count} for outcome, count in statistics},
    }
