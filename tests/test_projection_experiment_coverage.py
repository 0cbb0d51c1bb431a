"""Projection `experiment_coverage`: functions covered over functions of the programme."""

from __future__ import annotations

from datetime import date

from learningloop import LearningLoop
from tests.conftest import base_events, event, rows_of


def evidence(function: str, day: str) -> dict[str, object]:
    return event("FunctionEvidenced", day, function=function, evidence="seen")


def test_a_function_evidenced_twice_counts_once(seeded: LearningLoop) -> None:
    seeded.import_events([evidence("employer", "2013-02-01"), evidence("employer", "2013-03-01")])
    assert rows_of(seeded, "experiment_coverage", "*") == [("exp", 1, 5, 0.2, 1)]


def test_the_ratio_has_three_decimals_with_halves_rounded_up(loop: LearningLoop) -> None:
    functions = [{"key": f"f{n:02d}", "label": f"F{n}"} for n in range(16)]
    loop.import_events([base_events()[0] | {"functions": functions}, *base_events()[1:],
                        evidence("f00", "2013-02-01")])  # fmt: skip
    assert rows_of(loop, "experiment_coverage", "*") == [("exp", 1, 16, 0.063, 1)]  # 0.0625


def test_coverage_follows_d_and_retractions(seeded: LearningLoop) -> None:
    seeded.import_events([evidence("training", "2013-02-01"), evidence("support", "2013-04-01")])
    assert rows_of(seeded, "experiment_coverage", "functions_covered",
                   as_of=date(2013, 3, 1)) == [(1,)]  # fmt: skip
    seeded.record(event("EventRetracted", "2013-05-01", retracts=2, reason="not training"))
    assert rows_of(seeded, "experiment_coverage", "functions_covered, coverage_ratio") == [(1, 0.2)]


def test_a_ratio_that_is_an_exact_half_rounds_away_from_zero(loop: LearningLoop) -> None:
    functions = [{"key": f"f{n:02d}", "label": f"F{n}"} for n in range(80)]
    loop.import_events([base_events()[0] | {"functions": functions}, *base_events()[1:],
                        *(evidence(f"f0{n}", "2013-02-01") for n in range(3))])  # fmt: skip
    assert rows_of(loop, "experiment_coverage", "coverage_ratio") == [(0.038,)]  # 0.0375
