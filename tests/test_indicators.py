"""Indicator definitions (CONTRACT section 4) on hand-built streams."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from learningloop.domain import events as ev
from learningloop.domain.indicators import CommitmentPeriod, milestone_views, review_views
from learningloop.domain.indicators import commitment_periods as periods_of
from learningloop.domain.recorded import Recorded
from learningloop.domain.values import add_months
from tests.test_replay import experiment, view


def commitment_periods(events: list[Recorded], as_of: date) -> list[CommitmentPeriod]:
    """The cadence of a stream's commitments and meetings, handed over kind by kind."""
    made = [r for r in events if isinstance(r.event, ev.CommitmentMade)]
    days = [r.event.occurred_on.toordinal() for r in events if isinstance(r.event, ev.MeetingHeld)]
    return periods_of(made, days, as_of)


def commitment(starts_on: str, months: int, low: int = 3, high: int = 4) -> dict[str, Any]:
    return {"type": "CommitmentMade", "experiment": "exp", "commitment": "c",
            "description": "d", "meetings_per_year_min": low, "meetings_per_year_max": high,
            "starts_on": starts_on, "months": months, "occurred_on": "2013-01-10"}  # fmt: skip


def meeting(day: str, kind: str = "local") -> dict[str, Any]:
    return {"type": "MeetingHeld", "experiment": "exp", "kind": kind, "attendees": 3,
            "occurred_on": day}  # fmt: skip


def milestone(event_type: str, day: str, **more: Any) -> dict[str, Any]:
    return {"type": event_type, "experiment": "exp", "milestone": "m", "occurred_on": day, **more}


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        (date(2013, 1, 31), 1, date(2013, 2, 28)),
        (date(2012, 1, 31), 1, date(2012, 2, 29)),
        (date(2012, 2, 29), 48, date(2016, 2, 29)),
        (date(2012, 2, 29), 12, date(2013, 2, 28)),
        (date(2013, 12, 15), 1, date(2014, 1, 15)),
        (date(2013, 4, 18), 24, date(2015, 4, 18)),
    ],
)
def test_adding_months_clamps_to_the_month_end(day: date, months: int, expected: date) -> None:
    assert add_months(day, months) == expected


def test_periods_are_yearly_with_a_partial_last_one_and_scaled_expectations() -> None:
    events = experiment(commitment("2013-01-31", 30))
    periods = commitment_periods(events, date(2020, 1, 1))
    assert [(p.period, p.period_start, p.period_end, p.expected_min, p.expected_max)
            for p in periods] == [
        (1, date(2013, 1, 31), date(2014, 1, 30), 3, 4),
        (2, date(2014, 1, 31), date(2015, 1, 30), 3, 4),
        (3, date(2015, 1, 31), date(2015, 7, 30), 1, 2),  # 6 months: floor(1.5), ceil(2)
    ]  # fmt: skip


@settings(max_examples=40, deadline=None)
@given(months=st.integers(1, 40), offsets=st.lists(st.integers(-100, 1300), max_size=25))
def test_each_period_counts_the_meetings_within_its_bounds_in_any_order(
    months: int, offsets: list[int]
) -> None:
    # Meetings recorded in any order of occurred_on (the fold counts them by bisection).
    days = [date(2013, 1, 31) + timedelta(days=offset) for offset in offsets]
    events = experiment(commitment("2013-01-31", months), *(meeting(d.isoformat()) for d in days))
    periods = commitment_periods(events, date(2020, 1, 1))
    assert periods, "a commitment started before D has a first period"
    for period in periods:
        inside = [d for d in days if period.period_start <= d <= period.period_end]
        assert period.meetings_held == len(inside)


def test_period_bounds_come_from_starts_on_itself_on_a_leap_day() -> None:
    periods = commitment_periods(experiment(commitment("2012-02-29", 48)), date(2030, 1, 1))
    assert [p.period_end for p in periods] == [
        date(2013, 2, 27), date(2014, 2, 27), date(2015, 2, 27), date(2016, 2, 28)
    ]  # fmt: skip


def test_only_periods_started_by_d_appear_and_status_follows_the_rules() -> None:
    events = experiment(
        commitment("2013-01-01", 36),
        meeting("2012-12-31"),  # before the period: not counted
        *(meeting(day) for day in ("2013-01-01", "2013-05-01", "2013-12-31")),  # 3 in period 1
        *(meeting(f"2014-0{m}-01", kind="steering") for m in range(1, 6)),  # 5 > max in period 2
    )
    periods = commitment_periods(events, date(2015, 1, 1))
    assert [(p.period, p.meetings_held, p.status) for p in periods] == [
        (1, 3, "met"), (2, 5, "above"), (3, 0, "in_progress"),
    ]  # fmt: skip
    assert [p.status for p in commitment_periods(events[:3], date(2014, 6, 1))] == [
        "below", "in_progress",
    ]  # fmt: skip
    assert commitment_periods(events, date(2012, 12, 31)) == []


def test_a_period_ending_on_d_is_still_in_progress() -> None:
    periods = commitment_periods(experiment(commitment("2013-01-01", 12)), date(2013, 12, 31))
    assert periods[0].status == "in_progress"


def test_a_milestone_rescheduled_then_reached_late() -> None:
    events = experiment(
        milestone("MilestonePlanned", "2013-02-01", title="M", due_on="2013-06-30"),
        milestone("MilestoneRescheduled", "2013-06-01", due_on="2013-09-30"),
        milestone("MilestoneReached", "2013-10-10"),
    )
    (reached,) = milestone_views(events, date(2014, 1, 1))
    assert (reached.due_on, reached.reached_on, reached.status, reached.days_late) == (
        date(2013, 9, 30), date(2013, 10, 10), "reached", 10,
    )  # fmt: skip
    (overdue,) = view(events, as_of=date(2013, 10, 5)).milestones
    assert (overdue.status, overdue.days_late, overdue.reached_on) == ("overdue", 5, None)
    (pending,) = view(events, as_of=date(2013, 9, 30)).milestones
    assert (pending.status, pending.days_late) == ("pending", 0)


def test_a_milestone_reached_early_is_zero_days_late_and_abandoned_is_zero() -> None:
    plan = milestone("MilestonePlanned", "2013-02-01", title="M", due_on="2013-06-30")
    (early,) = milestone_views(experiment(plan, milestone("MilestoneReached", "2013-03-01")),
                               date(2014, 1, 1))  # fmt: skip
    assert (early.status, early.days_late) == ("reached", 0)
    abandoned = experiment(plan, milestone("MilestoneAbandoned", "2013-03-01"))
    (gone,) = milestone_views(abandoned, date(2014, 1, 1))
    assert (gone.status, gone.days_late) == ("abandoned", 0)


def test_review_sessions_are_distinct_and_planned_is_the_largest_seen() -> None:
    def session(number: int, planned: int | None = None) -> dict[str, Any]:
        extra = {} if planned is None else {"sessions_planned": planned}
        return {"type": "ReviewSessionHeld", "experiment": "exp", "review": "r",
                "session": number, "occurred_on": "2013-02-01", **extra}  # fmt: skip

    (review,) = review_views(experiment(session(1), session(1)))
    assert (review.sessions_held, review.sessions_planned, review.is_complete) == (1, 2, False)
    (review,) = review_views(experiment(session(1, 1), session(2)))
    assert (review.sessions_held, review.sessions_planned, review.is_complete) == (2, 2, True)
    (review,) = review_views(experiment(session(1), session(2), session(3, 3)))
    assert review.is_complete


def test_next_milestone_is_the_open_one_due_first() -> None:
    events = experiment(
        milestone("MilestonePlanned", "2013-02-01", title="A", due_on="2013-06-30"),
        milestone("MilestonePlanned", "2013-02-01", title="B", due_on="2013-03-30") | {
            "milestone": "n"},
        milestone("MilestoneReached", "2013-03-01") | {"milestone": "n"},
    )  # fmt: skip
    next_one = view(events, as_of=date(2013, 4, 1)).next_milestone
    assert next_one is not None and next_one.milestone == "m"
