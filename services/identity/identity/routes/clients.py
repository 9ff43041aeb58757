"""Client management: register and update relying parties (spec envelope; business errors are HTTP 200)."""
from typing import Any

from fastapi import APIRouter, Body
from sqlalchemy.exc import IntegrityError

from kernel.auth import require
from kernel.db import UowDep
from identity import clients
from identity.schemas import envelope

router = APIRouter(prefix="/client-mgmt", tags=["Client Management"])


def _client_id_of(body) -> str | None:
    request = body.get("request") if isinstance(body, dict) else None
    value = request.get("clientId") if isinstance(request, dict) else None
    return value if isinstance(value, str) else None


@router.post("/oidc-client", dependencies=[require(scopes=("add_oidc_client",))])
def create_oidc_client(uow: UowDep, body: Any = Body(None)) -> dict:
    try:
        client = clients.create(uow.session, clients.validate_create(body))
        uow.commit()
    except clients.Invalid as invalid:
        return envelope({"clientId": _client_id_of(body)}, [(invalid.code, invalid.message)])
    except IntegrityError:  # the same clientId registered concurrently
        uow.rollback()
        return envelope({"clientId": _client_id_of(body)}, [("duplicate_client_id", "A client with this clientId already exists.")])
    return envelope({"clientId": client.client_id})


@router.put("/oidc-client/{client_id}", dependencies=[require(scopes=("update_oidc_client",))])
def update_oidc_client(client_id: str, uow: UowDep, body: Any = Body(None)) -> dict:
    try:
        client = clients.update(uow.session, client_id, body)
        uow.commit()
    except clients.Invalid as invalid:
        return envelope({"clientId": client_id}, [(invalid.code, invalid.message)])
    return envelope({"clientId": client.client_id})
