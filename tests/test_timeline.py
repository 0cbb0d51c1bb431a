"""The timeline a replay returns: made when first read, equal to the entries made at once."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from learningloop.domain.parsing import parse_event
from learningloop.domain.recorded import Recorded
from learningloop.domain.timeline import Timeline, TimelineEntry, timeline_entries

T0 = datetime(2020, 1, 1, tzinfo=UTC)
D = date(2013, 6, 1)


def raw(kind: str, version: int) -> dict[str, Any]:
    day = (date(2012, 1, 1) + timedelta(days=version)).isoformat()
    if kind == "decision":
        return {"type": "DecisionRecorded", "experiment": "exp", "decision": f"d{version}",
                "kind": "adapt", "summary": "s", "occurred_on": day}  # fmt: skip
    return {"type": "MeetingHeld", "experiment": "exp", "kind": "local", "attendees": 1,
            "occurred_on": day}  # fmt: skip


def recorded(kinds: list[str]) -> list[Recorded]:
    return [Recorded("experiment:exp", version, T0 + timedelta(seconds=version),
                     parse_event(raw(kind, version)))
            for version, kind in enumerate(kinds, start=1)]  # fmt: skip


event_kinds = st.lists(st.sampled_from(["meeting", "decision"]), max_size=12)


@given(kinds=event_kinds)
def test_a_timeline_equals_its_entries_made_at_once(kinds: list[str]) -> None:
    events = recorded(kinds)
    eager = timeline_entries(events, D)
    assert Timeline(events, D) == eager and eager == Timeline(events, D)
    assert Timeline(events, D) == Timeline(events, D)
    assert list(Timeline(events, D)) == eager
    assert len(Timeline(events, D)) == len(eager)
    assert Timeline(events, D)[1:-1] == eager[1:-1]
    timeline = Timeline(events, D)
    assert [timeline[index] for index in range(-len(eager), len(eager))] == eager + eager
    for outside in (len(eager), -len(eager) - 1):
        with pytest.raises(IndexError):
            timeline[outside]
    assert repr(Timeline(events, D)) == repr(eager)
    # handed the decisions' positions (a replay knows them), the same entries without reading
    positions = [position for position, kind in enumerate(kinds) if kind == "decision"]
    assert Timeline(events, D, positions) == eager == timeline_entries(events, D, positions)


@given(kinds=event_kinds)
def test_decision_k_closes_cycle_k(kinds: list[str]) -> None:
    entries = timeline_entries(recorded(kinds), D)
    assert [entry.cycle for entry in entries] == [
        1 + kinds[:index].count("decision") for index in range(len(kinds))
    ]


def test_a_timeline_differs_from_another_and_from_what_is_not_a_list() -> None:
    events = recorded(["meeting", "decision", "meeting"])
    assert Timeline(events, D) != Timeline(events[:2], D)
    assert Timeline(events, D) != Timeline(events, date(2012, 1, 1))
    assert Timeline(events, D) != tuple(timeline_entries(events, D))
    with pytest.raises(TypeError):
        hash(Timeline(events, D))


def test_an_entry_reads_its_fields_from_the_event() -> None:
    entry = TimelineEntry(recorded(["meeting"])[0], 1, D)
    assert (entry.version, entry.type, entry.summary, entry.cycle, entry.as_of) == (
        1, "MeetingHeld", "Meeting (local): 1 attendee", 1, D,
    )  # fmt: skip
    assert entry.as_row()["occurred_until"] == date(2012, 1, 2)
    assert entry.is_certain and TimelineEntry(entry.recorded, 1).as_of == date.max
