"""uploaded documents' bytes in the database (document_content); document.path only for files stored before

Revision ID: d5f2a8c0e913
Revises: c41f0a9d7b2e
Create Date: 2026-11-22 09:00:00.000000

Existing rows keep their path: the migration cannot know where their files are (DOCUMENTS_DIR may differ between the
process that migrates and the API), so the API moves each file into document_content when it reads it, and the hourly
purge moves the rest (registration/uploads.py).
"""
import sqlalchemy as sa
import sqlmodel
from alembic import op


revision = 'd5f2a8c0e913'
down_revision = 'c41f0a9d7b2e'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('document_content',
    sa.Column('document_id', sa.String(length=64), nullable=False),
    sa.Column('content', sa.LargeBinary(), nullable=False),
    sa.ForeignKeyConstraint(['document_id'], ['document.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('document_id')
    )
    with op.batch_alter_table('document') as batch:
        batch.alter_column('path', existing_type=sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True)


def downgrade() -> None:
    # Going back would drop every upload stored since: citizens' evidence, which no earlier revision has a place for.
    if op.get_bind().execute(sa.text("SELECT 1 FROM document_content LIMIT 1")).first() is not None:
        raise RuntimeError("document_content holds uploaded documents; downgrading would lose them")
    with op.batch_alter_table('document') as batch:
        batch.alter_column('path', existing_type=sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False)
    op.drop_table('document_content')
