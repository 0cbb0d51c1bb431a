"""The read path of the projections: answer from a caught-up file, or say how far behind.

`ProjectionReading` is the half of the `Projector` that reads: it catches up first when it
can (the subclass's `catch_up`), reads current projections without the write lock, and when
another process holds the file read-only answers from what is projected, with a `Lag`. A
what-if framework is applied for one read in a transaction rolled back.
"""

from __future__ import annotations

import contextlib
import warnings
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb

from learningloop import results
from learningloop.duckdb_file import (
    BEFORE_OPEN,
    NEWEST_STORAGE_NUMBER,
    DuckDBFile,
    HeldReadOnly,
    Lag,
    has_schema,
    storage_number,
)
from learningloop.duckdb_lease import Lease
from learningloop.errors import ProjectionsBehindWarning, StoreError
from learningloop.eventlog import EventLog
from learningloop.projection_what_if import WhatIf, what_if_applied
from learningloop.querying import (
    QueryResult,
    at_moment,
    deadline,
    read_only,
    refuse_writes,
    rolled_back,
    run,
    set_moment,
)
from learningloop.sqlfiles import SqlFile

# change_rows, exporting and the indicator caches are imported by the reads that use them:
# `sql`, `replay` and the other reads load none of them (nor compile them, without bytecode).
if TYPE_CHECKING:
    from learningloop.change_rows import ChangeRow

Progress = Callable[[int], None]


# The log position each projection file was last seen projected to, in this process: a hint
# only (another process may catch a file up meanwhile), never trusted to skip a catch-up.
_SEEN_PROJECTED: dict[Path, int] = {}


def _leasable(database: Path) -> bool:
    """A kept connection serves a file that exists in the format this DuckDB writes; the
    usual path makes, replaces or rebuilds any other first."""
    return database.exists() and storage_number(database) <= NEWEST_STORAGE_NUMBER


class ProjectionReading(ABC):
    """Read-only answers from the projection file, caught up with the log when possible."""

    database: Path
    log: EventLog | None
    what_if: WhatIf | None
    fresh: bool
    until: int | None
    files: list[SqlFile]
    duckdb_file: DuckDBFile
    lag: Lag | None
    lease: Lease | None
    prefetch: bool
    projected: int

    @abstractmethod
    def catch_up(
        self, progress: Progress | None = None, *, rebuild: bool = False, patient: bool = True
    ) -> int:
        """Project every stored event not yet projected; return how many were added."""

    @staticmethod
    @abstractmethod
    def _position(con: duckdb.DuckDBPyConnection) -> int:
        """The log position projected."""

    @abstractmethod
    def _ensure_schema(self, con: duckdb.DuckDBPyConnection, *, rebuild: bool) -> None:
        """Create or migrate the tables, views and macros."""

    @abstractmethod
    def _ingest(
        self, con: duckdb.DuckDBPyConnection, progress: Progress | None, after: int | None = None
    ) -> int:
        """Project, on `con`, every stored event past `after` (default: its position)."""

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
        moment = (as_of, known_at)
        lease = self.lease if self.what_if is None and self.until is None else None
        if lease is None:
            with self._guarded(queries, moment, timeout, variables) as con:
                return {name: run(con, sql, parameters) for name, sql in queries.items()}
        for sql in queries.values():
            refuse_writes(sql)  # before anything is caught up, as on the usual path
        definitions = [(f.name, f.version) for f in self.files]
        with lease.connection(
            self.duckdb_file, self._prepare_lease, definitions, self._worth_a_lease
        ) as leased:
            if leased is None:  # not kept (yet): the usual path
                with self._guarded(queries, moment, timeout, variables, parse=False) as con:
                    return {name: run(con, sql, parameters) for name, sql in queries.items()}
            self._catch_up_on(leased, lease)
            with at_moment(leased, moment, variables), read_only(leased), deadline(leased, timeout):
                return {name: run(leased, sql, parameters) for name, sql in queries.items()}

    @contextmanager
    def streams(
        self,
        queries: dict[str, str],
        as_of: date | None,
        known_at: datetime | None,
        timeout: float | None = None,
        *,
        parameters: Sequence[Any] = (),
    ) -> Iterator[dict[str, results.RowStream]]:
        """Read-only queries at one (D, T) whose rows stream in Arrow batches while open;
        `timeout` bounds the whole block (the rows are computed while they are read)."""
        moment = (as_of, known_at)
        with self._guarded(queries, moment, timeout) as con:
            yield {name: results.open_stream(con, sql, list(parameters))
                   for name, sql in queries.items()}  # fmt: skip

    @contextmanager
    def changes(
        self, tables: Sequence[str], as_of: date, since: datetime, until: datetime
    ) -> Iterator[Iterator[ChangeRow]]:
        """The rows of `changes` between T1 and T2 at D, read while the block runs."""
        from learningloop import change_rows

        with self._guarded({}, (None, None), None, parse=False) as con:
            yield change_rows.changed_rows(con, tables, (as_of, since, until))

    @contextmanager
    def cached_streams(
        self,
        queries: dict[str, str],
        as_of: date | None,
        known_at: datetime | None,
        *,
        warm: bool = False,
    ) -> Iterator[dict[str, results.RowStream]]:
        """`streams` of the library's own queries, answered from the exact result cache beside
        the file when it holds them (see indicator_cache): the key is read on the very
        connection, in the very transaction, that would compute them. `warm`: the queries
        of `indicators --format csv`, whose answer indicator_warm then notes when the file
        did not change while it was read."""
        from learningloop import indicator_cache, indicator_warm

        before = self._warm_fingerprint() if warm and self.what_if is None else None
        found_warm: dict[str, Any] = {}
        directory = indicator_cache.directory_of(self.database)
        with self._guarded(queries, (as_of, known_at), None, parse=False) as con:
            context = {
                "database": str(self.database.absolute()),
                "position": self._position(con),
                "framework": repr(self.what_if),
            }
            with indicator_cache.cached_streams(
                con, queries, context, directory=directory, private=self.duckdb_file.private,
                warm=found_warm if before else None,
            ) as found:  # fmt: skip
                yield found
        if before and found_warm and self._warm_fingerprint() == before:
            found_warm.update(fingerprint=before, database=context["database"],
                              position=context["position"])  # fmt: skip
            indicator_warm.note(directory, found_warm.pop("rendition"), found_warm,
                                private=self.duckdb_file.private)  # fmt: skip

    def _warm_fingerprint(self) -> str | None:
        from learningloop import indicator_warm

        return indicator_warm.fingerprint(self.database, BEFORE_OPEN)

    @contextmanager
    def _guarded(
        self,
        queries: dict[str, str],
        moment: tuple[date | None, datetime | None],
        timeout: float | None,
        variables: dict[str, Any] | None = None,
        *,
        parse: bool = True,
    ) -> Iterator[duckdb.DuckDBPyConnection]:
        """A caught-up connection at (D, T) for read-only statements only, rolled back and
        under the deadline. Each of `queries` is parsed first and refused unless it reads: a
        user's statement fails before anything is caught up. The library's own queries (fixed
        texts, `parse` false) skip that parse, which costs a DuckDB instance of its own
        (~0.1 s a process); the connection is read-only and rolled back all the same."""
        for sql in queries.values() if parse else ():
            refuse_writes(sql)
        with self.reading() as con:
            set_moment(con, *moment)
            for name, value in (variables or {}).items():
                con.execute(f"set variable {name} = ?", [value])
            with rolled_back(con, inside_one=self.what_if is not None), deadline(con, timeout):
                yield con

    def _worth_a_lease(self) -> bool:
        """A lease is taken for a log that grew since this process last saw the file projected
        (a `record` then a `sql`, the case it serves), and a file this DuckDB writes. Reading
        alone never takes the write lock: other processes read beside it as before."""
        if not _leasable(self.database):
            return False
        head = self._head()
        return head > _SEEN_PROJECTED.get(self.database, head)

    def _prepare_lease(self, con: duckdb.DuckDBPyConnection) -> None:
        """A kept connection holds the write lock: the definitions are checked once, when it
        opens, as nothing else can change them while it is held."""
        self._ensure_schema(con, rebuild=False)

    def _catch_up_on(self, con: duckdb.DuckDBPyConnection, lease: Lease) -> None:
        """Project what the log holds past the kept connection's position, on it: the lease
        remembers that position, as nothing else writes the file while it is held."""
        position = lease.position if lease.position is not None else self._position(con)
        if position < self._head():
            self.prefetch = False
            self._ingest(con, None, position)
            position = self.projected
        lease.position = _SEEN_PROJECTED[self.database] = position

    def export(
        self,
        tables: Sequence[str],
        directory: Path,
        as_of: date,
        known_at: datetime,
        file_format: str = "parquet",
    ) -> dict[str, Any]:
        """Write each table at (D, T) (see exporting.write_tables); returns the log position
        and the projection versions exported."""
        from learningloop import exporting

        with self.reading(writes_files=True) as con:
            set_moment(con, as_of, known_at)
            exporting.write_tables(con, tables, directory, (as_of, known_at), file_format)
            versions = con.execute("select projection, version from projection_versions")
            projection_versions = dict(versions.fetchall())
            return {"log_position": self._position(con), "projection_versions": projection_versions}

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
        locked_down = not writes_files
        with contextlib.ExitStack() as stack:
            current = self._current_connection(stack, locked_down)
            yield current if current is not None else self._caught_up_connection(stack, locked_down)

    def _caught_up_connection(
        self, stack: contextlib.ExitStack[bool | None], locked_down: bool
    ) -> duckdb.DuckDBPyConnection:
        """A read-only connection (closed by `stack`) after catching up, or on what is
        projected when another process keeps the file from being caught up."""
        lag = self._lag_if_current_is_impossible()
        if lag is not None and self.fresh:
            raise StoreError(f"{lag.describe()}; without --fresh the command answers from what "
                             "is projected")  # fmt: skip
        self.lag = lag
        if lag is not None:
            warnings.warn(lag.describe(), ProjectionsBehindWarning, stacklevel=3)
        return stack.enter_context(self._connection(read_only=True, locked_down=locked_down))

    @contextmanager
    def _what_if_reading(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A what-if framework is applied inside a transaction that is rolled back: that
        needs the write lock, taken after catching up."""
        self.catch_up(patient=False)
        with (
            self._connection(read_only=False, locked_down=True) as con,
            what_if_applied(con, self.what_if),  # type: ignore[arg-type]
        ):
            yield con

    def _current_connection(
        self, stack: contextlib.ExitStack[bool | None], locked_down: bool
    ) -> duckdb.DuckDBPyConnection | None:
        """A read-only connection (closed by `stack`) when the projections are current, else
        None, with nothing left open. The connection that finds them current is the one the
        query runs on: a DuckDB instance costs ~30 ms of CPU to open and close.

        A log that grew past the position last seen projected in this process (a `record`
        then a `sql`) is caught up without first opening the file to ask whether it is behind."""
        head = self._head()
        if (
            not self.database.exists()
            or head > _SEEN_PROJECTED.get(self.database, head)
            or storage_number(self.database) > NEWEST_STORAGE_NUMBER
        ):
            return None
        with contextlib.ExitStack() as probe:
            con = probe.enter_context(self._connection(read_only=True, locked_down=locked_down))
            if self._behind(con, head):
                return None
            stack.enter_context(probe.pop_all())
            return con

    def _lag_if_current_is_impossible(self) -> Lag | None:
        """Catch up (the projections are behind, or were never looked at); None when they are
        current then, else how far behind."""
        head = self._head()
        grew = head > _SEEN_PROJECTED.get(self.database, head)
        try:
            self.catch_up(patient=False)
            _SEEN_PROJECTED[self.database] = head
            return None
        except HeldReadOnly as held:
            if not self.database.exists():
                raise
            if grew and not self._is_behind():  # another process caught it up meanwhile
                return None
            return self._lag(held)

    def _is_behind(self) -> bool:
        if storage_number(self.database) > NEWEST_STORAGE_NUMBER:
            return True
        with self._connection(read_only=True) as con:
            return self._behind(con, self._head())

    def _behind(self, con: duckdb.DuckDBPyConnection, head: int) -> bool:
        """Whether `con`'s file lacks the schema, has other projection definitions than
        this learningloop's, or is projected short of `head`."""
        if not has_schema(con):
            return True
        versions = dict(con.execute("select projection, version from projection_versions")
                        .fetchall())  # fmt: skip
        if any(versions.get(f.name) != f.version for f in self.files):
            return True
        position = self._position(con)
        _SEEN_PROJECTED[self.database] = position
        return position < head

    def _head(self) -> int:
        head = self.log.head_position() if self.log is not None else 0
        return head if self.until is None else min(head, self.until)

    def _lag(self, held: HeldReadOnly) -> Lag:
        with self._connection(read_only=True) as con:
            if not has_schema(con):
                raise StoreError(
                    f"the projections in {self.database} were never built and {held.holder} "
                    "holds the file read-only: close it, run learningloop project, reopen it"
                ) from None
            projected = int(con.execute("select count(*) from log_events").fetchall()[0][0])
            position = self._position(con)
        events = self.log.seal().events if self.log is not None else projected
        return Lag(self.database, position, self._head(), events - projected, held.holder)

    def _connection(
        self, *, read_only: bool, locked_down: bool | None = None, patient: bool = True
    ) -> contextlib.AbstractContextManager[duckdb.DuckDBPyConnection]:
        return self.duckdb_file.connection(
            read_only=read_only, locked_down=locked_down, patient=patient
        )

    def _replace_if_unreadable_by_old_duckdb(self, patient: bool) -> None:
        self.duckdb_file.replace_if_unreadable_by_old_duckdb(patient)
