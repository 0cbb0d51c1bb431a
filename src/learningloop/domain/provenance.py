"""Why was a decision taken? Its event, the learnings and reviews it cites, the cycle it closed."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from learningloop.domain import events as ev
from learningloop.domain.recorded import Recorded
from learningloop.domain.replay import counted_events
from learningloop.domain.timeline import summarise


@dataclass(frozen=True)
class SourcedEvent:
    """One event with everything needed to trace it back to its record."""

    stream: str
    version: int
    type: str
    occurred_on: date
    recorded_at: datetime
    recorded_by: str | None
    source: str | None
    summary: str

    @classmethod
    def of(cls, recorded: Recorded) -> SourcedEvent:
        event = recorded.event
        return cls(
            recorded.stream, recorded.version, event.type, event.occurred_on,
            recorded.recorded_at, event.recorded_by, event.source, summarise(event),
        )  # fmt: skip


@dataclass(frozen=True)
class Provenance:
    experiment: str
    decision: SourcedEvent
    kind: str
    rationale: str | None
    decided_by: str | None
    evidence: list[tuple[str, SourcedEvent]]  # (cited key, one of its events)
    uncounted_evidence: list[str]  # cited keys with no counted event at (D, T)
    cycle: int
    cycle_events: list[SourcedEvent]
    # cited keys revised after the decision was recorded: (key, retracted|restated, when)
    revisions: list[tuple[str, str, datetime]] = field(default_factory=list)

    def as_document(self) -> dict[str, Any]:
        return {
            "experiment": self.experiment,
            "decision": vars(self.decision) | {"kind": self.kind, "rationale": self.rationale,
                                               "decided_by": self.decided_by},
            "evidence": [{"cites": key} | vars(event) for key, event in self.evidence],
            "uncounted_evidence": self.uncounted_evidence,
            "cycle": {"number": self.cycle, "events": [vars(e) for e in self.cycle_events]},
            "revised_evidence": [{"evidence": key, "revision": revision, "revised_at": when}
                                 for key, revision, when in self.revisions],
        }  # fmt: skip


def trace_decision(
    experiment: str,
    decision: str,
    recorded_events: Sequence[Recorded],
    as_of: date,
    known_at: datetime,
) -> Provenance | None:
    """The provenance of the latest counted decision with that key, or None if none counts."""
    counted = counted_events(recorded_events, as_of, known_at)
    decisions = [
        r for r in counted
        if isinstance(r.event, ev.DecisionRecorded) and r.event.decision == decision
    ]  # fmt: skip
    if not decisions:
        return None
    chosen = decisions[-1]
    event = chosen.event
    assert isinstance(event, ev.DecisionRecorded)
    cycle_of, cycle = {}, 1
    for recorded in counted:
        cycle_of[recorded.version] = cycle
        if isinstance(recorded.event, ev.DecisionRecorded):
            cycle += 1
    evidence = [(key, SourcedEvent.of(r)) for key in event.evidence for r in counted
                if _cites(r.event, key)]  # fmt: skip
    cited = {key for key, _ in evidence}
    return Provenance(
        experiment=experiment,
        decision=SourcedEvent.of(chosen),
        kind=event.kind,
        rationale=event.rationale,
        decided_by=event.decided_by,
        evidence=evidence,
        uncounted_evidence=[key for key in event.evidence if key not in cited],
        cycle=cycle_of[chosen.version],
        cycle_events=[
            SourcedEvent.of(r) for r in counted if cycle_of[r.version] == cycle_of[chosen.version]
        ],
    )


def _cites(event: ev.Event, key: str) -> bool:
    if isinstance(event, ev.LearningRecorded):
        return event.learning == key
    return isinstance(event, ev.ReviewSessionHeld) and event.review == key
