"""Bitemporal replay: an experiment's state as of a valid date D, as known at a time T.

An event counts when occurred_on <= D, recorded_at <= T and no EventRetracted recorded at or
before T retracts it (CONTRACT section 1). Counted events are folded in (occurred_on, version)
order. This module is the reference for every indicator: the DuckDB projections must agree.
"""

from __future__ import annotations

import statistics
from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from itertools import chain
from operator import attrgetter

from learningloop.domain import events as ev
from learningloop.domain.basics import STATUS_BY_DECISION as STATUS_BY_DECISION
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
from learningloop.domain.timeline import TimelineEntry

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
    timeline: list[TimelineEntry] = field(default_factory=list)

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
    # A replay's hottest loop, on the stream's replay keys (plain integers) rather than on
    # the event objects: retractions known at T, then the other events known at T and
    # occurred by D that none of them retracts.
    keys = keys_of(recorded_events)
    known, day = instant(known_at), as_of.toordinal()
    retracted = {
        target
        for recorded_at, target in zip(keys.recorded, keys.retracts, strict=True)
        if target is not None and recorded_at <= known
    }
    chosen = [
        index
        for index, (recorded_at, occurred, target) in enumerate(
            zip(keys.recorded, keys.occurred, keys.retracts, strict=True)
        )
        if recorded_at <= known and occurred <= day and target is None
    ]
    if retracted:
        versions = keys.versions
        chosen = [index for index in chosen if versions[index] not in retracted]
    # (occurred_on, version) order: one stable sort when the stream is in version order
    if not keys.in_version_order:
        chosen.sort(key=keys.versions.__getitem__)
    chosen.sort(key=keys.occurred.__getitem__)
    return [recorded_events[index] for index in chosen]


class _KindTest(dict[type, bool]):
    """`isinstance(event, of)` decided once per event class, for the loops over every event
    of a stream: isinstance on a pydantic model goes through ABCMeta, slow when the answer is
    no (most events), where a dict lookup by `type(event)` is not."""

    def __init__(self, of: type[ev.Event]) -> None:
        super().__init__()
        self.of = of

    def __missing__(self, kind: type) -> bool:
        self[kind] = answer = issubclass(kind, self.of)
        return answer


_VERSION = attrgetter("originator_version")
_OCCURRED_ON = attrgetter("event.occurred_on")
Kinds = dict[type[ev.Event], list[Recorded]]


def _kinds(counted: Sequence[Recorded]) -> Kinds:
    """Counted events by class, each list in counted order: one pass, so each indicator
    reads only the kinds it folds instead of testing every event again."""
    kinds: Kinds = {}
    for recorded in counted:
        kinds.setdefault(type(recorded.event), []).append(recorded)
    return kinds


def _of(kinds: Kinds, *types: type[ev.Event]) -> list[Recorded]:
    """The counted events of these kinds, in counted ((occurred_on, version)) order."""
    lists = [found for kind, found in kinds.items() if issubclass(kind, types)]
    if len(lists) == 1:
        return lists[0]
    merged = sorted(chain.from_iterable(lists), key=_VERSION)
    merged.sort(key=_OCCURRED_ON)
    return merged


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
    counted = counted_events(experiment_events, as_of, known_at)
    kinds = _kinds(counted)
    proposals = [
        r.event
        for r in _of(kinds, ev.ExperimentProposed)
        if isinstance(r.event, ev.ExperimentProposed)
    ]
    timeline = _timeline(counted, as_of)
    # Events that occurred before the proposal still happened; until the proposal counts
    # the experiment has no status, coverage or learning loops.
    history = ExperimentView(
        experiment,
        as_of,
        known_at,
        is_proposed=False,
        commitments=commitment_periods(_of(kinds, ev.CommitmentMade, ev.MeetingHeld), as_of),
        milestones=milestone_views(_of(kinds, *MILESTONE_KINDS), as_of),
        reviews=review_views(_of(kinds, ev.ReviewSessionHeld)),
        decisions=_decisions(kinds),
        timeline=timeline,
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
        status=_status(_of(kinds, ev.DecisionRecorded, ev.ExperimentClosed)),
        learnings=_learnings(kinds),
        functions=function_coverage(
            _of(kinds, ev.FunctionEvidenced, ev.FunctionAssessed),
            programme_functions(programme_events, known_at),
        ),
    )


def _status(counted: Sequence[Recorded]) -> str:
    status = "proposed"
    for recorded in counted:
        event = recorded.event
        if isinstance(event, ev.DecisionRecorded) and event.kind in STATUS_BY_DECISION:
            status = STATUS_BY_DECISION[event.kind]
        elif isinstance(event, ev.ExperimentClosed):
            status = "closed"
    return status


def _timeline(counted: Sequence[Recorded], as_of: date) -> list[TimelineEntry]:
    """Every counted event with its learning cycle: decision k closes cycle k."""
    entries, cycle = [], 1
    is_decision = _KindTest(ev.DecisionRecorded)
    # The frozen dataclass's __init__ sets each field through object.__setattr__: filling the
    # new entry's __dict__ directly makes the same entry (equal, still frozen) in half the time.
    new = object.__new__
    for recorded in counted:
        entry = new(TimelineEntry)
        entry.__dict__.update(recorded=recorded, cycle=cycle, as_of=as_of)
        entries.append(entry)
        if is_decision[type(recorded.event)]:
            cycle += 1
    return entries


def _decisions(kinds: Kinds) -> list[DecisionView]:
    """Each counted decision; the k-th closes cycle k (as in `_timeline`)."""
    learnings = _of(kinds, ev.LearningRecorded)
    learning_keys = {
        r.event.learning for r in learnings if isinstance(r.event, ev.LearningRecorded)
    }
    return [
        DecisionView(
            decision=r.event.decision,
            kind=r.event.kind,
            occurred_on=r.event.occurred_on,
            summary=r.event.summary,
            evidence=r.event.evidence,
            evidence_count=len(r.event.evidence),
            cites_learning=not learning_keys.isdisjoint(r.event.evidence),
            cycle=cycle,
        )
        for cycle, r in enumerate(_of(kinds, ev.DecisionRecorded), start=1)
        if isinstance(r.event, ev.DecisionRecorded)
    ]


def _learnings(kinds: Kinds) -> list[LearningView]:
    """One view per learning key (CONTRACT 6.11): dated by its first counted recording, with
    the words of its latest restatement."""
    # For each cited key, the dates of the decisions citing it, in (occurred_on, version) order.
    citing: dict[str, list[date]] = {}
    recordings: dict[str, list[ev.LearningRecorded]] = {}
    # Decisions and learnings fold independently: each kind in its own counted order.
    for recorded in _of(kinds, ev.DecisionRecorded):
        if isinstance(event := recorded.event, ev.DecisionRecorded):
            for cited in event.evidence:
                citing.setdefault(cited, []).append(event.occurred_on)
    for recorded in _of(kinds, ev.LearningRecorded):
        if isinstance(event := recorded.event, ev.LearningRecorded):
            recordings.setdefault(event.learning, []).append(event)
    views = []
    for key, events in recordings.items():
        first_on, latest = events[0].occurred_on, events[-1]
        dates = citing.get(key, [])
        first = bisect_left(dates, first_on)  # the first action on or after it
        views.append(
            LearningView(
                learning=key,
                occurred_on=first_on,
                observation=latest.observation,
                insight=latest.insight,
                actioned_on=dates[first] if first < len(dates) else None,
            )
        )
    return views
