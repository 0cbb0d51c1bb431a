"""One page of the event log into log_events and the staging tables (the projector's write).

The page's JSON is parsed once, into log_events (log_events.sql over the Arrow page `batch`);
its new rows, without their JSON payload, are copied once to the temporary table
`new_log_events` that every staging file (stg_*.sql) reads. Then the page's retractions:
each retracted row keeps the earliest recorded_at of its retractions in `retracted_at`. Its
position is found in the page itself, or, for an event of an earlier page, through the event
log's primary key (the `locate` callable): each staging table is then updated by position,
an integer join, instead of joining its whole (stream, version) against the retractions
once per table and page.

A page runs only the staging files of the event types it holds, and the retraction statements
only when it holds a retraction: a one-event page (a `record`, then a `sql`) runs five
statements instead of sixteen.

Everything here runs inside the caller's transaction (projector.py commits it with the
tracking position), so a page is projected whole or not at all.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Sequence

import duckdb
import pyarrow as pa

from learningloop.sqlfiles import INGEST_FILE, NEW_ROWS, RETRACTION, SqlFile

# (stream, version) pairs -> (stream, version, position) of those stored (EventLog.positions)
Locate = Callable[[Sequence[tuple[str, int]]], list[tuple[str, int, int]]]

RETRACTIONS = "page_retractions"
TARGETS = "page_retracted"
EARLIER = "earlier_positions"
EARLIER_SCHEMA = pa.schema(
    [("stream", pa.string()), ("version", pa.int64()), ("position", pa.int64())]
)


def create_tables(con: duckdb.DuckDBPyConnection, tables: Sequence[SqlFile]) -> None:
    """log_events and the staging tables, empty, with the columns their files give them;
    `batch` must be registered (empty)."""
    ingest = next(f for f in tables if f.name == INGEST_FILE)
    con.execute(f"create or replace temp table {NEW_ROWS} as {ingest.sql}")
    try:
        for sql_file in tables:
            source = f"select * from {NEW_ROWS}" if sql_file is ingest else sql_file.sql
            con.execute(f"drop table if exists {sql_file.name} cascade")
            con.execute(f"create table {sql_file.name} as {source}")
    finally:
        con.execute(f"drop table if exists {NEW_ROWS}")


def append_page(
    con: duckdb.DuckDBPyConnection, tables: Sequence[SqlFile], locate: Locate, after: int
) -> None:
    """The rows of the registered page `batch` (positions after `after`) in every table,
    retractions marked."""
    ingest = next(f for f in tables if f.name == INGEST_FILE)
    staging = [f for f in tables if f is not ingest]
    con.execute(f"insert into {INGEST_FILE} {ingest.sql}")
    # read back without the payload: copying each event's JSON once more cost more than
    # the staging files' nine reads of the page's rows of log_events did
    con.execute(
        f"create or replace temp table {NEW_ROWS} as select * exclude (payload) "
        f"from {INGEST_FILE} where position > {int(after)}"
    )
    dropped = [NEW_ROWS]
    try:
        page_types = {row[0] for row in con.execute(f"select distinct type from {NEW_ROWS}")
                      .fetchall()}  # fmt: skip
        # a staging file keeps rows of its own event types only: a small page (one recorded
        # event) skips the files whose types it does not hold, ~4 ms of CPU each at 10M events
        for sql_file in staging:
            kept = staged_types(sql_file.sql)
            if kept is None or not kept.isdisjoint(page_types):
                con.execute(f"insert into {sql_file.name} {sql_file.sql}")
        if RETRACTION in page_types:
            dropped += [RETRACTIONS, TARGETS]
            _mark_retracted(con, [f.name for f in staging], locate)
    finally:
        for name in dropped:
            con.execute(f"drop table if exists {name}")


@functools.cache
def staged_types(sql: str) -> frozenset[str] | None:
    """The event types a staging file keeps, read from its one read of the page filtered by
    `where type = '...'` or `where type in (...)` alone; None when its text says anything else
    (the file then runs for every page)."""
    code = "\n".join(line.split("--")[0] for line in sql.splitlines())
    found = _STAGED_TYPES.findall(code)
    if len(found) != 1 or code.count(NEW_ROWS) != 1:
        return None
    return frozenset(re.findall(r"'(\w+)'", found[0][0] or found[0][1]))


_STAGED_TYPES = re.compile(r"\bwhere\s+type\s*(?:=\s*('\w+')\s*\)|in\s*\(([^)]*)\)\s*\))", re.I)


def _mark_retracted(con: duckdb.DuckDBPyConnection, staging: Sequence[str], locate: Locate) -> None:
    """Each staging row retracted by a retraction of the page keeps the earliest recorded_at
    of its retractions (CONTRACT 1: only a retraction's recorded_at matters), so a view tells
    a retracted row from a counted one without a join."""
    con.execute(
        f"create or replace temp table {RETRACTIONS} as select stream, retracts as version, "
        f"min(recorded_at) as retracted_at from {NEW_ROWS} where type = '{RETRACTION}' "
        "group by stream, retracts"
    )
    if not con.execute(f"select count(*) from {RETRACTIONS}").fetchall()[0][0]:
        return
    # retracted events of this page: found in it
    con.execute(
        f"create or replace temp table {TARGETS} as select e.position, r.retracted_at "
        f"from {RETRACTIONS} as r join {NEW_ROWS} as e "
        "on e.stream = r.stream and e.version = r.version"
    )
    earlier = con.execute(
        f"select r.stream, r.version from {RETRACTIONS} as r anti join {NEW_ROWS} as e "
        "on e.stream = r.stream and e.version = r.version"
    ).fetchall()
    if earlier:  # retracted events of earlier pages: found through the log's primary key
        located = pa.Table.from_pylist(
            [dict(zip(EARLIER_SCHEMA.names, row, strict=True)) for row in locate(earlier)],
            schema=EARLIER_SCHEMA,
        )
        con.register(EARLIER, located)
        try:
            con.execute(
                f"insert into {TARGETS} select l.position, r.retracted_at from {EARLIER} as l "
                f"join {RETRACTIONS} as r on r.stream = l.stream and r.version = l.version"
            )
        finally:
            con.unregister(EARLIER)
    for table in staging:
        con.execute(
            f"update {table} set retracted_at = t.retracted_at from {TARGETS} as t "
            f"where {table}.position = t.position "
            f"and ({table}.retracted_at is null or {table}.retracted_at > t.retracted_at)"
        )
