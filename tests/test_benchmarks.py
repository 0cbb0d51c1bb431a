"""The benchmark script keeps working (CI runs it at a small size; figures are not asserted)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_benchmark_runs_at_a_small_size_and_reports_every_figure(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "run.py"), "--size", "3000",
         "--json", str(tmp_path / "figures.json")],
        capture_output=True, text=True, check=False, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    document = json.loads((tmp_path / "figures.json").read_text())
    figures = {row["figure"]: row for row in document["figures"]}
    assert set(figures) == {
        "import_rate", "rebuild_rate", "baseline_rate", "rebuild_over_baseline",
        "rebuild_over_read", "visible_to_sql_ms", "catch_up_rate", "replay_10000_ms",
        "indicators_ms", "rebuild_peak_memory_mib", "help_ms",
    }  # fmt: skip
    assert all(row["value"] > 0 for row in figures.values())
    assert document["machine"]["cores"] >= 1
    assert "full projection rebuild" in result.stdout
