"""The README's own-tools examples run as printed: SQLAlchemy (duckdb_engine) and the dbt
project of examples/dbt, each from a venv cached under ~/.cache/learningloop-test.

The dbt test is the slow one of the suite (~1 minute: dbt parses its project on every run;
the first run also installs dbt-duckdb 1.9 from PyPI, ~2 minutes)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from learningloop import LearningLoop
from learningloop.application import run_demo
from tests.venvs import cached_venv

EXAMPLES = Path(__file__).parent.parent / "examples"


@pytest.fixture(scope="module")
def demo_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    store = tmp_path_factory.mktemp("examples") / "eval"
    run_demo(store)
    with LearningLoop(store) as loop:
        loop.project()
    return store


def coverage_at_2013_06_30(store: Path) -> list[list[object]]:
    with LearningLoop(store) as loop:
        result = loop.sql("select * from experiment_coverage_at(date '2013-06-30', null)")
    return sorted([list(row) for row in result.rows], key=repr)


def test_the_readme_sqlalchemy_pool_example_reads_the_macros(demo_store: Path) -> None:
    python = cached_venv("sqlalchemy", ["duckdb_engine", "sqlalchemy"]) / "python"
    readme = (EXAMPLES.parent / "README.md").read_text()
    snippet = readme.split("```python\nfrom datetime import date\nfrom sqlalchemy")[1]
    code = "from datetime import date\nfrom sqlalchemy" + snippet.split("```")[0]
    code += "print(__import__('json').dumps([list(row) for row in rows]))\n"
    result = subprocess.run([str(python), "-c", code], cwd=demo_store.parent,
                            capture_output=True, text=True)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert sorted(json.loads(result.stdout), key=repr) == coverage_at_2013_06_30(demo_store)


def test_the_dbt_example_computes_coverage_as_of_its_var(demo_store: Path, tmp_path: Path) -> None:
    dbt = cached_venv("dbt", ["dbt-duckdb==1.9.*", "dbt-core==1.9.*"])
    project = tmp_path / "dbt"
    shutil.copytree(EXAMPLES / "dbt", project)
    environment = {**os.environ, "LEARNINGLOOP_PROJECTIONS_FILE":
                   str(demo_store / "projections.duckdb"), "DBT_SEND_ANONYMOUS_USAGE_STATS":
                   "false"}  # fmt: skip
    run = subprocess.run(
        [str(dbt / "dbt"), "run", "--profiles-dir", ".", "--vars", "{as_of: 2013-06-30}"],
        cwd=project, env=environment, capture_output=True, text=True,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout[-2000:]
    read = (
        "import duckdb, json\n"
        "con = duckdb.connect('target/models.duckdb', read_only=True)\n"
        "print(json.dumps([list(r) for r in con.sql('from coverage_as_of').fetchall()]))\n"
    )
    models = subprocess.run([str(dbt / "python"), "-c", read], cwd=project,
                            capture_output=True, text=True, check=True)  # fmt: skip
    assert sorted(json.loads(models.stdout), key=repr) == coverage_at_2013_06_30(demo_store)
