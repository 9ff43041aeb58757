"""Uploaded documents: row and bytes in the database, written together, deleted together once no application holds them.

Uploads from before the bytes moved into the database still have a file under DOCUMENTS_DIR (document.path):
read from there and moved into the database on the way, or by the purge, and deleted once the move is committed. An
upload that was submitted with an application is never deleted here: it is what operators decided on.
"""
import logging
import re
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import delete
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import select

from kernel.db import UnitOfWork, for_writing
from registration.models import ApplicationFile, Document, DocumentContent, utcnow
from registration.processing import document_id_from_url
from registration.settings import RegistrationSettings

log = logging.getLogger(__name__)

_BATCH = 500
_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")  # models.new_id
_PART = re.compile(r"\.[0-9a-f]{32}\.part")  # an unfinished write of the former file store


def store(uow: UnitOfWork, *, document: Document, data: bytes) -> None:
    """Commit the row and its bytes together: any replica serves them, and a failed commit leaves neither."""
    uow.session.add(document)
    uow.session.flush()  # the row before its content, which references it (no relationship orders them)
    uow.session.add(DocumentContent(document_id=document.id, content=data))
    uow.commit()


def read(uow: UnitOfWork, settings: RegistrationSettings, *, document: Document) -> bytes | None:
    """The document's bytes; None for a row from before whose file is not there."""
    data = uow.session.exec(select(DocumentContent.content).where(DocumentContent.document_id == document.id)).first()
    if data is not None or not document.path:
        return data
    try:
        return move_into_database(uow.session.get_bind(), settings, document_id=document.id)
    except SQLAlchemyError as exc:  # served all the same; the file stays for the next read or the purge
        log.warning("document %s not moved into the database (%s)", document.id, type(exc).__name__)
        return _read_file(settings, document.path)


def move_into_database(engine: Engine, settings: RegistrationSettings, *, document_id: str) -> bytes | None:
    """Copy a row's legacy file into document_content and delete the file once that is committed; the bytes, or None
    when the row is gone or its file is not there."""
    with UnitOfWork(for_writing(engine), source=settings.service_name) as uow:
        # Locked, so that two replicas reading the same document at once do not both insert its content.
        row = uow.session.get(Document, document_id, with_for_update=True, populate_existing=True)
        if row is None or not row.path:
            return uow.session.exec(select(DocumentContent.content).where(DocumentContent.document_id == document_id)).first()
        data = _read_file(settings, row.path)
        if data is None:
            return None
        path, row.path = row.path, None
        uow.session.add(DocumentContent(document_id=row.id, content=data))
        uow.session.add(row)
        uow.commit()
    _remove(settings, [path])
    return data


def _read_file(settings: RegistrationSettings, path: str) -> bytes | None:
    try:
        return (settings.documents_dir / path).read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:  # unreadable: kept for a later try, and answered as missing meanwhile
        log.warning("legacy document file not readable (%s)", type(exc).__name__)
        return None


def listed_ids(uow: UnitOfWork, *, applicant_ids) -> set[str]:
    """Ids of the uploads these applicants' files, drafts included, list in their documentUrls."""
    if not applicant_ids:
        return set()
    lists = uow.session.exec(select(ApplicationFile.document_urls).where(ApplicationFile.applicant_id.in_(list(applicant_ids))))
    return {document_id_from_url(url) for urls in lists for url in urls}


def release(uow: UnitOfWork, *, owner_id: str, document_ids) -> list[Document]:
    """Delete the rows of those of the owner's uploads that no application holds: none was submitted with them and no
    draft or file lists them (another draft may list the same upload), with their content. The caller commits, then
    calls unlink(deleted rows) for the files of rows from before."""
    ids = {i for i in document_ids if i}
    if not ids:
        return []
    uow.session.flush()  # the caller's changed or deleted draft is what the listing below must see
    # Locked, so that a submission attaching one of them at the same time either waits for the delete and finds the
    # row gone (a 400) or attaches it first, and then the file_id test skips it.
    rows = uow.session.exec(select(Document).where(Document.id.in_(ids), Document.owner_id == owner_id, Document.file_id.is_(None))
                            .with_for_update()).all()
    held = listed_ids(uow, applicant_ids={owner_id}) if rows else set()
    return _delete(uow, [row for row in rows if row.id not in held])


def _delete(uow: UnitOfWork, rows: list[Document]) -> list[Document]:
    if rows:
        uow.session.execute(delete(DocumentContent).where(DocumentContent.document_id.in_([row.id for row in rows])))
    for row in rows:
        uow.session.delete(row)
    return rows


def unlink(settings: RegistrationSettings, documents: list[Document]) -> int:
    """Delete the legacy files of deleted rows (after the commit); what fails here is left for the purge's sweep."""
    return _remove(settings, [document.path for document in documents if document.path])


def _remove(settings: RegistrationSettings, paths: list[str]) -> int:
    deleted = 0
    for path in paths:
        try:
            (settings.documents_dir / path).unlink(missing_ok=True)
            deleted += 1
        except OSError as exc:
            log.warning("legacy document file not deleted (%s); the purge retries", type(exc).__name__)
    return deleted


@dataclass
class Purged:
    orphans: int  # uploads older than the orphan age that no application held
    moved: int  # legacy files moved into the database
    stray_files: int  # legacy files without a row waiting for them: moved or deleted, but a crash came before the file went


def purge(engine: Engine, settings: RegistrationSettings, *, orphan_age: timedelta, now: datetime | None = None) -> Purged:
    """Delete abandoned uploads in batches, move legacy files into the database, and sweep the legacy files left over.

    Clients upload first and name the upload in a draft or an application afterwards (the portal in the same request,
    API clients whenever they submit): an upload nothing lists counts as abandoned once it is older than orphan_age
    (UPLOAD_ORPHAN_HOURS), and so does a legacy file no row waits for."""
    cutoff = (now or utcnow()) - orphan_age
    orphans, after = 0, ""
    while True:
        with UnitOfWork(engine, source=settings.service_name) as uow:
            # Rows another transaction holds (being attached, or released) are skipped, not waited for: the next round sees them.
            rows = uow.session.exec(select(Document).where(Document.file_id.is_(None), Document.created < cutoff, Document.id > after)
                                    .order_by(Document.id).limit(_BATCH).with_for_update(skip_locked=True)).all()
            if not rows:
                break
            held = listed_ids(uow, applicant_ids={row.owner_id for row in rows})
            deleted = _delete(uow, [row for row in rows if row.id not in held])
            uow.commit()
        orphans += len(deleted)
        unlink(settings, deleted)
        after = rows[-1].id
    return Purged(orphans=orphans, moved=_move_legacy(engine, settings), stray_files=_sweep(engine, settings, cutoff=cutoff))


def _move_legacy(engine: Engine, settings: RegistrationSettings) -> int:
    """Move the files of rows from before into the database, one row per transaction; rows whose file is not there stay
    as they are (their download answers 404), in case the folder comes back."""
    if not settings.documents_dir.is_dir():
        return 0
    moved, after = 0, ""
    while True:
        with UnitOfWork(engine, source=settings.service_name) as uow:
            ids = uow.session.exec(select(Document.id).where(Document.path.is_not(None), Document.id > after)
                                   .order_by(Document.id).limit(_BATCH)).all()
        if not ids:
            return moved
        moved += sum(move_into_database(engine, settings, document_id=document_id) is not None for document_id in ids)
        after = ids[-1]


def _sweep(engine: Engine, settings: RegistrationSettings, *, cutoff: datetime) -> int:
    """Delete legacy files older than the cutoff that no row still reads from (an unfinished write's .part file included)."""
    root = settings.documents_dir
    if not root.is_dir():
        return 0
    old = [path for path in root.glob("*/*") if _ours(path) and path.is_file() and path.stat().st_mtime < cutoff.timestamp()]
    swept = 0
    for start in range(0, len(old), _BATCH):
        batch = old[start:start + _BATCH]
        with UnitOfWork(engine, source=settings.service_name) as uow:
            names = [path.name for path in batch]
            waiting = set(uow.session.exec(select(Document.id).where(Document.id.in_(names), Document.path.is_not(None))))
        swept += _remove(settings, [str(path.relative_to(root)) for path in batch if path.name not in waiting])
    return swept


def _ours(path: Path) -> bool:
    """Named as the former file store named files (an id under its first two characters, or a .part file beside them): whatever else a
    misconfigured DOCUMENTS_DIR holds is never swept."""
    return _PART.fullmatch(path.name) is not None or (_ID.fullmatch(path.name) is not None and path.parent.name == path.name[:2])


def run(settings: RegistrationSettings, engine: Engine, stop: threading.Event, *, orphan_age: timedelta,
        interval_seconds: float) -> None:
    """Purge every interval_seconds (UPLOAD_PURGE_INTERVAL_SECONDS) until stopped (a thread of the API process, see app.py)."""
    while not stop.is_set():
        try:
            purged = purge(engine, settings, orphan_age=orphan_age)
            if purged.orphans or purged.moved or purged.stray_files:
                log.info("purged uploads %s", vars(purged))
        except Exception:  # a failed round is retried at the next interval; the API does not depend on it
            log.exception("registration upload purge failed")
        stop.wait(interval_seconds)
