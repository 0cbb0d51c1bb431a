"""A non-editable wheel carries the CLI, the SQL and the demo data under `learningloop`."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(out), "."],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    (built,) = out.glob("learningloop-*.whl")
    return built


def test_the_wheel_ships_cli_projections_and_demo_inside_the_namespace(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    assert "learningloop/cli/main.py" in names
    assert "learningloop/data/programme-2012-2014.yaml" in names
    assert "learningloop/projections/__init__.py" in names
    sql_files = sorted(n for n in names if n.startswith("learningloop/projections/"))
    expected_sql = sorted(
        f"learningloop/projections/{p.name}" for p in (ROOT / "projections").glob("*.sql")
    )
    assert [n for n in sql_files if n.endswith(".sql")] == expected_sql
    top_level = {name.split("/")[0] for name in names}
    assert not top_level & {"cli", "projections", "tests"}
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    text = zipfile.ZipFile(wheel).read(entry_points).decode()
    assert "learningloop = learningloop.cli.main:main" in text


def test_the_unpacked_wheel_runs_the_demo_without_the_source_tree(
    wheel: Path, tmp_path: Path
) -> None:
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    program = (
        "import sys; sys.path.insert(0, sys.argv[1]); import learningloop;"
        "assert learningloop.__file__.startswith(sys.argv[1]), learningloop.__file__;"
        "from learningloop.cli.main import main; main(sys.argv[2:])"
    )
    result = subprocess.run(
        [sys.executable, "-c", program, str(site), "demo", "--format", "csv"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "deltameca-gouvernance,retained" in result.stdout
