"""Projection `commitment_cadence`: yearly periods against the commitment's meeting band."""

from __future__ import annotations

from datetime import date
from typing import Any

from learningloop import LearningLoop
from tests.conftest import event, rows_of

COLUMNS = ("period, period_start, period_end, meetings_held, expected_min, expected_max, "
           "status")  # fmt: skip


def commitment(
    starts_on: str, months: int, low: int = 3, high: int = 4, **more: Any
) -> dict[str, Any]:
    return event("CommitmentMade", "2013-06-01", commitment="c", description="meet",
                 meetings_per_year_min=low, meetings_per_year_max=high, starts_on=starts_on,
                 months=months, **more)  # fmt: skip


def meeting(day: str, kind: str = "local") -> dict[str, Any]:
    return event("MeetingHeld", day, kind=kind, attendees=4)


def test_month_end_clamping_and_a_partial_last_period(seeded: LearningLoop) -> None:
    seeded.import_events([commitment("2013-01-31", 30), meeting("2015-07-30")])
    assert rows_of(seeded, "commitment_cadence", COLUMNS) == [
        (1, date(2013, 1, 31), date(2014, 1, 30), 0, 3, 4, "below"),
        (2, date(2014, 1, 31), date(2015, 1, 30), 0, 3, 4, "below"),
        (3, date(2015, 1, 31), date(2015, 7, 30), 1, 1, 2, "met"),
    ]


def test_a_leap_day_start_keeps_its_own_anniversaries(seeded: LearningLoop) -> None:
    seeded.import_events([commitment("2012-02-29", 48, low=1, high=1)])
    ends = [row[0] for row in rows_of(seeded, "commitment_cadence", "period_end")]
    assert ends == [date(2013, 2, 27), date(2014, 2, 27), date(2015, 2, 27), date(2016, 2, 28)]


def test_every_meeting_of_any_kind_counts_even_before_the_commitment_was_recorded(
    seeded: LearningLoop,
) -> None:
    seeded.import_events([
        meeting("2013-04-18", kind="stakeholder"),
        meeting("2013-04-17"),  # before the period
        meeting("2013-09-01", kind="steering"),
        meeting("2013-12-01", kind="other"),
        commitment("2013-04-18", 24),
    ])  # fmt: skip
    assert rows_of(seeded, "commitment_cadence", "period, meetings_held, status",
                   as_of=date(2014, 6, 1)) == [(1, 3, "met"), (2, 0, "in_progress")]  # fmt: skip


def test_only_started_periods_appear_and_above_beats_in_progress(seeded: LearningLoop) -> None:
    seeded.import_events([commitment("2013-01-01", 36, low=0, high=1), meeting("2013-02-01"),
                          meeting("2013-03-01")])  # fmt: skip
    assert rows_of(seeded, "commitment_cadence", "period, status", as_of=date(2013, 6, 1)) == [
        (1, "above")
    ]
    assert rows_of(seeded, "commitment_cadence", "period", as_of=date(2012, 12, 31)) == []
    assert rows_of(seeded, "commitment_cadence", "period, status", as_of=date(2014, 1, 1)) == [
        (1, "above"), (2, "in_progress"),
    ]  # fmt: skip


def test_a_restated_commitment_replaces_the_first(seeded: LearningLoop) -> None:
    seeded.import_events([commitment("2013-01-01", 12),
                          commitment("2013-01-01", 12, low=1, high=2) | {
                              "occurred_on": "2013-07-01"}])  # fmt: skip
    assert rows_of(seeded, "commitment_cadence", "expected_min, expected_max") == [(1, 2)]
