"""Individuals: thin references to identities held elsewhere. Admins manage them; an application or citizen
finds or creates its own. Citizens' individuals are bound to their token's subject."""
import logging
import re

import httpx
from fastapi import APIRouter, Request
from joserfc.jwk import KeySet
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from consent import key_binding, signing
from consent.models import Individual
from consent.routes.deps import Admin, ForIndividual, PageDep, acting_individual, bad_request, id_path, is_citizen, not_found
from consent.schemas import ID_PATTERN, IndividualBody, IndividualIn, individual_wire
from kernel.auth import Caller
from kernel.db import UnitOfWork, UowDep
from kernel.errors import ApiError

router = APIRouter()
log = logging.getLogger(__name__)
_ID = re.compile(ID_PATTERN)
IndividualId = id_path("individualId")


def _public_key(jwk: dict):
    try:
        return signing.public_key(jwk)
    except signing.InvalidKey:
        raise bad_request("publicKeyJwk must be a public EC, RSA or OKP JWK.", "invalid_key")


def _identity_keys(request: Request) -> KeySet:
    """The Identity BB's published signing keys (the token verifier's cache of its JWKS)."""
    issuer = request.app.state.settings.identity_issuer
    try:
        return request.app.state.verifier.verifier.issuers[issuer].get(None, request.app.state.verifier.http)
    except (httpx.HTTPError, KeyError, ValueError):
        log.warning("could not fetch the signing keys of the Identity BB %s", issuer)
        raise ApiError(503, "issuer_unavailable", "The token issuer's keys cannot be fetched right now.")


def _bound_key(request: Request, individual_in: IndividualIn, *, subject: str | None, caller: Caller) -> tuple[dict, str]:
    """The public JWK and its certificate, once the certificate shows the Identity BB bound this key and its attestation
    that the key is the citizen's own (key_binding.py)."""
    if subject is None or subject != caller.subject or caller.issuer.rstrip("/") != request.app.state.settings.identity_issuer:
        # The attestation names the Identity BB's subject of the citizen: only that citizen's own token has it.
        raise ApiError(403, "forbidden", "Only the citizen's own token may register a signing key.")
    key = _public_key(individual_in.public_key_jwk)
    if not individual_in.public_key_certificate:
        raise bad_request("publicKeyJwk needs publicKeyCertificate: the certificate the Identity BB issued when the wallet bound the key.",
                          "key_not_bound")
    if not individual_in.key_binding_attestation:
        raise bad_request("publicKeyJwk needs keyBindingAttestation: the Identity BB's attestation that the key is the token's person's.",
                          "key_not_bound")
    identity_keys = _identity_keys(request)
    try:
        key_binding.check(individual_in.public_key_certificate, public_key=key.public_key, identity_keys=identity_keys)
        key_binding.check_attestation(individual_in.key_binding_attestation, identity_keys=identity_keys,
                                      issuer=request.app.state.settings.identity_issuer, subject=subject, client_id=caller.client_id,
                                      thumbprint=key.thumbprint())
    except key_binding.NotBound as refused:
        raise ApiError(refused.status, "key_not_bound", str(refused))
    jwk = {k: v for k, v in individual_in.public_key_jwk.items() if k in ("kty", "crv", "x", "y", "n", "e", "kid", "alg", "use")}
    return jwk, individual_in.public_key_certificate


def _apply(request: Request, individual: Individual, individual_in: IndividualIn, caller: Caller) -> None:
    individual.external_id, individual.external_id_type = individual_in.external_id, individual_in.external_id_type
    individual.identity_provider_id = individual_in.identity_provider_id
    if individual_in.public_key_jwk is not None:
        individual.public_key_jwk, individual.public_key_certificate = _bound_key(request, individual_in, subject=individual.subject,
                                                                                  caller=caller)
    elif individual_in.public_key_certificate is not None or individual_in.key_binding_attestation is not None:
        raise bad_request("publicKeyCertificate and keyBindingAttestation need the publicKeyJwk they are for.", "key_not_bound")


def _create(request: Request, uow: UnitOfWork, individual_in: IndividualIn, caller: Caller) -> Individual:
    individual = Individual(subject=None, created_by=caller.client_id)
    _apply(request, individual, individual_in, caller)
    uow.session.add(individual)
    uow.commit()
    return individual


def _create_for_citizen(request: Request, uow: UnitOfWork, individual_in: IndividualIn, caller: Caller) -> Individual:
    """The citizen's individual, with the token's subject as its id when that is id-shaped and free: the gateway
    (X-Individual-Id) and the Registration BB (the applicant) name a citizen by the `sub` of their token, so the
    verification call finds the citizen's records by it."""
    subject = caller.subject
    individual = Individual(subject=subject, created_by=caller.client_id)
    if _ID.fullmatch(subject) and uow.session.get(Individual, subject) is None:
        individual.id = subject
    _apply(request, individual, individual_in, caller)
    uow.session.add(individual)
    try:
        uow.commit()
    except IntegrityError:  # the same citizen's first call, twice at once: the other one created it
        uow.rollback()
        existing = uow.session.exec(select(Individual).where(Individual.subject == subject)).first()
        if existing is None:
            raise
        return existing
    return individual


@router.post("/config/individual/", tags=["config"])
def config_individual_create(request: Request, body: IndividualBody, uow: UowDep, caller: Admin) -> dict:
    return {"individual": individual_wire(_create(request, uow, body.individual, caller))}


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
def service_individual_create(request: Request, body: IndividualBody, uow: UowDep, caller: ForIndividual) -> dict:
    """Find or create: a citizen gets the individual bound to its subject; an application, the one with that external id."""
    if is_citizen(caller):
        existing = uow.session.exec(select(Individual).where(Individual.subject == caller.subject)).first()
        return {"individual": individual_wire(existing or _create_for_citizen(request, uow, body.individual, caller))}
    if body.individual.public_key_jwk is not None:
        raise ApiError(403, "forbidden", "Only the citizen's own token may register a signing key.")
    existing = None
    if body.individual.external_id:
        existing = uow.session.exec(select(Individual).where(
            Individual.external_id == body.individual.external_id,
            Individual.external_id_type == body.individual.external_id_type)).first()
    return {"individual": individual_wire(existing or _create(request, uow, body.individual, caller))}


@router.get("/service/individual/{individualId}/", tags=["service"])
def service_individual_read(individual_id: IndividualId, uow: UowDep, caller: ForIndividual) -> dict:
    return {"individual": individual_wire(acting_individual(uow, caller, individual_id))}


@router.put("/service/individual/{individualId}/", tags=["service"])
def service_individual_update(request: Request, individual_id: IndividualId, body: IndividualBody, uow: UowDep, caller: ForIndividual) -> dict:
    individual = acting_individual(uow, caller, individual_id, lock=True)
    if body.individual.public_key_jwk is not None and not is_citizen(caller):
        raise ApiError(403, "forbidden", "Only the citizen's own token may register a signing key.")
    _apply(request, individual, body.individual, caller)
    uow.session.add(individual)
    uow.commit()
    return {"individual": individual_wire(individual)}


@router.get("/service/individuals/", tags=["service"])
def service_individual_list(uow: UowDep, caller: ForIndividual, page: PageDep) -> dict:
    query = select(Individual)
    if is_citizen(caller):
        query = query.where(Individual.subject == caller.subject)
    else:  # an application is trusted with the individuals it names, but lists only those it registered
        query = query.where(Individual.created_by == caller.client_id) if caller.client_id else query.where(False)
    individuals = uow.session.exec(query.order_by(col(Individual.id)).offset(page.offset).limit(page.limit)).all()
    return {"individuals": [individual_wire(i) for i in individuals]}
