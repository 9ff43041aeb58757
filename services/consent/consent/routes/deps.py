"""Dependencies shared by the routers: who is calling, for which individual, ids, paging and load-or-400."""
from typing import Annotated

from fastapi import Depends, Header, Path, Query, Request
from sqlmodel import select

from consent.models import DataAgreement, Individual, Policy
from consent.schemas import ID_PATTERN
from kernel.auth import Caller, authenticated, bearer_token, require
from kernel.db import UnitOfWork
from kernel.errors import ApiError

ADMIN = "admin"
APPLICATION = "application"  # a back-end e-service acting for any individual it names
CITIZEN = "citizen"  # a citizen's own token: acts only for the individual bound to its subject
VERIFIER = "verifier"
AUDITOR = "auditor"

Admin = Annotated[Caller, require(roles=(ADMIN,))]
VERIFIER_ROLES = (VERIFIER, ADMIN)
Verifier = Annotated[Caller, require(roles=VERIFIER_ROLES)]
Auditor = Annotated[Caller, require(roles=(AUDITOR, ADMIN))]
ForIndividual = Annotated[Caller, require(roles=(APPLICATION, CITIZEN), scopes=("individual",))]


def optional_caller(request: Request) -> Caller | None:
    """The caller when a bearer token is sent (and then it must be valid); None for anonymous reads."""
    return authenticated(request) if bearer_token(request) else None


MaybeCaller = Annotated[Caller | None, Depends(optional_caller)]


def id_path(name: str):
    return Annotated[str, Path(alias=name, pattern=ID_PATTERN)]


def query_id(name: str, *, required: bool = False):
    return Annotated[str if required else str | None, Query(alias=name, pattern=ID_PATTERN)]


RevisionIdQuery = query_id("revisionId")
IndividualIdQuery = query_id("individualId")
IndividualHeader = Annotated[str | None, Header(alias="X-ConsentBB-IndividualId", pattern=ID_PATTERN)]


# Far beyond any list, and within the database's integer (an unbounded offset overflowed it: a 500).
MAX_OFFSET = 2**31 - 1


class Page:
    def __init__(self, offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0, limit: Annotated[int, Query(ge=1, le=1000)] = 100):
        self.offset, self.limit = offset, limit


PageDep = Annotated[Page, Depends()]


def bad_request(message: str, code: str = "bad_request") -> ApiError:
    return ApiError(400, code, message)


def not_found(what: str) -> ApiError:
    # The OpenAPI answers only 200 or 400 ("bad input parameter"), so an unknown id is a 400.
    return ApiError(400, "not_found", f"No {what} has this id.")


def is_citizen(caller: Caller) -> bool:
    return not caller.has_any_role((APPLICATION, ADMIN))


def acting_individual(uow: UnitOfWork, caller: Caller, *candidates: str | None, lock: bool = False) -> Individual:
    """The individual the caller acts for: named by header/parameter/body (all must agree), bound to a citizen's subject."""
    named = {c for c in candidates if c}
    if len(named) > 1:
        raise bad_request("The individual ids in the request disagree.")
    if named:
        individual = uow.session.get(Individual, named.pop(), with_for_update=lock)
        if individual is None:
            raise not_found("individual")
    elif is_citizen(caller):
        individual = uow.session.exec(select(Individual).where(Individual.subject == caller.subject)).first()
        if individual is None:
            raise bad_request("No individual is registered for this token's subject.")
    else:
        raise bad_request("The individual is required (X-ConsentBB-IndividualId header or individualId parameter).")
    if is_citizen(caller) and individual.subject != caller.subject:
        raise ApiError(403, "forbidden", "This token may act only for its own individual.")
    return individual


def load_policy(uow: UnitOfWork, policy_id: str, *, lock: bool = False) -> Policy:
    policy = uow.session.get(Policy, policy_id, with_for_update=lock)
    if policy is None or policy.deleted:
        raise not_found("policy")
    return policy


def load_agreement(uow: UnitOfWork, agreement_id: str, *, lock: bool = False) -> DataAgreement:
    agreement = uow.session.get(DataAgreement, agreement_id, with_for_update=lock)
    if agreement is None or agreement.deleted:
        raise not_found("data agreement")
    return agreement
