"""A user's SQL on the projections: one read-only statement, rolled back, interruptible.

The parser refuses anything but a SELECT (or the explanation of one); the statement still
runs in a transaction that is rolled back, under a deadline (--timeout) that Ctrl-C also
reaches; its rows come back as plain Python values, JSON parsed and timestamps in UTC.
"""

from __future__ import annotations

import os
import re
import select
import signal
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from threading import Thread, Timer
from typing import Any

import duckdb
import orjson

from learningloop.duckdb_file import first_line
from learningloop.errors import BadInputError, QueryTimeoutError
from learningloop.results import duckdb_errors

ALLOWED_STATEMENTS = {"SELECT", "EXPLAIN"}


@dataclass(frozen=True)
class QueryResult:
    """Rows of a read-only query as plain Python values."""

    columns: list[str]
    rows: list[tuple[Any, ...]]

    def records(self) -> list[dict[str, Any]]:
        return [dict(zip(self.columns, row, strict=True)) for row in self.rows]


def run(con: duckdb.DuckDBPyConnection, sql: str, parameters: Sequence[Any]) -> QueryResult:
    """One statement's rows as plain values; JSON columns as Python objects, not as text."""
    with duckdb_errors():  # out of memory names the setting; a bad query is bad input
        cursor = con.execute(sql, list(parameters))
        description = cursor.description or []
        rows = cursor.fetchall()
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


def set_moment(
    con: duckdb.DuckDBPyConnection, as_of: date | None, known_at: datetime | None
) -> None:
    if as_of is not None:
        con.execute("set variable as_of = ?::date", [as_of])
    if known_at is not None:
        con.execute("set variable known_at = ?::timestamptz", [known_at])


@contextmanager
def at_moment(
    con: duckdb.DuckDBPyConnection,
    moment: tuple[date | None, datetime | None],
    variables: dict[str, Any] | None,
) -> Iterator[None]:
    """(D, T) and the library's `variables` set for one call on a connection that is kept
    between calls (duckdb_lease), and reset after it: a D or T given to one call never
    answers the next."""
    names = ["as_of", "known_at", *(variables or {})]
    try:
        set_moment(con, *moment)
        for name, value in (variables or {}).items():
            con.execute(f"set variable {name} = ?", [value])
        yield
    finally:
        for name in names:
            con.execute(f"reset variable {name}")


@contextmanager
def read_only(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """A transaction DuckDB itself keeps from writing, rolled back: on a read-write connection
    (duckdb_lease) a user's statement is as unable to change the file as on a read-only one."""
    con.execute("begin transaction read only")
    try:
        yield
    finally:
        con.execute("rollback")


def refuse_writes(sql: str) -> None:
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
        raise BadInputError(f"SQL error: {first_line(error)}") from None
    if len(statements) != 1:
        raise BadInputError("give exactly one SQL statement")
    return str(statements[0].type.name)


@contextmanager
def rolled_back(con: duckdb.DuckDBPyConnection, *, inside_one: bool) -> Iterator[None]:
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
def deadline(con: duckdb.DuckDBPyConnection, timeout: float | None) -> Iterator[None]:
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
