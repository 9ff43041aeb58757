"""Policies: the organisation admin writes them (each change a revision); anyone may read a published one."""
from fastapi import APIRouter
from sqlmodel import col, func, select

from consent import chain, revisions
from consent.enums import SchemaName
from consent.models import DataAgreement, Policy, Revision
from consent.routes.deps import (
    Admin,
    MaybeCaller,
    PageDep,
    RevisionIdQuery,
    bad_request,
    id_path,
    load_policy,
    not_found,
)
from consent.schemas import PolicyBody, PolicyIn, policy_wire, revision_wire
from kernel.db import UowDep

router = APIRouter(tags=["config"])
PolicyId = id_path("policyId")
POLICY = SchemaName.policy.value


def _apply(policy: Policy, policy_in: PolicyIn) -> None:
    policy.name, policy.version, policy.url = policy_in.name, policy_in.version, str(policy_in.url)
    policy.jurisdiction, policy.industry_sector = policy_in.jurisdiction, policy_in.industry_sector
    policy.data_retention_period_days = policy_in.data_retention_period_days
    policy.geographic_restriction, policy.storage_location = policy_in.geographic_restriction, policy_in.storage_location


def _read(uow, policy_id: str, revision_id: str | None, *, current_only: bool) -> dict:
    policy = load_policy(uow, policy_id)
    current = revisions.latest(uow.session, schema_name=POLICY, object_id=policy.id)
    if revision_id is None or (current is not None and revision_id == current.id):
        return {"policy": policy_wire(policy), "revision": revision_wire(current) if current else None}
    if current_only:
        raise bad_request("The requested revision is not the policy's current revision.", "revision_not_current")
    revision = uow.session.exec(select(Revision).where(Revision.id == revision_id, Revision.schema_name == POLICY,
                                                       Revision.object_id == policy.id)).first()
    if revision is None:
        raise not_found("revision of this policy")
    return {"policy": (chain.snapshot_data(revision.serialized_snapshot) or {}).get("objectData"), "revision": revision_wire(revision)}


@router.post("/config/policy/")
def config_policy_create(body: PolicyBody, uow: UowDep, caller: Admin) -> dict:
    policy = Policy(name="", version="", url="")
    _apply(policy, body.policy)
    uow.session.add(policy)
    uow.session.flush()
    revision = revisions.append(uow.session, schema_name=POLICY, object_id=policy.id, object_data=revisions.policy_data(policy),
                                authorized_by_other=caller.subject)
    policy.current_revision_id = revision.id
    uow.commit()
    return {"policy": policy_wire(policy), "revision": revision_wire(revision)}


@router.get("/config/policy/{policyId}/")
def config_policy_read(policy_id: PolicyId, uow: UowDep, caller: MaybeCaller, revision_id: RevisionIdQuery = None) -> dict:
    return _read(uow, policy_id, revision_id, current_only=False)


@router.put("/config/policy/{policyId}/")
def config_policy_update(policy_id: PolicyId, body: PolicyBody, uow: UowDep, caller: Admin) -> dict:
    policy = load_policy(uow, policy_id, lock=True)
    # The spec: a published version's url is permanent; a new url needs a new version.
    if str(body.policy.url) != policy.url and body.policy.version == policy.version:
        raise bad_request("A policy version's url cannot change; give a new version.", "policy_url_fixed")
    _apply(policy, body.policy)
    uow.session.add(policy)
    revision = revisions.append(uow.session, schema_name=POLICY, object_id=policy.id, object_data=revisions.policy_data(policy),
                                authorized_by_other=caller.subject)
    policy.current_revision_id = revision.id
    uow.commit()
    return {"policy": policy_wire(policy), "revision": revision_wire(revision)}


@router.delete("/config/policy/{policyId}/")
def config_policy_delete(policy_id: PolicyId, uow: UowDep, caller: Admin) -> dict:
    policy = load_policy(uow, policy_id, lock=True)
    in_use = uow.session.exec(select(func.count()).select_from(DataAgreement).where(
        DataAgreement.policy_id == policy.id, col(DataAgreement.active).is_(True), col(DataAgreement.deleted).is_(False))).one()
    if in_use:
        raise bad_request("An active data agreement uses this policy.", "policy_in_use")
    policy.deleted = True
    uow.session.add(policy)
    revision = revisions.append(uow.session, schema_name=POLICY, object_id=policy.id, object_data=revisions.policy_data(policy),
                                authorized_by_other=caller.subject)
    policy.current_revision_id = revision.id
    uow.commit()
    return {"revision": revision_wire(revision)}


@router.get("/config/policy/{policyId}/revisions/")
def config_policy_revisions_list(policy_id: PolicyId, uow: UowDep, caller: Admin, page: PageDep) -> dict:
    policy = load_policy(uow, policy_id)
    history = revisions.history(uow.session, schema_name=POLICY, object_id=policy.id)
    return {"policy": policy_wire(policy), "revisions": [revision_wire(r) for r in history[page.offset:page.offset + page.limit]]}


@router.get("/config/policies/")
def config_policy_list(uow: UowDep, caller: MaybeCaller, page: PageDep, revision_id: RevisionIdQuery = None) -> dict:
    query = select(Policy).where(col(Policy.deleted).is_(False))
    if revision_id:
        query = query.where(Policy.current_revision_id == revision_id)
    policies = uow.session.exec(query.order_by(col(Policy.id)).offset(page.offset).limit(page.limit)).all()
    return {"policies": [policy_wire(p) for p in policies]}


@router.get("/service/policy/{policyId}/", tags=["service"])
def service_policy_read(policy_id: PolicyId, uow: UowDep, caller: MaybeCaller, revision_id: RevisionIdQuery = None) -> dict:
    return _read(uow, policy_id, revision_id, current_only=True)
