"""Individuals: thin references to identities held elsewhere. Admins manage them; an application or citizen
finds or creates its own. Citizens' individuals are bound to their token's subject."""
from fastapi import APIRouter
from sqlmodel import col, select

from consent import signing
from consent.models import Individual
from consent.routes.deps import Admin, ForIndividual, PageDep, acting_individual, bad_request, id_path, is_citizen, not_found
from consent.schemas import IndividualBody, IndividualIn, individual_wire
from kernel.db import UnitOfWork, UowDep
from kernel.errors import ApiError

router = APIRouter()
IndividualId = id_path("individualId")


def _public_jwk(jwk: dict | None) -> dict | None:
    if jwk is None:
        return None
    try:
        signing.public_key(jwk)
    except signing.InvalidKey:
        raise bad_request("publicKeyJwk must be a public EC, RSA or OKP JWK.", "invalid_key")
    return {k: v for k, v in jwk.items() if k in ("kty", "crv", "x", "y", "n", "e", "kid", "alg", "use")}


def _apply(individual: Individual, individual_in: IndividualIn) -> None:
    individual.external_id, individual.external_id_type = individual_in.external_id, individual_in.external_id_type
    individual.identity_provider_id = individual_in.identity_provider_id
    if individual_in.public_key_jwk is not None:
        individual.public_key_jwk = _public_jwk(individual_in.public_key_jwk)


def _create(uow: UnitOfWork, individual_in: IndividualIn, *, subject: str | None) -> Individual:
    individual = Individual(subject=subject)
    _apply(individual, individual_in)
    uow.session.add(individual)
    uow.commit()
    return individual


@router.post("/config/individual/", tags=["config"])
def config_individual_create(body: IndividualBody, uow: UowDep, caller: Admin) -> dict:
    return {"individual": individual_wire(_create(uow, body.individual, subject=None))}


@router.get("/config/individual/{individualId}/", tags=["config"])
def config_individual_read(individual_id: IndividualId, uow: UowDep, caller: Admin) -> dict:
    individual = uow.session.get(Individual, individual_id)
    if individual is None:
        raise not_found("individual")
    return {"individual": individual_wire(individual)}


@router.get("/config/individuals/", tags=["config"])
def config_individual_list(uow: UowDep, caller: Admin, page: PageDep) -> dict:
    individuals = uow.session.exec(select(Individual).order_by(col(Individual.id)).offset(page.offset).limit(page.limit)).all()
    return {"individuals": [individual_wire(i) for i in individuals]}


@router.post("/service/individual/", tags=["service"])
def service_individual_create(body: IndividualBody, uow: UowDep, caller: ForIndividual) -> dict:
    """Find or create: a citizen gets the individual bound to its subject; an application, the one with that external id."""
    if is_citizen(caller):
        existing = uow.session.exec(select(Individual).where(Individual.subject == caller.subject)).first()
        return {"individual": individual_wire(existing or _create(uow, body.individual, subject=caller.subject))}
    if body.individual.public_key_jwk is not None:
        raise ApiError(403, "forbidden", "Only the citizen's own token (or an admin) may register a signing key.")
    existing = None
    if body.individual.external_id:
        existing = uow.session.exec(select(Individual).where(
            Individual.external_id == body.individual.external_id,
            Individual.external_id_type == body.individual.external_id_type)).first()
    return {"individual": individual_wire(existing or _create(uow, body.individual, subject=None))}


@router.get("/service/individual/{individualId}/", tags=["service"])
def service_individual_read(individual_id: IndividualId, uow: UowDep, caller: ForIndividual) -> dict:
    return {"individual": individual_wire(acting_individual(uow, caller, individual_id))}


@router.put("/service/individual/{individualId}/", tags=["service"])
def service_individual_update(individual_id: IndividualId, body: IndividualBody, uow: UowDep, caller: ForIndividual) -> dict:
    individual = acting_individual(uow, caller, individual_id, lock=True)
    if body.individual.public_key_jwk is not None and not is_citizen(caller):
        raise ApiError(403, "forbidden", "Only the citizen's own token (or an admin) may register a signing key.")
    _apply(individual, body.individual)
    uow.session.add(individual)
    uow.commit()
    return {"individual": individual_wire(individual)}


@router.get("/service/individuals/", tags=["service"])
def service_individual_list(uow: UowDep, caller: ForIndividual, page: PageDep) -> dict:
    query = select(Individual)
    if is_citizen(caller):
        query = query.where(Individual.subject == caller.subject)
    individuals = uow.session.exec(query.order_by(col(Individual.id)).offset(page.offset).limit(page.limit)).all()
    return {"individuals": [individual_wire(i) for i in individuals]}
