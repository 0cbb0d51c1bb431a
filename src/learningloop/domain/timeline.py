"""The learning timeline: one human line per counted event."""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Iterator, Sequence
from datetime import date, datetime
from functools import cache
from itertools import chain, count, repeat
from operator import sub
from typing import Any, NamedTuple, cast, overload

from learningloop.domain import events as ev
from learningloop.domain.recorded import Recorded
from learningloop.domain.values import end_of_period


class TimelineEntry(NamedTuple):
    """One counted event in its learning cycle; every other field is read from the event.

    A tuple, not a dataclass: a replay makes one entry per counted event (10,000 in a long
    experiment) and a tuple is made several times faster; its summary line is made when read
    (rendering reads it once)."""

    recorded: Recorded
    cycle: int
    as_of: date = date.max  # D: an event is certain once its whole period lies before D

    @property
    def occurred_until(self) -> date:
        event = self.recorded.event
        return end_of_period(event.occurred_on, event.precision)

    @property
    def is_certain(self) -> bool:
        return self.occurred_until <= self.as_of

    @property
    def precision(self) -> str:
        return self.recorded.event.precision

    @property
    def basis(self) -> str:
        return self.recorded.event.basis

    @property
    def version(self) -> int:
        return self.recorded.originator_version

    @property
    def occurred_on(self) -> date:
        return self.recorded.event.occurred_on

    @property
    def recorded_at(self) -> datetime:
        return self.recorded.timestamp

    @property
    def type(self) -> str:
        return self.recorded.event.type

    @property
    def summary(self) -> str:
        return summarise(self.recorded.event)

    def as_row(self) -> dict[str, Any]:
        return {"version": self.version, "occurred_on": self.occurred_on,
                "recorded_at": self.recorded_at, "type": self.type, "summary": self.summary,
                "cycle": self.cycle, "occurred_until": self.occurred_until,
                "is_certain": self.is_certain, "precision": self.precision,
                "basis": self.basis}  # fmt: skip


def timeline_entries(
    counted: Sequence[Recorded], as_of: date, decisions: Sequence[int] | None = None
) -> list[TimelineEntry]:
    """Every counted event with its learning cycle: decision k closes cycle k. `decisions`:
    the positions of the decisions among the counted events, when the caller knows them
    (then no event is read here)."""
    return list(Timeline(counted, as_of, decisions))


def _decision_positions(counted: Sequence[Recorded]) -> list[int]:
    return [position for position, recorded in enumerate(counted)
            if _is_decision(type(recorded.event))]  # fmt: skip


@cache
def _is_decision(kind: type[ev.Event]) -> bool:
    # isinstance on a pydantic model goes through ABCMeta: decided once per class
    return issubclass(kind, ev.DecisionRecorded)


class Timeline(Sequence[TimelineEntry]):
    """The timeline of counted events, each entry made as it is read and not kept.

    A replay that is asked only for the state (status, coverage, a benchmark) never pays for
    one entry per counted event. A reader that goes through the entries once (rendering, a
    count) frees each before the next is made: none is held until the view is dropped, so
    they never start a pass of the cyclic garbage collector (5,000 entries did, once the
    collector was on again after the replay). Equal to the list of its entries."""

    __slots__ = ("_as_of", "_counted", "_decisions")

    def __init__(
        self, counted: Sequence[Recorded], as_of: date, decisions: Sequence[int] | None = None
    ) -> None:
        self._counted, self._as_of = counted, as_of
        self._decisions = _decision_positions(counted) if decisions is None else decisions

    def entries(self) -> list[TimelineEntry]:
        return list(self)

    def __len__(self) -> int:
        return len(self._counted)

    @overload
    def __getitem__(self, index: int) -> TimelineEntry: ...
    @overload
    def __getitem__(self, index: slice) -> list[TimelineEntry]: ...
    def __getitem__(self, index: int | slice) -> TimelineEntry | list[TimelineEntry]:
        if isinstance(index, slice):
            return self.entries()[index]
        position = range(len(self._counted))[index]  # negative or out of range as a list's
        cycle = 1 + bisect_left(self._decisions, position)  # the decisions before it, plus one
        return TimelineEntry(self._counted[position], cycle, self._as_of)

    def __iter__(self) -> Iterator[TimelineEntry]:
        # Event i is in cycle 1 + (the decisions before i): a run of equal cycles ends at each
        # decision, so the cycles are repeated numbers, not a sum per event. Each entry a tuple
        # made directly (not through _make), the loop run by map and zip.
        runs = map(sub, chain(self._decisions, [len(self._counted)]), chain([-1], self._decisions))
        cycles = chain.from_iterable(map(repeat, count(1), runs))
        made = zip(self._counted, cycles, repeat(self._as_of))
        return cast(Iterator[TimelineEntry], map(tuple.__new__, repeat(TimelineEntry), made))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Timeline):
            return self.entries() == other.entries()
        return self.entries() == other if isinstance(other, list) else NotImplemented

    __hash__ = None  # type: ignore[assignment]  # equal to a list, so unhashable as one is

    def __repr__(self) -> str:
        return repr(self.entries())


def _count(number: int | None, noun: str) -> str:
    if number is None:
        return f"{noun}s not recorded"
    return f"{number} {noun}" + ("" if number == 1 else "s")


_SUMMARIES: dict[type[ev.Event], Callable[[Any], str]] = {
    ev.ExperimentProposed: lambda e: f"Proposed: {e.title} (carried by {', '.join(e.carriers)})",
    ev.ReviewSessionHeld: lambda e: (
        f"Review {e.review}: session {e.session} of {e.sessions_planned}"
    ),
    ev.DecisionRecorded: lambda e: f"Decision {e.decision} ({e.kind}): {e.summary}",
    ev.CommitmentMade: lambda e: (
        f"Commitment {e.commitment}: {e.meetings_per_year_min}-{e.meetings_per_year_max} "
        f"meetings a year for {e.months} months from {e.starts_on.isoformat()}"
    ),
    ev.MeetingHeld: lambda e: (
        f"Meeting ({e.kind}{', ' + e.meeting if e.meeting else ''}): "
        f"{_count(e.attendees, 'attendee')}"
    ),
    ev.MilestonePlanned: lambda e: (
        f"Milestone {e.milestone} planned: {e.title}, due {e.due_on.isoformat()}"
    ),
    ev.MilestoneRescheduled: lambda e: (
        f"Milestone {e.milestone} rescheduled to {e.due_on.isoformat()}"
    ),
    ev.MilestoneReached: lambda e: f"Milestone {e.milestone} reached",
    ev.MilestoneAbandoned: lambda e: f"Milestone {e.milestone} abandoned",
    ev.LearningRecorded: lambda e: f"Learning {e.learning}: {e.observation}",
    ev.FunctionEvidenced: lambda e: (
        f"Function {e.function} evidenced (strength {e.strength}): {e.evidence}"
    ),
    ev.FunctionAssessed: lambda e: (
        f"Function {e.function} assessed: {e.result.replace('_', ' ')}"
        + (f": {e.note}" if e.note else "")
    ),
    ev.ExperimentClosed: lambda e: "Experiment closed" + (f": {e.outcome}" if e.outcome else ""),
    ev.PredictionMade: lambda e: (
        f"Prediction {e.prediction} (resolves {e.resolves_on.isoformat()}): {e.statement}"
    ),
    ev.PredictionResolved: lambda e: (
        f"Prediction {e.prediction} resolved: {'true' if e.outcome else 'false'}"
    ),
}


def summarise(event: ev.Event) -> str:
    """One human line for an experiment event, on a single line however long its text."""
    describe = _SUMMARIES.get(type(event))
    line = describe(event) if describe else event.type
    return " ".join(line.split())
