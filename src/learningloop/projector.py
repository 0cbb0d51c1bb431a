"""DuckDB projections: catch up from the event log and rebuild (reading: projection_reading).

`log_events` (every stored event) and the staging tables `stg_*` (one narrow table per event
kind, each row's `retracted_at` kept up to date) are the materialised tables, filled page by
page, each page in ONE DuckDB transaction with the tracking position, so a crash or a kill
never loses or doubles a row. Every contract table is a view over them (one `.sql` file each)
that reads the DuckDB variables `as_of` and `known_at`, so any DuckDB client gets the same
answers.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from datetime import date, datetime
from pathlib import Path
from queue import Queue
from threading import Event, Thread

import duckdb
import pyarrow as pa

from learningloop import projection_quality, results
from learningloop.duckdb_file import DuckDBFile, machine_memory

# The catch-up and checksum code below keeps its names while others rework it.
from learningloop.duckdb_file import first_line as _first_line
from learningloop.duckdb_lease import Lease
from learningloop.errors import StoreError
from learningloop.eventlog import EventLog
from learningloop.projection_checks import checksum, fingerprint, ident
from learningloop.projection_constants import CONSTANT_TABLES, CONSTANTS_VERSION
from learningloop.projection_pages import append_page, create_tables
from learningloop.projection_reading import Progress, ProjectionReading
from learningloop.projection_what_if import WhatIf
from learningloop.querying import set_moment as _set_moment
from learningloop.sqlfiles import (
    INGEST_FILE,
    INTERNAL_SCHEMA,
    SqlFile,
    is_table,
    load_sql_files,
    public_columns,
)

PAGE_SIZE = 100_000
BATCH_ROWS = 20_000


BATCH_SCHEMA = pa.schema(
    [("position", pa.int64()), ("stream", pa.string()), ("version", pa.int64()),
     ("state", pa.string())]
)  # fmt: skip


class ProjectionError(StoreError):
    """Stored events that cannot be projected (corrupt or tampered): run `learningloop audit`."""


class Projector(ProjectionReading):
    """Keeps the DuckDB projection database of one store in step with its event log; its
    read path (query, streams, export, the connections) is `ProjectionReading`."""

    def __init__(
        self,
        database: Path,
        log: EventLog | None,
        memory_limit: str | None = None,
        what_if: WhatIf | None = None,
        *,
        fresh: bool = False,
        until: int | None = None,
        lease: Lease | None = None,
    ) -> None:
        """`memory_limit`: how much DuckDB may use before spilling to disk (default: a share
        of the machine's memory, see results.memory_limit). `what_if`: a framework every read
        answers under, without writing anything (CONTRACT 6.9). `fresh`: refuse to answer from
        projections behind the log; `until`: project the log only up to this position (the
        audit's rebuild of a live file that is behind); `lease`: the connection a long-lived
        LearningLoop keeps between its `sql` calls (duckdb_lease)."""
        self.database = database
        self.log = log
        self.what_if = what_if
        self.fresh = fresh
        self.until = until
        self.lease = lease
        self.projected, self.prefetch = 0, True  # see _ingest
        self.files = load_sql_files()
        self.memory_limit = results.memory_limit(memory_limit, machine_memory())
        # The projections of an encrypted store hold its events decrypted.
        private = log is not None and log.mapper.cipher is not None
        self.duckdb_file = DuckDBFile(database, self.memory_limit, private=private)
        self.lag = None  # set when the last read answered from behind the log

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

    def _ingest(
        self, con: duckdb.DuckDBPyConnection, progress: Progress | None, after: int | None = None
    ) -> int:
        """Project the events past `after` (default: the file's position; a kept connection
        knows it) and return how many; `self.projected` is then the file's position. With
        `self.prefetch`, the next page is read in a thread while DuckDB ingests one."""
        if after is None:
            after = self._position(con)
        self.projected = after
        if self.log is None:
            return 0
        tables = [f for f in self.files if is_table(f.name)]
        added = 0
        pages = self._batches(after)  # read ahead: worth it for many pages, not a record's
        for batch in _prefetched(pages) if self.prefetch else pages:
            if self.until is not None:
                # only an audit's rebuild stops short; `sql` does not pay for pyarrow.compute
                import pyarrow.compute as pc

                batch = batch.filter(pc.less_equal(batch.column("position"), self.until))
                if batch.num_rows == 0:
                    break
            position = batch.column("position")[-1].as_py()
            self._append_page(con, tables, batch, (after, position))
            after = self.projected = position
            added += batch.num_rows
            if progress:
                progress(batch.num_rows)
        return added

    def _batches(self, after: int) -> Iterator[pa.Table]:
        """Pages of stored events (plaintext JSON) as Arrow tables, read BATCH_ROWS at a time:
        a whole page of Python rows raised resident memory by ~100 MB at 10M events (programme
        shape), its Arrow table by 35 MB."""
        assert self.log is not None
        parts: list[pa.Table] = []
        try:
            for rows in self.log.raw_pages(after, min(BATCH_ROWS, PAGE_SIZE)):
                parts.append(_arrow_page(rows))
                if sum(part.num_rows for part in parts) >= PAGE_SIZE:
                    yield pa.concat_tables(parts)
                    parts = []
        except StoreError as error:  # an unreadable event: projecting stops, the audit names it
            raise ProjectionError(str(error)) from None
        if parts:
            yield pa.concat_tables(parts)

    def _append_page(
        self,
        con: duckdb.DuckDBPyConnection,
        tables: list[SqlFile],
        batch: pa.Table,
        positions: tuple[int, int],
    ) -> None:
        """Rows of log_events and of the staging tables, the retractions the page records and
        the new tracking position commit together, or not at all."""
        assert self.log is not None
        after, position = positions
        con.register("batch", batch)
        try:
            con.execute("begin transaction")
            append_page(con, tables, self.log.positions, after)
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
        tables = [f for f in self.files if is_table(f.name)]
        if rebuild or any(versions.get(f.name) != f.version for f in tables):
            self._recreate_log_events(con, tables)
        stale_views = [
            f for f in self.files if not is_table(f.name) and versions.get(f.name) != f.version
        ]
        if stale_views or versions.get("constants") != CONSTANTS_VERSION:
            # Macros call each other: replace them all, in dependency order, in one
            # transaction: one commit instead of ~70 (a new store's install in about half
            # the time), and a kill leaves the previous definitions whole for the next run.
            con.execute("begin transaction")
            try:
                self._install_constants(con)
                self._install_views(con)
                con.execute("commit")
            except BaseException:
                _rollback(con)
                raise

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
        views = [f for f in self.files if not is_table(f.name)]
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

    def _recreate_log_events(self, con: duckdb.DuckDBPyConnection, tables: list[SqlFile]) -> None:
        """log_events and the staging tables, empty, projected from position 0: a change to
        any of their files (or to the mapping) rebuilds them all, as they stand together."""
        con.execute("begin transaction")
        con.register("batch", BATCH_SCHEMA.empty_table())
        create_tables(con, tables)
        for sql_file in tables:
            self._record_version(con, sql_file)
        con.unregister("batch")
        con.execute("delete from projection_tracking")
        con.execute("insert into projection_tracking values (0)")
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

    def checksums(
        self,
        tables: Sequence[str],
        as_of: date,
        known_at: datetime,
        up_to: int | None = None,
    ) -> tuple[int, dict[str, str]]:
        """The log position projected, and one checksum per table or view at (D, T),
        independent of row order, in bounded memory: the row count and two sums of per-row
        hashes (no sort, nothing held whole). `up_to`: rows of log_events only up to that
        position (an audit's snapshot)."""
        with self.reading() as con:
            _set_moment(con, as_of, known_at)
            return self._position(con), {
                table: checksum(con, table, up_to if table == INGEST_FILE else None)
                for table in tables
            }

    def fingerprint(self, up_to: int | None = None) -> tuple[int, dict[str, str]]:
        """The log position projected, and what decides every answer of the file: a checksum
        of each stored table (its rows up to log position `up_to` where it has positions) and
        the text of each view and macro. Two files with equal fingerprints answer every query
        alike at every (D, T), and no view runs to tell: it costs one scan of the tables."""
        with self.reading() as con:
            return self._position(con), fingerprint(con, up_to)

    @contextmanager
    def data_quality(
        self, as_of: date, known_at: datetime, backfill_days: int, checks: Sequence[str]
    ) -> Iterator[projection_quality.Staged]:
        """The audit's data quality at (D, T) in bounded memory (projection_quality): the
        backfill batches, then the warnings of `checks`, to read in that order."""
        with self._guarded({}, (as_of, known_at), None, parse=False) as con:
            yield projection_quality.staged(con, backfill_days, checks)


def _drop_everything(con: duckdb.DuckDBPyConnection) -> None:
    """Every schema, table, view, macro and sequence of the file, ours or not."""
    con.execute("begin transaction")
    for (schema,) in con.execute(
        "select schema_name from duckdb_schemas() where not internal "
        "and database_name = current_database() and schema_name <> 'main'"
    ).fetchall():
        con.execute(f'drop schema "{ident(schema)}" cascade')
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
        con.execute(f'drop {kind} if exists main."{ident(name)}" cascade')
    con.execute("commit")


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


def _rollback(con: duckdb.DuckDBPyConnection) -> None:
    """Roll back, unless the failure already ended the transaction (a commit that could not
    write its WAL, on a full disk)."""
    with suppress(duckdb.TransactionException):
        con.execute("rollback")


def _disk_full(error: BaseException) -> bool:
    return "no space left on device" in str(error).lower()
