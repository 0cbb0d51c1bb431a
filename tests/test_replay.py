"""Bitemporal replay: as of D, as known at T, retractions honoured; property tests."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from learningloop import LearningLoop
from learningloop.domain import events as ev
from learningloop.domain.parsing import parse_event
from learningloop.domain.recorded import Recorded
from learningloop.domain.replay import ExperimentView, counted_events, replay_experiment
from tests import replay_reference
from tests.conftest import base_events
from tests.strategies import EXPERIMENT_TYPES, programme_histories

T0 = datetime(2020, 1, 1, tzinfo=UTC)
FAR = datetime(2100, 1, 1, tzinfo=UTC)


def recorded_stream(stream: str, raws: list[dict[str, Any]]) -> list[Recorded]:
    """Events of one stream, recorded one minute apart from T0."""
    return [
        Recorded(stream, n, T0 + timedelta(minutes=n), parse_event(raw))
        for n, raw in enumerate(raws, start=1)
    ]


def experiment(*raws: dict[str, Any]) -> list[Recorded]:
    return recorded_stream("experiment:exp", [base_events()[3], *raws])


def programme() -> list[Recorded]:
    return recorded_stream("programme:prog", base_events()[:3])


def view(
    events: list[Recorded], as_of: date = date(2030, 1, 1), known_at: datetime = FAR
) -> ExperimentView:
    return replay_experiment("exp", events, programme(), as_of, known_at)


def decision(key: str, kind: str, day: str, **more: Any) -> dict[str, Any]:
    return {"type": "DecisionRecorded", "experiment": "exp", "decision": key, "kind": kind,
            "summary": key, "occurred_on": day, **more}  # fmt: skip


def retraction(version: int, day: str = "2013-01-01") -> dict[str, Any]:
    return {"type": "EventRetracted", "experiment": "exp", "retracts": version, "reason": "r",
            "occurred_on": day}  # fmt: skip


def learning(key: str, day: str) -> dict[str, Any]:
    return {"type": "LearningRecorded", "experiment": "exp", "learning": key,
            "observation": key, "occurred_on": day}  # fmt: skip


def test_status_follows_the_latest_decision_by_occurred_on_not_by_recording() -> None:
    events = experiment(
        decision("d2", "pause", "2013-06-01"), decision("d1", "retain", "2013-03-01")
    )
    assert view(events).status == "paused"
    assert view(events, as_of=date(2013, 4, 1)).status == "retained"
    assert view(events, as_of=date(2013, 2, 1)).status == "proposed"


def test_adapt_changes_nothing_and_a_later_continue_reopens_a_closed_experiment() -> None:
    closed = {"type": "ExperimentClosed", "experiment": "exp", "occurred_on": "2013-05-01"}
    events = experiment(
        decision("d1", "reject", "2013-03-01"), decision("d2", "adapt", "2013-04-01")
    )
    assert view(events).status == "not_retained"
    events = experiment(closed, decision("d3", "continue", "2013-06-01"))
    assert view(events, as_of=date(2013, 5, 15)).status == "closed"
    assert view(events).status == "retained"


def test_d_before_the_proposal_shows_nothing_proposed() -> None:
    result = view(experiment(), as_of=date(2013, 1, 9))
    assert not result.is_proposed and result.status is None and result.timeline == []


def test_a_retraction_counts_from_its_recorded_at_whatever_its_occurred_on() -> None:
    # the retraction "occurred" long after D, but was recorded at T0 + 3 min
    events = experiment(decision("d1", "reject", "2013-03-01"), retraction(2, day="2099-01-01"))
    assert view(events, as_of=date(2013, 12, 31)).status == "proposed"
    before_retraction = T0 + timedelta(minutes=2, seconds=30)
    assert view(events, known_at=before_retraction).status == "not_retained"


def test_known_at_hides_events_recorded_later() -> None:
    events = experiment(decision("d1", "retain", "2013-03-01"))
    assert view(events, known_at=T0 + timedelta(seconds=90)).status == "proposed"
    assert view(events, known_at=T0 + timedelta(minutes=2)).status == "retained"  # inclusive


def test_retractions_never_appear_in_the_timeline_and_retracted_events_vanish() -> None:
    events = experiment(learning("l1", "2013-02-01"), retraction(2))
    assert [entry.type for entry in view(events).timeline] == ["ExperimentProposed"]


def test_cycles_split_at_every_decision_including_adapt() -> None:
    events = experiment(
        learning("l1", "2013-02-01"),
        decision("d1", "adapt", "2013-03-01"),
        learning("l2", "2013-04-01"),
        decision("d2", "retain", "2013-05-01", evidence=["l2"]),
        learning("l3", "2013-06-01"),
    )
    result = view(events)
    assert [(e.type, e.cycle) for e in result.timeline] == [
        ("ExperimentProposed", 1), ("LearningRecorded", 1), ("DecisionRecorded", 1),
        ("LearningRecorded", 2), ("DecisionRecorded", 2), ("LearningRecorded", 3),
    ]  # fmt: skip
    assert result.cycles == 2
    assert [d.cycle for d in result.decisions] == [1, 2]


def test_a_retracted_decision_merges_two_cycles() -> None:
    events = experiment(
        decision("d1", "adapt", "2013-03-01"), learning("l1", "2013-04-01"), retraction(2)
    )
    assert [e.cycle for e in view(events).timeline] == [1, 1]


def test_learnings_are_actioned_by_the_first_later_decision_citing_them() -> None:
    events = experiment(
        learning("l1", "2013-02-01"),
        learning("l2", "2013-02-11"),
        decision("d0", "adapt", "2013-01-20", evidence=["l1"]),  # before l1 occurred: no action
        decision("d1", "adapt", "2013-03-03", evidence=["l1"]),
        decision("d2", "retain", "2013-04-01", evidence=["l1", "l2"]),
    )
    result = view(events)
    assert [(lr.learning, lr.days_to_action) for lr in result.learnings] == [
        ("l1", 30),
        ("l2", 49),
    ]
    assert result.median_days_to_action == 39.5
    assert [d.cites_learning for d in result.decisions] == [True, True, True]


def test_cites_learning_needs_a_counted_learning() -> None:
    events = experiment(
        learning("l1", "2013-02-01"), decision("d1", "adapt", "2013-03-03", evidence=["l1"])
    )
    events = [*events, *recorded_stream("x", [retraction(2)])]
    events[-1] = replace(events[-1], originator_id="experiment:exp", originator_version=4)
    result = view(events)
    assert [d.cites_learning for d in result.decisions] == [False]
    assert result.median_days_to_action is None


def test_functions_come_from_the_programme_with_zero_rows_for_no_evidence() -> None:
    evidence = {"type": "FunctionEvidenced", "experiment": "exp", "function": "employer",
                "evidence": "e", "strength": 3, "occurred_on": "2013-02-01"}  # fmt: skip
    result = view(experiment(evidence, evidence | {"strength": 1, "occurred_on": "2013-05-01"}))
    rows = {row.function: row for row in result.functions}
    assert len(rows) == 5 and result.functions_covered == 1
    employer = rows["employer"]
    assert (employer.evidence_count, employer.max_strength) == (2, 3)
    assert (employer.first_evidenced_on, employer.last_evidenced_on) == (
        date(2013, 2, 1),
        date(2013, 5, 1),
    )
    training = rows["training"]
    assert (training.evidence_count, training.max_strength, training.is_covered) == (0, None, False)


# --- properties -----------------------------------------------------------------------------

PROPERTY_SETTINGS = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def _import(tmp_path: Path, raws: list[dict[str, Any]], name: str) -> LearningLoop:
    loop = LearningLoop(tmp_path / name, recorded_by="prop")
    loop.import_events(raws)
    return loop


def _streams(loop: LearningLoop, key: str) -> tuple[list[Recorded], list[Recorded]]:
    return loop._store.stream(f"experiment:{key}"), loop._store.stream("programme:prog")


def _without_times(result: ExperimentView) -> tuple[ExperimentView, list[tuple[Any, ...]]]:
    """The view with its recording times set aside (two stores record at different times)."""
    timeline = [(e.version, e.occurred_on, e.type, e.summary, e.cycle) for e in result.timeline]
    return replace(result, timeline=[], known_at=T0), timeline


@PROPERTY_SETTINGS
@given(raws=programme_histories(), data=st.data())
def test_replay_is_deterministic_across_stores_and_calls(
    tmp_path_factory: Any, raws: list[dict[str, Any]], data: st.DataObject
) -> None:
    tmp_path = tmp_path_factory.mktemp("det")
    first, second = _import(tmp_path, raws, "a"), _import(tmp_path, raws, "b")
    as_of = data.draw(st.dates(date(2010, 1, 1), date(2018, 1, 1)))
    for key in first.list_experiments():
        one = first.replay(key, as_of=as_of, known_at=FAR)
        assert one == first.replay(key, as_of=as_of, known_at=FAR)
        assert _without_times(one) == _without_times(second.replay(key, as_of, FAR))
    first.close()
    second.close()


@PROPERTY_SETTINGS
@given(raws=programme_histories(), data=st.data())
def test_replay_at_d_and_t_equals_replaying_the_filtered_events(
    tmp_path_factory: Any, raws: list[dict[str, Any]], data: st.DataObject
) -> None:
    loop = _import(tmp_path_factory.mktemp("bt"), raws, "s")
    key = data.draw(st.sampled_from(loop.list_experiments()))
    events, programme_events = _streams(loop, key)
    known_at = data.draw(st.sampled_from([r.recorded_at for r in events]))
    as_of = data.draw(st.dates(date(2010, 1, 1), date(2018, 1, 1)))
    known_then = [r for r in events if r.recorded_at <= known_at]
    expected = replay_experiment(key, known_then, programme_events, as_of, FAR)
    assert replace(loop.replay(key, as_of, known_at), known_at=FAR) == expected
    # and the valid-time filter: events after D and retracted ones never count
    counted = counted_events(events, as_of, FAR)
    assert all(r.occurred_on <= as_of for r in counted)
    assert [entry.version for entry in loop.replay(key, as_of, FAR).timeline] == [
        r.version for r in counted
    ]
    loop.close()


@PROPERTY_SETTINGS
@given(raws=programme_histories())
def test_stored_events_round_trip(tmp_path_factory: Any, raws: list[dict[str, Any]]) -> None:
    loop = _import(tmp_path_factory.mktemp("rt"), raws, "s")
    expected = [parse_event(raw, default_recorded_by="prop") for raw in raws]
    by_stream: dict[str, list[ev.Event]] = {}
    for event in expected:
        by_stream.setdefault(ev.stream_id(ev.stream_kind_of(event), event.stream_key), []).append(
            event
        )
    for stream, stream_events in by_stream.items():
        stored = loop._store.stream(stream)
        assert [r.event for r in stored] == stream_events
        assert [r.version for r in stored] == list(range(1, len(stream_events) + 1))
    loop.close()


# What the fold reads, the kinds an indicator merges or groups the most often: several
# evidences of one function, recordings of one learning, plans of one milestone per example.
FOLDED = [*EXPERIMENT_TYPES[:12], "FunctionEvidenced", "LearningRecorded", "DecisionRecorded",
          "MilestonePlanned", "MilestoneReached", "ReviewSessionHeld",
          "EventRetracted"]  # fmt: skip


@PROPERTY_SETTINGS
@given(raws=programme_histories(max_events=80, types=FOLDED), data=st.data())
def test_the_fold_gives_the_views_the_reference_fold_gives_at_any_moment(
    tmp_path_factory: Any, raws: list[dict[str, Any]], data: st.DataObject
) -> None:
    """The fold against the one it replaced (tests/replay_reference.py): equal views with the
    same repr (what `replay` prints is made from them), the timeline entry by entry."""
    loop = _import(tmp_path_factory.mktemp("ref"), raws, "s")
    for key in loop.list_experiments():
        events, programme_events = _streams(loop, key)
        known_at = data.draw(st.sampled_from([FAR, *[r.recorded_at for r in events]]))
        as_of = data.draw(st.dates(date(2010, 1, 1), date(2018, 1, 1)))
        old = replay_reference.replay_experiment(key, events, programme_events, as_of, known_at)
        for new in (
            replay_experiment(key, events, programme_events, as_of, known_at),
            loop.replay(key, as_of, known_at),  # the cached stream's replay keys
        ):
            assert new == old and repr(new) == repr(old)
            assert list(new.timeline) == old.timeline == list(new.timeline)
            assert [new.timeline[index] for index in range(len(old.timeline))] == old.timeline
    loop.close()
