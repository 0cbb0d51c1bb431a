"""One page into log_events and the staging tables: a retracted event of the same page is
found in it, one of an earlier page is asked of the log by (stream, version), never others."""

from __future__ import annotations

from collections.abc import Sequence

import duckdb
import orjson
import pyarrow as pa

from learningloop.domain.events import TOPICS
from learningloop.projection_pages import append_page, create_tables, staged_types
from learningloop.projector import BATCH_SCHEMA
from learningloop.sqlfiles import STAGING_PREFIX, is_table, load_sql_files

TABLES = [f for f in load_sql_files() if is_table(f.name)]


def day(n: int) -> str:
    return f"2013-01-{n:02d}T00:00:00+00:00"


def meeting(at: str) -> dict[str, object]:
    return {"type": "MeetingHeld", "experiment": "e", "kind": "local", "attendees": 3,
            "occurred_on": "2013-01-01", "recorded_at": at}  # fmt: skip


def retraction(version: int, at: str) -> dict[str, object]:
    return {"type": "EventRetracted", "experiment": "e", "retracts": version,
            "reason": "typo", "occurred_on": "2013-01-01", "recorded_at": at}  # fmt: skip


def page(rows: list[tuple[int, int, dict[str, object]]]) -> pa.Table:
    """(position, version, event) rows of the stream `experiment:e`."""
    return pa.table(
        {"position": [p for p, _, _ in rows], "stream": ["experiment:e"] * len(rows),
         "version": [v for _, v, _ in rows],
         "state": [orjson.dumps(e).decode() for _, _, e in rows]},
        schema=BATCH_SCHEMA,
    )  # fmt: skip


def test_retractions_mark_rows_of_this_page_and_of_earlier_pages_by_their_first_retraction() -> (
    None
):
    con = duckdb.connect()
    con.register("batch", BATCH_SCHEMA.empty_table())
    create_tables(con, TABLES)
    asked: list[list[tuple[str, int]]] = []
    stored = {("experiment:e", 1): 1, ("experiment:e", 2): 2}

    def locate(keys: Sequence[tuple[str, int]]) -> list[tuple[str, int, int]]:
        asked.append(list(keys))
        return [(s, v, stored[(s, v)]) for s, v in keys if (s, v) in stored]

    for rows in (
        [(1, 1, meeting(day(1))), (2, 2, meeting(day(2)))],
        [(3, 3, meeting(day(3))),
         (4, 4, retraction(3, day(5))),
         (5, 5, retraction(2, day(6))),
         (6, 6, retraction(2, day(4))),
         (7, 7, retraction(9, day(4)))],
    ):  # fmt: skip
        con.register("batch", page(rows))
        append_page(con, TABLES, locate, rows[0][0] - 1)
    # version 3 is in the page itself: only 2 (twice retracted) and 9 (never stored) are asked
    assert [sorted(keys) for keys in asked] == [[("experiment:e", 2), ("experiment:e", 9)]]
    assert con.execute(
        "select version, retracted_at::varchar from stg_meetings order by version"
    ).fetchall() == [(1, None), (2, "2013-01-04 00:00:00+00"), (3, "2013-01-05 00:00:00+00")]
    assert con.execute("select count(*) from log_events").fetchall() == [(7,)]
    temporary = con.execute("select count(*) from duckdb_tables() where temporary").fetchall()
    assert temporary == [(0,)]


def test_a_page_runs_only_the_staging_files_of_its_event_types() -> None:
    con = duckdb.connect()
    con.register("batch", BATCH_SCHEMA.empty_table())
    create_tables(con, TABLES)
    con.register("batch", page([(1, 1, meeting(day(1)))]))
    ran: list[str] = []

    class Watched:  # the connection, noting each statement's first words
        def __getattr__(self, name: str) -> object:
            return getattr(con, name)

        def execute(self, sql: str, *args: object) -> duckdb.DuckDBPyConnection:
            ran.append(" ".join(sql.split()[:3]))
            return con.execute(sql, *args)

    append_page(Watched(), TABLES, lambda keys: [], 0)  # type: ignore[arg-type]
    assert [s for s in ran if s.startswith("insert into")] == [
        "insert into log_events",
        "insert into stg_meetings",
    ]
    assert not [s for s in ran if "page_retract" in s]
    assert con.execute("select count(*) from stg_meetings").fetchall() == [(1,)]


def test_every_staging_file_names_the_event_types_it_keeps() -> None:
    """Else it runs for every page, exact but slower; two files never keep the same type."""
    kept = [staged_types(f.sql) for f in TABLES if f.name.startswith(STAGING_PREFIX)]
    assert all(types for types in kept)
    every = [t for types in kept for t in types or ()]
    assert len(every) == len(set(every)) and set(every) <= {c.__name__ for c in TOPICS.values()}
    assert staged_types("select * from new_log_events where type = 'A' or true)") is None
    assert staged_types("with s as (select * from new_log_events where type = 'A')") == {"A"}
