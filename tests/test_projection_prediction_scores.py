"""Projection `prediction_scores`: predictions, resolved ones and the mean Brier score."""

from __future__ import annotations

from typing import Any

from learningloop import LearningLoop
from tests.conftest import event, rows_of
from tests.reference import agrees_at_random_moment


def predict(key: str, probability: float) -> dict[str, Any]:
    return event("PredictionMade", "2013-02-02", prediction=key, statement="s",
                 probability=probability, resolves_on="2013-06-30")  # fmt: skip


def resolve(key: str, outcome: bool) -> dict[str, Any]:
    return event("PredictionResolved", "2013-07-01", prediction=key, outcome=outcome)


def test_brier_mean_rounds_halves_away_from_zero(seeded: LearningLoop) -> None:
    seeded.import_events([predict("p1", 0.25), resolve("p1", False)])
    # 0.25² = 0.0625 exactly: rounds up to 0.063
    assert rows_of(seeded, "prediction_scores", "*") == [("exp", 1, 1, 0.063)]


def test_unresolved_predictions_count_but_have_no_score(seeded: LearningLoop) -> None:
    assert rows_of(seeded, "prediction_scores", "*") == []
    seeded.import_events([predict("p1", 0.9), predict("p2", 0.2)])
    assert rows_of(seeded, "prediction_scores", "*") == [("exp", 2, 0, None)]
    seeded.import_events([resolve("p1", True), resolve("p2", True)])
    # (0.01 + 0.64) / 2 = 0.325
    assert rows_of(seeded, "prediction_scores", "*") == [("exp", 2, 2, 0.325)]


test_scores_equal_a_direct_computation_at_any_d_and_t = agrees_at_random_moment("prediction_scores")


def test_a_half_stored_a_hair_below_in_binary_still_rounds_away_from_zero(
    seeded: LearningLoop,
) -> None:
    seeded.import_events([predict("p1", 0.35), resolve("p1", False)])
    # 0.35² = 0.1225 (0.12249999999999998 in binary floating point): 0.123
    assert rows_of(seeded, "prediction_scores", "brier_mean") == [(0.123,)]
