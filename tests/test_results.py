"""Streamed results: the same bytes as the materialised path, in memory that stays flat."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from learningloop import LearningLoop
from learningloop.cli.main import main
from learningloop.cli.rendering import to_csv
from learningloop.errors import BadInputError
from learningloop.results import memory_error, memory_limit

# A query of many wide rows: held whole in Python it would take hundreds of MiB.
WIDE_ROWS = (
    "select range as n, repeat('learning loop ', 30) || range as text, "
    "date '2013-01-01' + (range % 700)::integer as day from range({rows})"
)
# Peak memory a 200,000-row result may add over a 1,000-row one (the rows alone are ~85 MiB).
STREAMING_BOUND_MIB = 40


def stream_csv(loop: LearningLoop, query: str) -> bytes:
    out = io.BytesIO()
    with loop.sql_stream(query) as rows:
        rows.write_csv(out)
    return out.getvalue()


def test_streamed_csv_of_every_contract_table_is_byte_identical_to_the_python_csv(
    seeded: LearningLoop,
) -> None:
    for table in ("events", "experiments", "timeline", "function_coverage", "partners"):
        query = f"select * from {table} order by all"
        result = seeded.sql(query)
        assert stream_csv(seeded, query) == to_csv(result.records(), result.columns).encode()


@settings(
    max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    text=st.text(alphabet=st.sampled_from('ab ,"\n\r\té€'), max_size=12),
    number=st.floats(allow_nan=False, allow_infinity=False, width=32),
    flag=st.booleans() | st.none(),
)
def test_csv_cells_are_quoted_exactly_as_the_csv_module_quotes_them(
    seeded: LearningLoop, text: str, number: float, flag: bool | None
) -> None:
    query = "select ? as text, ?::double as number, ?::boolean as flag, [?, 'x'] as items"
    out = io.BytesIO()
    with seeded.sql_stream(query, parameters=[text, number, flag, text]) as rows:
        rows.write_csv(out)
    expected = seeded.sql(query, parameters=[text, number, flag, text])
    assert out.getvalue() == to_csv(expected.records(), expected.columns).encode()


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    moment=st.datetimes(datetime(1970, 1, 1), datetime(2100, 1, 1)),
    whole=st.booleans(),
    number=st.integers(-(2**62), 2**62),
    amount=st.decimals(-(10**6), 10**6, places=3, allow_nan=False),
)
def test_typed_cells_unsearched_for_quotes_are_those_the_csv_module_writes(
    seeded: LearningLoop, moment: datetime, whole: bool, number: int, amount: Decimal
) -> None:
    # Numbers, dates and timestamps are never searched for a comma, a quote or a newline.
    moment = moment.replace(microsecond=0) if whole else moment
    query = ("select ?::timestamptz as at, ?::timestamp as naive, ?::date as day, "
             "?::bigint as n, ?::decimal(12, 3) as amount, ?::integer as nothing, "
             "[?::date, null] as days, {'n': ?::bigint, 'on': ?::date} as pair")  # fmt: skip
    parameters = [moment.replace(tzinfo=UTC), moment, moment.date(), number, amount, None,
                  moment.date(), number, moment.date()]  # fmt: skip
    out = io.BytesIO()
    with seeded.sql_stream(query, parameters=parameters) as rows:
        rows.write_csv(out)
    expected = seeded.sql(query, parameters=parameters)
    assert out.getvalue() == to_csv(expected.records(), expected.columns).encode()


def test_a_table_shows_limit_rows_and_says_how_many_more_on_stderr(
    runner: CliRunner, seeded: LearningLoop
) -> None:
    store = str(seeded.location.projections_path.parent)
    result = runner.invoke(main, ["--store", store, "sql", WIDE_ROWS.format(rows=50),
                                  "--limit", "3"])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "47 more rows: use --limit N or --format csv|json|jsonl" in result.stderr
    assert " 2 " in result.stdout and " 3 " not in result.stdout


def test_jsonl_gives_one_object_a_line_and_json_one_array(
    runner: CliRunner, seeded: LearningLoop
) -> None:
    store = str(seeded.location.projections_path.parent)
    query = WIDE_ROWS.format(rows=3)
    lines = runner.invoke(main, ["--store", store, "sql", query, "--format", "jsonl"]).stdout
    array = runner.invoke(main, ["--store", store, "sql", query, "--format", "json"]).stdout
    assert [json.loads(line) for line in lines.splitlines()] == json.loads(array)
    assert json.loads(array)[2]["day"] == "2013-01-03"


def peak_mib(store: Path, rows: int, output_format: str, out: Path) -> float:
    program = Path(sys.executable).parent / "learningloop"
    command = [str(program), "--store", str(store), "sql", WIDE_ROWS.format(rows=rows),
               "--format", output_format]  # fmt: skip
    with out.open("wb") as target:
        child = subprocess.Popen(command, stdout=target, stderr=subprocess.PIPE)
        _, status, usage = os.wait4(child.pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    return float(usage.ru_maxrss) / 1024


@pytest.mark.parametrize("output_format", ["csv", "json", "jsonl"])
def test_a_200000_row_result_does_not_raise_peak_memory_beyond_a_bound(
    seeded: LearningLoop, tmp_path: Path, output_format: str
) -> None:
    store = seeded.location.projections_path.parent
    seeded.project()
    small = peak_mib(store, 1_000, output_format, tmp_path / "small")
    large = peak_mib(store, 200_000, output_format, tmp_path / "large")
    written = (tmp_path / "large").stat().st_size / 2**20
    assert written > 2 * STREAMING_BOUND_MIB  # the output itself is far above the bound
    assert large - small < STREAMING_BOUND_MIB, (small, large)


def test_memory_limit_takes_a_size_or_defaults_to_a_share_of_the_machine() -> None:
    assert memory_limit("2GB", 2**34) == "2GB"
    assert memory_limit(None, 2**34) == f"{int(2**34 * 0.04) // 2**20}MiB"
    assert memory_limit(None, 2**30) == "512MiB"
    with pytest.raises(BadInputError, match="LEARNINGLOOP_MEMORY_LIMIT"):
        memory_limit("lots", 2**34)


def test_running_out_of_memory_is_one_line_naming_the_setting_exit_1(
    runner: CliRunner, seeded: LearningLoop
) -> None:
    store = str(seeded.location.projections_path.parent)
    seeded.project()
    query = "select list(range::varchar order by random()) from range(20000000)"
    result = runner.invoke(main, ["--store", store, "--memory-limit", "64MB", "sql", query])
    assert result.exit_code == 1, result.output
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "LEARNINGLOOP_MEMORY_LIMIT" in lines[0], result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("used", "suggested"),
    [("(963.9 MiB/964.0 MiB used)", "2GiB"), ("(30.3 MiB/30.5 MiB used)", "61MiB"),
     ("(3.7 GiB/3.7 GiB used)", "8GiB"), ("(no figures)", "4GB")],
)  # fmt: skip
def test_out_of_memory_suggests_a_limit_above_the_one_in_force(used: str, suggested: str) -> None:
    message = str(memory_error(Exception(f"Out of Memory Error: could not allocate {used}")))
    assert f"--memory-limit (for example {suggested})" in message
    assert memory_limit(suggested, 2**34) == suggested  # a value the option takes


def test_a_bad_memory_limit_is_bad_input(runner: CliRunner, seeded: LearningLoop) -> None:
    store = str(seeded.location.projections_path.parent)
    result = runner.invoke(main, ["--store", store, "--memory-limit", "lots", "sql", "select 1"])
    assert result.exit_code == 2
    assert "--memory-limit" in result.stderr


def test_timestamps_come_out_in_utc_whatever_the_session_time_zone() -> None:
    import duckdb

    from learningloop.results import open_stream

    con = duckdb.connect()
    con.execute("set TimeZone = 'Europe/Paris'")
    query = "select timestamptz '2013-07-01 10:00:00.5+00' as at"
    out = io.BytesIO()
    open_stream(con, query, []).write_csv(out)
    assert out.getvalue() == b"at\n2013-07-01T10:00:00.500000+00:00\n"
    (row,) = open_stream(con, query, []).rows()
    assert row[0].isoformat() == "2013-07-01T10:00:00.500000+00:00"


def test_indicators_and_their_csv_parse_nothing_outside_their_own_connection(
    runner: CliRunner, seeded: LearningLoop, store_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # duckdb.extract_statements makes a DuckDB instance of its own (~0.1 s a process): the
    # library's own queries skip the parser check, and CSV output parses on the query's
    # connection. A user's query is still parsed and refused when it writes.
    store = str(store_dir)
    expected = runner.invoke(main, ["--store", store, "indicators", "--format", "csv"])
    assert expected.exit_code == 0, expected.output

    def no_second_instance(sql: str) -> None:
        raise AssertionError(f"parsed outside the connection: {sql[:40]}")

    monkeypatch.setattr("duckdb.extract_statements", no_second_instance)
    found = runner.invoke(main, ["--store", store, "indicators", "--format", "csv"])
    assert found.exit_code == 0, found.output
    assert found.output == expected.output
    with pytest.raises(AssertionError, match="parsed outside"):
        seeded.sql("select 1")
