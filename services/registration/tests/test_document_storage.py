"""Uploads' bytes live in the database, so every API replica serves every upload; documents uploaded before that are
served from their files and moved into the database, when read or by the purge."""
from datetime import timedelta

import pytest
import sqlalchemy as sa
from alembic import command
from sqlmodel import Session

from kernel.db import make_engine, migrations_config
from kernel.testing import serve
from registration import uploads
from registration.app import create_app
from registration.models import Document, DocumentContent, new_id
from .api_client import Api, unique
from .test_documents_api import PDF, PNG, upload

BEFORE = "c41f0a9d7b2e"  # the revision before document_content


@pytest.fixture(scope="module")
def replica(settings, oidc_issuer, tmp_path_factory) -> Api:
    """A second API process on the same database with a documents folder of its own, empty: another pod."""
    other = settings.model_copy(update={"documents_dir": tmp_path_factory.mktemp("replica-documents")})
    with serve(create_app(other)) as url:
        yield Api(url, oidc_issuer)


def legacy_document(engine, settings, *, owner_id: str, data: bytes | None) -> str:
    """A row as the former file store left it: no content, a path under the documents folder (and a file there unless
    data is None)."""
    document_id = new_id()
    document = Document(id=document_id, owner_id=owner_id, content_type="application/pdf", size=len(data or b""),
                        path=f"{document_id[:2]}/{document_id}")
    if data is not None:
        (settings.documents_dir / document.id[:2]).mkdir(parents=True, exist_ok=True)
        (settings.documents_dir / document.path).write_bytes(data)
    with Session(engine) as session:
        session.add(document)
        session.commit()
    return document_id


def in_database(engine, document_id: str) -> tuple[bytes | None, str | None]:
    """The stored content and the row's legacy path."""
    with Session(engine) as session:
        content = session.get(DocumentContent, document_id)
        return (content.content if content else None), session.get(Document, document_id).path


def test_an_upload_is_served_by_another_replica(api, replica):
    owner = api.token(sub=unique("citizen"))

    url = upload(api, owner, PNG).json()["url"]
    fetched = replica.call("GET", f"/documents/{url.rsplit('/', 1)[-1]}", expect=200, headers=owner)

    assert fetched.content == PNG and fetched.headers["content-type"] == "image/png"
    assert fetched.headers["x-content-type-options"] == "nosniff" and fetched.headers["cache-control"] == "private, no-store"


def test_an_upload_writes_no_file(api, engine, settings):
    owner = api.token(sub=unique("citizen"))

    document_id = upload(api, owner, PDF).json()["url"].rsplit("/", 1)[-1]

    assert in_database(engine, document_id) == (PDF, None)
    assert [path for path in settings.data_dir.rglob("*") if document_id in path.name] == []


def test_a_legacy_document_is_served_from_its_file_and_moved_into_the_database(api, replica, engine, settings):
    owner_id = unique("citizen")
    document_id = legacy_document(engine, settings, owner_id=owner_id, data=PDF)
    owner = api.token(sub=owner_id)

    fetched = api.call("GET", f"/documents/{document_id}", expect=200, headers=owner)

    assert fetched.content == PDF and fetched.headers["content-type"] == "application/pdf"
    assert in_database(engine, document_id) == (PDF, None)
    assert not (settings.documents_dir / document_id[:2] / document_id).exists()
    assert replica.call("GET", f"/documents/{document_id}", expect=200, headers=owner).content == PDF


def test_a_legacy_document_whose_file_is_gone_is_404_and_its_row_stays(api, engine, settings):
    owner_id = unique("citizen")
    document_id = legacy_document(engine, settings, owner_id=owner_id, data=None)

    refused = api.call("GET", f"/documents/{document_id}", expect=404, headers=api.token(sub=owner_id)).json()

    assert refused["code"] == "document_not_found"
    assert in_database(engine, document_id) == (None, f"{document_id[:2]}/{document_id}")  # in case the folder comes back


def test_the_purge_moves_legacy_documents_into_the_database(engine, settings):
    document_id = legacy_document(engine, settings, owner_id=unique("citizen"), data=PDF)

    purged = uploads.purge(engine, settings, orphan_age=timedelta(hours=settings.upload_orphan_hours))

    assert in_database(engine, document_id) == (PDF, None) and purged.moved >= 1
    assert not (settings.documents_dir / document_id[:2] / document_id).exists()


def test_the_migration_keeps_legacy_rows_for_their_files_to_be_moved(settings, infrastructure, tmp_path):
    database = settings.model_copy(update={"database_url": infrastructure.new_database("registration_document_content"),
                                           "documents_dir": tmp_path})
    engine = make_engine(database)
    (tmp_path / "ab").mkdir()
    (tmp_path / "ab" / "ab000000-0000-4000-8000-000000000001").write_bytes(PDF)
    with engine.begin() as connection:
        config = migrations_config("registration.migrations", connection)
        command.upgrade(config, BEFORE)
        # Submitted with an application (file_id), as most stored documents are: evidence, never purged as abandoned.
        connection.execute(sa.text(
            "INSERT INTO document (id, owner_id, file_id, document_type, file_name, content_type, size, path, additional_metadata, created)"
            " VALUES ('ab000000-0000-4000-8000-000000000001', 'citizen', 'file-1', 'owner_id_card', 'card.pdf', 'application/pdf',"
            " :size, 'ab/ab000000-0000-4000-8000-000000000001', '', '2026-01-01T00:00:00Z')"), {"size": len(PDF)})

        command.upgrade(config, "head")
    migrated = in_database(engine, "ab000000-0000-4000-8000-000000000001")
    purged = uploads.purge(engine, database, orphan_age=timedelta(hours=database.upload_orphan_hours))
    moved = in_database(engine, "ab000000-0000-4000-8000-000000000001")
    engine.dispose()

    assert migrated == (None, "ab/ab000000-0000-4000-8000-000000000001")
    assert moved == (PDF, None) and purged == uploads.Purged(orphans=0, moved=1, stray_files=0)
    assert not (tmp_path / "ab" / "ab000000-0000-4000-8000-000000000001").exists()
