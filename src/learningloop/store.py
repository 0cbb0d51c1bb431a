"""The event store: eventsourcing's SQLite recorder in a store directory, a pydantic mapper.

Stored state is compact JSON of the event's fields plus `recorded_at`, so DuckDB can read it
directly. Topics are fixed strings (`learningloop:MeetingHeld`), never module paths.
"""

from __future__ import annotations

import binascii
import os
import sqlite3
from base64 import b64decode, b64encode
from collections.abc import Iterable, Iterator, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar

import orjson
from eventsourcing.application import Application
from eventsourcing.persistence import (
    Cipher,
    IntegrityError,
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

DEFAULT_STORE = "./learningloop-data"
EVENTS_FILE = "events.sqlite"
PROJECTIONS_FILE = "projections.duckdb"
LOCK_TIMEOUT_SECONDS = 60
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
        self._create_seal()
        self._check_cipher()

    def construct_env(self, name: str, env: EnvType | None = None) -> Environment:
        """Only our own settings: the user's environment never configures the store."""
        return Environment(name, {**type(self).env, **dict(env or {})})

    def construct_mapper(self) -> Mapper[str]:
        return EventMapper(transcoder=JsonTranscoder(), cipher=self.factory.cipher())

    def _check_cipher(self) -> None:
        """A store remembers whether it is encrypted, and refuses a missing or wrong key."""
        cipher = self.mapper.cipher
        with self._datastore().transaction(commit=True) as cursor:
            cursor.execute(
                f"create table if not exists {META_TABLE} (name text primary key, value text)"
            )
            cursor.execute(f"select value from {META_TABLE} where name = 'key_check'")
            row = cursor.fetchone()
            if row is None:
                check = b64encode(cipher.encrypt(KEY_CHECK)).decode() if cipher else ""
                cursor.execute(f"insert into {META_TABLE} values ('key_check', ?)", (check,))
                return
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

    def _create_seal(self) -> None:
        """The seal: last position, event count and log digest, kept beside the events."""
        with self._datastore().transaction(commit=True) as cursor:
            cursor.execute(
                f"create table if not exists {SEAL_TABLE} (id integer primary key check (id = 1),"
                " position integer not null, events integer not null, digest text not null)"
            )
            cursor.execute(f"insert or ignore into {SEAL_TABLE} values (1, 0, 0, ?)", (GENESIS,))

    def seal(self) -> Seal:
        with self._datastore().transaction(commit=False) as cursor:
            cursor.execute(f"select position, events, digest from {SEAL_TABLE}")
            position, events, digest = cursor.fetchone()
        return Seal(position, events, digest)

    def _datastore(self) -> Any:
        return self.recorder.datastore  # type: ignore[attr-defined]

    def stream(self, stream_id: str, after: int | None = None) -> list[Recorded]:
        """The recorded events of one stream (after a version), in version order."""
        return list(self.events.get(stream_id, gt=after))  # type: ignore[arg-type]

    def append(self, batches: Iterable[Sequence[Recorded]]) -> int:
        """Append every batch in ONE transaction: all of them are written, or none."""
        recorder: Any = self.recorder
        count, seal = 0, None
        try:
            with recorder.datastore.transaction(commit=True) as cursor:
                for batch in batches:
                    stored = [self.mapper.to_stored_event(recorded) for recorded in batch]
                    positions = recorder._insert_events(cursor, stored)
                    # Read the seal only once this transaction holds the write lock.
                    seal = seal or self._read_seal(cursor)
                    seal = seal.extended(zip(positions, batch, strict=True))
                    count += len(stored)
                if seal is not None:
                    cursor.execute(
                        f"update {SEAL_TABLE} set position = ?, events = ?, digest = ?",
                        (seal.position, seal.events, seal.digest),
                    )
        except IntegrityError as error:
            raise ConcurrentWriteError(
                "another writer appended to the same stream at the same time; "
                "nothing was written, run the command again"
            ) from error
        except OperationalError as error:
            raise StoreError(f"the event store is busy or unavailable: {error}") from error
        return count

    @staticmethod
    def _read_seal(cursor: Any) -> Seal:
        cursor.execute(f"select position, events, digest from {SEAL_TABLE}")
        position, events, digest = cursor.fetchone()
        return Seal(position, events, digest)

    def raw_pages(self, after: int, size: int) -> Iterator[list[tuple[int, str, int, bytes]]]:
        """(position, stream, version, stored bytes) after a position, in pages, fast.

        SQLite is read directly (memory-mapped, read-only) rather than through Notification
        objects: projection rebuilds are bound by this loop.
        """
        database = self.env.get("SQLITE_DBNAME")
        with closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True)) as con:
            con.execute("pragma mmap_size = 1073741824")
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

    def read_notifications(self, after: int, limit: int) -> Sequence[Notification]:
        """Raw stored events after a log position, for projections (large pages)."""
        return self.recorder.select_notifications(
            start=after, limit=limit, inclusive_of_start=False
        )

    def head_position(self) -> int:
        """The position of the last stored event (0 for an empty log)."""
        return self.recorder.max_notification_id() or 0


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


@dataclass(frozen=True)
class StoreLocation:
    """Where a store lives: a directory holding the SQLite log and the DuckDB projections."""

    directory: Path

    @classmethod
    def resolve(cls, store: str | os.PathLike[str] | None) -> StoreLocation:
        value = store if store is not None else os.environ.get("LEARNINGLOOP_STORE")
        return cls(Path(value or DEFAULT_STORE))

    @property
    def events_path(self) -> Path:
        return self.directory / EVENTS_FILE

    @property
    def projections_path(self) -> Path:
        return self.directory / PROJECTIONS_FILE

    def exists(self) -> bool:
        return self.events_path.exists()


class Store:
    """Opens the event log lazily: reading a store that does not exist creates nothing."""

    def __init__(self, location: StoreLocation, cipher_key: str | None = None) -> None:
        self.location = location
        self.cipher_key = check_cipher_key(cipher_key) if cipher_key else None
        self._log: EventLog | None = None

    def log(self, *, create: bool) -> EventLog | None:
        """The event log; created on first write, None when reading a store not yet created."""
        if self._log is None:
            if not self.location.exists():
                if not create:
                    return None
                self._create_directory()
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
                f"no store at {self.location.directory} (import events first, or give --store)"
            )
        return log

    def stream(self, stream_id: str, after: int | None = None) -> list[Recorded]:
        log = self.log(create=False)
        return [] if log is None else log.stream(stream_id, after)

    def _create_directory(self) -> None:
        directory = self.location.directory
        if directory.exists() and not directory.is_dir():
            raise StoreError(f"store {directory} exists and is not a directory")
        try:
            directory.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise StoreError(f"cannot create store {directory}: {error.strerror}") from error

    def _open_log(self) -> EventLog:
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
            raise StoreError(f"{self.location.directory}: {error}") from None
        except (PersistenceError, sqlite3.Error, OSError) as error:
            raise StoreError(
                f"cannot open event store {self.location.events_path}: {error}"
            ) from error

    def close(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None


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


@contextmanager
def opened(location: StoreLocation) -> Iterator[Store]:
    store = Store(location)
    try:
        yield store
    finally:
        store.close()
