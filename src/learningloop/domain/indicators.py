"""Indicator definitions of CONTRACT section 4, computed from counted events (pure Python).

Each function takes the counted events of one experiment in (occurred_on, version) order.
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from operator import attrgetter

from learningloop.domain import events as ev
from learningloop.domain.basics import frozen
from learningloop.domain.recorded import Recorded
from learningloop.domain.values import add_months


@dataclass(frozen=True)
class CommitmentPeriod:
    commitment: str
    description: str
    period: int
    period_start: date
    period_end: date
    meetings_held: int
    expected_min: int
    expected_max: int
    status: str


@dataclass(frozen=True)
class MilestoneView:
    milestone: str
    title: str
    due_on: date
    reached_on: date | None
    status: str
    days_late: int


@dataclass(frozen=True)
class ReviewView:
    review: str
    sessions: tuple[int, ...]
    sessions_planned: int

    @property
    def sessions_held(self) -> int:
        return len(self.sessions)

    @property
    def is_complete(self) -> bool:
        return self.sessions_held >= self.sessions_planned


@dataclass(frozen=True)
class LearningView:
    learning: str
    occurred_on: date
    observation: str
    insight: str | None
    actioned_on: date | None

    @property
    def days_to_action(self) -> int | None:
        return None if self.actioned_on is None else (self.actioned_on - self.occurred_on).days


@dataclass(frozen=True)
class FunctionCoverage:
    function: str
    label: str
    evidence_count: int
    max_strength: int | None
    first_evidenced_on: date | None
    last_evidenced_on: date | None
    evidence: tuple[str, ...]
    # The result of the latest counted FunctionAssessed, whatever the evidence (CONTRACT 6.4).
    assessed: str | None = None

    @property
    def is_covered(self) -> bool:
        return self.evidence_count >= 1

    @property
    def status(self) -> str:
        """covered / absent / not_applicable / not_assessed: evidence always wins."""
        if self.is_covered:
            return "covered"
        return self.assessed or "not_assessed"


def commitment_periods(
    made: Sequence[Recorded], meeting_days: Sequence[int], as_of: date
) -> list[CommitmentPeriod]:
    """Cadence: each commitment's yearly periods that start on or before D (from the counted
    CommitmentMade events in counted order and the days of the counted MeetingHeld, as
    ordinals: a replay has them beside the events, without reading 1,000s of events)."""
    commitments: dict[str, ev.CommitmentMade] = {}
    for recorded in made:
        if type(recorded.event) is ev.CommitmentMade:
            commitments[recorded.event.commitment] = recorded.event  # the latest restatement
    meeting_days = sorted(meeting_days)  # each period's meetings are then two bisects
    periods = []
    for commitment in commitments.values():
        for number, (start, end, months) in enumerate(_periods(commitment, as_of), start=1):
            held = bisect_right(meeting_days, end.toordinal()) - bisect_left(
                meeting_days, start.toordinal()
            )
            expected_min = math.floor(commitment.meetings_per_year_min * months / 12)
            expected_max = math.ceil(commitment.meetings_per_year_max * months / 12)
            periods.append(
                frozen(
                    CommitmentPeriod,
                    commitment=commitment.commitment,
                    description=commitment.description,
                    period=number,
                    period_start=start,
                    period_end=end,
                    meetings_held=held,
                    expected_min=expected_min,
                    expected_max=expected_max,
                    status=_cadence_status(held, expected_min, expected_max, end, as_of),
                )
            )
    return periods


def _periods(commitment: ev.CommitmentMade, as_of: date) -> list[tuple[date, date, int]]:
    """(start, end, months) of each period; bounds always computed from starts_on itself."""
    starts_on, total = commitment.starts_on, commitment.months
    commitment_end = add_months(starts_on, total)
    periods = []
    for k in range(1, math.ceil(total / 12) + 1):
        start = add_months(starts_on, 12 * (k - 1))
        if start > as_of:
            break
        end = min(add_months(starts_on, 12 * k), commitment_end) - timedelta(days=1)
        periods.append((start, end, min(12, total - 12 * (k - 1))))
    return periods


def _cadence_status(held: int, low: int, high: int, period_end: date, as_of: date) -> str:
    if held > high:
        return "above"
    if period_end >= as_of:
        return "in_progress"
    return "met" if held >= low else "below"


def milestone_views(counted: Sequence[Recorded], as_of: date) -> list[MilestoneView]:
    """Each planned milestone: latest due date, reached or abandoned (latest wins), lateness."""
    titles: dict[str, str] = {}
    due: dict[str, date] = {}
    outcome: dict[str, tuple[str, date]] = {}
    # The classes compared by identity (the catalogue's classes have no subclasses): isinstance
    # on a pydantic model goes through ABCMeta, several times per event.
    for recorded in counted:
        event = recorded.event
        if type(event) is ev.MilestonePlanned:
            titles[event.milestone], due[event.milestone] = event.title, event.due_on
        elif type(event) is ev.MilestoneRescheduled:
            due[event.milestone] = event.due_on
        elif type(event) is ev.MilestoneReached:
            outcome[event.milestone] = ("reached", event.occurred_on)
        elif type(event) is ev.MilestoneAbandoned:
            outcome[event.milestone] = ("abandoned", event.occurred_on)
    return [
        _milestone(key, title, due[key], outcome.get(key), as_of)
        for key, title in titles.items()  # a milestone exists once a counted plan exists
    ]


def _milestone(
    key: str, title: str, due_on: date, outcome: tuple[str, date] | None, as_of: date
) -> MilestoneView:
    reached_on, status, late = None, "pending", 0
    if outcome and outcome[0] == "reached":
        reached_on, status = outcome[1], "reached"
        late = max(0, (reached_on - due_on).days)
    elif outcome:
        status = "abandoned"
    elif due_on < as_of:
        status, late = "overdue", (as_of - due_on).days
    return frozen(MilestoneView, milestone=key, title=title, due_on=due_on,
                  reached_on=reached_on, status=status, days_late=late)  # fmt: skip


_SESSION = attrgetter("review", "session", "sessions_planned")


def review_views(counted: Sequence[Recorded]) -> list[ReviewView]:
    """Sessions held (distinct numbers) against the largest number planned."""
    sessions: dict[str, set[int]] = {}
    planned: dict[str, int] = {}
    held_sessions = [r.event for r in counted if type(r.event) is ev.ReviewSessionHeld]
    for review, session, sessions_planned in map(_SESSION, held_sessions):
        held = sessions.get(review)
        if held is None:
            sessions[review], planned[review] = {session}, sessions_planned
        else:
            held.add(session)
            if sessions_planned > planned[review]:
                planned[review] = sessions_planned
    return [
        frozen(ReviewView, review=review, sessions=tuple(sorted(held)),
               sessions_planned=planned[review])
        for review, held in sessions.items()
    ]  # fmt: skip


_STRENGTH, _EVIDENCE = attrgetter("strength"), attrgetter("evidence")


def function_coverage(
    counted: Sequence[Recorded], functions: Sequence[ev.FunctionDefinition]
) -> list[FunctionCoverage]:
    """One row per function of the programme, with no evidence included as count 0."""
    evidence: dict[str, list[ev.FunctionEvidenced]] = {f.key: [] for f in functions}
    assessed: dict[str, str] = {}
    for recorded in counted:
        event = recorded.event
        if type(event) is ev.FunctionEvidenced:
            items = evidence.get(event.function)
            if items is not None:  # evidence of a function outside the framework is not shown
                items.append(event)
        elif type(event) is ev.FunctionAssessed:
            assessed[event.function] = event.result  # the latest wins
    rows = []
    for function in functions:
        items = evidence[function.key]
        # counted events are in occurred_on order: the first and the last are the bounds
        rows.append(
            FunctionCoverage(
                function=function.key,
                label=function.label,
                evidence_count=len(items),
                max_strength=max(map(_STRENGTH, items), default=None),
                first_evidenced_on=items[0].occurred_on if items else None,
                last_evidenced_on=items[-1].occurred_on if items else None,
                evidence=tuple(map(_EVIDENCE, items)),
                assessed=assessed.get(function.key),
            )
        )
    return rows


def ratio(part: int, whole: int) -> float | None:
    """part/whole to 3 decimals, halves rounded away from zero (as DuckDB's round)."""
    if not whole:
        return None
    exact = Decimal(part) / Decimal(whole)
    return float(exact.quantize(Decimal("0.001"), rounding=ROUND_HALF_UP))
