"""The usage recorder's optional spool: queued events in a SQLite file, so that a process
killed with `kill -9` delivers them on its next start.

One table of (seq, event as JSON). An event is inserted, and committed, before
`UsageRecorder.track` returns; it is deleted once delivered (or refused). WAL
journal with `synchronous=NORMAL`: a commit is in the operating system's hands
before the call returns, so a killed process loses nothing; only a power cut
in the last moments before the OS writes its cache out could.

Not thread-safe by itself: the recorder serialises every use under its lock.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterable
from typing import IO, Any

from autumn_core import SDKValidationError

# One compact encoder, made once: json.dumps with options builds one per call.
# ASCII only: a lone surrogate in a string is escaped, never an invalid UTF-8 row.
_encode = json.JSONEncoder(separators=(",", ":")).encode
_SCHEMA = "CREATE TABLE IF NOT EXISTS usage_events (seq INTEGER PRIMARY KEY, event TEXT NOT NULL)"


class UsageSpool:
    """Events waiting for delivery, on disk, in the order they were recorded."""

    __slots__ = ("_db", "_lock", "path")

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = os.fspath(path)
        self._lock = _exclusive(self.path + ".lock")
        try:
            self._db = self._open()
        except BaseException:
            if self._lock is not None:
                self._lock.close()
            raise

    def _open(self) -> sqlite3.Connection:
        # Autocommit (isolation_level=None): every insert is its own committed
        # transaction. check_same_thread=False: a blocking program's threads record
        # through one connection, under the recorder's lock.
        db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute(_SCHEMA)
        except BaseException:
            db.close()  # a file that is not a database: no connection left open
            raise
        return db

    def add(self, event: dict[str, Any]) -> int:
        """Store one event; its sequence number once it is committed."""
        cursor = self._db.execute(
            "INSERT INTO usage_events (event) VALUES (?)",
            (_encode(event),),
        )
        return cursor.lastrowid or 0

    def after(self, seq: int, limit: int) -> list[tuple[int, dict[str, Any]]]:
        """Up to `limit` events stored after `seq`, oldest first."""
        rows = self._db.execute(
            "SELECT seq, event FROM usage_events WHERE seq > ? ORDER BY seq LIMIT ?", (seq, limit)
        ).fetchall()
        return [(number, json.loads(text)) for number, text in rows]

    def remove(self, seqs: Iterable[int]) -> None:
        """Forget events that are settled (delivered, or refused and reported)."""
        numbers = sorted(seqs)
        if numbers and numbers[-1] - numbers[0] == len(numbers) - 1:  # a run: the usual batch
            self._db.execute(
                "DELETE FROM usage_events WHERE seq BETWEEN ? AND ?", (numbers[0], numbers[-1])
            )
            return
        with self._db:  # one transaction for the whole batch
            self._db.execute("BEGIN")
            self._db.executemany("DELETE FROM usage_events WHERE seq = ?", [(s,) for s in numbers])

    def count_and_last(self) -> tuple[int, int]:
        """How many events wait in the file, and the last one's number (0: none)."""
        row = self._db.execute("SELECT count(*), coalesce(max(seq), 0) FROM usage_events")
        count, last = row.fetchone()
        return int(count), int(last)

    def close(self) -> None:
        self._db.close()
        if self._lock is not None:
            self._lock.close()  # and the lock with it


def _exclusive(path: str) -> IO[bytes] | None:
    """A lock on `path` held while the file stays open: one recorder per spool. Two
    processes on one spool would each read back and send the other's events. The
    operating system releases it when the process dies, even by SIGKILL, so the
    next start can take it. None where there is no flock (Windows)."""
    try:
        import fcntl
    except ImportError:
        return None
    handle = open(path, "ab")  # noqa: SIM115 - kept open: the lock lives as long as it
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.close()
        raise SDKValidationError(
            f"invalid spool: {path[:-5]!r} is in use by another UsageRecorder; give each "
            "process its own spool file",
            field="spool",
        ) from None
    return handle
