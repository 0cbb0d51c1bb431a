"""One place decides admissibility: the writer and the auditor call `domain.rules.check`."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from learningloop.audit import RuleWalk
from learningloop.domain import events as ev
from learningloop.domain.parsing import parse_event
from learningloop.domain.recorded import Recorded
from learningloop.errors import BadInputError
from learningloop.locations import StoreLocation
from learningloop.sources import RawEvent
from learningloop.store import Clock, Store
from learningloop.writing import Admission, StreamCache
from tests.strategies import programme_histories

RECORDED_AT = datetime(2020, 1, 1, tzinfo=UTC)
HINT = re.compile(r" \(did you mean '[^']*'\?\)$")


@st.composite
def shuffled_programmes(draw: st.DrawFn) -> list[dict[str, Any]]:
    """Valid programmes with events dropped, repeated and moved: many break a rule."""
    history = draw(programme_histories(max_events=15))
    return draw(st.lists(st.sampled_from(history), max_size=len(history) + 5))


def writer_verdicts(raws: list[dict[str, Any]], nowhere: Path) -> list[str | None]:
    """The writer's verdict on each event in turn: None if admitted, else its reason."""
    admission = Admission(StreamCache(Store(StoreLocation.resolve(nowhere, None))), Clock())
    verdicts: list[str | None] = []
    for raw in raws:
        try:
            admission.admit(RawEvent("event", raw), "tester")
            verdicts.append(None)
        except BadInputError as error:
            # the writer's hint for a mistyped stream is for people, not a verdict
            verdicts.append(HINT.sub("", str(error).removeprefix("event: ")))
    return verdicts


def auditor_verdicts(raws: list[dict[str, Any]]) -> list[str | None]:
    """The auditor's verdict on the same events forged into a log, each at the version the
    writer would have given it."""
    walk, versions = RuleWalk(), dict[str, int]()
    verdicts: list[str | None] = []
    for raw in raws:
        event = parse_event(raw, default_recorded_by="tester")
        stream = ev.stream_id(ev.stream_kind_of(event), event.stream_key)
        version = versions.get(stream, 0) + 1
        found = walk.findings(Recorded(stream, version, RECORDED_AT, event), {"stream": stream})
        verdicts.append(found[0].message.removeprefix("breaks a rule: ") if found else None)
        versions[stream] = version if not found else version - 1
    return verdicts


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raws=shuffled_programmes())
def test_the_writer_and_the_auditor_agree_on_every_event(
    raws: list[dict[str, Any]], tmp_path_factory: Any
) -> None:
    nowhere = tmp_path_factory.mktemp("rules") / "never-created"
    assert writer_verdicts(raws, nowhere) == auditor_verdicts(raws)
    assert not nowhere.exists(), "judging events writes nothing"


def test_events_out_of_order_break_rules_on_both_sides(tmp_path: Path) -> None:
    """The agreement above is not vacuous: events before the opening one are refused."""
    opened = {"type": "ProgrammeOpened", "programme": "p", "title": "P",
              "occurred_on": "2011-01-01"}  # fmt: skip
    joined = {"type": "PartnerJoined", "programme": "p", "partner": "a", "name": "A",
              "kind": "company", "occurred_on": "2011-01-02"}  # fmt: skip
    verdicts = auditor_verdicts([joined, opened, opened, joined])
    assert writer_verdicts([joined, opened, opened, joined], tmp_path / "none") == verdicts
    assert verdicts[0] is not None and "not opened" in verdicts[0]
    assert verdicts[1] is None and verdicts[3] is None
    assert verdicts[2] is not None and "already opened" in verdicts[2]


def test_the_auditor_judges_a_forged_log_whose_refused_event_took_a_version() -> None:
    """A refused event stored anyway keeps its version: later retractions are judged by
    version, never by position in the write model (which once crashed the audit)."""
    opened = {"type": "ProgrammeOpened", "programme": "p", "title": "P",
              "occurred_on": "2011-01-01"}  # fmt: skip
    joined = {"type": "PartnerJoined", "programme": "p", "partner": "a", "name": "A",
              "kind": "company", "occurred_on": "2011-01-02"}  # fmt: skip

    def retraction(version: int) -> dict[str, Any]:
        return {"type": "EventRetracted", "programme": "p", "retracts": version,
                "reason": "wrong", "occurred_on": "2011-01-03"}  # fmt: skip

    walk, verdicts = RuleWalk(), []
    log = [opened, opened, joined, retraction(3), retraction(2)]
    for version, raw in enumerate(log, 1):
        recorded = Recorded("programme:p", version, RECORDED_AT, parse_event(raw))
        verdicts.append([f.message for f in walk.findings(recorded, {})])
    assert verdicts[0] == verdicts[2] == verdicts[3] == []
    assert "already opened" in verdicts[1][0]
    assert "version 2 does not exist" in verdicts[4][0]
