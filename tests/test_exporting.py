"""Exports an analyst can load anywhere: Parquet read by pandas and polars with real types,
load.sql making the files one database, and a self-contained DuckDB file."""

from __future__ import annotations

import json
import os
import subprocess
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb
import pytest

from learningloop import LearningLoop
from learningloop.application import TABLE_ORDER
from learningloop.duckdb_file import NEWEST_STORAGE_NUMBER
from learningloop.errors import BadInputError
from tests.venvs import cached_venv, old_duckdb

AS_OF = date(2013, 6, 30)
KNOWN_AT = datetime(2030, 1, 1, tzinfo=UTC)
FRAMES_SCRIPT = """
import json, sys
import pandas, polars
events = sys.argv[1] + "/events.parquet"
experiments = sys.argv[1] + "/experiments.parquet"
pd_events, pl_events = pandas.read_parquet(events), polars.read_parquet(events)
pl_experiments = polars.read_parquet(experiments)
print(json.dumps({
    "pandas": {c: str(t) for c, t in pd_events.dtypes.items()},
    "polars": {c: str(t) for c, t in pl_events.schema.items()},
    "polars_experiments": {c: str(t) for c, t in pl_experiments.schema.items()},
    "payload": json.loads(pl_events["payload"][0]),
}))
"""


def frames_python() -> Path:
    """pandas and polars (not needed by learningloop itself)."""
    return cached_venv("frames", ["pandas", "polars", "pyarrow"]) / "python"


def test_parquet_has_json_text_and_typed_dates_timestamps_and_lists_for_pandas_and_polars(
    seeded: LearningLoop, tmp_path: Path
) -> None:
    seeded.export(tmp_path / "out", AS_OF, KNOWN_AT)
    result = subprocess.run(
        [str(frames_python()), "-c", FRAMES_SCRIPT, str(tmp_path / "out")],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    types = json.loads(result.stdout)
    assert types["polars"]["payload"] == "String"
    assert types["polars"]["occurred_on"] == "Date"
    assert types["polars"]["recorded_at"].startswith("Datetime(time_unit='us', time_zone='UTC'")
    assert types["polars_experiments"]["carriers"] == "List(String)"
    assert types["pandas"]["recorded_at"] == "datetime64[us, UTC]"
    assert types["payload"]["type"] == "ProgrammeOpened"


def test_load_sql_makes_the_files_one_database_with_macros_at_the_exported_moment(
    seeded: LearningLoop, tmp_path: Path
) -> None:
    manifest = seeded.export(tmp_path / "out", AS_OF, KNOWN_AT)
    assert manifest["load"] == "load.sql" and set(manifest["tables"]) == set(TABLE_ORDER)
    live = seeded.sql("select * from experiments order by all", AS_OF, KNOWN_AT).rows
    cwd = os.getcwd()
    os.chdir(tmp_path / "out")  # load.sql names the files relative to its directory
    try:
        con = duckdb.connect()
        for statement in duckdb.extract_statements((tmp_path / "out/load.sql").read_text()):
            con.execute(statement)
        assert con.execute("select * from experiments order by all").fetchall() == live
        at = "select * from experiments_at(date '2013-06-30', null) order by all"
        assert con.execute(at).fetchall() == live
        with pytest.raises(duckdb.Error, match="this export holds the tables at as_of 2013-06-30"):
            con.execute("select * from experiments_at(date '2014-01-01', null)").fetchall()
    finally:
        os.chdir(cwd)


def test_export_format_duckdb_is_one_file_an_old_duckdb_opens_with_d_and_t_in_it(
    seeded: LearningLoop, tmp_path: Path
) -> None:
    manifest = seeded.export(tmp_path / "out", AS_OF, KNOWN_AT, "duckdb")
    database = tmp_path / "out" / "projections.duckdb"
    assert manifest["format"] == "duckdb" and manifest["as_of"] == "2013-06-30"
    assert int.from_bytes(database.read_bytes()[12:20], "little") <= NEWEST_STORAGE_NUMBER
    script = (
        "import duckdb, sys\n"
        "con = duckdb.connect(sys.argv[1], read_only=True)\n"
        "print(con.execute('select as_of, log_position from export_manifest').fetchall()[0])\n"
        "print(con.execute('select count(*) from experiments_at(null, null)').fetchall()[0][0])\n"
    )
    python = old_duckdb("1.4") / "python"
    result = subprocess.run([str(python), "-c", script, str(database)],
                            capture_output=True, text=True, check=True)  # fmt: skip
    assert result.stdout.splitlines() == ["(datetime.date(2013, 6, 30), 4)", "1"]


def test_an_unknown_export_format_is_bad_input(seeded: LearningLoop, tmp_path: Path) -> None:
    with pytest.raises(BadInputError, match="--format: 'csv'"):
        seeded.export(tmp_path / "out", AS_OF, KNOWN_AT, "csv")
