"""Projection `programme_summary`: one row per programme and the network's `(all)` row."""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from learningloop import LearningLoop
from tests.conftest import base_events, event

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
from generate import network_events


def summary(loop: LearningLoop) -> dict[str, dict[str, int]]:
    result = loop.sql("select * from programme_summary")
    return {row["programme"]: row for row in result.records()}


def test_statuses_and_coverage_are_counted_per_programme(seeded: LearningLoop) -> None:
    seeded.import_events([
        event("FunctionEvidenced", "2013-02-01", function="training", evidence="seen"),
        event("DecisionRecorded", "2013-03-01", decision="go", kind="retain", summary="Go on"),
    ])  # fmt: skip
    rows = summary(seeded)
    assert set(rows) == {"prog", "(all)"}
    assert rows["prog"]["experiments"] == 1 and rows["prog"]["retained"] == 1
    assert rows["prog"]["coverage_partial"] == 1 and rows["prog"]["coverage_none"] == 0
    assert {k: v for k, v in rows["(all)"].items() if k != "programme"} == {
        k: v for k, v in rows["prog"].items() if k != "programme"
    }


def test_an_experiment_proposed_after_d_is_not_counted(loop: LearningLoop) -> None:
    loop.import_events(base_events())
    rows = loop.sql("select programme, experiments from programme_summary", as_of=date(2012, 6, 1))
    assert rows.rows == [("(all)", 0)]


@settings(
    max_examples=5, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(seed=st.integers(0, 10_000))
def test_the_network_row_is_the_sum_of_the_programme_rows(tmp_path: Path, seed: int) -> None:
    with LearningLoop(tmp_path / f"store-{seed}", recorded_by="t") as loop:
        loop.import_events(network_events(3_000, seed))
        rows = summary(loop)
        network = rows.pop("(all)")
        for column, total in network.items():
            if column != "programme":
                assert total == sum(row[column] for row in rows.values()), column
        experiments = loop.sql("select count(*) from experiments").rows[0][0]
        assert network["experiments"] == experiments
