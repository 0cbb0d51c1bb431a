"""The event store: eventsourcing's SQLite recorder in a store directory, a pydantic mapper.

Stored state is compact JSON of the event's fields plus `recorded_at`, so DuckDB can read it
directly. Topics are fixed strings (`learningloop:MeetingHeld`), never module paths.
"""

from __future__ import annotations

import binascii
import contextlib
import sqlite3
from base64 import b64decode, b64encode
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar

import orjson
from eventsourcing.application import Application
from eventsourcing.persistence import (
    Cipher,
    IntegrityError,
    InterfaceError,
    Mapper,
    Notification,
    OperationalError,
    PersistenceError,
    StoredEvent,
    Transcoder,
)
from eventsourcing.utils import Environment, EnvType

from learningloop.domain.chain import GENESIS, digest_step, stored_state
from learningloop.domain.events import TOPICS
from learningloop.domain.recorded import Recorded
from learningloop.errors import BadInputError, ConcurrentWriteError, NotFoundError, StoreError
from learningloop.locations import LOCK_TIMEOUT_SECONDS, StoreLocation

SEAL_TABLE = "learningloop_seal"
META_TABLE = "learningloop_meta"
KEY_CHECK = b"learningloop key check"
CIPHER_TOPIC = "eventsourcing.cryptography:AESCipher"


class JsonTranscoder(Transcoder):
    """Compact UTF-8 JSON; values are already JSON-ready (the mapper dumps pydantic models)."""

    def encode(self, obj: Any) -> bytes:
        return orjson.dumps(obj)

    def decode(self, data: bytes) -> Any:
        return orjson.loads(data)


class EventMapper(Mapper[str]):
    """Maps a `Recorded` event to a stored event and back, upcasting old class versions."""

    def to_stored_event(self, domain_event: Any) -> StoredEvent:
        recorded: Recorded = domain_event
        data = recorded.stored
        if data is None:
            state = stored_state(recorded.event, recorded.timestamp)
            state["chain"] = recorded.chain
            data = self.transcoder.encode(state)
        if self.compressor:
            data = self.compressor.compress(data)
        if self.cipher:
            data = self.cipher.encrypt(data)
        return StoredEvent(
            originator_id=recorded.originator_id,
            originator_version=recorded.originator_version,
            topic=recorded.event.TOPIC,
            state=data,
        )

    def to_domain_event(self, stored_event: StoredEvent) -> Any:
        data = stored_event.state
        if self.cipher:
            data = self.cipher.decrypt(data)
        if self.compressor:
            data = self.compressor.decompress(data)
        state: dict[str, Any] = self.transcoder.decode(data)
        event_class = TOPICS[stored_event.topic]
        chain = state.pop("chain", "")
        recorded_at = datetime.fromisoformat(state.pop("recorded_at"))
        from_version = state.pop("class_version", 1)
        while from_version < event_class.class_version:
            getattr(event_class, f"upcast_v{from_version}_v{from_version + 1}")(state)
            from_version += 1
        return Recorded(
            originator_id=str(stored_event.originator_id),
            originator_version=stored_event.originator_version,
            timestamp=recorded_at,
            event=event_class.model_validate(state),
            chain=chain,
        )


class EventLog(Application[str]):
    """The append-only log of every programme and experiment stream."""

    name = "learningloop"
    env: ClassVar[dict[str, str]] = {"ORIGINATOR_ID_TYPE": "text"}

    def __init__(self, env: dict[str, str] | None = None) -> None:
        super().__init__(env)
        if self.env.get("CREATE_TABLE", "yes") != "no":
            self._create_seal()
            self._check_cipher()

    def construct_env(self, name: str, env: EnvType | None = None) -> Environment:
        """Only our own settings: the user's environment never configures the store."""
        return Environment(name, {**type(self).env, **dict(env or {})})

    def construct_mapper(self) -> Mapper[str]:
        return EventMapper(transcoder=JsonTranscoder(), cipher=self.factory.cipher())

    @property
    def is_postgres(self) -> bool:
        return self.env.get("PERSISTENCE_MODULE") == "eventsourcing.postgres"

    def _check_cipher(self) -> None:
        """A store remembers whether it is encrypted, and refuses a missing or wrong key."""
        cipher = self.mapper.cipher
        meta = self._table(META_TABLE)
        row = self._key_check()
        if row is None:
            # Only a new store writes here; an existing one is read, so openers never contend.
            with self._datastore().transaction(commit=True) as cursor:
                check = b64encode(cipher.encrypt(KEY_CHECK)).decode() if cipher else ""
                self._execute(
                    cursor,
                    f"insert into {meta} values ('key_check', ?) on conflict do nothing",
                    (check,),
                )
            row = self._key_check()
            assert row is not None
        stored_check = row[0]
        if stored_check and cipher is None:
            raise StoreError(
                "the store is encrypted: give its key (LEARNINGLOOP_CIPHER_KEY or "
                "--cipher-key-file)"
            )
        if not stored_check and cipher is not None:
            raise StoreError("the store is not encrypted, but a cipher key was given")
        if cipher is not None and not _opens(cipher, stored_check):
            raise StoreError("the cipher key given does not open this store")

    def _key_check(self) -> tuple[Any, ...] | None:
        with self._datastore().transaction(commit=False) as cursor:
            meta = self._table(META_TABLE)
            self._execute(cursor, f"select value from {meta} where name = 'key_check'")
            return _first_row(cursor)

    def _create_seal(self) -> None:
        """The seal (last position, event count, log digest) and the store's metadata table."""
        seal, meta = self._table(SEAL_TABLE), self._table(META_TABLE)
        if self._has_tables(seal, meta):
            return
        with self._datastore().transaction(commit=True) as cursor:
            self._execute(
                cursor,
                f"create table if not exists {seal} (id integer primary key check (id = 1), "
                "position bigint not null, events bigint not null, digest text not null)",
            )
            self._execute(
                cursor, f"insert into {seal} values (1, 0, 0, ?) on conflict do nothing", (GENESIS,)
            )
            self._execute(
                cursor, f"create table if not exists {meta} (name text primary key, value text)"
            )

    def _has_tables(self, *tables: str) -> bool:
        with self._datastore().transaction(commit=False) as cursor:
            for table in tables:
                if self.is_postgres:
                    cursor.execute("select to_regclass(%s) is not null", (table,))
                else:
                    cursor.execute("select count(*) from sqlite_master where name = ?", (table,))
                row = _first_row(cursor)
                if not (row and row[0]):
                    return False
        return True

    def seal(self) -> Seal:
        with self._datastore().transaction(commit=False) as cursor:
            return self._read_seal(cursor)

    def _datastore(self) -> Any:
        return self.recorder.datastore  # type: ignore[attr-defined]

    def stream(self, stream_id: str, after: int | None = None) -> list[Recorded]:
        """The recorded events of one stream (after a version), in version order."""
        return list(self.events.get(stream_id, gt=after))  # type: ignore[arg-type]

    def append(
        self, batches: Iterable[Sequence[Recorded]], progress: Callable[[int], None] | None = None
    ) -> int:
        """Append every batch in ONE transaction: all of them are written, or none."""
        count, seal = 0, None
        try:
            with self._datastore().transaction(commit=True) as cursor:
                for batch in batches:
                    stored = [self.mapper.to_stored_event(recorded) for recorded in batch]
                    positions = self._insert(cursor, stored)
                    # Read the seal only once this transaction holds the write lock.
                    seal = seal or self._read_seal(cursor)
                    seal = seal.extended(zip(positions, batch, strict=True))
                    count += len(stored)
                    if progress:
                        progress(len(stored))
                if seal is not None:
                    self._execute(
                        cursor,
                        f"update {self._table(SEAL_TABLE)} set position = ?, events = ?, "
                        "digest = ?",
                        (seal.position, seal.events, seal.digest),
                    )
        except IntegrityError as error:
            raise ConcurrentWriteError(
                "another writer appended to the same stream at the same time; "
                "nothing was written, run the command again"
            ) from error
        except (OperationalError, InterfaceError) as error:
            raise StoreError(f"the event store is busy or unavailable: {error}") from error
        return count

    def _insert(self, cursor: Any, stored: list[StoredEvent]) -> list[int]:
        """Insert stored events on the transaction's cursor; their log positions, in order."""
        recorder: Any = self.recorder
        if self.is_postgres:
            # The recorder locks the events table first, so positions commit in order.
            recorder._insert_stored_events(cursor, stored)
            return list(recorder._fetch_ids_after_insert_events(cursor, stored))
        return list(recorder._insert_events(cursor, stored))

    def _read_seal(self, cursor: Any) -> Seal:
        self._execute(cursor, f"select position, events, digest from {self._table(SEAL_TABLE)}")
        row = _first_row(cursor)
        assert row is not None, "the seal row is created with the store"
        position, events, digest = row
        return Seal(int(position), int(events), str(digest))

    def _table(self, name: str) -> str:
        schema = self.env.get("POSTGRES_SCHEMA") if self.is_postgres else None
        return f"{schema}.{name}" if schema else name

    def _execute(self, cursor: Any, sql: str, parameters: tuple[Any, ...] = ()) -> None:
        cursor.execute(sql.replace("?", "%s") if self.is_postgres else sql, parameters)

    def raw_pages(self, after: int, size: int) -> Iterator[list[tuple[int, str, int, bytes]]]:
        """(position, stream, version, stored bytes) after a position, in pages, fast.

        SQLite is read directly (memory-mapped, read-only) rather than through Notification
        objects: projection rebuilds are bound by this loop.
        """
        database = self.env.get("SQLITE_DBNAME")
        with closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True)) as con:
            con.execute("pragma mmap_size = 268435456")  # 256 MiB: counted in resident memory
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

    def read_notifications(
        self, after: int, limit: int, topics: Sequence[str] = ()
    ) -> Sequence[Notification]:
        """Raw stored events after a log position, for projections (large pages)."""
        return self.recorder.select_notifications(
            start=after, limit=limit, topics=topics, inclusive_of_start=False
        )

    def notification_pages(
        self, after: int = 0, size: int = 10_000, topics: Sequence[str] = ()
    ) -> Iterator[Sequence[Notification]]:
        """Every raw stored event after a position, page by page, in log order."""
        while page := self.read_notifications(after, size, topics):
            yield page
            after = page[-1].id

    def plaintext(self, notification: Notification) -> bytes:
        """A stored event's JSON bytes, decrypted when the store is encrypted."""
        cipher = self.mapper.cipher
        return cipher.decrypt(notification.state) if cipher else notification.state

    def last_recorded_at(self) -> datetime | None:
        """When the last event was recorded (None for an empty log): the head event alone."""
        head = self.recorder.select_notifications(start=self.head_position(), limit=1)
        if not head:
            return None
        return datetime.fromisoformat(orjson.loads(self.plaintext(head[0]))["recorded_at"])

    def has_stream(self, stream_id: str) -> bool:
        return bool(self.recorder.select_events(stream_id, limit=1))

    def head_position(self) -> int:
        """The position of the last stored event (0 for an empty log)."""
        return self.recorder.max_notification_id() or 0


def _first_row(cursor: Any) -> tuple[Any, ...] | None:
    """The next row as a tuple, from SQLite's rows or psycopg's dict rows."""
    row = cursor.fetchone()
    if row is None:
        return None
    return tuple(row.values()) if isinstance(row, dict) else tuple(row)


def _opens(cipher: Cipher, stored_check: str) -> bool:
    try:
        return cipher.decrypt(b64decode(stored_check)) == KEY_CHECK
    except Exception:  # a wrong key fails authentication inside the cipher
        return False


def check_cipher_key(key: str) -> str:
    """An AES key as eventsourcing's AESCipher takes it: base64 of 16, 24 or 32 bytes."""
    try:
        size = len(b64decode(key.strip(), validate=True))
    except (ValueError, binascii.Error):
        size = -1
    if size not in (16, 24, 32):
        raise BadInputError(
            "the cipher key is not base64 of 16, 24 or 32 bytes (make one: learningloop keygen)"
        )
    return key.strip()


def new_cipher_key() -> str:
    from eventsourcing.cryptography import AESCipher

    return AESCipher.create_key(32)


@dataclass(frozen=True)
class Seal:
    """The log's head as the writers left it: checked by `audit` against the events."""

    position: int
    events: int
    digest: str

    def extended(self, appended: Iterable[tuple[int, Recorded]]) -> Seal:
        position, events, digest = self.position, self.events, self.digest
        for position, recorded in appended:
            digest = digest_step(
                digest, position, recorded.stream, recorded.version, recorded.chain
            )
            events += 1
        return Seal(position, events, digest)

    @property
    def head_digest(self) -> str:
        """POSITION:HASH, as `audit --digest` prints and `--verify` takes."""
        return f"{self.position}:{self.digest}"


class Store:
    """Opens the event log lazily: reading a store that does not exist creates nothing."""

    def __init__(self, location: StoreLocation, cipher_key: str | None = None) -> None:
        self.location = location
        self.cipher_key = check_cipher_key(cipher_key) if cipher_key else None
        self._log: EventLog | None = None
        # What this object created for a first write, removed again if that write fails.
        self._created: list[Path] = []

    def log(self, *, create: bool) -> EventLog | None:
        """The event log; created on first write, None when reading a store not yet created."""
        if self._log is None:
            if not self.location.exists():
                if not create:
                    return None
                self._create_directory()
                self._created.insert(0, self.location.events_path)
            elif self.location.is_postgres:
                # Creating eventsourcing's tables again from several processes at once races
                # in PostgreSQL's catalog: create them only when the log does not exist yet.
                present = self._server_has_log()
                if not present and not create:
                    return None
                self._log = self._open_log(create_tables=not present)
                return self._log
            self._log = self._open_log()
        return self._log

    def writable_log(self) -> EventLog:
        log = self.log(create=True)
        assert log is not None
        return log

    def readable_log(self) -> EventLog:
        log = self.log(create=False)
        if log is None:
            raise NotFoundError(
                f"no store at {self.location.describe()} (import events first, or give --store)"
            )
        return log

    def stream(self, stream_id: str, after: int | None = None) -> list[Recorded]:
        log = self.log(create=False)
        return [] if log is None else log.stream(stream_id, after)

    def _server_has_log(self) -> bool:
        """Whether the PostgreSQL database already holds a learningloop log (a read creates
        nothing there either)."""
        log = self._open_log(create_tables=False)
        try:
            with log._datastore().transaction(commit=False) as cursor:
                cursor.execute(
                    "select to_regclass(%s) is not null and to_regclass(%s) is not null",
                    (log._table(SEAL_TABLE), log._table(META_TABLE)),
                )
                row = _first_row(cursor)
            return bool(row and row[0])
        finally:
            log.close()

    def _create_directory(self) -> None:
        directory = self.location.directory
        if directory.exists() and not directory.is_dir():
            raise StoreError(f"store {directory} exists and is not a directory")
        missing = [directory, *directory.parents]
        missing = [folder for folder in missing if not folder.exists()]
        try:
            directory.mkdir(parents=True, exist_ok=True)
            self._created.extend(missing)
        except OSError as error:
            raise StoreError(f"cannot create store {directory}: {error.strerror}") from error

    def _open_log(self, *, create_tables: bool = True) -> EventLog:
        if self.location.is_postgres:
            env = self.location.postgres.env()
            env["CREATE_TABLE"] = "yes" if create_tables else "no"
        else:
            env = {
                "PERSISTENCE_MODULE": "eventsourcing.sqlite",
                "SQLITE_DBNAME": str(self.location.events_path),
                "SQLITE_LOCK_TIMEOUT": str(LOCK_TIMEOUT_SECONDS),
            }
        if self.cipher_key:
            env |= {"CIPHER_TOPIC": CIPHER_TOPIC, "CIPHER_KEY": self.cipher_key}
        try:
            return EventLog(env=env)
        except StoreError as error:
            raise StoreError(f"{self.location.describe()}: {error}") from None
        except (PersistenceError, sqlite3.Error, OSError) as error:
            raise StoreError(self._cannot_open(error)) from None

    def _cannot_open(self, error: Exception) -> str:
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        if not self.location.is_postgres:
            return f"cannot open event store {self.location.events_path}: {reason}"
        url = self.location.postgres
        if url.password:
            reason = reason.replace(url.password, "***")
        return (
            f"cannot open the PostgreSQL store on host {url.host} port {url.port}, "
            f"database {url.database}: {reason}"
        )

    def close(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None

    def kept(self) -> None:
        """The first write committed: what it created stays."""
        self._created.clear()

    def discard_created(self) -> None:
        """The first write into a new store failed: leave nothing behind (no empty log)."""
        if not self._created:
            return
        self.close()
        events = self.location.events_path
        for path in (events, *(events.with_name(events.name + end) for end in ("-wal", "-shm"))):
            path.unlink(missing_ok=True)
        for folder in self._created[1:]:
            with contextlib.suppress(OSError):  # not empty: someone else put a file there
                folder.rmdir()
        self._created.clear()


class Clock:
    """Strictly increasing UTC timestamps for recorded_at within one process."""

    def __init__(self) -> None:
        self._last = datetime.min.replace(tzinfo=UTC)

    def now(self) -> datetime:
        now = datetime.now(UTC)
        if now <= self._last:
            now = self._last + timedelta(microseconds=1)
        self._last = now
        return now
