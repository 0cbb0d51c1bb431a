"""Table macros `X_at(as_of, known_at)`: the rows of view X at (D, T), whatever the connection."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from learningloop import LearningLoop
from learningloop.application import TABLE_ORDER
from learningloop.projector import load_sql_files
from learningloop.sqlfiles import is_table
from tests.strategies import programme_histories

PROPERTY = settings(
    max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
LEARNINGLOOP = str(Path(sys.executable).parent / "learningloop")
VIEWS = [f.name for f in load_sql_files() if not is_table(f.name)]


def _rows(con: duckdb.DuckDBPyConnection, sql: str, *parameters: Any) -> list[tuple[Any, ...]]:
    return sorted(con.execute(sql, list(parameters)).fetchall(), key=repr)


def test_every_contract_table_and_every_projection_has_its_macro() -> None:
    assert set(TABLE_ORDER) <= set(VIEWS)
    assert "moment" in VIEWS


@PROPERTY
@given(raws=programme_histories(max_events=30), data=st.data())
def test_each_macro_equals_its_view_under_the_same_variables_whatever_the_variables_say(
    tmp_path_factory: pytest.TempPathFactory, raws: list[dict[str, Any]], data: st.DataObject
) -> None:
    with LearningLoop(tmp_path_factory.mktemp("macro") / "s", recorded_by="p") as loop:
        loop.import_events(raws)
        loop.project()
        stamps = [row[0] for row in loop.sql("select recorded_at from log_events").rows]
        known_at = data.draw(st.sampled_from([*stamps, datetime(2100, 1, 1, tzinfo=UTC)]))
        as_of = data.draw(st.dates(date(2010, 6, 1), date(2018, 1, 1)))
        con = duckdb.connect(str(loop.location.projections_path), read_only=True)
    try:
        con.execute("set variable as_of = ?::date", [as_of])
        con.execute("set variable known_at = ?::timestamptz", [known_at])
        views = {name: _rows(con, f"select * from {name}") for name in VIEWS}
        # other variables in force: the macros answer for their arguments only
        con.execute("set variable as_of = date '1999-01-01'")
        con.execute("set variable known_at = timestamptz '1999-01-01 00:00:00+00'")
        for name in VIEWS:
            macro = _rows(con, f"select * from {name}_at(?::date, ?::timestamptz)", as_of, known_at)
            assert macro == views[name], name
    finally:
        con.close()


def test_null_arguments_mean_today_in_utc_and_now(seeded: LearningLoop) -> None:
    seeded.project()
    con = duckdb.connect(str(seeded.location.projections_path), read_only=True)
    try:
        before = datetime.now(UTC)
        ((as_of, known_at),) = con.execute("select * from moment_at(null, null)").fetchall()
        assert as_of in {before.date(), datetime.now(UTC).date()}
        assert before - timedelta(seconds=1) <= known_at <= datetime.now(UTC)
        assert _rows(con, "select * from experiments_at(null, null)") == _rows(
            con, "select * from experiments"
        )
        as_of_named = con.execute(
            "select as_of from moment_at(known_at := null, as_of := date '2013-06-30')"
        ).fetchall()
        assert as_of_named == [(date(2013, 6, 30),)]
    finally:
        con.close()


def test_the_default_d_is_today_in_utc_whatever_the_clients_time_zone(
    seeded: LearningLoop,
) -> None:
    """Pacific/Kiritimati is UTC+14: for ten hours a day its date is not UTC's."""
    seeded.project()
    script = (
        "import duckdb, sys\n"
        "con = duckdb.connect(sys.argv[1], read_only=True)\n"
        "con.execute(\"set TimeZone = 'Pacific/Kiritimati'\")\n"
        'row = con.execute("select (select as_of from moment), (select as_of from "\n'
        "    \"moment_at(null, null)), timezone('UTC', now())::date\").fetchall()[0]\n"
        "print(*row)\n"
    )
    environment = {**os.environ, "TZ": "Pacific/Kiritimati"}
    result = subprocess.run(
        [sys.executable, "-c", script, str(seeded.location.projections_path)],
        env=environment, capture_output=True, text=True, check=True,
    )  # fmt: skip
    view_d, macro_d, utc_today = result.stdout.split()
    assert view_d == macro_d == utc_today


def test_learningloop_sql_answers_in_utc_under_another_time_zone(seeded: LearningLoop) -> None:
    seeded.project()
    query = (
        "select as_of = timezone('UTC', now())::date as is_utc, recorded_at, occurred_on "
        "from moment, events order by position"
    )
    outputs = {}
    for zone in ("UTC", "Pacific/Kiritimati"):
        for output in ("csv", "json"):
            result = subprocess.run(
                [LEARNINGLOOP, "--store", str(seeded.location.directory), "sql", query,
                 "--format", output],
                env={**os.environ, "TZ": zone}, capture_output=True, text=True, check=True,
            )  # fmt: skip
            outputs[zone, output] = result.stdout
    for (zone, output), text in outputs.items():
        assert text == outputs["UTC", output], (zone, output)
    assert outputs["UTC", "csv"].splitlines()[1].startswith("true,")
    assert "+00:00" in outputs["UTC", "csv"]
