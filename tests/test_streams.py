"""A stream's replay keys: counting on them agrees with counting on the event objects."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from learningloop.domain import events as ev
from learningloop.domain.parsing import parse_event
from learningloop.domain.recorded import Recorded
from learningloop.domain.replay import counted_events
from learningloop.domain.streams import Stream, instant, keys_of
from learningloop.domain.timeline import TimelineEntry, timeline_entries

T0 = datetime(2020, 1, 1, tzinfo=UTC)


def meeting(day: date) -> dict[str, Any]:
    return {"type": "MeetingHeld", "experiment": "exp", "kind": "local", "attendees": 1,
            "occurred_on": day.isoformat()}  # fmt: skip


def planned(day: date) -> dict[str, Any]:
    return {"type": "MilestonePlanned", "experiment": "exp", "milestone": "m", "title": "t",
            "due_on": "2013-01-01", "occurred_on": day.isoformat()}  # fmt: skip


def retraction(version: int, day: date) -> dict[str, Any]:
    return {"type": "EventRetracted", "experiment": "exp", "retracts": version, "reason": "r",
            "occurred_on": day.isoformat()}  # fmt: skip


@st.composite
def streams(draw: st.DrawFn) -> list[Recorded]:
    """Meetings, milestone plans and retractions of earlier versions, recorded microseconds
    to days apart, in version order or shuffled (a replay may be handed any sequence)."""
    events: list[Recorded] = []
    moment = T0
    for version in range(1, draw(st.integers(1, 25)) + 1):
        day = draw(st.dates(date(2012, 1, 1), date(2012, 1, 5)))  # same days: version decides
        retracts = version > 1 and draw(st.booleans())
        fact = draw(st.sampled_from([meeting, planned]))
        raw = retraction(draw(st.integers(1, version - 1)), day) if retracts else fact(day)
        moment += draw(st.sampled_from([timedelta(microseconds=1), timedelta(days=1)]))
        events.append(Recorded("experiment:exp", version, moment, parse_event(raw)))
    return draw(st.permutations(events)) if draw(st.booleans()) else events


def reference(events: list[Recorded], as_of: date, known_at: datetime) -> list[Recorded]:
    """CONTRACT 1 read straight off the event objects."""
    known = [r for r in events if r.timestamp <= known_at]
    retracted = {r.event.retracts for r in known if isinstance(r.event, ev.EventRetracted)}
    counted = [r for r in known if not isinstance(r.event, ev.EventRetracted)
               and r.event.occurred_on <= as_of and r.version not in retracted]  # fmt: skip
    return sorted(counted, key=lambda r: (r.event.occurred_on, r.version))


@settings(max_examples=60, deadline=None)
@given(events=streams(), data=st.data())
def test_counting_on_the_keys_agrees_with_counting_on_the_events(
    events: list[Recorded], data: st.DataObject
) -> None:
    as_of = data.draw(st.dates(date(2011, 12, 31), date(2012, 1, 6)))
    stamp = data.draw(st.sampled_from([r.timestamp for r in events]))
    known_at = stamp + data.draw(st.sampled_from([timedelta(0), -timedelta(microseconds=1)]))
    expected = reference(events, as_of, known_at)
    assert counted_events(events, as_of, known_at) == expected
    assert counted_events(Stream(events), as_of, known_at) == expected


@settings(max_examples=60, deadline=None)
@given(events=streams(), data=st.data())
def test_counted_by_kind_gives_each_kinds_positions_among_the_counted(
    events: list[Recorded], data: st.DataObject
) -> None:
    """The usual replay (T at or after the last recording) slices lists made once per stream;
    an earlier T filters: both give the counted events and, by class, where they stand."""
    as_of = data.draw(st.dates(date(2011, 12, 31), date(2012, 1, 6)))
    last = max(r.timestamp for r in events)
    # the last recording drawn more often: the usual replay
    stamp = data.draw(st.sampled_from([r.timestamp for r in events] + [last, last]))
    known_at = stamp + data.draw(st.sampled_from([timedelta(0), -timedelta(microseconds=1)]))
    expected = reference(events, as_of, known_at)
    kinds: dict[type[ev.Event], list[int]] = {}
    for position, recorded in enumerate(expected):
        kinds.setdefault(type(recorded.event), []).append(position)
    keys = Stream(events).replay_keys()
    indexes, by_kind = keys.counted_by_kind(as_of.toordinal(), instant(known_at))
    assert [events[index] for index in indexes] == expected
    assert by_kind == kinds
    again, _ = keys.counted_by_kind(as_of.toordinal(), instant(known_at))
    again.clear()  # the caller's own lists: the stream's keys are untouched
    assert keys.counted_by_kind(as_of.toordinal(), instant(known_at)) == (indexes, by_kind)


@given(events=streams(), split=st.integers(0, 25))
def test_a_stream_extended_in_parts_has_the_keys_of_the_whole(
    events: list[Recorded], split: int
) -> None:
    first = Stream(events[:split])
    first.replay_keys()
    assert first.extended(events[split:]).replay_keys() == keys_of(events)


def test_keys_follow_a_stream_appended_to_after_they_were_made() -> None:
    stream = Stream([Recorded("experiment:exp", 1, T0, parse_event(meeting(date(2012, 1, 1))))])
    assert counted_events(stream, date(2013, 1, 1), T0) == list(stream)
    stream.append(Recorded("experiment:exp", 2, T0, parse_event(retraction(1, date(2012, 1, 1)))))
    assert counted_events(stream, date(2013, 1, 1), T0) == []


def test_instants_order_as_the_times_do_to_the_microsecond() -> None:
    later = T0 + timedelta(microseconds=1)
    assert instant(T0) < instant(later)
    assert instant(later.astimezone(timezone(timedelta(hours=2)))) == instant(later)


def test_timeline_entries_equal_those_the_constructor_makes() -> None:
    events = [Recorded("experiment:exp", 1, T0, parse_event(meeting(date(2012, 1, 1))))]
    made = timeline_entries(events, date(2013, 1, 1))
    assert made == [TimelineEntry(events[0], 1, date(2013, 1, 1))]
    assert made[0].summary == "Meeting (local): 1 attendee"
