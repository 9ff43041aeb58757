"""Uploaded documents' bytes on disk: written with their row, and deleted with it once no application holds them.

A removed upload's row goes in the transaction that removes it; its bytes go after the commit, so a rollback still
finds them. An upload that was submitted with an application is never deleted here: it is what operators decided on.
"""
import logging
import os
import re
import threading
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy.engine import Engine
from sqlmodel import select

from kernel.db import UnitOfWork
from registration.models import ApplicationFile, Document, utcnow
from registration.processing import document_id_from_url
from registration.settings import RegistrationSettings

log = logging.getLogger(__name__)

# Clients upload first and name the upload in a draft or an application afterwards (the portal in the same request,
# API clients whenever they submit): an upload nothing lists is kept this long before it counts as abandoned.
ORPHAN_AGE = timedelta(hours=24)
PURGE_INTERVAL_SECONDS = 3600
_BATCH = 500
_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")  # models.new_id
_PART = re.compile(r"\.[0-9a-f]{32}\.part")


def store(uow: UnitOfWork, settings: RegistrationSettings, document: Document, data: bytes) -> None:
    """Write the bytes, then commit the row; a failed commit takes the bytes back."""
    document.path = f"{document.id[:2]}/{document.id}"
    target = settings.documents_dir / document.path
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{uuid.uuid4().hex}.part")
    partial.write_bytes(data)
    os.replace(partial, target)
    uow.session.add(document)
    try:
        uow.commit()
    except Exception:
        target.unlink(missing_ok=True)
        raise


def listed_ids(uow: UnitOfWork, *, applicant_ids) -> set[str]:
    """Ids of the uploads these applicants' files, drafts included, list in their documentUrls."""
    if not applicant_ids:
        return set()
    lists = uow.session.exec(select(ApplicationFile.document_urls).where(ApplicationFile.applicant_id.in_(list(applicant_ids))))
    return {document_id_from_url(url) for urls in lists for url in urls}


def release(uow: UnitOfWork, *, owner_id: str, document_ids) -> list[str]:
    """Delete the rows of those of the owner's uploads that no application holds: none was submitted with them and no
    draft or file lists them (another draft may list the same upload). The caller commits, then calls unlink(paths)."""
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


def _delete(uow: UnitOfWork, rows: list[Document]) -> list[str]:
    for row in rows:
        uow.session.delete(row)
    return [row.path for row in rows]


def unlink(settings: RegistrationSettings, paths: list[str]) -> int:
    """Delete stored bytes whose rows are gone (after the commit); what fails here is left for the purge's sweep."""
    deleted = 0
    for path in paths:
        try:
            (settings.documents_dir / path).unlink(missing_ok=True)
            deleted += 1
        except OSError as exc:
            log.warning("stored document bytes not deleted (%s); the purge retries", type(exc).__name__)
    return deleted


@dataclass
class Purged:
    orphans: int  # uploads older than ORPHAN_AGE that no application held: rows and bytes
    stray_files: int  # bytes without a row: a crash between a commit and unlink(), or between writing and committing an upload


def purge(engine: Engine, settings: RegistrationSettings, *, now: datetime | None = None) -> Purged:
    """Delete abandoned uploads and stray stored bytes, in batches; each batch commits before its bytes go."""
    cutoff = (now or utcnow()) - ORPHAN_AGE
    orphans, after = 0, ""
    while True:
        with UnitOfWork(engine, source=settings.service_name) as uow:
            # Rows another transaction holds (being attached, or released) are skipped, not waited for: the next round sees them.
            rows = uow.session.exec(select(Document).where(Document.file_id.is_(None), Document.created < cutoff, Document.id > after)
                                    .order_by(Document.id).limit(_BATCH).with_for_update(skip_locked=True)).all()
            if not rows:
                break
            held = listed_ids(uow, applicant_ids={row.owner_id for row in rows})
            paths = _delete(uow, [row for row in rows if row.id not in held])
            uow.commit()
        orphans += unlink(settings, paths)
        after = rows[-1].id
    return Purged(orphans=orphans, stray_files=_sweep(engine, settings, cutoff=cutoff))


def _sweep(engine: Engine, settings: RegistrationSettings, *, cutoff: datetime) -> int:
    """Delete stored files older than the cutoff that no row names (an unfinished write's .part file included)."""
    root = settings.documents_dir
    if not root.is_dir():
        return 0
    old = [path for path in root.glob("*/*") if _ours(path) and path.is_file() and path.stat().st_mtime < cutoff.timestamp()]
    swept = 0
    for start in range(0, len(old), _BATCH):
        batch = old[start:start + _BATCH]
        with UnitOfWork(engine, source=settings.service_name) as uow:
            names = [path.name for path in batch]
            known = set(uow.session.exec(select(Document.id).where(Document.id.in_(names))))
        swept += unlink(settings, [str(path.relative_to(root)) for path in batch if path.name not in known])
    return swept


def _ours(path: Path) -> bool:
    """Named as store() names files (an id under its first two characters, or a .part file beside them): whatever else a
    misconfigured DOCUMENTS_DIR holds is never swept."""
    return _PART.fullmatch(path.name) is not None or (_ID.fullmatch(path.name) is not None and path.parent.name == path.name[:2])


def run(settings: RegistrationSettings, engine: Engine, stop: threading.Event) -> None:
    """Purge every PURGE_INTERVAL_SECONDS until stopped (a thread of the API process, see app.py)."""
    while not stop.is_set():
        try:
            purged = purge(engine, settings)
            if purged.orphans or purged.stray_files:
                log.info("purged uploads %s", vars(purged))
        except Exception:  # a failed round is retried at the next interval; the API does not depend on it
            log.exception("registration upload purge failed")
        stop.wait(PURGE_INTERVAL_SECONDS)
