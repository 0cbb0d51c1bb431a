"""Virtual environments the tests install from PyPI once and cache under
~/.cache/learningloop-test: older DuckDBs, pandas and polars, dbt, SQLAlchemy. learningloop
needs none of them; analysts' tools do."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

CACHE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "learningloop-test"


def cached_venv(name: str, packages: list[str]) -> Path:
    """A venv with `packages`, made once and cached; its bin directory."""
    venv = CACHE / name
    ready = venv / ("ready-" + "-".join(packages).replace("*", "x").replace("=", ""))
    if not ready.exists():
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True)
        installed = subprocess.run([str(venv / "bin" / "pip"), "install", "--quiet", *packages],
                                   capture_output=True, text=True)  # fmt: skip
        if installed.returncode != 0:
            pytest.fail(f"cannot install {packages} from PyPI: {installed.stderr[-500:]}")
        ready.write_text("\n".join(packages))
    return venv / "bin"


def old_duckdb(version: str) -> Path:
    """duckdb and duckdb-cli `version`.* (pytz: older duckdb needs it for TIMESTAMPTZ)."""
    return cached_venv(f"duckdb-{version}",
                       [f"duckdb=={version}.*", f"duckdb-cli=={version}.*", "pytz"])  # fmt: skip
