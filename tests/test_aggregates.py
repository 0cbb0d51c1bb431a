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
    assert (programme.version, programme.types[0]) == (3, "ProgrammeOpened")
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
