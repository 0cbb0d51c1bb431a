"""A plain-Python reading of CONTRACT 6.6-6.8, written apart from the SQL, for property tests.

Each function takes one experiment's stored events (in version order, which is log order
within a stream) and a moment (D, T), and returns the rows its table must hold.
"""

from __future__ import annotations

import itertools
import math
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from learningloop import LearningLoop
from learningloop.domain import events as ev
from learningloop.domain.recorded import Recorded
from learningloop.domain.replay import counted_events
from learningloop.domain.values import add_months
from tests.strategies import programme_histories

Row = tuple[Any, ...]
PERIOD_MONTHS = {"day": 0, "month": 1, "quarter": 3, "semester": 6, "year": 12}


def occurred_until(event: ev.Event) -> date:
    """The last day of the event's period (occurred_on is already its first day)."""
    months = PERIOD_MONTHS[event.precision]
    if not months:
        return event.occurred_on
    return add_months(event.occurred_on, months) - timedelta(days=1)


def _half_away(value: Decimal | None) -> float | None:
    if value is None:
        return None
    return float(value.quantize(Decimal("0.001"), rounding=ROUND_HALF_UP))


def median(values: Sequence[float]) -> float | None:
    return float(statistics.median(values)) if values else None


def predictions(key: str, stream: Sequence[Recorded], as_of: date, known_at: datetime) -> list[Row]:
    """experiment, prediction, probability, made_on, recorded_at, resolves_on, outcome,
    resolved_on, brier, made_before_outcome"""
    counted = counted_events(stream, as_of, known_at)
    rows = []
    for made in counted:
        if not isinstance(made.event, ev.PredictionMade):
            continue
        outcome, resolved_on, before = _outcome(made, counted, as_of)
        p = made.event.probability
        brier = None if outcome is None else (p - int(outcome)) * (p - int(outcome))
        rows.append((key, made.event.prediction, p, made.event.occurred_on, made.timestamp,
                     made.event.resolves_on, outcome, resolved_on, brier, before))  # fmt: skip
    return rows


def _outcome(
    made: Recorded, counted: list[Recorded], as_of: date
) -> tuple[bool | None, date | None, bool | None]:
    prediction = made.event
    assert isinstance(prediction, ev.PredictionMade)
    for recorded in counted:  # (occurred_on, version) order: the first resolution wins
        event = recorded.event
        if isinstance(event, ev.PredictionResolved) and event.prediction == prediction.prediction:
            return event.outcome, event.occurred_on, made.version < recorded.version
    if prediction.milestone is None:
        return None, None, None
    for kind, outcome in ((ev.MilestoneReached, True), (ev.MilestoneAbandoned, False)):
        ends = [r for r in counted
                if isinstance(r.event, kind) and r.event.milestone == prediction.milestone]  # type: ignore[attr-defined]  # fmt: skip
        if ends and ends[0].event.occurred_on <= prediction.resolves_on:
            return outcome, ends[0].event.occurred_on, made.version < ends[0].version
    if prediction.resolves_on < as_of:
        deadline = datetime.combine(prediction.resolves_on + timedelta(days=1), time(), UTC)
        return False, prediction.resolves_on, made.timestamp < deadline
    return None, None, None


def prediction_scores(prediction_rows: list[Row]) -> list[Row]:
    """experiment, predictions, resolved, brier_mean"""
    by_experiment: dict[str, list[Row]] = {}
    for row in prediction_rows:
        by_experiment.setdefault(row[0], []).append(row)
    rows = []
    for key, rows_of_key in by_experiment.items():
        # exact decimal arithmetic on the probabilities as written: 0.35² is 0.1225, a half
        exact = [(Decimal(repr(row[2])) - int(row[6])) ** 2 for row in rows_of_key
                 if row[6] is not None]  # fmt: skip
        mean = sum(exact) / len(exact) if exact else None
        rows.append((key, len(rows_of_key), len(exact), _half_away(mean)))
    return rows


def decision_revisions(
    key: str, stream: Sequence[Recorded], as_of: date, known_at: datetime
) -> list[Row]:
    """experiment, decision, evidence, revision, revised_at"""
    counted = counted_events(stream, as_of, known_at)
    counted_versions = {r.version for r in counted}
    by_version = {r.version: r for r in stream}
    rows = []
    for decision in counted:
        if not isinstance(decision.event, ev.DecisionRecorded):
            continue
        for cited in dict.fromkeys(decision.event.evidence):
            revisions = []
            for later in stream[decision.version :]:  # recorded after the decision
                event = later.event
                if isinstance(event, ev.EventRetracted) and later.timestamp <= known_at:
                    target = by_version[event.retracts]
                    if target.version < decision.version and _is_about(target.event, cited):
                        revisions.append(("retracted", later))
                elif (
                    isinstance(event, ev.LearningRecorded)
                    and event.learning == cited
                    and later.version in counted_versions
                ):
                    revisions.append(("restated", later))
            if revisions:
                revision, first = min(revisions, key=lambda item: item[1].version)
                rows.append((key, decision.event.decision, cited, revision, first.timestamp))
    return rows


def _is_about(event: ev.Event, cited: str) -> bool:
    if isinstance(event, ev.LearningRecorded):
        return event.learning == cited
    return isinstance(event, ev.ReviewSessionHeld) and event.review == cited


def learning_latency(
    key: str,
    stream: Sequence[Recorded],
    as_of: date,
    known_at: datetime,
    median_days_to_action: float | None,
) -> list[Row]:
    """experiment, events, reporting_delay_median_days, reporting_delay_p90_days,
    median_cycle_days, median_days_to_action (only for a proposed experiment)"""
    counted = counted_events(stream, as_of, known_at)
    if not any(isinstance(r.event, ev.ExperimentProposed) for r in counted):
        return []
    delays = sorted((r.timestamp.astimezone(UTC).date() - occurred_until(r.event)).days
                    for r in counted)  # fmt: skip
    p90 = delays[math.ceil(Fraction(9, 10) * len(delays)) - 1] if delays else None
    decided = [r.event.occurred_on for r in counted if isinstance(r.event, ev.DecisionRecorded)]
    gaps = [(later - earlier).days for earlier, later in itertools.pairwise(decided)]
    return [(key, len(delays), median(delays), p90, median(gaps), median_days_to_action)]


TABLE_COLUMNS = {
    "predictions": "experiment, prediction, probability, made_on, recorded_at, resolves_on, "
    "outcome, resolved_on, brier, made_before_outcome",
    "prediction_scores": "experiment, predictions, resolved, brier_mean",
    "decision_revisions": "experiment, decision, evidence, revision, revised_at",
    "learning_latency": "experiment, events, reporting_delay_median_days, "
    "reporting_delay_p90_days, median_cycle_days, median_days_to_action",
}


def expected_table(loop: Any, table: str, as_of: date, known_at: datetime) -> list[Row]:
    """The rows `table` must hold at (D, T), from this module's reading of the contract."""
    rows: list[Row] = []
    for key in loop.list_experiments():
        stream = loop._store.stream(f"experiment:{key}")
        if table in ("predictions", "prediction_scores"):
            rows += predictions(key, stream, as_of, known_at)
        elif table == "decision_revisions":
            rows += decision_revisions(key, stream, as_of, known_at)
        else:
            action = loop.replay(key, as_of, known_at).median_days_to_action
            rows += learning_latency(key, stream, as_of, known_at, action)
    if table == "prediction_scores":
        rows = prediction_scores(rows)
    return sorted(rows, key=repr)


def actual_table(loop: Any, table: str, as_of: date, known_at: datetime) -> list[Row]:
    rows = loop.sql(f"select {TABLE_COLUMNS[table]} from {table}", as_of, known_at).rows
    return sorted(rows, key=repr)


def agrees_at_random_moment(table: str) -> Callable[..., None]:
    """A property test: for a random programme at a random (D, T), `table` equals the reference."""

    @settings(max_examples=25, deadline=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip
    @given(raws=programme_histories(max_events=30), data=st.data())
    def test(tmp_path_factory: Any, raws: list[dict[str, Any]], data: st.DataObject) -> None:
        with LearningLoop(tmp_path_factory.mktemp(table) / "s", recorded_by="p") as loop:
            _compare(loop, raws, data, table)

    return test


def _compare(loop: Any, raws: list[dict[str, Any]], data: st.DataObject, table: str) -> None:
    loop.import_events(raws)
    stamps = sorted(r.timestamp for key in loop.list_experiments()
                    for r in loop._store.stream(f"experiment:{key}"))  # fmt: skip
    known_at = data.draw(st.sampled_from([*stamps, datetime(2100, 1, 1, tzinfo=UTC)]))
    as_of = data.draw(st.dates(date(2010, 6, 1), date(2019, 1, 1)))
    assert actual_table(loop, table, as_of, known_at) == expected_table(
        loop, table, as_of, known_at
    )


# --- partners: the reference the partners projection is compared against -------------


@dataclass(frozen=True)
class PartnerView:
    programme: str
    partner: str
    name: str
    kind: str
    joined_on: date
    left_on: date | None

    @property
    def is_active(self) -> bool:
        return self.left_on is None


def partner_views(counted: Sequence[Recorded]) -> list[PartnerView]:
    """Partners whose join counts: first join date, latest name and kind, latest departure."""
    joins: dict[str, list[ev.PartnerJoined]] = {}
    left: dict[str, date] = {}
    for recorded in counted:
        event = recorded.event
        if isinstance(event, ev.PartnerJoined):
            joins.setdefault(event.partner, []).append(event)
        elif isinstance(event, ev.PartnerLeft):
            left[event.partner] = event.occurred_on
    return [
        PartnerView(
            programme=events[-1].programme,
            partner=partner,
            name=events[-1].name,
            kind=events[-1].kind,
            joined_on=events[0].occurred_on,
            left_on=left.get(partner),
        )
        for partner, events in joins.items()
    ]
