"""Projection `learning_loops`: cycles, learnings actioned by later decisions, median delay."""

from __future__ import annotations

from datetime import date

from learningloop import LearningLoop
from tests.conftest import event, rows_of


def learning(key: str, day: str) -> dict[str, object]:
    return event("LearningRecorded", day, learning=key, observation=key)


def decision(key: str, day: str, evidence: list[str]) -> dict[str, object]:
    return event("DecisionRecorded", day, decision=key, kind="adapt", summary=key,
                 evidence=evidence)  # fmt: skip


def test_median_of_an_even_count_averages_the_middle_values(seeded: LearningLoop) -> None:
    seeded.import_events([
        learning("l1", "2013-02-01"),
        learning("l2", "2013-02-11"),
        learning("l3", "2013-06-01"),
        decision("d0", "2013-01-20", ["l1"]),  # occurred before l1: not an action on it
        decision("d1", "2013-03-03", ["l1"]),
        decision("d2", "2013-04-01", ["l1", "l2"]),
    ])  # fmt: skip
    assert rows_of(seeded, "learning_loops", "*") == [("exp", 3, 3, 2, 1, 39.5)]


def test_a_decision_the_same_day_actions_a_learning(seeded: LearningLoop) -> None:
    seeded.import_events([learning("l1", "2013-02-01"), decision("d1", "2013-02-01", ["l1"])])
    assert rows_of(seeded, "learning_loops", "learnings_actioned, median_days_to_action") == [
        (1, 0.0)
    ]


def test_no_learning_no_median_and_d_limits_what_counts(seeded: LearningLoop) -> None:
    assert rows_of(seeded, "learning_loops", "*") == [("exp", 0, 0, 0, 0, None)]
    seeded.import_events([learning("l1", "2013-02-01"), decision("d1", "2013-03-03", ["l1"])])
    assert rows_of(seeded, "learning_loops", "*", as_of=date(2013, 3, 1)) == [
        ("exp", 0, 1, 0, 1, None)
    ]


def test_a_learning_is_its_key_dated_by_its_first_counted_recording(seeded: LearningLoop) -> None:
    seeded.import_events([
        learning("l1", "2013-03-01"),
        learning("l1", "2013-02-01"),  # restated, dated earlier: the key now dates from here
        decision("d1", "2013-02-11", ["l1"]),
    ])  # fmt: skip
    assert rows_of(seeded, "learning_loops", "learnings, learnings_actioned, "
                   "median_days_to_action") == [(1, 1, 10.0)]  # fmt: skip
    # before the restatement counts, the first recording dates it, after the decision
    assert rows_of(seeded, "learning_loops", "learnings, learnings_actioned",
                   as_of=date(2013, 2, 28)) == [(1, 1)]  # fmt: skip
