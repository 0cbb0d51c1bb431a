"""Projection `decision_revisions`: decisions whose evidence was retracted or restated later."""

from __future__ import annotations

from datetime import date
from typing import Any

from learningloop import LearningLoop
from tests.conftest import event, recorded_times, rows_of
from tests.reference import agrees_at_random_moment

COLUMNS = "decision, evidence, revision"


def learning(key: str, day: str = "2013-02-01") -> dict[str, Any]:
    return event("LearningRecorded", day, learning=key, observation="o")


def decide(key: str, evidence: list[str], day: str = "2013-03-01") -> dict[str, Any]:
    return event("DecisionRecorded", day, decision=key, kind="adapt", summary="s",
                 evidence=evidence)  # fmt: skip


def test_a_restated_learning_and_a_retracted_review_revise_a_decision(
    seeded: LearningLoop,
) -> None:
    seeded.import_events([
        learning("l1"),                                           # v2
        event("ReviewSessionHeld", "2013-02-02", review="r1", session=1),  # v3
        decide("d1", ["l1", "r1", "l1"]),                         # v4
        learning("l1", "2013-01-01"),                             # v5: restated, back-dated
        event("EventRetracted", "2010-01-01", retracts=3, reason="no such session"),  # v6
    ])  # fmt: skip
    times = recorded_times(seeded)
    assert rows_of(seeded, "decision_revisions", f"{COLUMNS}, revised_at") == [
        ("d1", "l1", "restated", times[4]),
        ("d1", "r1", "retracted", times[5]),
    ]
    # as known before the retraction, only the restatement
    assert rows_of(seeded, "decision_revisions", COLUMNS, known_at=times[4]) == [
        ("d1", "l1", "restated")
    ]


def test_the_earliest_revision_decides(seeded: LearningLoop) -> None:
    seeded.import_events([
        learning("l1"),
        decide("d1", ["l1"]),
        event("EventRetracted", "2013-03-02", retracts=2, reason="wrong"),
        learning("l1", "2013-04-01"),
    ])  # fmt: skip
    assert rows_of(seeded, "decision_revisions", COLUMNS) == [("d1", "l1", "retracted")]


def test_what_is_not_a_revision(seeded: LearningLoop) -> None:
    seeded.import_events([
        learning("l1"),
        event("ReviewSessionHeld", "2013-02-02", review="r1", session=1),
        decide("d1", ["l1", "r1"]),
        event("ReviewSessionHeld", "2013-04-02", review="r1", session=2),  # a new session
        learning("l1", "2014-06-01"),  # a restatement not counted before D
        learning("l2"),
        decide("d2", ["l2"]),
        event("EventRetracted", "2013-05-01", retracts=8, reason="wrong"),  # retracts d2 itself
    ])  # fmt: skip
    assert rows_of(seeded, "decision_revisions", COLUMNS, as_of=date(2014, 1, 1)) == []
    assert rows_of(seeded, "decision_revisions", COLUMNS) == [("d1", "l1", "restated")]


def test_each_decision_is_revised_by_the_first_restatement_recorded_after_it(
    seeded: LearningLoop,
) -> None:
    other = {"experiment": "other"}  # the same learning key in another experiment
    seeded.import_events([
        {"type": "ExperimentProposed", "experiment": "other", "programme": "prog",
         "title": "Other", "carriers": ["acme"], "scale": "company",
         "occurred_on": "2013-01-10"},
        learning("l1"),                                        # exp v2
        decide("d1", ["l1"]),                                  # exp v3
        {**learning("l1"), **other},                           # not a restatement of exp's l1
        learning("l1", "2013-04-01"),                          # exp v4: revises d1
        decide("d2", ["l1"]),                                  # exp v5
        learning("l1", "2013-05-01"),                          # exp v6: revises d2
        learning("l1", "2013-06-01"),                          # exp v7: later, not chosen
        decide("d3", ["l1"]),                                  # exp v8: nothing after it
    ])  # fmt: skip
    times = recorded_times(seeded)
    assert rows_of(seeded, "decision_revisions", f"{COLUMNS}, revised_at") == [
        ("d1", "l1", "restated", times[3]),
        ("d2", "l1", "restated", times[5]),
    ]


test_revisions_agree_with_the_reference_at_any_d_and_t = agrees_at_random_moment(
    "decision_revisions"
)
