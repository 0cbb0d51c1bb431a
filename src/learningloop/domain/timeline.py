"""The learning timeline: one human line per counted event."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from functools import cached_property
from typing import Any

from learningloop.domain import events as ev
from learningloop.domain.recorded import Recorded
from learningloop.domain.values import end_of_period


@dataclass(frozen=True)
class TimelineEntry:
    """One counted event in its learning cycle; its summary line is made when first read."""

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

    @cached_property
    def summary(self) -> str:
        return summarise(self.recorded.event)

    def as_row(self) -> dict[str, Any]:
        return {"version": self.version, "occurred_on": self.occurred_on,
                "recorded_at": self.recorded_at, "type": self.type, "summary": self.summary,
                "cycle": self.cycle, "occurred_until": self.occurred_until,
                "is_certain": self.is_certain, "precision": self.precision,
                "basis": self.basis}  # fmt: skip


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
