"""Projection `learning_latency`: reporting delays, cycle length and time to action."""

from __future__ import annotations

from datetime import date

from learningloop import LearningLoop
from tests.conftest import event, recorded_times, rows_of
from tests.reference import agrees_at_random_moment


def test_delays_count_from_the_end_of_the_period_and_p90_is_nearest_rank(
    seeded: LearningLoop,
) -> None:
    seeded.import_events([
        event("MeetingHeld", "2013-05-20", kind="local", precision="year"),  # until 2013-12-31
        event("DecisionRecorded", "2013-03-01", decision="d1", kind="adapt", summary="s"),
        event("DecisionRecorded", "2013-03-11", decision="d2", kind="adapt", summary="s"),
        event("DecisionRecorded", "2013-04-11", decision="d3", kind="retain", summary="s"),
    ])  # fmt: skip
    recorded_on = recorded_times(seeded)[0].date()
    delays = sorted((recorded_on - day).days for day in (
        date(2013, 1, 10), date(2013, 12, 31), date(2013, 3, 1), date(2013, 3, 11),
        date(2013, 4, 11)))  # fmt: skip
    assert rows_of(seeded, "learning_latency", "*") == [
        ("exp", 5, float(delays[2]), delays[4], 20.5, None)  # gaps 10 and 31 days
    ]


def test_one_decision_has_no_cycle_length_and_only_proposed_experiments_appear(
    seeded: LearningLoop,
) -> None:
    seeded.import_events([
        event("DecisionRecorded", "2013-03-01", decision="d1", kind="adapt", summary="s"),
        {"type": "ExperimentProposed", "experiment": "later", "programme": "prog",
         "title": "Later", "carriers": ["acme"], "scale": "company",
         "occurred_on": "2014-01-10"},
    ])  # fmt: skip
    rows = rows_of(seeded, "learning_latency", "experiment, events, median_cycle_days",
                   as_of=date(2013, 12, 31))  # fmt: skip
    assert rows == [("exp", 2, None)]


test_latency_agrees_with_the_reference_at_any_d_and_t = agrees_at_random_moment("learning_latency")
