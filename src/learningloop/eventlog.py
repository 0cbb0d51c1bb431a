"""The event log protocol, and what both backends share (eventsourcing's recorders).

`EventLog` is the whole protocol the rest of learningloop uses: append batches together with
the seal, read pages after a position, the head, a stored event's plaintext, the seal.
`SQLiteEventLog` (sqlite_log.py) and `PostgresEventLog` (postgres_log.py) implement its few
backend hooks; nothing outside those two modules asks which backend it holds.

Stored state is compact JSON of the event's fields plus `recorded_at`, so DuckDB can read it
directly (event_mapping.py maps events to stored events and back).
"""

from __future__ import annotations

import sqlite3
from base64 import b64decode, b64encode
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar, Self

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
)
from eventsourcing.utils import Environment, EnvType

from learningloop import recorder_calls
from learningloop.domain.chain import GENESIS, Seal
from learningloop.domain.recorded import Recorded
from learningloop.errors import ConcurrentWriteError, StoreError
from learningloop.event_mapping import EventMapper, JsonTranscoder
from learningloop.locations import StoreLocation

SEAL_TABLE = "learningloop_seal"
META_TABLE = "learningloop_meta"
KEY_CHECK = b"learningloop key check"
CIPHER_TOPIC = "eventsourcing.cryptography:AESCipher"
RawPage = list[tuple[int, str, int, bytes]]  # (position, stream, version, plaintext JSON)
StreamRow = tuple[str, int, int, str, bytes]  # (stream, position, version, topic, state)
Within = tuple[str | None, str | None]  # stream ids: from the first, up to before the second
# (stream, version) pairs per lookup query: 2 parameters each, under SQLite's old limit of 999.
_KEYS_PER_QUERY = 400


class EventLog(Application[str]):
    """The append-only log of every programme and experiment stream (one backend's)."""

    name = "learningloop"
    env: ClassVar[dict[str, str]] = {"ORIGINATOR_ID_TYPE": "text"}
    PARAMETER: ClassVar[str] = "?"  # the driver's placeholder for a query parameter

    def __init__(self, env: dict[str, str] | None = None) -> None:
        super().__init__(env)
        # What opening this log created for a first write, removed again if that write fails.
        self.created: list[Path] = []
        if self.env.get("CREATE_TABLE", "yes") != "no":
            self._create_seal()
        # Every opening checks the key, an existing log's too (only a probe for the tables
        # skips it: they may not exist yet).
        if self.env.get("CHECK_CIPHER", "yes") != "no":
            self._check_cipher()

    # --- opening (each backend) ----------------------------------------------------------

    @classmethod
    def open(cls, location: StoreLocation, cipher_key: str | None, *, create: bool) -> Self | None:
        """The log at `location`; None when reading (`create` false) a log that does not exist."""
        raise NotImplementedError

    @classmethod
    def _opened(cls, location: StoreLocation, env: dict[str, str], cipher_key: str | None) -> Self:
        if cipher_key:
            env |= {"CIPHER_TOPIC": CIPHER_TOPIC, "CIPHER_KEY": cipher_key}
        try:
            return cls(env=env)
        except StoreError as error:
            raise StoreError(f"{location.describe()}: {error}") from None
        except (PersistenceError, sqlite3.Error, OSError) as error:
            reason = str(error).strip().splitlines()[0] if str(error).strip() else ""
            raise StoreError(cls.cannot_open(location, reason or type(error).__name__)) from None

    @classmethod
    def cannot_open(cls, location: StoreLocation, reason: str) -> str:
        """The one line saying why the log at `location` cannot be opened."""
        raise NotImplementedError

    def discard_created(self) -> None:
        """The first write into a new log failed: remove what opening it created."""
        self.created.clear()

    # --- backend hooks --------------------------------------------------------------------

    def _insert(self, cursor: Any, stored: list[StoredEvent]) -> list[int]:
        """Insert stored events on the transaction's cursor; their log positions, in order."""
        raise NotImplementedError

    def _insert_recorded(self, cursor: Any, batch: Sequence[Recorded]) -> list[int]:
        """Insert recorded events as the mapper stores them; their log positions, in order."""
        return self._insert(cursor, [self.mapper.to_stored_event(recorded) for recorded in batch])

    def _table(self, name: str) -> str:
        return name

    def _has_table(self, cursor: Any, table: str) -> bool:
        raise NotImplementedError

    # --- the protocol ---------------------------------------------------------------------

    def construct_env(self, name: str, env: EnvType | None = None) -> Environment:
        """Only our own settings: the user's environment never configures the store."""
        return Environment(name, {**type(self).env, **dict(env or {})})

    def construct_mapper(self) -> Mapper[str]:
        return EventMapper(transcoder=JsonTranscoder(), cipher=self.factory.cipher())

    def seal(self) -> Seal:
        with self._datastore().transaction(commit=False) as cursor:
            return self._read_seal(cursor)

    def snapshot(self) -> tuple[Seal | None, int]:
        """The seal and the head position read by ONE statement, so they are consistent even
        while others write (the audit's snapshot). The seal is None when its row is missing;
        a seal table that is gone or holds garbage raises StoreError."""
        table, column = self._events_table()
        with self._datastore().transaction(commit=False) as cursor:
            try:
                self._execute(
                    cursor,
                    f"select (select max({column}) from {table}), s.position, s.events, s.digest "
                    f"from (select 1) as one left join {self._table(SEAL_TABLE)} as s on true",
                )
                row = _first_row(cursor)
            except Exception as error:  # a dropped or altered seal table: audit reports it
                raise StoreError(f"the seal cannot be read ({_first_line(error)})") from None
        assert row is not None, "the statement always returns one row"
        head, position, events, digest = row
        if position is None:
            return None, int(head or 0)
        try:
            return Seal(int(position), int(events), str(digest)), int(head or 0)
        except (TypeError, ValueError) as error:
            raise StoreError(f"the seal holds garbage ({error})") from None

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
                self._before_append(cursor)
                for batch in batches:
                    positions = self._insert_recorded(cursor, batch)
                    if seal is None:  # this transaction holds the write lock from here on
                        self._check_time_order(cursor, positions[0], batch[0])
                    # Read the seal only once this transaction holds the write lock.
                    seal = seal or self._read_seal(cursor)
                    seal = seal.extended(zip(positions, batch, strict=True))
                    count += len(batch)
                    self._appending(count)
                    if progress:
                        progress(len(batch))
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
        finally:
            self._after_append()
        return count

    def _before_append(self, cursor: Any) -> None:
        """Set up the transaction's connection for a long write (each backend may)."""

    def _appending(self, events: int) -> None:
        """`events` are inserted so far, not yet committed (a backend may act on a long write)."""

    def _after_append(self) -> None:
        """The append committed or rolled back."""

    def _check_time_order(self, cursor: Any, position: int, first: Recorded) -> None:
        """recorded_at never decreases along positions (CONTRACT 6.11): a writer stamped
        before another that committed first starts again with a later time."""
        table, column = self._events_table()
        self._execute(
            cursor,
            f"select state from {table} where {column} < ? order by {column} desc limit 1",
            (position,),
        )
        row = cursor.fetchone()
        if row is None:
            return
        state = row["state"] if isinstance(row, dict) else row[0]
        data = bytes(state)
        if self.mapper.cipher is not None:
            data = self.mapper.cipher.decrypt(data)
        previous = datetime.fromisoformat(orjson.loads(data)["recorded_at"])
        if first.timestamp < previous:
            raise ConcurrentWriteError(
                "another writer recorded later events first; nothing was written, run the "
                "command again (or check this machine's clock)"
            )

    def _events_table(self) -> tuple[str, str]:
        """The stored events' table and its position column."""
        return "stored_events", "rowid"

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

    def raw_pages(self, after: int, size: int) -> Iterator[RawPage]:
        """(position, stream, version, plaintext JSON) after a position, in pages."""
        for page in self.notification_pages(after, size):
            yield [(n.id, str(n.originator_id), n.originator_version, self._readable(n))
                   for n in page]  # fmt: skip

    def stream_rows(
        self, head: int, programmes: bool, size: int = 1_000, within: Within = (None, None)
    ) -> Iterator[list[StreamRow]]:
        """The stored events up to position `head` of the programme streams (or of the others
        from stream id `within[0]` to before `within[1]`, None: no bound), stream by stream,
        each in position order (not version order: the audit judges a stream as it was
        written); states still encrypted when the store is."""
        table, column = self._events_table()
        where, bounds = stream_filter(column, programmes, within)
        after = f"and (originator_id > ? or (originator_id = ? and {column} > ?))"
        order = f"order by originator_id, {column} limit {int(size)}"
        select = f"select originator_id, {column}, originator_version, topic, state from {table}"
        keyset: tuple[Any, ...] = ()
        while True:
            with self._datastore().transaction(commit=False) as cursor:
                self._execute(cursor, f"{select} where {where} {after if keyset else ''} "
                              f"{order}", (head, *bounds, *keyset))  # fmt: skip
                rows = [_row(row) for row in cursor.fetchall()]
            if not rows:
                return
            yield rows
            keyset = (rows[-1][0], rows[-1][0], rows[-1][1])

    def in_stream_order(self, streams: Sequence[str]) -> list[str]:
        """Stored stream ids (distinct) in the order the events table sorts and compares
        them: a PostgreSQL column's collation may not be Python's code-point order, and
        ranges of `stream_rows` are compared there."""
        unique = sorted(set(streams))
        if not unique:
            return []
        table, _ = self._events_table()
        with self._datastore().transaction(commit=False) as cursor:
            self._execute(cursor, f"select distinct originator_id from {table} where "
                          f"originator_id in ({', '.join(['?'] * len(unique))}) "
                          "order by originator_id", tuple(unique))  # fmt: skip
            return [str(_row(row)[0]) for row in cursor.fetchall()]

    def decrypted(self, state: bytes) -> bytes:
        """Stored bytes as plaintext (the same bytes when the store is not encrypted)."""
        cipher = self.mapper.cipher
        return cipher.decrypt(state) if cipher else state

    def positions(self, keys: Sequence[tuple[str, int]]) -> list[tuple[str, int, int]]:
        """(stream, version, position) of each stored event named by (stream, version), found
        through the events table's primary key: a catch-up locates the events a page retracts
        without scanning what it projected before. Keys not stored are left out."""
        table, position = self._events_table()
        found: list[tuple[str, int, int]] = []
        with self._datastore().transaction(commit=False) as cursor:
            for start in range(0, len(keys), _KEYS_PER_QUERY):
                chunk = keys[start : start + _KEYS_PER_QUERY]
                # a join from the keys: SQLite plans `(id, version) in (values ...)` as a scan
                self._execute(cursor, f"with k (stream, version) as (values "
                              f"{', '.join(['(?, ?)'] * len(chunk))}) select e.originator_id, "
                              f"e.originator_version, e.{position} from k join {table} as e on "
                              "e.originator_id = k.stream and e.originator_version = k.version",
                              tuple(value for key in chunk for value in key))  # fmt: skip
                found.extend((str(s), int(v), int(at)) for s, v, at in map(_row, cursor.fetchall()))
        return found

    def _readable(self, notification: Notification) -> bytes:
        try:
            return self.plaintext(notification)
        except Exception as error:  # corrupt bytes: the audit names them, reading stops
            raise StoreError(
                f"the event at position {notification.id} cannot be read ({error}); "
                "run learningloop audit"
            ) from None

    def has_stream(self, stream_id: str) -> bool:
        return bool(self.recorder.select_events(stream_id, limit=1))

    def head_position(self) -> int:
        """The position of the last stored event (0 for an empty log)."""
        return self.recorder.max_notification_id() or 0

    # --- shared internals -----------------------------------------------------------------

    def _datastore(self) -> Any:
        return recorder_calls.datastore(self.recorder)

    def _execute(self, cursor: Any, sql: str, parameters: tuple[Any, ...] = ()) -> None:
        cursor.execute(sql.replace("?", self.PARAMETER), parameters)

    def _has_tables(self, *tables: str) -> bool:
        with self._datastore().transaction(commit=False) as cursor:
            return all(self._has_table(cursor, table) for table in tables)

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

    def _read_seal(self, cursor: Any) -> Seal:
        self._execute(cursor, f"select position, events, digest from {self._table(SEAL_TABLE)}")
        row = _first_row(cursor)
        assert row is not None, "the seal row is created with the store"
        position, events, digest = row
        return Seal(int(position), int(events), str(digest))


def stream_filter(column: str, programmes: bool, within: Within) -> tuple[str, tuple[str, ...]]:
    """The condition on the stored events of `stream_rows`, and its parameters after head."""
    low, high = (None, None) if programmes else within
    where = (f"{column} <= ? and substr(originator_id, 1, 10) "
             f"{'=' if programmes else '<>'} 'programme:'"
             f"{'' if low is None else ' and originator_id >= ?'}"
             f"{'' if high is None else ' and originator_id < ?'}")  # fmt: skip
    return where, tuple(bound for bound in (low, high) if bound is not None)


def _first_row(cursor: Any) -> tuple[Any, ...] | None:
    """The next row as a tuple, from SQLite's rows or psycopg's dict rows."""
    row = cursor.fetchone()
    return None if row is None else _row(row)


def _opens(cipher: Cipher, stored_check: str) -> bool:
    try:
        return cipher.decrypt(b64decode(stored_check)) == KEY_CHECK
    except Exception:  # a wrong key fails authentication inside the cipher
        return False


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def _row(row: Any) -> tuple[Any, ...]:
    """A row as a tuple, from SQLite's rows or psycopg's dict rows."""
    return tuple(row.values()) if isinstance(row, dict) else tuple(row)
