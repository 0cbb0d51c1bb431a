"""The DuckDB projection file: every connection learningloop opens is made here.

Opening sets every setting in connect() (a caller's own DuckDB instance is never shared, so
never altered), waits a little for a learningloop that holds the write lock, names any other
holder, keeps the file private when it holds an encrypted store's events, and keeps it in
DuckDB 1.4's storage format so that every DuckDB from 1.4 on can read it.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from learningloop import results
from learningloop.duckdb_settings import ENGINE_RANGE as ENGINE_RANGE
from learningloop.duckdb_settings import NEWEST_STORAGE_NUMBER as NEWEST_STORAGE_NUMBER
from learningloop.duckdb_settings import OLDEST_READER as OLDEST_READER
from learningloop.duckdb_settings import STORAGE_COMPATIBILITY as STORAGE_COMPATIBILITY
from learningloop.duckdb_settings import (
    config,
    header_storage_number,
    in_range,
    settle,
)
from learningloop.duckdb_settings import machine_memory as machine_memory
from learningloop.errors import StoreError

LOCK_WAIT_SECONDS = 5.0
# Called with a file's absolute path before this process opens it: a connection this process
# keeps on it (duckdb_lease) is closed first, as DuckDB allows one instance of a file a process.
BEFORE_OPEN: list[Callable[[Path], Any]] = []


class DuckDBFile:
    """The projection database file: opened read-only or for writing, never shared."""

    def __init__(self, database: Path, memory_limit: str, *, private: bool) -> None:
        """`private`: the file holds an encrypted store's events decrypted, so it and every
        file DuckDB makes beside it are readable by their owner only."""
        self.database = database
        self.memory_limit = memory_limit
        self.private = private
        self._open: list[duckdb.DuckDBPyConnection] = []  # what interrupt() stops

    @contextmanager
    def connection(
        self, *, read_only: bool, locked_down: bool | None = None, patient: bool = True
    ) -> Iterator[duckdb.DuckDBPyConnection]:
        """`locked_down` (default: when read-only): the connection reaches no file but its own
        and the statements it runs cannot change its settings."""
        locked = read_only if locked_down is None else locked_down
        with _private_files(self.private):
            try:
                con = self.open(read_only, locked, patient)
            except duckdb.OutOfMemoryException as error:  # a limit too small to open the file
                raise results.memory_error(error) from None
            self._open.append(con)
            try:
                yield con
            except duckdb.OutOfMemoryException as error:
                raise results.memory_error(error) from None
            finally:
                self._open.remove(con)
                con.close()

    def interrupt(self) -> None:
        """Stop the statement each open connection runs (from another thread: an audit
        whose walk ended, by Ctrl-C or an error, stops its rebuild now, not a page later)."""
        for con in list(self._open):
            with suppress(duckdb.Error):  # closed meanwhile: nothing left to stop
                con.interrupt()

    def open(
        self, read_only: bool, locked_down: bool, patient: bool = True, *, wait: bool = True
    ) -> duckdb.DuckDBPyConnection:
        """Open the file with every setting in `config`, so that no setting of ours ever lands
        on a DuckDB instance someone else in this process uses. A read-write holder may be
        another learningloop catching up: wait a little for it; a read-only holder only when
        `patient`. Without `wait`, a file locked by another process raises StoreError at once."""
        _check_engine()
        for before_open in BEFORE_OPEN:
            before_open(self.database.absolute())
        settings = config(read_only, locked_down, self.memory_limit)
        if not read_only:
            self.database.parent.mkdir(parents=True, exist_ok=True)
            if not self.database.exists():
                _create_whole(self.database, settings)
        deadline = time.monotonic() + (LOCK_WAIT_SECONDS if wait else 0.0)
        if self.private and self.database.exists():
            # A file made before the store was encrypted, or by an older version.
            self.database.chmod(self.database.stat().st_mode & 0o700)
        while True:
            try:
                con = duckdb.connect(str(self.database), read_only=read_only, config=settings)
                settle(con, locked_down)
                return con
            except duckdb.ConnectionException as error:
                raise StoreError(_same_process_message(self.database, error)) from None
            except duckdb.IOException as error:
                if "lock" not in str(error).lower():
                    raise StoreError(_unopenable_message(self.database, error)) from None
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
            settings = config(True, True, self.memory_limit)
            duckdb.connect(str(self.database), read_only=True, config=settings).close()
            return True
        except duckdb.Error:
            return False

    def replace_if_unreadable_by_old_duckdb(self, patient: bool) -> None:
        """A file in a storage format newer than DuckDB 1.4's (an earlier learningloop wrote
        it) is derived data: it is removed, under the write lock, and rebuilt from the log."""
        if storage_number(self.database) <= NEWEST_STORAGE_NUMBER:
            return
        self.open(False, False, patient).close()  # nobody else holds it
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


def _check_engine() -> None:
    if not in_range(duckdb.__version__):
        raise StoreError(
            f"learningloop projects and queries with duckdb >=2.0.1,<3, and this Python has "
            f"duckdb {duckdb.__version__}: pip install 'duckdb>=2.0.1,<3'. (Any DuckDB from "
            f"{OLDEST_READER} on can read the projection file it writes.)"
        )


def storage_number(database: Path) -> int:
    """The storage version number in a DuckDB file's header (0 when there is no file)."""
    for before_open in BEFORE_OPEN:  # reading it would drop this process's lock on it
        before_open(database.absolute())
    return header_storage_number(database)


def has_schema(con: duckdb.DuckDBPyConnection) -> bool:
    found = con.execute(
        "select count(*) from duckdb_tables() where schema_name = 'main' "
        "and table_name in ('projection_versions', 'projection_tracking', 'log_events')"
    ).fetchall()
    return bool(found[0][0] == 3)


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


def _unopenable_message(database: Path, error: duckdb.Error) -> str:
    """Why the file cannot be opened; for a file DuckDB does not take as a database at all
    (a copy cut short, a crash of an older version while DuckDB made it), what to do."""
    message = f"cannot open {database}: {first_line(error)}"
    if "not a valid DuckDB database file" not in str(error):
        return message
    return (f"{message} If it is learningloop's projection file, delete it: the projections "
            "are rebuilt from the event log.")  # fmt: skip


def _same_process_message(database: Path, error: Exception) -> str:
    return (
        f"this process already has {database} open in DuckDB with other settings "
        f"({first_line(error)}): close that connection before calling learningloop, or query "
        "it directly with the table macros (select * from experiments_at(null, null))"
    )


def _create_whole(database: Path, settings: dict[str, Any]) -> None:
    """A new DuckDB file made aside, then linked into place once DuckDB has written it: a
    process killed while DuckDB creates a file in place can leave one that no later open
    takes ("not a valid DuckDB database file"), and the projections could not be rebuilt.
    The link fails if the file appeared meanwhile (another process made it: it stays); where
    the file system has no links, DuckDB makes the file in place as before."""
    aside = database.with_name(f".{database.name}.{os.getpid()}.new")
    try:
        duckdb.connect(str(aside), config=settings).close()
        with suppress(FileExistsError):
            os.link(aside, database)
    except (OSError, duckdb.Error):
        pass  # opened in place below, which reports any problem
    finally:
        for path in (aside, Path(f"{aside}.wal")):
            with suppress(OSError):
                path.unlink()


def first_line(error: Exception) -> str:
    return str(error).strip().splitlines()[0]
