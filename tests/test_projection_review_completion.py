"""Projection `review_completion`: distinct sessions against the largest number planned."""

from __future__ import annotations

from datetime import date

from learningloop import LearningLoop
from tests.conftest import event, rows_of


def session(number: int, day: str = "2013-02-01", **more: object) -> dict[str, object]:
    return event("ReviewSessionHeld", day, review="r", session=number, **more)


def test_the_default_of_two_sessions_counts_as_seen(seeded: LearningLoop) -> None:
    seeded.import_events([session(1), session(1, "2013-02-02")])
    assert rows_of(seeded, "review_completion", "*") == [("exp", "r", 1, 2, False)]
    seeded.record(session(2, "2013-03-01"))
    assert rows_of(seeded, "review_completion", "*") == [("exp", "r", 2, 2, True)]
    assert rows_of(seeded, "review_completion", "sessions_held", as_of=date(2013, 2, 15)) == [(1,)]


def test_the_largest_planned_wins_even_when_a_session_says_fewer(seeded: LearningLoop) -> None:
    seeded.import_events([session(1, sessions_planned=3), session(2, sessions_planned=1)])
    assert rows_of(seeded, "review_completion", "sessions_planned, is_complete") == [(3, False)]
