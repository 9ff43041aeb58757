"""Closed value sets of the consent model."""
from enum import Enum


class RecordState(str, Enum):
    unsigned = "unsigned"
    pending = "pending"
    signed = "signed"


class LawfulBasis(str, Enum):
    consent = "consent"
    legal_obligation = "legal_obligation"
    contract = "contract"
    vital_interest = "vital_interest"
    public_task = "public_task"
    legitimate_interest = "legitimate_interest"


class DataUse(str, Enum):
    data_source = "data_source"
    data_using_service = "data_using_service"


class Lifecycle(str, Enum):
    draft = "Draft"
    complete = "Complete"


class SchemaName(str, Enum):
    policy = "Policy"
    data_agreement = "DataAgreement"
    consent_record = "ConsentRecord"


class VerificationMethod(str, Enum):
    """How a Signature's `signature` value is checked: a compact JWS by the individual's registered key,
    or one made by this service for an authenticated citizen (delegate)."""

    jws_individual = "jws-individual"
    jws_service = "jws-service"


class PushStatus(str, Enum):
    pending = "pending"
    delivered = "delivered"
    given_up = "given_up"
