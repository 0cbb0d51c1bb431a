"""The benchmark script keeps working (CI runs it at a small size; figures are not asserted)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from learningloop import LearningLoop

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("shape", ["programme", "network"])
def test_the_benchmark_runs_at_a_small_size_and_reports_every_figure(
    tmp_path: Path, shape: str
) -> None:
    # The report and audit commands are left out here: they alone would take minutes.
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "run.py"), "--size", "3000",
         "--shape", shape, "--skip", "report", "--skip", "audit",
         "--json", str(tmp_path / "figures.json")],
        capture_output=True, text=True, check=False, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    document = json.loads((tmp_path / "figures.json").read_text())
    figures = {row["figure"]: row for row in document["figures"]}
    assert set(figures) == {
        "import_rate", "rebuild_rate", "baseline_rate", "rebuild_over_baseline",
        "rebuild_over_read", "visible_to_sql_ms", "catch_up_rate", "replay_10000_ms",
        "indicators_ms", "rebuild_peak_memory_mib", "help_ms", "indicators_csv_s",
        "indicators_json_s", "indicators_table_s", "sql_rows", "sql_csv_s", "duckdb_copy_s",
        "sql_csv_over_copy", "rebuild_s", "read_json_s", "rebuild_over_read_json", "audit_s",
        "audit_over_rebuild", "report_s", "report_over_rebuild", "report_mib",
        "peak_command_mib",
    }  # fmt: skip
    skipped = {row["figure"] for row in figures.values() if row["verdict"] == "skipped"}
    assert skipped == {"audit_s", "audit_over_rebuild", "report_s", "report_over_rebuild",
                       "report_mib"}  # fmt: skip
    assert all(row["value"] > 0 for row in figures.values() if row["figure"] not in skipped)
    assert document["failed"] == []
    assert document["machine"]["cores"] >= 1
    assert "full projection rebuild" in result.stdout


def test_the_benchmark_reuses_an_existing_store_without_importing_or_touching_it(
    tmp_path: Path,
) -> None:
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from generate import write_jsonl

    source, existing = tmp_path / "events.jsonl", tmp_path / "existing"
    write_jsonl(source, 1_000, shape="network")
    with LearningLoop(existing, recorded_by="test") as loop:
        loop.import_files([source])
    log_before = (existing / "events.sqlite").read_bytes()
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "run.py"), "--reuse-store", str(existing),
         "--skip", "report", "--skip", "audit", "--workdir", str(tmp_path / "work"),
         "--json", str(tmp_path / "figures.json")],
        capture_output=True, text=True, check=False, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    document = json.loads((tmp_path / "figures.json").read_text())
    figures = {row["figure"]: row for row in document["figures"]}
    skipped = {name for name, row in figures.items() if row["verdict"] == "skipped"}
    # no import, no catch-up, and no read_json ceiling without --source
    assert {"import_rate", "catch_up_rate", "read_json_s", "rebuild_over_read_json"} <= skipped
    assert figures["rebuild_rate"]["value"] > 0 and figures["indicators_csv_s"]["value"] > 0
    assert document["events"] == 1_000 and document["failed"] == []
    assert (existing / "events.sqlite").read_bytes() == log_before
    assert not (existing / "projections.duckdb").exists()


def test_the_benchmark_refuses_a_directory_without_an_event_log(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "run.py"), "--reuse-store", str(tmp_path)],
        capture_output=True, text=True, check=False, timeout=60,
    )  # fmt: skip
    assert result.returncode == 2
    assert "no events.sqlite" in result.stderr


def test_the_network_shape_holds_every_event_type_of_the_catalogue() -> None:
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from generate import network_events

    from learningloop.domain.events import CATALOGUE

    seen = {event["type"] for event in network_events(30_000, seed=11)}
    assert seen == set(CATALOGUE)
