"""Reactions to events from RabbitMQ: routing-key pattern -> handler(envelope, uow)."""
from gateway.events import PushRequested
from gateway.models import ConsentWithdrawal
from gateway.pubsub import push_handler
from gateway.settings import GatewaySettings
from kernel.consumer import Handler, outside_effects
from kernel.db import UnitOfWork
from kernel.events import Envelope


def _first(data: dict, *names: str) -> str | None:
    for name in names:
        if data.get(name):
            return str(data[name])
    return None


def drop_cached_consent(envelope: Envelope, uow: UnitOfWork) -> None:
    """Record the withdrawal; API processes drop their cached answers for it (all of them when ids are missing)."""
    uow.session.add(ConsentWithdrawal(
        individual_id=_first(envelope.data, "individual_id", "individualId"),
        data_agreement_id=_first(envelope.data, "data_agreement_id", "agreement_id", "dataAgreementId"),
    ))


def handlers_for(settings: GatewaySettings) -> dict[str, Handler]:
    return {"consent.record.withdrawn": drop_cached_consent, PushRequested.type: outside_effects(push_handler(settings))}


HANDLERS: dict[str, Handler] = handlers_for(GatewaySettings())
