"""Projection `partners`: who joined by D, and who is still active."""

from __future__ import annotations

from datetime import date

from learningloop import LearningLoop
from tests.conftest import rows_of


def test_partners_join_and_leave_as_of_d(seeded: LearningLoop) -> None:
    seeded.record({"type": "PartnerLeft", "programme": "prog", "partner": "city",
                   "occurred_on": "2014-06-30", "reason": "moved"})  # fmt: skip
    assert rows_of(seeded, "partners", "*") == [
        ("prog", "acme", "Acme", "company", date(2012, 2, 1), None, True),
        ("prog", "city", "City", "local_authority", date(2012, 2, 1), date(2014, 6, 30), False),
    ]
    assert rows_of(seeded, "partners", "partner, is_active", as_of=date(2014, 6, 29)) == [
        ("acme", True), ("city", True),
    ]  # fmt: skip
    assert rows_of(seeded, "partners", "partner", as_of=date(2012, 1, 31)) == []


def test_a_partner_who_left_twice_left_on_the_latest_departure_by_d(seeded: LearningLoop) -> None:
    # Recorded latest first: the latest departure decides by its date, not by its recording.
    for left_on in ("2014-06-30", "2013-03-31"):
        seeded.record({"type": "PartnerLeft", "programme": "prog", "partner": "city",
                       "occurred_on": left_on, "reason": "moved"})  # fmt: skip
    assert rows_of(seeded, "partners", "partner, left_on, is_active") == [
        ("acme", None, True), ("city", date(2014, 6, 30), False),
    ]  # fmt: skip
    assert rows_of(seeded, "partners", "partner, left_on", as_of=date(2014, 1, 1)) == [
        ("acme", None), ("city", date(2013, 3, 31)),
    ]  # fmt: skip
