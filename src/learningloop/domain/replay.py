"""Bitemporal replay: an experiment's state as of a valid date D, as known at a time T.

An event counts when occurred_on <= D, recorded_at <= T and no EventRetracted recorded at or
before T retracts it (CONTRACT section 1). Counted events are folded in (occurred_on, version)
order. This module is the reference for every indicator: the DuckDB projections must agree.
"""

from __future__ import annotations

import statistics
from bisect import bisect_left
from collections.abc import Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from itertools import chain
from operator import attrgetter
from typing import TypeVar, cast

from learningloop.domain import events as ev
from learningloop.domain.basics import STATUS_BY_DECISION as STATUS_BY_DECISION
from learningloop.domain.basics import frozen
from learningloop.domain.indicators import (
    CommitmentPeriod,
    FunctionCoverage,
    LearningView,
    MilestoneView,
    ReviewView,
    commitment_periods,
    function_coverage,
    milestone_views,
    review_views,
)
from learningloop.domain.recorded import Recorded
from learningloop.domain.streams import instant, keys_of
from learningloop.domain.timeline import Timeline, TimelineEntry

MILESTONE_KINDS = (ev.MilestonePlanned, ev.MilestoneRescheduled, ev.MilestoneReached,
                   ev.MilestoneAbandoned)  # fmt: skip


@dataclass(frozen=True)
class DecisionView:
    decision: str
    kind: str
    occurred_on: date
    summary: str
    evidence: tuple[str, ...]
    evidence_count: int
    cites_learning: bool
    cycle: int


@dataclass(frozen=True)
class ExperimentView:
    """Everything an evaluator sees of one experiment at (D, T)."""

    experiment: str
    as_of: date
    known_at: datetime
    is_proposed: bool
    programme: str | None = None
    title: str | None = None
    scale: str | None = None
    territory: str | None = None
    aim: str | None = None
    carriers: tuple[str, ...] = ()
    partners: tuple[str, ...] = ()
    proposed_on: date | None = None
    status: str | None = None
    commitments: list[CommitmentPeriod] = field(default_factory=list)
    milestones: list[MilestoneView] = field(default_factory=list)
    reviews: list[ReviewView] = field(default_factory=list)
    decisions: list[DecisionView] = field(default_factory=list)
    learnings: list[LearningView] = field(default_factory=list)
    functions: list[FunctionCoverage] = field(default_factory=list)
    timeline: Sequence[TimelineEntry] = field(default_factory=list)

    @property
    def functions_covered(self) -> int:
        return sum(1 for function in self.functions if function.is_covered)

    @property
    def next_milestone(self) -> MilestoneView | None:
        """The open milestone due first (overdue ones included)."""
        open_milestones = [m for m in self.milestones if m.status in ("pending", "overdue")]
        return min(open_milestones, key=lambda m: (m.due_on, m.milestone), default=None)

    @property
    def cycles(self) -> int:
        return len(self.decisions)

    @property
    def median_days_to_action(self) -> float | None:
        days = [lr.days_to_action for lr in self.learnings if lr.days_to_action is not None]
        return float(statistics.median(days)) if days else None


def counted_events(
    recorded_events: Sequence[Recorded], as_of: date, known_at: datetime
) -> list[Recorded]:
    """The events of one stream that count at (D, T), in (occurred_on, version) order."""
    # A replay's hottest loop, on the stream's replay keys (plain integers, the events that
    # are not retractions already sorted) rather than on the event objects.
    indexes = keys_of(recorded_events).counted(as_of.toordinal(), instant(known_at))
    return list(map(recorded_events.__getitem__, indexes))


E = TypeVar("E", bound=ev.Event)


class _Counted:
    """A stream's counted events and, by class, their positions among them: each indicator
    reads only the kinds it folds, merged in counted order, without testing every event."""

    def __init__(
        self, recorded_events: Sequence[Recorded], as_of: date, known_at: datetime
    ) -> None:
        keys = keys_of(recorded_events)
        self._indexes, self.kinds = keys.counted_by_kind(as_of.toordinal(), instant(known_at))
        self._occurred = keys.occurred
        self.recorded = list(map(recorded_events.__getitem__, self._indexes))

    def events(self, kind: type[E]) -> list[E]:
        """The counted events of one kind, in counted order."""
        return cast(list[E], list(map(_EVENT, self.of(kind))))

    def positions(self, *types: type[ev.Event]) -> list[int]:
        """Where the counted events of these kinds stand among all counted events."""
        lists = [found for kind, found in self.kinds.items() if issubclass(kind, types)]
        return lists[0] if len(lists) == 1 else sorted(chain.from_iterable(lists))

    def days(self, *types: type[ev.Event]) -> list[int]:
        """The occurred_on (ordinals) of the counted events of these kinds, in counted order."""
        indexes = map(self._indexes.__getitem__, self.positions(*types))
        return list(map(self._occurred.__getitem__, indexes))

    def of(self, *types: type[ev.Event]) -> list[Recorded]:
        """The counted events of these kinds, in counted ((occurred_on, version)) order."""
        return list(map(self.recorded.__getitem__, self.positions(*types)))


_EVENT = attrgetter("event")


def programme_functions(
    programme_events: Sequence[Recorded], known_at: datetime
) -> tuple[ev.FunctionDefinition, ...]:
    """The programme's function framework as known at T (the defaults if none is known)."""
    opened = [
        r.event
        for r in counted_events(programme_events, date.max, known_at)
        if isinstance(r.event, ev.ProgrammeOpened)
    ]
    return opened[0].functions if opened else ev.DEFAULT_FUNCTIONS


def replay_experiment(
    experiment: str,
    experiment_events: Sequence[Recorded],
    programme_events: Sequence[Recorded],
    as_of: date,
    known_at: datetime,
) -> ExperimentView:
    """Fold an experiment's counted events into the view an evaluator reads."""
    counted = _Counted(experiment_events, as_of, known_at)
    proposals = counted.events(ev.ExperimentProposed)
    decisions = counted.events(ev.DecisionRecorded)
    first, latest = _recordings(counted.events(ev.LearningRecorded))
    # Events that occurred before the proposal still happened; until the proposal counts
    # the experiment has no status, coverage or learning loops.
    history = ExperimentView(
        experiment,
        as_of,
        known_at,
        is_proposed=False,
        commitments=commitment_periods(
            counted.of(ev.CommitmentMade), counted.days(ev.MeetingHeld), as_of
        ),
        milestones=milestone_views(counted.of(*MILESTONE_KINDS), as_of),
        reviews=review_views(counted.of(ev.ReviewSessionHeld)),
        decisions=_decisions(decisions, latest.keys()),
        timeline=Timeline(counted.recorded, as_of, counted.positions(ev.DecisionRecorded)),
    )
    if not proposals:
        return history
    proposal = proposals[0]
    return replace(
        history,
        is_proposed=True,
        programme=proposal.programme,
        title=proposal.title,
        scale=proposal.scale,
        territory=proposal.territory,
        aim=proposal.aim,
        carriers=proposal.carriers,
        partners=proposal.partners,
        proposed_on=proposal.occurred_on,
        status=_status(counted.of(ev.DecisionRecorded, ev.ExperimentClosed)),
        learnings=_learnings(decisions, first, latest),
        functions=function_coverage(
            counted.of(ev.FunctionEvidenced, ev.FunctionAssessed),
            programme_functions(programme_events, known_at),
        ),
    )


def _status(counted: Sequence[Recorded]) -> str:
    """The status the latest closing, or decision of a kind that sets one, leaves."""
    for recorded in reversed(counted):
        event = recorded.event
        if type(event) is ev.ExperimentClosed:
            return "closed"
        if type(event) is ev.DecisionRecorded and event.kind in STATUS_BY_DECISION:
            return STATUS_BY_DECISION[event.kind]
    return "proposed"


_LEARNING = attrgetter("learning")


def _recordings(
    learnings: list[ev.LearningRecorded],
) -> tuple[dict[str, ev.LearningRecorded], dict[str, ev.LearningRecorded]]:
    """The first and the latest counted recording of each learning key; the latest in the
    order the keys were first recorded (a later recording takes the value, not the place)."""
    keys = list(map(_LEARNING, learnings))
    first = dict(zip(reversed(keys), reversed(learnings), strict=True))
    return first, dict(zip(keys, learnings, strict=True))


def _decisions(
    decisions: list[ev.DecisionRecorded], learning_keys: AbstractSet[str]
) -> list[DecisionView]:
    """Each counted decision; the k-th closes cycle k (as in the timeline)."""
    return [
        frozen(
            DecisionView,
            decision=event.decision,
            kind=event.kind,
            occurred_on=event.occurred_on,
            summary=event.summary,
            evidence=evidence,
            evidence_count=len(evidence),
            cites_learning=not learning_keys.isdisjoint(evidence),
            cycle=cycle,
        )
        for cycle, event in enumerate(decisions, start=1)
        for evidence in (event.evidence,)
    ]


def _learnings(
    decisions: list[ev.DecisionRecorded],
    first: dict[str, ev.LearningRecorded],
    latest: dict[str, ev.LearningRecorded],
) -> list[LearningView]:
    """One view per learning key (CONTRACT 6.11): dated by its first counted recording, with
    the words of its latest restatement."""
    # For each cited key, the dates of the decisions citing it, in (occurred_on, version) order.
    citing: dict[str, list[date]] = {}
    # Decisions and learnings fold independently: each kind in its own counted order.
    for event in decisions:
        occurred_on = event.occurred_on
        for cited in event.evidence:
            if cited in latest:  # only a counted learning's actions are read
                citing.setdefault(cited, []).append(occurred_on)
    views = []
    for key, restated in latest.items():
        first_on, dates = first[key].occurred_on, citing.get(key)
        actioned_on = None
        if dates:
            found = bisect_left(dates, first_on)  # the first action on or after it
            actioned_on = dates[found] if found < len(dates) else None
        views.append(
            frozen(
                LearningView,
                learning=key,
                occurred_on=first_on,
                observation=restated.observation,
                insight=restated.insight,
                actioned_on=actioned_on,
            )
        )
    return views
