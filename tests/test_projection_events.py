"""Projection `events`: every stored event known at T, occurred by D, with is_retracted."""

from __future__ import annotations

from datetime import date

from learningloop import LearningLoop
from tests.conftest import event, recorded_times, rows_of

COLUMNS = "stream, version, type, programme, experiment, occurred_on, is_retracted"


def test_events_carry_stream_programme_and_retraction_flag(seeded: LearningLoop) -> None:
    seeded.import_events([
        event("MeetingHeld", "2013-05-01", kind="local", attendees=3, source="minutes"),
        event("EventRetracted", "2013-06-01", retracts=2, reason="duplicate"),
    ])  # fmt: skip
    rows = rows_of(seeded, "events", COLUMNS)
    assert rows == [
        ("experiment:exp", 1, "ExperimentProposed", "prog", "exp", date(2013, 1, 10), False),
        ("experiment:exp", 2, "MeetingHeld", "prog", "exp", date(2013, 5, 1), True),
        ("experiment:exp", 3, "EventRetracted", "prog", "exp", date(2013, 6, 1), False),
        ("programme:prog", 1, "ProgrammeOpened", "prog", None, date(2012, 1, 1), False),
        ("programme:prog", 2, "PartnerJoined", "prog", None, date(2012, 2, 1), False),
        ("programme:prog", 3, "PartnerJoined", "prog", None, date(2012, 2, 1), False),
    ]  # fmt: skip


def test_t_before_the_retraction_shows_the_event_unretracted(seeded: LearningLoop) -> None:
    seeded.import_events([event("MeetingHeld", "2013-05-01", kind="local", attendees=3)])
    seeded.record(event("EventRetracted", "2013-06-01", retracts=2, reason="duplicate"))
    before = recorded_times(seeded)[1]
    rows = rows_of(seeded, "events", "stream, version, is_retracted", known_at=before)
    assert [row[1:] for row in rows if row[0] == "experiment:exp"] == [(1, False), (2, False)]
    rows = rows_of(seeded, "events", "stream, version, is_retracted")
    assert [row[1:] for row in rows if row[0] == "experiment:exp"] == [
        (1, False), (2, True), (3, False)
    ]  # fmt: skip


def test_d_hides_events_that_occurred_later_and_payload_is_json(seeded: LearningLoop) -> None:
    assert rows_of(seeded, "events", "type", as_of=date(2012, 1, 31)) == [("ProgrammeOpened",)]
    payload = seeded.sql("select payload ->> '$.title' from events where version = 1 and "
                         "stream = 'experiment:exp'").rows  # fmt: skip
    assert payload == [("Experiment",)]
    positions = [row[0] for row in seeded.sql("select position from events order by position").rows]
    assert positions == [1, 2, 3, 4]
