"""projection_quality: the audit reads data_quality check by check, in bounded memory, and
reports exactly what the whole view holds."""

from __future__ import annotations

import shutil
import sys
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import pytest
from click.testing import CliRunner

from learningloop import LearningLoop
from learningloop.audit import QUALITY_CHECKS
from learningloop.audit_findings import Finding
from learningloop.cli.main import main

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
from generate import programme_events

AS_OF = date(2020, 1, 1)


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """2,000 events of the benchmark's programme shape (every data-quality check, about a
    thousand findings), recorded by two recorders: two backfill batches."""
    store = tmp_path_factory.mktemp("quality") / "store"
    events = list(programme_events(2_000))
    for recorder, part in (("first", events[:1_200]), ("second", events[1_200:])):
        with LearningLoop(store, recorded_by=recorder) as loop:
            loop.import_events(part)
    return store


def copy_of(generated: Path, tmp_path: Path) -> Path:
    shutil.copytree(generated, tmp_path / "store")
    return tmp_path / "store"


def whole_view_findings(loop: LearningLoop, backfill_days: int) -> list[Finding]:
    """What the audit reported when it read the whole view in one ordered query: the
    backfills folded per (recorded_on, recorded_by) in order of first appearance, then the
    warnings in the query's order."""
    rows = loop.sql(
        "select * from data_quality where \"check\" <> 'backfill' or lag_days > ? "
        'order by position, "check", message',
        AS_OF,
        parameters=[backfill_days],
    ).records()
    batches: dict[tuple[Any, Any], list[dict[str, Any]]] = {}
    warnings = []
    for row in rows:
        if row["check"] == "backfill":
            batches.setdefault((row["recorded_on"], row["recorded_by"]), []).append(row)
        else:
            warnings.append(Finding(row["check"], "warning", row["message"], row["stream"],
                                    row["version"], row["position"]))  # fmt: skip
    return [batch_finding(*key, batch) for key, batch in batches.items()] + warnings


def batch_finding(on: date, by: str | None, rows: list[dict[str, Any]]) -> Finding:
    years = sorted(row["occurred_on"].year for row in rows)
    lags = sorted(row["lag_days"] for row in rows)
    span = str(years[0]) if years[0] == years[-1] else f"{years[0]}–{years[-1]}"
    return Finding(
        "backfill", "info",
        f"{len(rows)} event{'s' if len(rows) > 1 else ''} recorded on {on}"
        f"{f' by {by}' if by else ''} for {span} ({lags[0]} to {lags[-1]} days after they "
        "occurred)",
        rows[0]["stream"], rows[0]["version"], rows[0]["position"],
    )  # fmt: skip


@pytest.mark.parametrize("backfill_days", [0, 3_500])
def test_the_audit_reports_the_whole_view_in_its_order(
    generated: Path, tmp_path: Path, backfill_days: int
) -> None:
    with LearningLoop(copy_of(generated, tmp_path)) as loop:
        report = loop.audit(as_of=AS_OF, backfill_days=backfill_days)
        expected = whole_view_findings(loop, backfill_days)
    found = [finding for finding in report.findings if finding.check in QUALITY_CHECKS]
    assert found == expected
    assert len({f.check for f in found}) >= 6  # most checks have findings to order
    # two recorders, two batches; 3,500 days leaves part of each out
    assert len([f for f in found if f.check == "backfill"]) == 2


def test_the_audit_completes_under_a_small_memory_limit(
    generated: Path, tmp_path: Path, runner: CliRunner
) -> None:
    """The audit, data quality included, completes under a small DuckDB memory limit.
    On this 2,000-event store the margin between the whole view in one query and check by
    check is within DuckDB's run-to-run noise (both pass at 32 MB on two cores and both can
    fail at 24 MB), so this guards against a step that needs far more, not the 10M case.
    DuckDB's memory grows with its thread count (one per core): so does the limit."""
    store = str(copy_of(generated, tmp_path))
    limit = f"{24 * max(2, _duckdb_threads())}MB"
    result = runner.invoke(main, ["--store", store, "--memory-limit", limit, "audit",
                                  "--as-of", str(AS_OF), "--format", "csv"])  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert "decision_on_revised_evidence" in result.stdout


def _duckdb_threads() -> int:
    with duckdb.connect() as con:
        found = con.execute("select current_setting('threads')").fetchall()
    return int(found[0][0])


def test_warnings_are_written_in_their_order_and_read_back_row_for_row(tmp_path: Path) -> None:
    """More rows than a batch, stored out of order: the file holds them as the warnings
    query orders them, with their types (version an int, a stream may be NULL)."""
    from learningloop import projection_quality as pq

    con = duckdb.connect()
    con.execute(
        f"create temp table {pq._TABLE} (position bigint, "
        '"check" varchar, message varchar, stream varchar, version integer)'
    )
    staged = pq.Staged(con, None, {})  # type: ignore[arg-type]  # no backfills read here
    assert not staged.write_warnings(tmp_path / "none")
    assert not (tmp_path / "none").exists()
    con.execute(
        f"insert into {pq._TABLE} select (n * 7919) % 45000, 'c' || (n % 3), 'm ' || (n % 5), "
        "case when n % 11 = 0 then null else 'experiment:e' || n end, n % 100 "
        "from range(45000) as t(n)"
    )
    assert staged.write_warnings(tmp_path / "some")
    assert list(pq.read_rows(tmp_path / "some")) == con.execute(pq.WARNINGS_QUERY).fetchall()
