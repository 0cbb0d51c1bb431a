"""Projection `predictions`: outcome, resolution date, Brier score, made before the outcome."""

from __future__ import annotations

from datetime import date
from typing import Any

from learningloop import LearningLoop
from tests.conftest import event, rows_of
from tests.reference import agrees_at_random_moment

COLUMNS = "prediction, outcome, resolved_on, brier, made_before_outcome"


def plan(milestone: str = "m") -> dict[str, Any]:
    return event("MilestonePlanned", "2013-02-01", milestone=milestone, title="M",
                 due_on="2013-06-01")  # fmt: skip


def predict(
    key: str, resolves_on: str, milestone: str | None = None, **more: Any
) -> dict[str, Any]:
    about = {"milestone": milestone} if milestone else {}
    return event("PredictionMade", more.pop("day", "2013-02-02"), prediction=key,
                 statement="it works", probability=more.pop("p", 0.75),
                 resolves_on=resolves_on, **about, **more)  # fmt: skip


def test_a_counted_resolution_wins_over_the_milestone(seeded: LearningLoop) -> None:
    seeded.import_events([
        plan(),
        predict("p1", "2013-06-30", "m"),
        event("MilestoneReached", "2013-05-01", milestone="m"),
        event("PredictionResolved", "2013-07-02", prediction="p1", outcome=False),
    ])  # fmt: skip
    assert rows_of(seeded, "predictions", COLUMNS) == [
        ("p1", False, date(2013, 7, 2), 0.5625, True)
    ]
    # before the resolution occurred, the milestone decides
    assert rows_of(seeded, "predictions", COLUMNS, as_of=date(2013, 7, 1)) == [
        ("p1", True, date(2013, 5, 1), 0.0625, True)
    ]


def test_a_milestone_reached_late_loses_at_the_deadline(seeded: LearningLoop) -> None:
    seeded.import_events([
        plan(),
        predict("p1", "2013-06-30", "m"),
        event("MilestoneReached", "2013-07-15", milestone="m"),
    ])  # fmt: skip
    assert rows_of(seeded, "predictions", COLUMNS, as_of=date(2013, 6, 30)) == [
        ("p1", None, None, None, None)
    ]
    # the deadline decided, and this prediction was recorded long after it
    assert rows_of(seeded, "predictions", COLUMNS, as_of=date(2013, 7, 1)) == [
        ("p1", False, date(2013, 6, 30), 0.5625, False)
    ]


def test_an_abandoned_milestone_is_false_and_a_bare_prediction_stays_null(
    seeded: LearningLoop,
) -> None:
    seeded.import_events([
        plan(),
        predict("p1", "2013-06-30", "m", p=0.5),
        predict("p2", "2013-03-01"),
        event("MilestoneAbandoned", "2013-04-01", milestone="m"),
    ])  # fmt: skip
    assert rows_of(seeded, "predictions", COLUMNS) == [
        ("p1", False, date(2013, 4, 1), 0.25, True),
        ("p2", None, None, None, None),
    ]


def test_a_prediction_recorded_after_its_outcome_was_not_made_before_it(
    seeded: LearningLoop,
) -> None:
    seeded.import_events([
        plan(),
        event("MilestoneReached", "2013-03-01", milestone="m"),
        predict("p1", "2013-06-30", "m", day="2013-02-02"),  # back-dated, recorded after
    ])  # fmt: skip
    assert rows_of(seeded, "predictions", COLUMNS) == [
        ("p1", True, date(2013, 3, 1), 0.0625, False)
    ]


def test_a_deadline_still_ahead_when_recorded_counts_as_made_before(
    seeded: LearningLoop,
) -> None:
    seeded.import_events([plan(), predict("p1", "2099-12-30", "m")])
    assert rows_of(seeded, "predictions", COLUMNS, as_of=date(2100, 1, 1)) == [
        ("p1", False, date(2099, 12, 30), 0.5625, True)
    ]


def test_a_retracted_resolution_gives_way_to_the_next(seeded: LearningLoop) -> None:
    seeded.import_events([
        predict("p1", "2013-06-30"),
        event("PredictionResolved", "2013-07-01", prediction="p1", outcome=True),
        event("EventRetracted", "2013-07-02", retracts=3, reason="wrong outcome"),
        event("PredictionResolved", "2013-07-03", prediction="p1", outcome=False),
    ])  # fmt: skip
    assert rows_of(seeded, "predictions", COLUMNS) == [
        ("p1", False, date(2013, 7, 3), 0.5625, True)
    ]


test_predictions_agree_with_the_reference_at_any_d_and_t = agrees_at_random_moment("predictions")
