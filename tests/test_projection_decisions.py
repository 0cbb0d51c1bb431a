"""Projection `decisions`: evidence counted, and whether it cites a counted learning."""

from __future__ import annotations

from datetime import date

from learningloop import LearningLoop
from tests.conftest import event, rows_of


def test_evidence_count_and_cites_learning(seeded: LearningLoop) -> None:
    seeded.import_events([
        event("LearningRecorded", "2013-02-01", learning="l1", observation="o"),
        event("ReviewSessionHeld", "2013-02-02", review="r1", session=1),
        event("DecisionRecorded", "2013-03-01", decision="d1", kind="adapt", summary="s",
              evidence=["r1"]),
        event("DecisionRecorded", "2013-04-01", decision="d2", kind="retain", summary="s",
              evidence=["r1", "l1"]),
        event("DecisionRecorded", "2013-05-01", decision="d3", kind="pause", summary="s"),
    ])  # fmt: skip
    assert rows_of(seeded, "decisions", "decision, kind, occurred_on, evidence_count, "
                   "cites_learning") == [
        ("d1", "adapt", date(2013, 3, 1), 1, False),
        ("d2", "retain", date(2013, 4, 1), 2, True),
        ("d3", "pause", date(2013, 5, 1), 0, False),
    ]  # fmt: skip


def test_citing_a_retracted_learning_is_not_citing_a_learning(seeded: LearningLoop) -> None:
    seeded.import_events([
        event("LearningRecorded", "2013-02-01", learning="l1", observation="o"),
        event("DecisionRecorded", "2013-03-01", decision="d1", kind="adapt", summary="s",
              evidence=["l1"]),
        event("EventRetracted", "2013-03-02", retracts=2, reason="not a learning"),
    ])  # fmt: skip
    assert rows_of(seeded, "decisions", "evidence_count, cites_learning") == [(1, False)]
