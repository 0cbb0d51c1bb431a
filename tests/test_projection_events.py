"""Projection `events`: every stored event known at T, occurred by D, with is_retracted."""

from __future__ import annotations

import calendar
from datetime import UTC, date, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from learningloop import LearningLoop
from tests.conftest import event, recorded_times, rows_of
from tests.strategies import programme_histories

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


# --- CONTRACT 6.2, 6.3, 6.11: occurred_until, is_certain, basis ------------------------------

_LAST_MONTH_OF = {"month": 0, "quarter": 2, "semester": 5, "year": 11}


def reference_until(day: date, precision: str) -> date:
    """The last day of the calendar period starting at `day`, computed independently."""
    if precision == "day":
        return day
    start = {
        "month": day.replace(day=1),
        "quarter": date(day.year, 3 * ((day.month - 1) // 3) + 1, 1),
        "semester": date(day.year, 1 if day.month <= 6 else 7, 1),
        "year": date(day.year, 1, 1),
    }[precision]
    last_month = start.month + _LAST_MONTH_OF[precision]
    return date(start.year, last_month, calendar.monthrange(start.year, last_month)[1])


def reference_events(
    loop: LearningLoop, raws: list[dict[str, Any]], as_of: date, known_at: datetime
) -> list[tuple[Any, ...]]:
    """`events` at (D, T) from the raw input and the log's stamps (CONTRACT 6.11)."""
    stamps = [r for stream in streams_of(loop) for r in loop._store.stream(stream)]
    raw_of = {}  # (stream, version) of each input event, counted in input order
    for raw in raws:
        stream = f"experiment:{raw['experiment']}" if "experiment" in raw else "programme:prog"
        raw_of[stream, 1 + sum(key[0] == stream for key in raw_of)] = raw
    retracted = {
        (r.stream, raw_of[r.stream, r.version]["retracts"])
        for r in stamps
        if raw_of[r.stream, r.version]["type"] == "EventRetracted" and r.timestamp <= known_at
    }
    rows = []
    for recorded in stamps:
        raw = raw_of[recorded.stream, recorded.version]
        precision = raw.get("precision", "day")
        occurred_on = recorded.event.occurred_on  # moved to the period's first day
        if recorded.timestamp > known_at or occurred_on > as_of:
            continue
        until = reference_until(occurred_on, precision)
        rows.append((recorded.stream, recorded.version, occurred_on, precision, until,
                     until <= as_of, raw.get("basis", "stated"),
                     (recorded.stream, recorded.version) in retracted))  # fmt: skip
    return sorted(rows)


def streams_of(loop: LearningLoop) -> list[str]:
    return ["programme:prog", *(f"experiment:{key}" for key in loop.list_experiments())]


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip
@given(raws=programme_histories(max_events=25), data=st.data())
def test_events_precision_certainty_and_basis_agree_with_a_reference(
    tmp_path_factory: pytest.TempPathFactory, raws: list[dict[str, Any]], data: st.DataObject
) -> None:
    with LearningLoop(tmp_path_factory.mktemp("ev") / "s", recorded_by="p") as loop:
        loop.import_events(raws)
        stamps = sorted(r.recorded_at for s in streams_of(loop) for r in loop._store.stream(s))
        known_at = data.draw(st.sampled_from([*stamps, datetime(2100, 1, 1, tzinfo=UTC)]))
        as_of = data.draw(st.dates(date(2010, 6, 1), date(2018, 1, 1)))
        rows = loop.sql(
            "select stream, version, occurred_on, precision, occurred_until, is_certain, basis, "
            "is_retracted from events order by all",
            as_of,
            known_at,
        ).rows
        assert rows == reference_events(loop, raws, as_of, known_at)


def test_a_semester_event_is_counted_from_its_first_day_and_certain_after_its_last(
    seeded: LearningLoop,
) -> None:
    seeded.import_events([event("MeetingHeld", "2013-05-20", precision="semester", kind="local",
                                basis="inferred")])  # fmt: skip
    columns = "occurred_on, occurred_until, is_certain, basis"
    query = f"select {columns} from events where type = 'MeetingHeld'"
    assert seeded.sql(query, date(2013, 1, 2)).rows == [
        (date(2013, 1, 1), date(2013, 6, 30), False, "inferred")
    ]
    assert seeded.sql(query, date(2013, 6, 30)).rows[0][2] is True
    timeline = f"select {columns} from timeline where type = 'MeetingHeld'"
    assert seeded.sql(timeline, date(2013, 3, 1)).rows == [
        (date(2013, 1, 1), date(2013, 6, 30), False, "inferred")
    ]
    assert rows_of(seeded, "events", "distinct basis") == [("inferred",), ("stated",)]
