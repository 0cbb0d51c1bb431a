"""Stream rules of CONTRACT section 3, checked against the write models alone (no store)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from learningloop.domain import aggregates as agg
from learningloop.domain.parsing import parse_event
from learningloop.domain.recorded import Recorded
from learningloop.errors import InvalidEventError
from tests.conftest import base_events

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def fold(raw_events: list[dict[str, Any]]) -> dict[str, agg.Programme | agg.Experiment]:
    streams: dict[str, agg.Programme | agg.Experiment] = {}
    for raw in raw_events:
        event = parse_event(raw)
        kind = "programme" if "programme" in raw and "experiment" not in raw else "experiment"
        stream_id = f"{kind}:{event.stream_key}"
        version = streams[stream_id].version + 1 if stream_id in streams else 1
        recorded = Recorded(stream_id, version, NOW, event)
        stream = streams.setdefault(stream_id, agg.new_stream(recorded))
        stream.apply(recorded)
    return streams


def test_folding_a_programme_remembers_partners_functions_and_versions() -> None:
    streams = fold(base_events())
    programme = streams["programme:prog"]
    assert isinstance(programme, agg.Programme)
    assert programme.partners == {"acme", "city"}
    assert "local_development" in programme.function_keys
    assert programme.version == 3
    assert [programme.has_version(v) for v in (0, 1, 3, 4)] == [False, True, True, False]
    experiment = streams["experiment:exp"]
    assert isinstance(experiment, agg.Experiment)
    assert (experiment.programme, experiment.version) == ("prog", 1)


def test_only_programme_opened_starts_a_programme_stream() -> None:
    event = parse_event(base_events()[1])
    with pytest.raises(InvalidEventError, match="not opened"):
        agg.check_new_programme(event)  # type: ignore[arg-type]


def test_a_proposal_needs_an_existing_programme_and_joined_carriers() -> None:
    programme = fold(base_events())["programme:prog"]
    assert isinstance(programme, agg.Programme)
    proposal = dict(base_events()[3], carriers=["stranger"])
    with pytest.raises(InvalidEventError) as caught:
        agg.check_new_experiment(parse_event(proposal), programme)  # type: ignore[arg-type]
    assert caught.value.field == "carriers"
    with pytest.raises(InvalidEventError) as caught:
        agg.check_new_experiment(parse_event(base_events()[3]), None)  # type: ignore[arg-type]
    assert caught.value.field == "programme"


def test_a_retraction_of_a_retraction_is_refused() -> None:
    streams = fold(
        [
            *base_events(),
            {
                "type": "EventRetracted",
                "experiment": "exp",
                "retracts": 1,
                "reason": "r",
                "occurred_on": "2013-01-01",
            },
        ]
    )
    experiment = streams["experiment:exp"]
    retraction = parse_event({"type": "EventRetracted", "experiment": "exp", "retracts": 2,
                              "reason": "r", "occurred_on": "2013-01-01"})  # fmt: skip
    with pytest.raises(InvalidEventError, match="itself a retraction"):
        experiment.check(retraction, streams["programme:prog"])  # type: ignore[arg-type,call-arg]


def prediction_event(event_type: str, day: str, **fields: Any) -> dict[str, Any]:
    return {"type": event_type, "experiment": "exp", "occurred_on": day, **fields}


PREDICTED = [
    prediction_event("MilestonePlanned", "2013-02-01", milestone="m", title="M",
                     due_on="2013-06-01"),  # v2
    prediction_event("PredictionMade", "2013-02-02", prediction="p", statement="s",
                     probability=0.6, resolves_on="2013-06-30", milestone="m"),  # v3
    prediction_event("PredictionResolved", "2013-03-01", prediction="p", outcome=True),  # v4
]  # fmt: skip


@pytest.mark.parametrize(
    ("history", "candidate", "field", "words"),
    [
        ([], {"type": "PredictionMade", "prediction": "p", "statement": "s", "probability": 0.5,
              "resolves_on": "2013-06-30"}, "prediction", "already made"),
        ([], {"type": "PredictionMade", "prediction": "q", "statement": "s", "probability": 0.5,
              "resolves_on": "2013-06-30", "milestone": "nope"}, "milestone", "never planned"),
        ([], {"type": "PredictionResolved", "prediction": "q", "outcome": True}, "prediction",
         "never made"),
        ([], {"type": "PredictionResolved", "prediction": "p", "outcome": False}, "prediction",
         "already resolved"),
        ([prediction_event("EventRetracted", "2013-03-02", retracts=4, reason="r")],
         {"type": "PredictionResolved", "prediction": "p", "outcome": False,
          "occurred_on": "2013-02-01"}, "occurred_on", "before prediction"),
    ],
)  # fmt: skip
def test_prediction_rules(
    history: list[dict[str, Any]], candidate: dict[str, Any], field: str, words: str
) -> None:
    streams = fold([*base_events(), *PREDICTED, *history])
    event = parse_event(prediction_event(candidate.pop("type"), "2013-03-05", **candidate))
    with pytest.raises(InvalidEventError, match=words) as caught:
        streams["experiment:exp"].check(event, streams["programme:prog"])  # type: ignore[arg-type,call-arg]
    assert caught.value.field == field


def test_a_retracted_resolution_lets_the_prediction_be_resolved_again() -> None:
    retraction = prediction_event("EventRetracted", "2013-03-02", retracts=4, reason="r")
    streams = fold([*base_events(), *PREDICTED, retraction])
    again = parse_event(prediction_event("PredictionResolved", "2013-03-03", prediction="p",
                                         outcome=False))  # fmt: skip
    streams["experiment:exp"].check(again, streams["programme:prog"])  # type: ignore[arg-type,call-arg]


def test_a_refused_version_is_skipped_and_a_retraction_is_remembered() -> None:
    """What an audit's walk leaves: version 2 refused (never applied), version 3 applied."""
    opened = fold(base_events())["programme:prog"]
    retraction = parse_event({"type": "EventRetracted", "programme": "prog", "retracts": 2,
                              "occurred_on": "2013-05-01", "reason": "typo"})  # fmt: skip
    opened.apply(Recorded("programme:prog", 5, NOW, retraction))
    assert [opened.has_version(v) for v in (3, 4, 5)] == [True, False, True]
    assert opened.retractions == {5}
    with pytest.raises(InvalidEventError, match="does not exist"):
        opened.check_retraction(retraction.model_copy(update={"retracts": 4}))
    with pytest.raises(InvalidEventError, match="itself a retraction"):
        opened.check_retraction(retraction.model_copy(update={"retracts": 5}))


def _experiment_event(event_type: str, **fields: Any) -> dict[str, Any]:
    return {"type": event_type, "experiment": "exp", "occurred_on": "2013-03-01", **fields}


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        (_experiment_event("ExperimentProposed", programme="prog", title="T", carriers=["acme"],
                           scale="company"), "experiment"),
        (_experiment_event("FunctionEvidenced", function="dancing", evidence="e"), "function"),
        (_experiment_event("FunctionAssessed", function="dancing", result="absent"), "function"),
        (_experiment_event("MeetingHeld", kind="local", participants=["acme", "nobody"]),
         "participants"),
        (_experiment_event("MilestoneRescheduled", milestone="m", due_on="2014-01-01"),
         "milestone"),
        (_experiment_event("MilestoneReached", milestone="m"), "milestone"),
        (_experiment_event("MilestoneAbandoned", milestone="m"), "milestone"),
        (_experiment_event("DecisionRecorded", decision="d", kind="retain", summary="s",
                           evidence=["l9"]), "evidence"),
        (_experiment_event("PredictionResolved", prediction="p", outcome=True), "prediction"),
        (_experiment_event("EventRetracted", retracts=9, reason="r"), "retracts"),
    ],
)  # fmt: skip
def test_each_experiment_rule_is_found_by_the_event_class(raw: dict[str, Any], field: str) -> None:
    """Experiment.check finds its rule by the event's class: every class with one refuses."""
    streams = fold(base_events())
    with pytest.raises(InvalidEventError) as caught:
        streams["experiment:exp"].check(parse_event(raw), streams["programme:prog"])  # type: ignore[arg-type,call-arg]
    assert caught.value.field == field


def test_an_experiment_event_without_a_rule_of_its_own_is_admitted() -> None:
    streams = fold(base_events())
    for raw in (_experiment_event("MeetingHeld", kind="local", participants=["acme", "city"]),
                _experiment_event("LearningRecorded", learning="l", observation="o")):  # fmt: skip
        streams["experiment:exp"].check(parse_event(raw), streams["programme:prog"])  # type: ignore[arg-type,call-arg]
