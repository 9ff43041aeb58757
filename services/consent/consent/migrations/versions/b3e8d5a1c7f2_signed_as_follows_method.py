"""signatures' verificationSignedAs follows their verification method

Revision ID: b3e8d5a1c7f2
Revises: 9e4b1f6c2a57
Create Date: 2026-11-22 00:20:00

Before the signed_as check (consent.records.signed_as), a client's verificationSignedAs was stored as claimed, so a
service's signature (jws-service, this service signing as delegate) could say it was signed by the individual. The
relationship follows from the method and is not in the signed payload, so correcting it leaves every signature and
revision chain as verifiable as it was.
"""
import logging

import sqlalchemy as sa
from alembic import op


revision = 'b3e8d5a1c7f2'
down_revision = '9e4b1f6c2a57'
branch_labels = None
depends_on = None

log = logging.getLogger("alembic.runtime.migration")
RELATIONSHIP = "CASE WHEN verification_method = 'jws-individual' THEN 'individual' ELSE 'delegate' END"


def upgrade() -> None:
    corrected = op.get_bind().execute(sa.text(
        f"UPDATE signature SET verification_signed_as = {RELATIONSHIP} "
        f"WHERE verification_signed_as IS NULL OR verification_signed_as <> {RELATIONSHIP}")).rowcount
    if corrected:
        log.warning("consent: verificationSignedAs corrected to follow the verification method on %d signatures", corrected)


def downgrade() -> None:
    pass  # the claims it replaced were wrong, and are not kept
