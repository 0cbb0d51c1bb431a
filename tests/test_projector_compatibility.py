"""The projection file opens read-only in DuckDB 1.4 and 1.5 (Python and CLI) and every table
and macro answers there exactly as `learningloop sql` does at the same D and T.

The older DuckDBs are installed from PyPI into venvs cached under
~/.cache/learningloop-test (the first run downloads ~60 MB; later runs reuse them)."""

from __future__ import annotations

import json
import os
import subprocess
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from learningloop import LearningLoop
from learningloop.application import TABLE_ORDER, run_demo
from learningloop.projector import load_sql_files
from learningloop.sqlfiles import is_table
from tests.old_duckdb_reader import plain_rows
from tests.venvs import old_duckdb

READER = Path(__file__).with_name("old_duckdb_reader.py")
VIEWS = [f.name for f in load_sql_files() if not is_table(f.name)]
AS_OF = date(2013, 6, 30)
KNOWN_AT = datetime(2030, 1, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def demo_database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    store = tmp_path_factory.mktemp("compat") / "demo"
    run_demo(store)
    with LearningLoop(store) as loop:
        loop.project()
        return loop.location.projections_path


@pytest.fixture(scope="module")
def learningloop_answers(demo_database: Path) -> dict[str, list[object]]:
    with LearningLoop(demo_database.parent) as loop:
        answers = {}
        for name in VIEWS:
            result = loop.sql(f"select * from {name}", AS_OF, KNOWN_AT)
            answers[name] = plain_rows(result.rows, [])
        return answers


@pytest.mark.parametrize("version", ["1.4", "1.5"])
def test_an_older_python_duckdb_reads_every_table_and_macro_as_learningloop_sql_does(
    version: str, demo_database: Path, learningloop_answers: dict[str, list[object]]
) -> None:
    python = old_duckdb(version) / "python"
    result = subprocess.run(
        [str(python), str(READER), str(demo_database), AS_OF.isoformat(), KNOWN_AT.isoformat(),
         *VIEWS],
        capture_output=True, text=True, env={**os.environ, "TZ": "Pacific/Kiritimati"},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["duckdb"].startswith(version + ".")
    assert set(TABLE_ORDER) <= set(document["answers"])
    for name, answers in document["answers"].items():
        assert answers["view"] == learningloop_answers[name], name
        assert answers["macro"] == learningloop_answers[name], name
    assert learningloop_answers["experiment_coverage"]  # the demo is not empty


@pytest.mark.parametrize("version", ["1.4", "1.5"])
def test_the_older_duckdb_cli_reads_the_macros_read_only(
    version: str, demo_database: Path, learningloop_answers: dict[str, list[object]]
) -> None:
    cli = old_duckdb(version) / "duckdb"
    query = (
        "select experiment, functions_covered, coverage_ratio "
        "from experiment_coverage_at(date '2013-06-30', timestamptz '2030-01-01 00:00:00+00')"
    )
    result = subprocess.run(
        [str(cli), "-readonly", "-json", str(demo_database), "-c", query],
        capture_output=True, text=True,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    rows = [[r["experiment"], r["functions_covered"], r["coverage_ratio"]]
            for r in json.loads(result.stdout)]  # fmt: skip
    expected = [[*row[:2], row[3]] for row in learningloop_answers["experiment_coverage"]]
    assert sorted(rows) == sorted(expected)
