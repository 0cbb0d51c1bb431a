"""The replay fold as it was at 0c044fe, kept as the reference the faster fold is checked
against (tests/test_replay.py): the same views, field for field, at any (D, T)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from itertools import accumulate, chain, repeat
from typing import Any

from learningloop.domain import events as ev
from learningloop.domain import replay
from learningloop.domain.basics import STATUS_BY_DECISION, frozen
from learningloop.domain.indicators import (
    FunctionCoverage,
    LearningView,
    MilestoneView,
    ReviewView,
    commitment_periods,
)
from learningloop.domain.recorded import Recorded
from learningloop.domain.streams import instant, keys_of
from learningloop.domain.timeline import TimelineEntry


class Counted:
    def __init__(self, recorded_events: Sequence[Recorded], as_of: date, known_at: datetime):
        keys = keys_of(recorded_events)
        indexes, self.kinds = keys.counted_by_kind(as_of.toordinal(), instant(known_at))
        self.recorded = list(map(recorded_events.__getitem__, indexes))
        self._days = list(map(keys.occurred.__getitem__, indexes))

    def events(self, kind: type[Any]) -> list[Any]:
        return [recorded.event for recorded in self.of(kind)]

    def positions(self, *types: type[ev.Event]) -> list[int]:
        lists = [found for kind, found in self.kinds.items() if issubclass(kind, types)]
        return lists[0] if len(lists) == 1 else sorted(chain.from_iterable(lists))

    def days(self, *types: type[ev.Event]) -> list[int]:
        return list(map(self._days.__getitem__, self.positions(*types)))

    def of(self, *types: type[ev.Event]) -> list[Recorded]:
        return list(map(self.recorded.__getitem__, self.positions(*types)))


def replay_experiment(
    experiment: str,
    experiment_events: Sequence[Recorded],
    programme_events: Sequence[Recorded],
    as_of: date,
    known_at: datetime,
) -> replay.ExperimentView:
    counted = Counted(experiment_events, as_of, known_at)
    proposals = counted.events(ev.ExperimentProposed)
    decisions = counted.events(ev.DecisionRecorded)
    recordings = _recordings(counted.events(ev.LearningRecorded))
    history = replay.ExperimentView(
        experiment,
        as_of,
        known_at,
        is_proposed=False,
        commitments=commitment_periods(
            counted.of(ev.CommitmentMade), counted.days(ev.MeetingHeld), as_of
        ),
        milestones=milestone_views(counted.of(*replay.MILESTONE_KINDS), as_of),
        reviews=review_views(counted.of(ev.ReviewSessionHeld)),
        decisions=_decisions(decisions, recordings.keys()),
        timeline=timeline_entries(counted.recorded, as_of, counted.positions(ev.DecisionRecorded)),
    )
    if not proposals:
        return history
    proposal = proposals[0]
    return replay.replace(
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
        learnings=_learnings(decisions, recordings),
        functions=function_coverage(
            counted.of(ev.FunctionEvidenced, ev.FunctionAssessed),
            replay.programme_functions(programme_events, known_at),
        ),
    )


def timeline_entries(
    counted: Sequence[Recorded], as_of: date, decisions: Sequence[int]
) -> list[TimelineEntry]:
    closes = [0] * len(counted)
    for position in decisions:
        closes[position] = 1
    cycles = accumulate(closes, initial=1)
    return list(map(tuple.__new__, repeat(TimelineEntry), zip(counted, cycles, repeat(as_of))))


def _status(counted: Sequence[Recorded]) -> str:
    status = "proposed"
    for recorded in counted:
        event = recorded.event
        if type(event) is ev.DecisionRecorded:
            status = STATUS_BY_DECISION.get(event.kind, status)
        elif type(event) is ev.ExperimentClosed:
            status = "closed"
    return status


def _recordings(learnings: list[Any]) -> dict[str, list[Any]]:
    recordings: dict[str, list[Any]] = {}
    for event in learnings:
        recordings.setdefault(event.learning, []).append(event)
    return recordings


def _decisions(decisions: list[Any], learning_keys: Any) -> list[replay.DecisionView]:
    return [
        frozen(
            replay.DecisionView,
            decision=event.decision,
            kind=event.kind,
            occurred_on=event.occurred_on,
            summary=event.summary,
            evidence=event.evidence,
            evidence_count=len(event.evidence),
            cites_learning=not learning_keys.isdisjoint(event.evidence),
            cycle=cycle,
        )
        for cycle, event in enumerate(decisions, start=1)
    ]


def _learnings(decisions: list[Any], recordings: dict[str, list[Any]]) -> list[LearningView]:
    from bisect import bisect_left

    citing: dict[str, list[date]] = {}
    for event in decisions:
        for cited in event.evidence:
            citing.setdefault(cited, []).append(event.occurred_on)
    views = []
    for key, events in recordings.items():
        first_on, latest = events[0].occurred_on, events[-1]
        dates = citing.get(key, [])
        first = bisect_left(dates, first_on)
        views.append(
            frozen(
                LearningView,
                learning=key,
                occurred_on=first_on,
                observation=latest.observation,
                insight=latest.insight,
                actioned_on=dates[first] if first < len(dates) else None,
            )
        )
    return views


def milestone_views(counted: Sequence[Recorded], as_of: date) -> list[MilestoneView]:
    titles: dict[str, str] = {}
    due: dict[str, date] = {}
    outcome: dict[str, tuple[str, date]] = {}
    for recorded in counted:
        event: Any = recorded.event
        if type(event) is ev.MilestonePlanned:
            titles[event.milestone], due[event.milestone] = event.title, event.due_on
        elif type(event) is ev.MilestoneRescheduled:
            due[event.milestone] = event.due_on
        elif type(event) is ev.MilestoneReached:
            outcome[event.milestone] = ("reached", event.occurred_on)
        elif type(event) is ev.MilestoneAbandoned:
            outcome[event.milestone] = ("abandoned", event.occurred_on)
    views = []
    for key in titles:
        reached_on, status, late, due_on, ended = None, "pending", 0, due[key], outcome.get(key)
        if ended and ended[0] == "reached":
            reached_on, status = ended[1], "reached"
            late = max(0, (reached_on - due_on).days)
        elif ended:
            status = "abandoned"
        elif due_on < as_of:
            status, late = "overdue", (as_of - due_on).days
        views.append(MilestoneView(key, titles[key], due_on, reached_on, status, late))
    return views


def review_views(counted: Sequence[Recorded]) -> list[ReviewView]:
    sessions: dict[str, set[int]] = {}
    planned: dict[str, int] = {}
    for recorded in counted:
        event: Any = recorded.event
        if type(event) is ev.ReviewSessionHeld:
            review = event.review
            held = sessions.get(review)
            if held is None:
                held = sessions[review] = set()
                planned[review] = event.sessions_planned
            elif event.sessions_planned > planned[review]:
                planned[review] = event.sessions_planned
            held.add(event.session)
    return [ReviewView(review, tuple(sorted(held)), planned[review])
            for review, held in sessions.items()]  # fmt: skip


def function_coverage(
    counted: Sequence[Recorded], functions: Sequence[ev.FunctionDefinition]
) -> list[FunctionCoverage]:
    evidence: dict[str, list[Any]] = {f.key: [] for f in functions}
    assessed: dict[str, str] = {}
    for recorded in counted:
        event: Any = recorded.event
        if type(event) is ev.FunctionEvidenced:
            evidence.setdefault(event.function, []).append(event)
        elif type(event) is ev.FunctionAssessed:
            assessed[event.function] = event.result
    rows = []
    for function in functions:
        items = evidence[function.key]
        days = [item.occurred_on for item in items]
        rows.append(
            FunctionCoverage(
                function=function.key,
                label=function.label,
                evidence_count=len(items),
                max_strength=max([item.strength for item in items], default=None),
                first_evidenced_on=min(days, default=None),
                last_evidenced_on=max(days, default=None),
                evidence=tuple([item.evidence for item in items]),
                assessed=assessed.get(function.key),
            )
        )
    return rows
