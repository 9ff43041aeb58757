"""Data agreements: the admin writes them (each change a revision); published ones are readable by anyone."""
from fastapi import APIRouter
from sqlmodel import col, delete, select

from consent import revisions
from consent.enums import Lifecycle, SchemaName
from consent.models import DataAgreement, DataAgreementAttribute, Revision
from consent.routes.deps import ADMIN, AUDITOR, Admin, MaybeCaller, PageDep, id_path, load_agreement, load_policy
from consent.schemas import DataAgreementBody, DataAgreementIn, revision_wire
from kernel.auth import Caller
from kernel.db import UnitOfWork, UowDep
from kernel.errors import ApiError

router = APIRouter(tags=["config"])
AgreementId = id_path("dataAgreementId")
AGREEMENT = SchemaName.data_agreement.value


def is_published(agreement: DataAgreement) -> bool:
    return agreement.lifecycle == Lifecycle.complete.value and not agreement.deleted


def _apply(uow: UnitOfWork, agreement: DataAgreement, agreement_in: DataAgreementIn) -> None:
    agreement.version, agreement.purpose, agreement.dpia = agreement_in.version, agreement_in.purpose, agreement_in.dpia
    agreement.lawful_basis = agreement_in.lawful_basis.value
    agreement.data_use = agreement_in.data_use.value if agreement_in.data_use else None
    agreement.active, agreement.forgettable = agreement_in.active, agreement_in.forgettable
    agreement.lifecycle = agreement_in.lifecycle_name
    controller = agreement_in.controller
    agreement.controller_id = controller.id if controller else None
    agreement.controller_name = controller.name if controller else None
    agreement.controller_url = str(controller.url) if controller and controller.url else None
    if agreement_in.policy is not None:
        policy = load_policy(uow, agreement_in.policy.id)
        agreement.policy_id, agreement.policy_revision_id = policy.id, policy.current_revision_id
    else:
        agreement.policy_id = agreement.policy_revision_id = None
    if agreement_in.compatible_with_version is not None:
        load_agreement(uow, agreement_in.compatible_with_version.id)
        agreement.compatible_with_version_id = agreement_in.compatible_with_version.id
    else:
        agreement.compatible_with_version_id = None
    uow.session.add(agreement)
    uow.session.flush()
    uow.session.exec(delete(DataAgreementAttribute).where(DataAgreementAttribute.data_agreement_id == agreement.id))
    for position, attribute in enumerate(agreement_in.data_attributes):
        uow.session.add(DataAgreementAttribute(data_agreement_id=agreement.id, position=position, name=attribute.name,
                                               description=attribute.description, sensitivity=attribute.sensitivity,
                                               category=attribute.category))
    uow.session.flush()


def _revise(uow: UnitOfWork, agreement: DataAgreement, caller: Caller) -> Revision:
    revision = revisions.append(uow.session, schema_name=AGREEMENT, object_id=agreement.id,
                                object_data=revisions.agreement_data(uow.session, agreement), authorized_by_other=caller.subject)
    agreement.current_revision_id = revision.id
    uow.session.add(agreement)
    return revision


def read_agreement(uow: UnitOfWork, agreement_id: str, caller: Caller | None) -> dict:
    agreement = load_agreement(uow, agreement_id)
    if not is_published(agreement) and not (caller and caller.has_any_role((ADMIN, AUDITOR))):
        if caller is None:
            raise ApiError(401, "unauthorized", "This data agreement is not published; a token is required.",
                           headers={"WWW-Authenticate": "Bearer"})
        raise ApiError(403, "forbidden", "This data agreement is not published.")
    revision = revisions.latest(uow.session, schema_name=AGREEMENT, object_id=agreement.id)
    return {"dataAgreement": revisions.agreement_data(uow.session, agreement), "revision": revision_wire(revision) if revision else None}


def list_agreements(uow: UnitOfWork, caller: Caller | None, page) -> list[dict]:
    query = select(DataAgreement).where(col(DataAgreement.deleted).is_(False))
    if not (caller and caller.has_any_role((ADMIN, AUDITOR))):
        query = query.where(DataAgreement.lifecycle == Lifecycle.complete.value)
    agreements = uow.session.exec(query.order_by(col(DataAgreement.id)).offset(page.offset).limit(page.limit)).all()
    return [revisions.agreement_data(uow.session, a) for a in agreements]


@router.post("/config/data-agreement/")
def config_data_agreement_create(body: DataAgreementBody, uow: UowDep, caller: Admin) -> dict:
    agreement = DataAgreement(version="", purpose="", lawful_basis="", dpia="")
    _apply(uow, agreement, body.data_agreement)
    revision = _revise(uow, agreement, caller)
    uow.commit()
    return {"dataAgreement": revisions.agreement_data(uow.session, agreement), "revision": revision_wire(revision)}


@router.get("/config/data-agreement/{dataAgreementId}/")
def config_data_agreement_read(agreement_id: AgreementId, uow: UowDep, caller: MaybeCaller) -> dict:
    return read_agreement(uow, agreement_id, caller)


@router.put("/config/data-agreement/{dataAgreementId}/")
def config_data_agreement_update(agreement_id: AgreementId, body: DataAgreementBody, uow: UowDep, caller: Admin) -> dict:
    agreement = load_agreement(uow, agreement_id, lock=True)
    _apply(uow, agreement, body.data_agreement)
    revision = _revise(uow, agreement, caller)
    uow.commit()
    return {"dataAgreement": revisions.agreement_data(uow.session, agreement), "revision": revision_wire(revision)}


@router.delete("/config/data-agreement/{dataAgreementId}/")
def config_data_agreement_delete(agreement_id: AgreementId, uow: UowDep, caller: Admin) -> dict:
    # Kept as a deleted, inactive row: consent records given to it must stay provable.
    agreement = load_agreement(uow, agreement_id, lock=True)
    agreement.deleted, agreement.active = True, False
    revision = _revise(uow, agreement, caller)
    uow.commit()
    return {"revision": revision_wire(revision)}


@router.get("/config/data-agreements/")
def config_data_agreement_list(uow: UowDep, caller: MaybeCaller, page: PageDep) -> dict:
    return {"dataAgreement": list_agreements(uow, caller, page)}  # the OpenAPI's key is singular here


@router.get("/service/data-agreement/{dataAgreementId}/", tags=["service"])
def service_data_agreement_read(agreement_id: AgreementId, uow: UowDep, caller: MaybeCaller) -> dict:
    return read_agreement(uow, agreement_id, caller)


@router.get("/service/verification/data-agreements/", tags=["service"])
def service_verification_data_agreement_list(uow: UowDep, caller: MaybeCaller, page: PageDep) -> dict:
    return {"dataAgreements": list_agreements(uow, caller, page)}
