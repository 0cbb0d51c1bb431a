"""DuckDB projections: catch up from the event log, rebuild, and answer read-only SQL.

`log_events` is the one materialised table: every stored event, inserted page by page, each
page in ONE DuckDB transaction with the tracking position, so a crash or a kill never loses or
doubles a row. Every contract table is a view over it (one `.sql` file each) that reads the
DuckDB variables `as_of` and `known_at`, so any DuckDB client gets the same answers.
"""

from __future__ import annotations

import hashlib
import os
import re
import select
import signal
import threading
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from queue import Queue
from threading import Event, Thread, Timer
from typing import Any

import duckdb
import orjson
import pyarrow as pa
import pyarrow.compute as pc

from learningloop import results
from learningloop.domain.events import DEFAULT_FUNCTIONS
from learningloop.domain.replay import STATUS_BY_DECISION
from learningloop.errors import (
    BadInputError,
    ProjectionsBehindWarning,
    QueryTimeoutError,
    StoreError,
)
from learningloop.eventlog import EventLog
from learningloop.sqlfiles import (
    INGEST_FILE,
    INTERNAL_SCHEMA,
    SqlFile,
    load_sql_files,
    public_columns,
)

PAGE_SIZE = 100_000
BATCH_ROWS = 20_000
LOCK_WAIT_SECONDS = 5.0
# The projection file is written in DuckDB 1.4's storage format, so that every DuckDB from 1.4
# on (Python, CLI, harlequin, dbt) opens it. A file whose header says a newer format (written
# by an earlier learningloop) is rebuilt in this one.
STORAGE_COMPATIBILITY = "v1.4.0"
OLDEST_READER = "1.4"
NEWEST_STORAGE_NUMBER = 67  # the header's version number that DuckDB 1.4 still reads
# The DuckDB this package writes and queries with (pyproject.toml declares the same range).
ENGINE_RANGE = ((2, 0, 1), (3, 0, 0))
EXPORT_DATABASE = "projections.duckdb"
# The domain's constants the SQL reads, as small tables made from the Python ones (their one
# source): name -> (column definitions, rows).
CONSTANT_TABLES: dict[str, tuple[str, list[tuple[Any, ...]]]] = {
    "default_functions": (
        "function varchar, label varchar, label_fr varchar, ordinal integer",
        [(f.key, f.label, f.label_fr, n) for n, f in enumerate(DEFAULT_FUNCTIONS, 1)],
    ),
    "decision_statuses": ("kind varchar, status varchar", sorted(STATUS_BY_DECISION.items())),
}
CONSTANTS_VERSION = hashlib.sha256(repr(CONSTANT_TABLES).encode()).hexdigest()[:16]
BATCH_SCHEMA = pa.schema(
    [("position", pa.int64()), ("stream", pa.string()), ("version", pa.int64()),
     ("state", pa.string())]
)  # fmt: skip
ALLOWED_STATEMENTS = {"SELECT", "EXPLAIN"}

Progress = Callable[[int], None]


@dataclass(frozen=True)
class WhatIf:
    """A what-if framework: its functions (key, label, label_fr, ordinal) and, for each
    programme function, the what-if function it counts for (source key, key)."""

    functions: list[tuple[str, str, str | None, int]]
    mapping: list[tuple[str, str]]


# The two macros a what-if framework replaces, for one read, in a transaction rolled back.
_WHAT_IF_MACROS = {
    "programme_functions": (
        "select programmes.programme, f.function, f.label, f.label_fr, f.ordinal "
        "from (select distinct programme from log_events where programme is not null) "
        "as programmes cross join {schema}.what_if_functions as f"
    ),
    "function_map": "select source_function, function from {schema}.what_if_map",
}


@contextmanager
def _what_if_applied(con: duckdb.DuckDBPyConnection, what_if: WhatIf) -> Iterator[None]:
    """Every projection answers as if the programmes' functions were `what_if`'s; DuckDB's
    catalog is transactional, so the rollback leaves the database as it was."""
    con.execute("begin transaction")
    try:
        con.execute(
            f"create table {INTERNAL_SCHEMA}.what_if_functions "
            "(function varchar, label varchar, label_fr varchar, ordinal integer)"
        )
        con.executemany(
            f"insert into {INTERNAL_SCHEMA}.what_if_functions values (?, ?, ?, ?)",
            what_if.functions,
        )
        con.execute(
            f"create table {INTERNAL_SCHEMA}.what_if_map "
            "(source_function varchar, function varchar)"
        )
        con.executemany(f"insert into {INTERNAL_SCHEMA}.what_if_map values (?, ?)",
                        what_if.mapping)  # fmt: skip
        for name, body in _WHAT_IF_MACROS.items():
            con.execute(
                f"create or replace macro {INTERNAL_SCHEMA}.{name}"
                f"(requested_as_of, requested_known_at) as table "
                + body.format(schema=INTERNAL_SCHEMA)
            )
        yield
    finally:
        con.execute("rollback")


@dataclass(frozen=True)
class QueryResult:
    """Rows of a read-only query as plain Python values."""

    columns: list[str]
    rows: list[tuple[Any, ...]]

    def records(self) -> list[dict[str, Any]]:
        return [dict(zip(self.columns, row, strict=True)) for row in self.rows]


class ProjectionError(StoreError):
    """Stored events that cannot be projected (corrupt or tampered): run `learningloop audit`."""


class Projector:
    """Keeps the DuckDB projection database of one store in step with its event log."""

    def __init__(
        self,
        database: Path,
        log: EventLog | None,
        memory_limit: str | None = None,
        what_if: WhatIf | None = None,
        *,
        fresh: bool = False,
        until: int | None = None,
    ) -> None:
        """`memory_limit`: how much DuckDB may use before spilling to disk (default: a share
        of the machine's memory, see results.memory_limit). `what_if`: a framework every read
        answers under, without writing anything (CONTRACT 6.9). `fresh`: refuse to answer from
        projections behind the log; `until`: project the log only up to this position (the
        audit's rebuild of a live file that is behind)."""
        self.database = database
        self.log = log
        self.what_if = what_if
        self.fresh = fresh
        self.until = until
        self.files = load_sql_files()
        self.memory_limit = results.memory_limit(memory_limit, _machine_memory())
        self.lag: Lag | None = None  # set when the last read answered from behind the log

    # --- writing ------------------------------------------------------------------------

    def catch_up(
        self, progress: Progress | None = None, *, rebuild: bool = False, patient: bool = True
    ) -> int:
        """Project every stored event not yet projected; return how many were added.

        `patient`: wait a little for readers holding the file (another learningloop command
        finishes in moments) before raising HeldReadOnly."""
        self._replace_if_unreadable_by_old_duckdb(patient)
        with self._connection(read_only=False, patient=patient) as con:
            self._ensure_schema(con, rebuild=rebuild)
            return self._ingest(con, progress)

    def _ingest(self, con: duckdb.DuckDBPyConnection, progress: Progress | None) -> int:
        if self.log is None:
            return 0
        ingest_sql = self._file(INGEST_FILE).sql
        added = 0
        for batch in _prefetched(self._batches(self._position(con))):
            if self.until is not None:
                batch = batch.filter(pc.less_equal(batch.column("position"), self.until))
                if batch.num_rows == 0:
                    break
            position = batch.column("position")[-1].as_py()
            self._append_page(con, ingest_sql, batch, position)
            added += batch.num_rows
            if progress:
                progress(batch.num_rows)
        return added

    def _batches(self, after: int) -> Iterator[pa.Table]:
        """Pages of stored events (plaintext JSON) as Arrow tables."""
        assert self.log is not None
        try:
            for rows in self.log.raw_pages(after, PAGE_SIZE):
                yield _arrow_page(rows)
        except StoreError as error:  # an unreadable event: projecting stops, the audit names it
            raise ProjectionError(str(error)) from None

    @staticmethod
    def _append_page(
        con: duckdb.DuckDBPyConnection, ingest_sql: str, batch: pa.Table, position: int
    ) -> None:
        """Rows and the new tracking position commit together, or not at all."""
        con.register("batch", batch)
        try:
            con.execute("begin transaction")
            con.execute("insert into log_events " + ingest_sql)
            con.execute("update projection_tracking set position = ?", [position])
            con.execute("commit")
        except duckdb.Error as error:
            _rollback(con)
            if _disk_full(error):
                raise StoreError(
                    f"the disk holding the projections is full ({_first_line(error)}): free "
                    "space and run the command again; nothing was lost, the projections catch "
                    f"up from position {Projector._position(con)}"
                ) from None
            raise ProjectionError(
                f"DuckDB {duckdb.__version__} could not project the stored events up to "
                f"position {position} ({_first_line(error)}); the log checks of learningloop "
                "audit say whether the stored events themselves are intact"
            ) from None
        except BaseException:
            _rollback(con)
            raise
        finally:
            con.unregister("batch")

    def _ensure_schema(self, con: duckdb.DuckDBPyConnection, *, rebuild: bool) -> None:
        """Create or migrate: a changed mapping rebuilds log_events; changed views are replaced.
        A rebuild starts from an empty database: nothing an analyst created or replaced
        (a forged view, a moved tracking position) survives it."""
        if rebuild:
            _drop_everything(con)
        con.execute(
            "create table if not exists projection_versions "
            "(projection varchar primary key, version varchar, applied_at timestamptz)"
        )
        con.execute("create table if not exists projection_tracking (position bigint)")
        versions = dict(
            con.execute("select projection, version from projection_versions").fetchall()
        )
        ingest = self._file(INGEST_FILE)
        if rebuild or versions.get(INGEST_FILE) != ingest.version:
            self._recreate_log_events(con, ingest)
        stale_views = [
            f for f in self.files if f.name != INGEST_FILE and versions.get(f.name) != f.version
        ]
        if stale_views or versions.get("constants") != CONSTANTS_VERSION:
            # Macros call each other: replace them all, in dependency order.
            self._install_constants(con)
            self._install_views(con)

    @staticmethod
    def _install_constants(con: duckdb.DuckDBPyConnection) -> None:
        for name, (columns, rows) in CONSTANT_TABLES.items():
            con.execute(f"create or replace table {name} ({columns})")
            placeholders = ", ".join("?" * len(rows[0]))
            con.executemany(f"insert into {name} values ({placeholders})", rows)
        con.execute(
            "insert or replace into projection_versions values ('constants', ?, now())",
            [CONSTANTS_VERSION],
        )

    def _install_views(self, con: duckdb.DuckDBPyConnection) -> None:
        """Each file X is one definition, the internal macro; `X_at(as_of, known_at)` and the
        view `X` (at the variables as_of and known_at) both answer through it, so a view and
        its macro cannot disagree."""
        con.execute(f"create schema if not exists {INTERNAL_SCHEMA}")
        views = [f for f in self.files if f.name != INGEST_FILE]
        for sql_file in views:
            con.execute(
                f"create or replace macro {INTERNAL_SCHEMA}.{sql_file.name}"
                f"(requested_as_of, requested_known_at) as table {sql_file.macro_body()}"
            )
        for sql_file in views:
            inner = f"{INTERNAL_SCHEMA}.{sql_file.name}"
            columns = [row[0] for row in con.execute(f"describe select * from {inner}(null, null)")
                       .fetchall()]  # fmt: skip
            con.execute(
                f"create or replace macro {sql_file.name}_at(as_of, known_at) as table "
                f"select {public_columns(columns)} from {inner}(as_of, known_at)"
            )
            con.execute(
                f"create or replace view {sql_file.name} as select * from "
                f"{sql_file.name}_at(getvariable('as_of'), getvariable('known_at'))"
            )
            self._record_version(con, sql_file)

    def _recreate_log_events(self, con: duckdb.DuckDBPyConnection, ingest: SqlFile) -> None:
        con.execute("begin transaction")
        con.register("batch", BATCH_SCHEMA.empty_table())
        con.execute("drop table if exists log_events cascade")
        con.execute("create table log_events as " + ingest.sql)
        con.unregister("batch")
        con.execute("delete from projection_tracking")
        con.execute("insert into projection_tracking values (0)")
        self._record_version(con, ingest)
        con.execute("commit")

    @staticmethod
    def _record_version(con: duckdb.DuckDBPyConnection, sql_file: SqlFile) -> None:
        con.execute(
            "insert or replace into projection_versions values (?, ?, now())",
            [sql_file.name, sql_file.version],
        )

    @staticmethod
    def _position(con: duckdb.DuckDBPyConnection) -> int:
        rows = con.execute("select position from projection_tracking").fetchall()
        return int(rows[0][0]) if rows else 0

    def _file(self, name: str) -> SqlFile:
        return next(f for f in self.files if f.name == name)

    # --- reading ------------------------------------------------------------------------

    def query(
        self,
        sql: str,
        parameters: Sequence[Any] = (),
        as_of: date | None = None,
        known_at: datetime | None = None,
        timeout: float | None = None,
    ) -> QueryResult:
        """Catch up, then run one read-only statement at (D, T) on the same connection."""
        return self.query_many({"query": sql}, as_of, known_at, parameters, timeout=timeout)[
            "query"
        ]

    def query_many(
        self,
        queries: dict[str, str],
        as_of: date | None,
        known_at: datetime | None,
        parameters: Sequence[Any] = (),
        variables: dict[str, Any] | None = None,
        timeout: float | None = None,
    ) -> dict[str, QueryResult]:
        """Several read-only queries at one (D, T) on one caught-up connection; `variables`
        (names chosen by the library, never by a user) are DuckDB variables they may read.

        (Materialising the counted events once into temporary tables was tried: at 10M events
        it spills to disk and is four times slower than letting each view compute them.)"""
        for sql in queries.values():
            _refuse_writes(sql)
        with self.reading() as con:
            _set_moment(con, as_of, known_at)
            for name, value in (variables or {}).items():
                con.execute(f"set variable {name} = ?", [value])
            with _rolled_back(con, inside_one=self.what_if is not None), _deadline(con, timeout):
                return {name: _run(con, sql, parameters) for name, sql in queries.items()}

    @contextmanager
    def streams(
        self,
        queries: dict[str, str],
        as_of: date | None,
        known_at: datetime | None,
        parameters: Sequence[Any] = (),
        timeout: float | None = None,
    ) -> Iterator[dict[str, results.RowStream]]:
        """Read-only queries at one (D, T) whose rows stream in Arrow batches while open;
        `timeout` bounds the whole block (the rows are computed while they are read)."""
        for sql in queries.values():
            _refuse_writes(sql)
        with self.reading() as con:
            _set_moment(con, as_of, known_at)
            with _rolled_back(con, inside_one=self.what_if is not None), _deadline(con, timeout):
                yield {name: results.open_stream(con, sql, list(parameters))
                       for name, sql in queries.items()}  # fmt: skip

    def export(
        self,
        tables: Sequence[str],
        directory: Path,
        as_of: date,
        known_at: datetime,
        file_format: str = "parquet",
    ) -> dict[str, Any]:
        """Write each table at (D, T): `<table>.parquet` files and a `load.sql` that makes them
        one database, or one self-contained `projections.duckdb` (DuckDB 1.4's format). Both
        carry `X_at` macros answering for that D and T only. Returns position and versions."""
        with self.reading(writes_files=True) as con:
            _set_moment(con, as_of, known_at)
            selects = {table: _exported_select(con, table) for table in tables}
            if file_format == "duckdb":
                _export_database(con, selects, directory / EXPORT_DATABASE, as_of, known_at)
            else:
                for table, select in selects.items():
                    target = _quoted(str(directory / f"{table}.parquet"))
                    con.execute(f"copy ({select}) to '{target}' (format parquet)")
                (directory / "load.sql").write_text(
                    _load_sql(list(tables), as_of, known_at), encoding="utf-8"
                )
            versions = con.execute("select projection, version from projection_versions")
            projection_versions = dict(versions.fetchall())
            return {"log_position": self._position(con), "projection_versions": projection_versions}

    def checksums(
        self,
        tables: Sequence[str],
        as_of: date,
        known_at: datetime,
        up_to: int | None = None,
    ) -> tuple[int, dict[str, str]]:
        """The log position projected, and one checksum per table at (D, T), independent of
        row order, in bounded memory: the row count and two sums of per-row hashes (no sort,
        nothing held whole). `up_to`: log_events only up to that position (an audit's
        snapshot)."""
        with self.reading() as con:
            _set_moment(con, as_of, known_at)
            return self._position(con), {
                table: self._checksum(con, table, up_to) for table in tables
            }

    @staticmethod
    def _checksum(con: duckdb.DuckDBPyConnection, table: str, up_to: int | None) -> str:
        where = (
            f" where position <= {int(up_to)}" if up_to is not None and table == INGEST_FILE else ""
        )
        row = con.execute(
            "select count(*), coalesce(sum(hash(row_text)::hugeint), 0), "
            "coalesce(sum(md5_number_lower(row_text)::hugeint), 0) "
            f"from (select t::varchar as row_text from {table} as t{where})"
        ).fetchall()[0]
        return hashlib.sha256(":".join(str(value) for value in row).encode()).hexdigest()

    # --- connections: every DuckDB connection learningloop opens is made here ------------

    @contextmanager
    def reading(self, *, writes_files: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        """A read-only connection on projections caught up with the log when possible.

        Current projections are read without the write lock. Behind, they are caught up under
        the write lock first. When another process holds the file read-only (harlequin, a
        notebook) they cannot be: the answer comes from what is projected, `self.lag` says how
        far behind (or, with `fresh`, a StoreError). `writes_files`: the statement may write
        files (export), else the connection reaches no file but its own."""
        self.lag = None
        if self.what_if is not None:
            with self._what_if_reading() as con:
                yield con
            return
        lag = self._lag_if_current_is_impossible()
        if lag is not None and self.fresh:
            raise StoreError(f"{lag.describe()}; without --fresh the command answers from what "
                             "is projected")  # fmt: skip
        self.lag = lag
        if lag is not None:
            warnings.warn(lag.describe(), ProjectionsBehindWarning, stacklevel=2)
        with self._connection(read_only=True, locked_down=not writes_files) as con:
            yield con

    @contextmanager
    def _what_if_reading(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A what-if framework is applied inside a transaction that is rolled back: that
        needs the write lock, taken after catching up."""
        self.catch_up(patient=False)
        with (
            self._connection(read_only=False, locked_down=True) as con,
            _what_if_applied(con, self.what_if),  # type: ignore[arg-type]
        ):
            yield con

    def _lag_if_current_is_impossible(self) -> Lag | None:
        """Catch up when behind; None when the projections are current, else how far behind."""
        if self.database.exists() and not self._is_behind():
            return None
        try:
            self.catch_up(patient=False)
            return None
        except HeldReadOnly as held:
            if not self.database.exists():
                raise
            return self._lag(held)

    def _is_behind(self) -> bool:
        if _storage_number(self.database) > NEWEST_STORAGE_NUMBER:
            return True
        with self._connection(read_only=True) as con:
            if not _has_schema(con):
                return True
            versions = dict(
                con.execute("select projection, version from projection_versions").fetchall()
            )
            if any(versions.get(f.name) != f.version for f in self.files):
                return True
            return self._position(con) < self._head()

    def _head(self) -> int:
        head = self.log.head_position() if self.log is not None else 0
        return head if self.until is None else min(head, self.until)

    def _lag(self, held: HeldReadOnly) -> Lag:
        with self._connection(read_only=True) as con:
            if not _has_schema(con):
                raise StoreError(
                    f"the projections in {self.database} were never built and {held.holder} "
                    "holds the file read-only: close it, run learningloop project, reopen it"
                ) from None
            projected = int(con.execute("select count(*) from log_events").fetchall()[0][0])
            position = self._position(con)
        events = self.log.seal().events if self.log is not None else projected
        return Lag(self.database, position, self._head(), events - projected, held.holder)

    @contextmanager
    def _connection(
        self, *, read_only: bool, locked_down: bool | None = None, patient: bool = True
    ) -> Iterator[duckdb.DuckDBPyConnection]:
        """`locked_down` (default: when read-only): the connection reaches no file but its own
        and the statements it runs cannot change its settings."""
        locked = read_only if locked_down is None else locked_down
        with _private_files(self._holds_secrets()):
            con = self._open(read_only, locked, patient)
            try:
                yield con
            except duckdb.OutOfMemoryException as error:
                raise results.memory_error(error) from None
            finally:
                con.close()

    def _holds_secrets(self) -> bool:
        """The projections of an encrypted store hold its events decrypted."""
        return self.log is not None and self.log.mapper.cipher is not None

    def _open(
        self, read_only: bool, locked_down: bool, patient: bool = True
    ) -> duckdb.DuckDBPyConnection:
        """Open the file with every setting in `config`, so that no setting of ours ever lands
        on a DuckDB instance someone else in this process uses. A read-write holder may be
        another learningloop catching up: wait a little for it; a read-only holder only when
        `patient`."""
        _check_engine()
        if not read_only:
            self.database.parent.mkdir(parents=True, exist_ok=True)
        config = _config(read_only, locked_down, self.memory_limit)
        deadline = time.monotonic() + LOCK_WAIT_SECONDS
        if self._holds_secrets() and self.database.exists():
            # A file made before the store was encrypted, or by an older version.
            self.database.chmod(self.database.stat().st_mode & 0o700)
        while True:
            try:
                con = duckdb.connect(str(self.database), read_only=read_only, config=config)
                return _settle(con, locked_down)
            except duckdb.ConnectionException as error:
                raise StoreError(_same_process_message(self.database, error)) from None
            except duckdb.IOException as error:
                if "lock" not in str(error).lower():
                    raise StoreError(f"cannot open {self.database}: {_first_line(error)}") from None
                holder = _holder(error)
                held_read_only = not read_only and self._readable_now()
                if held_read_only and (not patient or time.monotonic() > deadline):
                    raise HeldReadOnly(self.database, holder) from None
                if time.monotonic() > deadline:
                    raise StoreError(_held_for_writing_message(self.database, holder)) from None
                time.sleep(0.05)

    def _readable_now(self) -> bool:
        """Whether a read-only open succeeds: then the lock holder only reads."""
        try:
            config = _config(True, True, self.memory_limit)
            duckdb.connect(str(self.database), read_only=True, config=config).close()
            return True
        except duckdb.Error:
            return False

    def _replace_if_unreadable_by_old_duckdb(self, patient: bool) -> None:
        """A file in a storage format newer than DuckDB 1.4's (an earlier learningloop wrote
        it) is derived data: it is removed, under the write lock, and rebuilt from the log."""
        if _storage_number(self.database) <= NEWEST_STORAGE_NUMBER:
            return
        self._open(False, False, patient).close()  # nobody else holds it
        for path in (self.database, self.database.with_name(self.database.name + ".wal")):
            path.unlink(missing_ok=True)


@dataclass(frozen=True)
class Lag:
    """How far behind the log the projections answered, and why they could not catch up."""

    database: Path
    position: int
    head: int
    events: int
    holder: str

    def describe(self) -> str:
        if self.events == 0:
            return (
                f"the projection definitions in {self.database} are older than this "
                f"learningloop's: {self.holder} holds the file read-only, so learningloop "
                "cannot replace them"
            )
        return (
            f"the projections are behind the log (position {self.position} of {self.head}, "
            f"{self.events} event{'s' if self.events != 1 else ''} not projected): {self.holder} "
            f"holds {self.database} read-only, so learningloop cannot catch it up"
        )


class HeldReadOnly(StoreError):
    """Another process holds the projection file read-only: it cannot be written now."""

    def __init__(self, database: Path, holder: str) -> None:
        self.holder = holder
        super().__init__(
            f"{holder} holds the projection database {database} read-only, so it cannot be "
            "written now: close that session (reading commands still answer meanwhile) and run "
            "the command again"
        )


Config = dict[str, str | bool | int | float | list[str]]


def _config(read_only: bool, locked_down: bool, memory_limit: str) -> Config:
    """The settings of a learningloop connection, all given to connect(): a caller's DuckDB
    instance (another config) is never shared, so never altered."""
    # Bounded memory however long the log: DuckDB spills to disk past this.
    config: Config = {"memory_limit": memory_limit}
    if not read_only:
        config["storage_compatibility_version"] = STORAGE_COMPATIBILITY
    if locked_down:
        config["enable_external_access"] = False
    return config


def _settle(con: duckdb.DuckDBPyConnection, locked_down: bool) -> duckdb.DuckDBPyConnection:
    """The two settings connect() cannot take. The progress bar (on stdout, which is for data)
    is a session setting; the lock comes after it. The instance is ours alone: a connection
    of the caller's to the same file has another config, and connect() refuses to share."""
    con.execute("set enable_progress_bar = false")
    if locked_down:
        con.execute("set lock_configuration = true")
    return con


def _check_engine() -> None:
    found = tuple(int(part) for part in re.findall(r"\d+", duckdb.__version__)[:3])
    if not ENGINE_RANGE[0] <= found < ENGINE_RANGE[1]:
        raise StoreError(
            f"learningloop projects and queries with duckdb >=2.0.1,<3, and this Python has "
            f"duckdb {duckdb.__version__}: pip install 'duckdb>=2.0.1,<3'. (Any DuckDB from "
            f"{OLDEST_READER} on can read the projection file it writes.)"
        )


def _storage_number(database: Path) -> int:
    """The storage version number in a DuckDB file's header (0 when there is no file)."""
    try:
        with database.open("rb") as file:
            header = file.read(20)
    except FileNotFoundError:
        return 0
    if len(header) < 20 or header[8:12] != b"DUCK":
        return 0
    return int.from_bytes(header[12:20], "little")


def _has_schema(con: duckdb.DuckDBPyConnection) -> bool:
    found = con.execute(
        "select count(*) from duckdb_tables() where schema_name = 'main' "
        "and table_name in ('projection_versions', 'projection_tracking', 'log_events')"
    ).fetchall()
    return bool(found[0][0] == 3)


def _drop_everything(con: duckdb.DuckDBPyConnection) -> None:
    """Every schema, table, view, macro and sequence of the file, ours or not."""
    con.execute("begin transaction")
    for (schema,) in con.execute(
        "select schema_name from duckdb_schemas() where not internal "
        "and database_name = current_database() and schema_name <> 'main'"
    ).fetchall():
        con.execute(f'drop schema "{_ident(schema)}" cascade')
    objects = con.execute(
        "select 'view', view_name from duckdb_views() where not internal and not temporary "
        "and database_name = current_database() "
        "union all select 'table', table_name from duckdb_tables() where not temporary "
        "and database_name = current_database() "
        "union all select distinct case function_type when 'table_macro' then 'macro table' "
        "else 'macro' end, function_name from duckdb_functions() where not internal "
        "and function_type in ('macro', 'table_macro') and database_name = current_database() "
        "union all select 'sequence', sequence_name from duckdb_sequences() where not temporary "
        "and database_name = current_database()"
    ).fetchall()
    for kind, name in objects:
        con.execute(f'drop {kind} if exists main."{_ident(name)}" cascade')
    con.execute("commit")


def _ident(name: str) -> str:
    return name.replace('"', '""')


def _arrow_page(rows: list[tuple[int, str, int, bytes]]) -> pa.Table:
    """One page as an Arrow table in small record batches, so DuckDB parses them in parallel."""
    try:
        states = pa.array([row[3] for row in rows], pa.binary()).cast(pa.string())
    except (pa.ArrowInvalid, pa.ArrowTypeError) as error:
        raise ProjectionError(
            f"stored events between positions {rows[0][0]} and {rows[-1][0]} are not UTF-8 "
            f"JSON ({error}); run learningloop audit"
        ) from None
    table = pa.table(
        {
            "position": pa.array([row[0] for row in rows], pa.int64()),
            "stream": pa.array([row[1] for row in rows], pa.string()),
            "version": pa.array([row[2] for row in rows], pa.int64()),
            "state": states,
        }
    )
    return pa.Table.from_batches(table.to_batches(max_chunksize=BATCH_ROWS))


def _prefetched(pages: Iterator[pa.Table]) -> Iterator[pa.Table]:
    """Read the next page in a thread while DuckDB (which releases the GIL) ingests this one."""
    queue: Queue[pa.Table | BaseException | None] = Queue(maxsize=2)
    stop = Event()

    def produce() -> None:
        try:
            for page in pages:
                if stop.is_set():
                    return
                queue.put(page)
            queue.put(None)
        except BaseException as error:  # handed to the consumer, raised there
            queue.put(error)

    Thread(target=produce, daemon=True, name="learningloop-prefetch").start()
    try:
        while (item := queue.get()) is not None:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        while not queue.empty():  # unblock a producer waiting to put
            queue.get_nowait()


def _run(con: duckdb.DuckDBPyConnection, sql: str, parameters: Sequence[Any]) -> QueryResult:
    """One statement's rows as plain values; JSON columns as Python objects, not as text."""
    try:
        cursor = con.execute(sql, list(parameters))
        description = cursor.description or []
        rows = cursor.fetchall()
    except duckdb.InterruptException:
        raise
    except duckdb.Error as error:
        raise BadInputError(f"SQL error: {_first_line(error)}") from None
    json_columns = [i for i, column in enumerate(description) if str(column[1]) == "JSON"]
    if json_columns:
        rows = [_parsed(row, json_columns) for row in rows]
    # DuckDB gives TIMESTAMPTZ values in the client's time zone; learningloop answers in UTC
    zoned = [i for i, column in enumerate(description) if "TIME ZONE" in str(column[1])]
    if zoned:
        rows = [_in_utc(row, zoned) for row in rows]

    return QueryResult([column[0] for column in description], rows)


def _in_utc(row: tuple[Any, ...], columns: list[int]) -> tuple[Any, ...]:
    values = list(row)
    for index in columns:
        if isinstance(values[index], datetime):
            values[index] = values[index].astimezone(UTC)
    return tuple(values)


def _parsed(row: tuple[Any, ...], json_columns: list[int]) -> tuple[Any, ...]:
    values = list(row)
    for index in json_columns:
        if isinstance(values[index], str):
            values[index] = orjson.loads(values[index])
    return tuple(values)


def _exported_select(con: duckdb.DuckDBPyConnection, table: str) -> str:
    """The table's rows with JSON columns as UTF-8 text (Parquet readers see strings, not
    bytes); dates, timestamps and lists keep their types."""
    description = con.execute(f"select * from {table} limit 0").description or []
    as_text = [column[0] for column in description if str(column[1]) == "JSON"]
    if not as_text:
        return f"select * from {table}"
    replaced = ", ".join(f"{name}::varchar as {name}" for name in as_text)
    return f"select * replace ({replaced}) from {table}"


def _moment_check(as_of: date, known_at: datetime) -> str:
    """A scalar macro the exported X_at macros call: an export holds one D and T only."""
    d, t = as_of.isoformat(), known_at.astimezone(UTC).isoformat()
    return (
        "create or replace macro learningloop_export_moment(as_of, known_at) as case "
        f"when coalesce(as_of, date '{d}') = date '{d}' "
        f"and coalesce(known_at, timestamptz '{t}') = timestamptz '{t}' then true "
        f"else error('this export holds the tables at as_of {d}, known_at {t} only') end"
    )


def _export_macros(tables: Sequence[str], as_of: date, known_at: datetime) -> list[str]:
    return [_moment_check(as_of, known_at)] + [
        f"create or replace macro {table}_at(as_of, known_at) as table "
        f"select * from {table} where learningloop_export_moment(as_of, known_at)"
        for table in tables
    ]


def _load_sql(tables: list[str], as_of: date, known_at: datetime) -> str:
    """One `create view` per Parquet file and the X_at macros, for any DuckDB from 1.4."""
    header = (
        f"-- learningloop export: every table as of {as_of.isoformat()}, as known at "
        f"{known_at.astimezone(UTC).isoformat()}.\n"
        "-- Run from this directory: duckdb -init load.sql   (or: duckdb my.duckdb < load.sql)\n"
        "-- X_at(as_of, known_at) answers for that D and T only (NULL means them).\n"
    )
    views = [
        f"create or replace view {table} as select * from read_parquet('{table}.parquet')"
        for table in tables
    ]
    return header + "".join(f"{statement};\n" for statement in views
                            + _export_macros(tables, as_of, known_at))  # fmt: skip


def _export_database(
    con: duckdb.DuckDBPyConnection,
    selects: dict[str, str],
    path: Path,
    as_of: date,
    known_at: datetime,
) -> None:
    """A self-contained DuckDB file in DuckDB 1.4's format: tables, X_at macros, manifest."""
    for stale in (path, path.with_name(path.name + ".wal")):
        stale.unlink(missing_ok=True)
    home = con.execute("select current_database()").fetchall()[0][0]
    con.execute(
        f"attach '{_quoted(str(path))}' as learningloop_export "
        f"(read_only false, storage_version '{STORAGE_COMPATIBILITY}')"
    )
    try:
        for table, select in selects.items():
            con.execute(f"create table learningloop_export.main.{table} as {select}")
        con.execute(
            "create table learningloop_export.main.export_manifest as select "
            "?::date as as_of, ?::timestamptz as known_at, "
            "(select position from projection_tracking) as log_position",
            [as_of, known_at],
        )
        con.execute("use learningloop_export")
        for statement in _export_macros(list(selects), as_of, known_at):
            con.execute(statement)
    finally:
        con.execute(f'use "{home}"')
        con.execute("detach learningloop_export")


def _quoted(text: str) -> str:
    """Text inside a single-quoted SQL literal."""
    return text.replace("'", "''")


def _set_moment(
    con: duckdb.DuckDBPyConnection, as_of: date | None, known_at: datetime | None
) -> None:
    if as_of is not None:
        con.execute("set variable as_of = ?::date", [as_of])
    if known_at is not None:
        con.execute("set variable known_at = ?::timestamptz", [known_at])


def _refuse_writes(sql: str) -> None:
    kind = _statement_kind(sql)
    if kind == "EXPLAIN":
        # `explain analyze` RUNS its statement: only the explanation of a SELECT is read-only.
        explained = _EXPLAIN_PREFIX.sub("", sql, count=1)
        inner = _statement_kind(explained) if explained != sql else "EXPLAIN"
        if inner != "SELECT":
            raise BadInputError(
                f"the projections are read-only: explaining {_a(inner)} statement is refused "
                "(explain a SELECT)"
            )
    elif kind not in ALLOWED_STATEMENTS:
        raise BadInputError(
            f"the projections are read-only: {_a(kind)} statement is refused (use SELECT)"
        )


# `explain`, optionally `analyze`/`analyse` and an options list, after comments and blanks.
_EXPLAIN_PREFIX = re.compile(
    r"^(?:\s|--[^\n]*(?:\n|$)|/\*.*?\*/)*explain\s+(?:analy[sz]e\b\s*)?(?:\([^)]*\)\s*)?",
    re.IGNORECASE | re.DOTALL,
)


def _a(kind: str) -> str:
    return f"an {kind}" if kind[:1] in "AEIOU" else f"a {kind}"


def _statement_kind(sql: str) -> str:
    try:
        statements = duckdb.extract_statements(sql)
    except duckdb.Error as error:
        raise BadInputError(f"SQL error: {_first_line(error)}") from None
    if len(statements) != 1:
        raise BadInputError("give exactly one SQL statement")
    return str(statements[0].type.name)


def _rollback(con: duckdb.DuckDBPyConnection) -> None:
    """Roll back, unless the failure already ended the transaction (a commit that could not
    write its WAL, on a full disk)."""
    with suppress(duckdb.TransactionException):
        con.execute("rollback")


def _disk_full(error: BaseException) -> bool:
    return "no space left on device" in str(error).lower()


@contextmanager
def _private_files(private: bool) -> Iterator[None]:
    """Files DuckDB creates meanwhile (database, WAL, spill files) are readable by their owner
    only when `private`; otherwise they get what the user's umask gives, never more."""
    if not private:
        yield
        return
    previous = os.umask(0o077)
    os.umask(previous | 0o077)
    try:
        yield
    finally:
        os.umask(previous)


@contextmanager
def _rolled_back(con: duckdb.DuckDBPyConnection, *, inside_one: bool) -> Iterator[None]:
    """Whatever a user's statement might change is rolled back: the parser check is not the
    only guard. `inside_one`: a what-if read already runs in a transaction rolled back (a
    failed `begin` would poison it)."""
    if inside_one:
        yield
        return
    con.execute("begin transaction")
    try:
        yield
    finally:
        con.execute("rollback")


@contextmanager
def _deadline(con: duckdb.DuckDBPyConnection, timeout: float | None) -> Iterator[None]:
    """Interrupt the connection's statement after `timeout` seconds (from a timer thread, so
    it works whatever the statement and whoever reads its rows); Ctrl-C stays Ctrl-C."""
    timer = Timer(timeout, con.interrupt) if timeout else None
    if timer is not None:
        timer.daemon = True
        timer.start()
    try:
        with _interrupt_on_ctrl_c(con):
            yield
    except (duckdb.InterruptException, RuntimeError) as error:
        if timer is not None and timer.finished.is_set():
            raise QueryTimeoutError(
                f"the query was stopped after {timeout:g} s (--timeout); nothing was changed"
            ) from None
        if isinstance(error, duckdb.InterruptException) or _interrupted(error):
            raise KeyboardInterrupt from None
        raise
    finally:
        if timer is not None:
            timer.cancel()


@contextmanager
def _interrupt_on_ctrl_c(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """Ctrl-C reaches a running statement: Python only runs its SIGINT handler between
    bytecodes, never while DuckDB computes, so a thread woken by the signal (through
    signal.set_wakeup_fd) interrupts the connection."""
    if threading.current_thread() is not threading.main_thread():
        yield  # only the main thread receives signals
        return
    wake_read, wake_write = os.pipe()
    stop_read, stop_write = os.pipe()
    os.set_blocking(wake_write, False)
    previous = signal.set_wakeup_fd(wake_write)

    def watch() -> None:
        while True:
            ready, _, _ = select.select([wake_read, stop_read], [], [])
            if stop_read in ready:
                return
            if signal.SIGINT in os.read(wake_read, 64):
                con.interrupt()

    watcher = Thread(target=watch, daemon=True, name="learningloop-ctrl-c")
    watcher.start()
    try:
        yield
    finally:
        signal.set_wakeup_fd(previous)
        os.write(stop_write, b"x")
        watcher.join()
        for fd in (wake_read, wake_write, stop_read, stop_write):
            os.close(fd)


def _interrupted(error: BaseException) -> bool:
    """DuckDB turns a Ctrl-C during a statement into RuntimeError('Query interrupted')."""
    return isinstance(error, RuntimeError) and "interrupted" in str(error).lower()


def _holder(error: Exception) -> str:
    """`program (PID n)` from DuckDB's lock error, which names the holder."""
    found = re.search(r"held in (.*?) \(PID (\d+)\)", str(error))
    if not found:
        return "another process"
    return f"process {found.group(2)} ({Path(found.group(1)).name})"


def _held_for_writing_message(database: Path, holder: str) -> str:
    return (
        f"{holder} holds the projection database {database} open for writing, so nothing else "
        "can read it: close that session, or reopen the file there read-only "
        "(duckdb.connect(path, read_only=True), duckdb -readonly), and run the command again"
    )


def _same_process_message(database: Path, error: Exception) -> str:
    return (
        f"this process already has {database} open in DuckDB with other settings "
        f"({_first_line(error)}): close that connection before calling learningloop, or query "
        "it directly with the table macros (select * from experiments_at(null, null))"
    )


def _first_line(error: Exception) -> str:
    return str(error).strip().splitlines()[0]


def _machine_memory() -> int:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError):  # not POSIX: assume a small machine
        return 8 * 2**30
