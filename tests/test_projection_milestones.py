"""Projection `milestones`: latest due date, reached or abandoned, days late at D."""

from __future__ import annotations

from datetime import date

from learningloop import LearningLoop
from tests.conftest import event, rows_of

COLUMNS = "milestone, title, due_on, reached_on, status, days_late"


def plan(day: str, due_on: str, key: str = "m") -> dict[str, object]:
    return event("MilestonePlanned", day, milestone=key, title=key.upper(), due_on=due_on)


def test_a_milestone_rescheduled_then_reached_late(seeded: LearningLoop) -> None:
    seeded.import_events([
        plan("2013-02-01", "2013-06-30"),
        event("MilestoneRescheduled", "2013-06-01", milestone="m", due_on="2013-09-30"),
        event("MilestoneReached", "2013-10-10", milestone="m"),
    ])  # fmt: skip
    assert rows_of(seeded, "milestones", COLUMNS) == [
        ("m", "M", date(2013, 9, 30), date(2013, 10, 10), "reached", 10)
    ]
    assert rows_of(seeded, "milestones", COLUMNS, as_of=date(2013, 10, 5)) == [
        ("m", "M", date(2013, 9, 30), None, "overdue", 5)
    ]
    assert rows_of(seeded, "milestones", COLUMNS, as_of=date(2013, 9, 30)) == [
        ("m", "M", date(2013, 9, 30), None, "pending", 0)
    ]
    assert rows_of(seeded, "milestones", COLUMNS, as_of=date(2013, 5, 1)) == [
        ("m", "M", date(2013, 6, 30), None, "pending", 0)
    ]


def test_abandoned_and_early_milestones_are_not_late(seeded: LearningLoop) -> None:
    seeded.import_events([
        plan("2013-02-01", "2013-06-30", "a"),
        event("MilestoneAbandoned", "2013-08-01", milestone="a"),
        plan("2013-02-01", "2013-06-30", "b"),
        event("MilestoneReached", "2013-03-01", milestone="b"),
    ])  # fmt: skip
    assert rows_of(seeded, "milestones", "milestone, status, days_late, reached_on") == [
        ("a", "abandoned", 0, None), ("b", "reached", 0, date(2013, 3, 1)),
    ]  # fmt: skip


def test_due_on_comes_from_the_latest_plan_or_reschedule_by_occurred_on(
    seeded: LearningLoop,
) -> None:
    seeded.import_events([
        plan("2013-05-01", "2014-01-01"),
        event("MilestoneRescheduled", "2013-03-01", milestone="m", due_on="2013-12-01"),
    ])  # fmt: skip
    assert rows_of(seeded, "milestones", "due_on") == [(date(2014, 1, 1),)]
    assert rows_of(seeded, "milestones", "due_on", as_of=date(2013, 4, 1)) == []
