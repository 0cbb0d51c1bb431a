"""Projection `experiments`: one row per proposed experiment with its status at (D, T)."""

from __future__ import annotations

from datetime import date

from learningloop import LearningLoop
from tests.conftest import event, recorded_times, rows_of


def decision(key: str, kind: str, day: str) -> dict[str, object]:
    return event("DecisionRecorded", day, decision=key, kind=kind, summary=key)


def test_an_experiment_row_has_its_proposal_and_status(seeded: LearningLoop) -> None:
    rows = rows_of(seeded, "experiments", "*")
    assert rows == [("exp", "prog", "Experiment", "company", None, ["acme"], "proposed")]


def test_d_before_the_proposal_has_no_row(seeded: LearningLoop) -> None:
    assert rows_of(seeded, "experiments", "experiment", as_of=date(2013, 1, 9)) == []
    assert rows_of(seeded, "experiments", "experiment", as_of=date(2013, 1, 10)) == [("exp",)]


def test_a_retracted_decision_changes_the_status_from_its_recording_on(
    seeded: LearningLoop,
) -> None:
    seeded.import_events(
        [decision("d1", "retain", "2013-03-01"), decision("d2", "pause", "2013-04-01")]
    )
    assert rows_of(seeded, "experiments", "status") == [("paused",)]
    seeded.record(event("EventRetracted", "2013-05-01", retracts=3, reason="never decided"))
    assert rows_of(seeded, "experiments", "status") == [("retained",)]
    before_retraction = recorded_times(seeded)[2]
    assert rows_of(seeded, "experiments", "status", known_at=before_retraction) == [("paused",)]


def test_latest_by_occurred_on_wins_and_adapt_or_closed_rules(seeded: LearningLoop) -> None:
    seeded.import_events([
        decision("d2", "reject", "2013-06-01"),
        decision("d1", "continue", "2013-03-01"),  # recorded later, occurred earlier
        decision("d3", "adapt", "2013-07-01"),
    ])  # fmt: skip
    assert rows_of(seeded, "experiments", "status") == [("not_retained",)]
    seeded.record(event("ExperimentClosed", "2013-08-01"))
    assert rows_of(seeded, "experiments", "status") == [("closed",)]
    seeded.record(decision("d4", "continue", "2013-09-01"))
    assert rows_of(seeded, "experiments", "status") == [("retained",)]
    assert rows_of(seeded, "experiments", "status", as_of=date(2013, 8, 15)) == [("closed",)]
