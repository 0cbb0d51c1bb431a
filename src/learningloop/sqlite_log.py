"""The event log in a store directory: eventsourcing's SQLite recorder (`events.sqlite`)."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import closing
from pathlib import Path
from typing import Any, Self

from eventsourcing.persistence import StoredEvent

from learningloop import recorder_calls
from learningloop.domain.recorded import Recorded
from learningloop.errors import StoreError
from learningloop.eventlog import EventLog, RawPage, StreamRow, Within, stream_filter
from learningloop.locations import LOCK_TIMEOUT_SECONDS, StoreLocation

# A row named by its stream and version first: (originator_id, originator_version, ...).
_Key = tuple[str, int, *tuple[Any, ...]]
# The page cache of a connection that appends (SQLite's default is 2 MiB).
WRITE_CACHE_KIB = 16_384
# An append this long has its WAL synced while it goes on (see WalFlusher).
FLUSH_FROM_EVENTS = 20_000


class SQLiteEventLog(EventLog):
    """The log of a store directory; the directory is created on the first write."""

    _flusher: WalFlusher | None = None

    # eventsourcing names an application's tables after it: every backend keeps the name
    # stores were created with (`learningloop_events` in PostgreSQL).
    name = "learningloop"

    @classmethod
    def open(cls, location: StoreLocation, cipher_key: str | None, *, create: bool) -> Self | None:
        created: list[Path] = []
        if not location.events_path.exists():
            if not create:
                return None
            created = [location.events_path, *_create_directory(location.directory)]
        env = {
            "PERSISTENCE_MODULE": "eventsourcing.sqlite",
            "SQLITE_DBNAME": str(location.events_path),
            "SQLITE_LOCK_TIMEOUT": str(LOCK_TIMEOUT_SECONDS),
        }
        log = cls._opened(location, env, cipher_key)
        log.created = created
        return log

    @classmethod
    def cannot_open(cls, location: StoreLocation, reason: str) -> str:
        return f"cannot open event store {location.events_path}: {reason}"

    def discard_created(self) -> None:
        """Remove the database (and its WAL files) and the folders the first write made."""
        if not self.created:
            return
        self.close()
        events, folders = self.created[0], self.created[1:]
        for path in (events, *(events.with_name(events.name + end) for end in ("-wal", "-shm"))):
            path.unlink(missing_ok=True)
        for folder in folders:
            with contextlib.suppress(OSError):  # not empty: someone else put a file there
                folder.rmdir()
        self.created.clear()

    def _before_append(self, cursor: Any) -> None:
        # A page cache of 16 MiB rather than SQLite's 2 MiB: an import adds to the primary-key
        # index of many streams at once, and with the small cache most of its pages were read
        # again from the file (200,000 network-shape rows: 2.1 -> 1.5-1.9 s CPU to insert).
        cursor.execute(f"pragma cache_size = -{WRITE_CACHE_KIB}")

    def _appending(self, events: int) -> None:
        if events >= FLUSH_FROM_EVENTS and self._flusher is None:
            self._flusher = WalFlusher(Path(f"{self.env.get('SQLITE_DBNAME')}-wal"))

    def _after_append(self) -> None:
        flusher, self._flusher = self._flusher, None
        if flusher:
            flusher.stop()

    def _insert(self, cursor: Any, stored: list[StoredEvent]) -> list[int]:
        recorder_calls.sqlite_insert_many(self.recorder, cursor, stored)
        keys = [(str(event.originator_id), event.originator_version) for event in stored]
        return self._positions(cursor, keys)

    def _insert_recorded(self, cursor: Any, batch: Sequence[Recorded]) -> list[int]:
        """The rows straight from the writer's JSON when the mapper would store it as it is
        (no cipher, no compressor): the very values to_stored_event and sqlite_insert_many
        give, without a StoredEvent per event."""
        mapper = self.mapper
        if mapper.cipher or mapper.compressor or any(r.stored is None for r in batch):
            return super()._insert_recorded(cursor, batch)
        rows = [(r.originator_id, r.originator_version, r.event.TOPIC, r.stored) for r in batch]
        recorder_calls.sqlite_insert_rows(self.recorder, cursor, rows)  # type: ignore[arg-type]
        return self._positions(cursor, rows)

    def _positions(self, cursor: Any, keys: Sequence[_Key]) -> list[int]:
        """The positions of the rows just inserted, named by (stream, version, ...), by one
        statement for the batch. This transaction holds the write lock from its first row on,
        and a rowid table without AUTOINCREMENT gives each new row max(rowid) + 1, so the
        batch takes consecutive positions up to last_insert_rowid(); the first is checked all
        the same, and looked up row by row if it were ever otherwise."""
        cursor.execute("select last_insert_rowid()")
        last = int(cursor.fetchone()[0])
        first = last - len(keys) + 1
        if self._position_of(cursor, keys[0]) == first:
            return list(range(first, last + 1))
        return [self._position_of(cursor, key) for key in keys]

    @staticmethod
    def _position_of(cursor: Any, key: _Key) -> int:
        """The rowid of a row this transaction inserted (by its primary key)."""
        cursor.execute(
            "select rowid from stored_events where originator_id = ? and originator_version = ?",
            key[:2],
        )
        return int(cursor.fetchone()[0])

    def _has_table(self, cursor: Any, table: str) -> bool:
        cursor.execute("select count(*) from sqlite_master where name = ?", (table,))
        return bool(cursor.fetchone()[0])

    def raw_pages(self, after: int, size: int) -> Iterator[RawPage]:
        """Pages read directly (read-only) rather than through Notification objects when the
        store is not encrypted: projection rebuilds are bound by this loop. Not memory-mapped:
        a mapped file counts in the process's resident memory (256 MiB more at the peak of a
        10M-event rebuild) and read no faster here (2M events: 4.2-4.7 s CPU vs 5.2-5.7 s)."""
        if self.mapper.cipher is not None:
            yield from super().raw_pages(after, size)
            return
        database = self.env.get("SQLITE_DBNAME")
        with closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True)) as con:
            while True:
                rows = con.execute(
                    "select rowid, originator_id, originator_version, state from stored_events "
                    "where rowid > ? order by rowid limit ?",
                    (after, size),
                ).fetchall()
                if not rows:
                    return
                yield rows
                after = rows[-1][0]

    def stream_rows(
        self, head: int, programmes: bool, size: int = 1_000, within: Within = (None, None)
    ) -> Iterator[list[StreamRow]]:
        """As EventLog's, by one statement (SQLite sorts each stream's few rows by position
        as its primary key index hands them over, stream by stream): no query per page."""
        database = self.env.get("SQLITE_DBNAME")
        where, bounds = stream_filter("rowid", programmes, within)
        if programmes:
            # Through the primary key's index, not a scan of every row (5 s of CPU at 10M
            # events, in each walker). SQLite compares text bytewise: exactly the ids that
            # start with "programme:"; a forged blob or NULL id is in neither, as with substr.
            where = "rowid <= ? and originator_id >= 'programme:' and originator_id < 'programme;'"
        with closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True)) as con:
            cursor = con.execute(
                "select originator_id, rowid, originator_version, topic, state "
                f"from stored_events where {where} order by originator_id, rowid",
                (head, *bounds),
            )
            while rows := cursor.fetchmany(size):
                yield rows


class WalFlusher:
    """Writes a long transaction's WAL to disk while it goes on. SQLite writes the WAL as its
    page cache fills but syncs it only at commit, and the system keeps those pages in memory
    until then: the commit of 200,000 imported events (~90 MB of WAL) waited ~0.25 s more
    for the disk than when a thread syncs it every quarter second meanwhile. Durability is
    SQLite's commit alone: this thread only makes the disk's work earlier."""

    EVERY_SECONDS = 0.25

    def __init__(self, wal: Path) -> None:
        """Start syncing `wal` (a thread)."""
        self._wal = wal
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._flush, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """No more syncing (a sync under way finishes by itself; nothing waits for it)."""
        self._stop.set()

    def _flush(self) -> None:
        while not self._stop.wait(self.EVERY_SECONDS):
            try:
                descriptor = os.open(self._wal, os.O_RDONLY)
            except OSError:
                continue
            try:
                os.fdatasync(descriptor)
            except OSError:
                pass  # SQLite's own sync at commit reports a disk that fails
            finally:
                os.close(descriptor)


def _create_directory(directory: Path) -> list[Path]:
    """Create the store directory; the folders that did not exist yet, deepest first."""
    if directory.exists() and not directory.is_dir():
        raise StoreError(f"store {directory} exists and is not a directory")
    missing = [folder for folder in (directory, *directory.parents) if not folder.exists()]
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise StoreError(f"cannot create store {directory}: {error.strerror}") from error
    return missing
