"""The message log's write-ahead journal: exchanges fsync'd to a local file before a response goes out as delivered,
replayed into the database by the next process when the one that wrote them died before its database write.

One file per process, held under an exclusive flock for the process's life: a journal nobody holds is an orphan.
"""
import fcntl
import json
import logging
import os
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

log = logging.getLogger(__name__)

SUFFIX = ".journal"


class Journal:
    """Appends lines and makes them durable (fdatasync) before returning; one process writes one file."""

    def __init__(self, directory: Path):
        name = uuid.uuid4().hex
        # Locked under a temporary name, then renamed: no other process ever sees this journal unlocked as an orphan.
        temporary = directory / f".{name}.tmp"
        for attempt in range(3):
            directory.mkdir(parents=True, exist_ok=True)
            try:
                self.fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
                break
            except FileNotFoundError:  # a process stopping just now removed the empty folder
                if attempt == 2:
                    raise
        fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        self.path = directory / f"{name}{SUFFIX}"
        os.rename(temporary, self.path)
        self._lock = threading.Lock()

    def append(self, data: bytes, *, sync: bool = True) -> None:
        """Written to the file (a killed process loses nothing), and to the disk too (an OS crash neither) when sync."""
        with self._lock:
            os.write(self.fd, data)
            if sync:
                os.fdatasync(self.fd)

    def sync(self) -> None:
        with self._lock:
            os.fdatasync(self.fd)

    def truncate(self) -> None:
        """Everything journaled is in the database: start the file afresh."""
        with self._lock:
            os.ftruncate(self.fd, 0)

    def close(self, *, remove: bool) -> None:
        with self._lock:
            if remove:
                self.path.unlink(missing_ok=True)
                try:
                    self.path.parent.rmdir()  # a database's folder goes with its last journal
                except OSError:
                    pass  # another process's journal is still there
            os.close(self.fd)


def encode(records: list[dict]) -> bytes:
    return "".join(json.dumps(record, separators=(",", ":"), ensure_ascii=False, default=str) + "\n" for record in records).encode()


def read(path: Path) -> list[dict]:
    """The records of a journal; a torn last line (the crash came mid-write, before its fsync) is left out."""
    records = []
    with open(path, "rb") as file:
        for line in file:
            try:
                records.append(json.loads(line))
            except ValueError:
                log.warning("message log journal %s: an incomplete record skipped", path.name)
    return records


def orphans(directory: Path) -> Iterator[tuple[Path, int]]:
    """Journals of processes that are gone, each locked for the caller (path, fd): close the fd when done."""
    if not directory.is_dir():
        return
    for path in sorted(directory.glob(f"*{SUFFIX}")):
        try:
            fd = os.open(path, os.O_RDONLY)
        except FileNotFoundError:
            continue  # replayed and removed by another process just now
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)  # a live process's journal
            continue
        if not path.exists():
            os.close(fd)
            continue
        yield path, fd
