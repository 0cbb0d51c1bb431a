"""The Python API on real SQLite stores: import all-or-nothing, record, replay, rules."""

from __future__ import annotations

import contextlib
import gc
import json
from pathlib import Path
from typing import Any

import pytest

from learningloop import LearningLoop
from learningloop.errors import BadInputError, NotFoundError
from tests.conftest import base_events, store_bytes


def meeting(day: str = "2013-05-01", **changes: Any) -> dict[str, Any]:
    return {"type": "MeetingHeld", "experiment": "exp", "kind": "local", "attendees": 5,
            "occurred_on": day, **changes}  # fmt: skip


def write_jsonl(path: Path, events: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(event) + "\n" for event in events), encoding="utf-8")
    return path


def test_an_import_writes_every_event_with_versions_per_stream(seeded: LearningLoop) -> None:
    summary = seeded.import_events([meeting(), meeting("2013-06-01")])
    assert (summary.events, summary.streams) == (2, 1)
    assert seeded.event_count() == 6
    versions = [r.version for r in seeded._store.stream("experiment:exp")]
    assert versions == [1, 2, 3]


def test_one_bad_line_in_the_middle_of_10000_writes_nothing_and_names_the_line(
    seeded: LearningLoop, store_dir: Path, tmp_path: Path
) -> None:
    events = [meeting() for _ in range(10_000)]
    events[5_000] = meeting(attendees=-1)
    path = write_jsonl(tmp_path / "big.jsonl", events)
    seeded.close()  # checkpoints the write-ahead log into the database file
    before = store_bytes(store_dir)
    with pytest.raises(BadInputError) as caught:
        seeded.import_files([path])
    assert str(caught.value) == (
        f"{path}, line 5001: field attendees: Input should be greater than or equal to 0, got -1"
    )
    seeded.close()
    assert store_bytes(store_dir) == before


def test_an_error_in_the_second_file_writes_nothing_from_the_first(
    store_dir: Path, tmp_path: Path
) -> None:
    good = write_jsonl(tmp_path / "a.jsonl", base_events())
    bad = write_jsonl(tmp_path / "b.jsonl", [meeting(kind="party")])
    with LearningLoop(store_dir) as loop, pytest.raises(BadInputError, match=r"b\.jsonl, line 1"):
        loop.import_files([good, bad])
    assert not store_dir.exists()


def test_a_bad_import_into_a_fresh_store_creates_nothing(store_dir: Path) -> None:
    with LearningLoop(store_dir) as loop, pytest.raises(BadInputError):
        loop.import_events([{"type": "Nope", "occurred_on": "2013-01-01"}])
    assert not store_dir.exists()


@pytest.mark.parametrize(
    ("event", "message"),
    [
        (meeting(colour="red"), "item 2: field colour: unknown field"),
        (meeting(occurred_on="2013-02-30"),
         "item 2: field occurred_on: '2013-02-30' is not a real"),
        ({"type": "MeetingCancelled", "occurred_on": "2013-01-01"}, "item 2: field type: unknown"),
        (meeting(experiment="ghost"), "field experiment: experiment 'ghost' is not proposed"),
        ({"type": "PartnerJoined", "programme": "ghost", "partner": "a", "name": "A",
          "kind": "company", "occurred_on": "2013-01-01"},
         "field programme: programme 'ghost' is not opened"),
        ({"type": "ExperimentProposed", "experiment": "x2", "programme": "prog", "title": "T",
          "carriers": ["stranger"], "scale": "company", "occurred_on": "2013-01-01"},
         "field carriers: partner 'stranger' has not joined programme 'prog'"),
        ({"type": "ExperimentProposed", "experiment": "x2", "programme": "prog", "title": "T",
          "carriers": ["acme"], "partners": ["nobody"], "scale": "company",
          "occurred_on": "2013-01-01"},
         "field partners: partner 'nobody' has not joined"),
        ({"type": "ExperimentProposed", "experiment": "x2", "programme": "ghost", "title": "T",
          "carriers": ["acme"], "scale": "company", "occurred_on": "2013-01-01"},
         "field programme: programme 'ghost' does not exist"),
        ({"type": "ExperimentProposed", "experiment": "exp", "programme": "prog", "title": "T",
          "carriers": ["acme"], "scale": "company", "occurred_on": "2013-01-01"},
         "field experiment: experiment 'exp' is already proposed"),
        ({"type": "ProgrammeOpened", "programme": "prog", "title": "T",
          "occurred_on": "2013-01-01"}, "field programme: programme 'prog' is already opened"),
        ({"type": "FunctionEvidenced", "experiment": "exp", "function": "dancing",
          "evidence": "e", "occurred_on": "2013-01-01"},
         "field function: 'dancing' is not a function of programme 'prog'"),
        ({"type": "MilestoneReached", "experiment": "exp", "milestone": "m",
          "occurred_on": "2013-01-01"}, "field milestone: milestone 'm' was never planned"),
        ({"type": "MilestoneRescheduled", "experiment": "exp", "milestone": "m",
          "due_on": "2014-01-01", "occurred_on": "2013-01-01"}, "was never planned"),
        ({"type": "DecisionRecorded", "experiment": "exp", "decision": "d", "kind": "retain",
          "summary": "s", "evidence": ["l9"], "occurred_on": "2013-01-01"},
         "field evidence: 'l9' is neither a learning nor a review recorded in 'exp'"),
        ({"type": "EventRetracted", "experiment": "exp", "retracts": 7, "reason": "r",
          "occurred_on": "2013-01-01"},
         "field retracts: version 7 does not exist in experiment:exp"),
        ({"type": "PartnerLeft", "programme": "prog", "partner": "nobody",
          "occurred_on": "2013-01-01"}, "field partner: partner 'nobody' has not joined"),
        ({"type": "CommitmentMade", "experiment": "exp", "commitment": "c", "description": "d",
          "meetings_per_year_min": 4, "meetings_per_year_max": 3, "starts_on": "2013-01-01",
          "months": 12, "occurred_on": "2013-01-01"}, "field meetings_per_year_max"),
    ],
)  # fmt: skip
def test_each_contract_rule_refuses_the_event_and_writes_nothing(
    seeded: LearningLoop, event: dict[str, Any], message: str
) -> None:
    before = seeded.event_count()
    with pytest.raises(BadInputError) as caught:
        seeded.import_events([meeting(), event])
    assert message in str(caught.value)
    assert seeded.event_count() == before


def test_rules_see_earlier_events_of_the_same_import(loop: LearningLoop) -> None:
    planned = {"type": "MilestonePlanned", "experiment": "exp", "milestone": "m", "title": "M",
               "due_on": "2014-01-01", "occurred_on": "2013-02-01"}  # fmt: skip
    reached = {"type": "MilestoneReached", "experiment": "exp", "milestone": "m",
               "occurred_on": "2013-12-01"}  # fmt: skip
    assert loop.import_events([*base_events(), planned, reached]).events == 6


def test_a_retraction_of_a_retraction_is_refused(seeded: LearningLoop) -> None:
    retract = {"type": "EventRetracted", "experiment": "exp", "reason": "r",
               "occurred_on": "2013-01-01"}  # fmt: skip
    seeded.import_events([meeting(), retract | {"retracts": 2}])
    with pytest.raises(BadInputError, match="version 3 of experiment:exp is itself a retraction"):
        seeded.record(retract | {"retracts": 3})


def test_record_appends_one_event_and_returns_it(seeded: LearningLoop) -> None:
    recorded = seeded.record(meeting())
    assert (recorded.stream, recorded.version) == ("experiment:exp", 2)
    assert recorded.event.recorded_by == "tester"
    assert seeded._store.stream("experiment:exp")[-1] == recorded


def test_recorded_at_increases_within_a_stream(seeded: LearningLoop) -> None:
    seeded.import_events([meeting() for _ in range(50)])
    stamps = [r.recorded_at for r in seeded._store.stream("experiment:exp")]
    assert stamps == sorted(stamps) and len(set(stamps)) == len(stamps)
    assert all(stamp.utcoffset() is not None and not stamp.utcoffset() for stamp in stamps)


def test_replay_of_an_unknown_experiment_is_not_found(seeded: LearningLoop) -> None:
    with pytest.raises(NotFoundError, match="no experiment 'ghost'"):
        seeded.replay("ghost")


def test_reading_a_store_that_does_not_exist_creates_nothing(store_dir: Path) -> None:
    with LearningLoop(store_dir) as loop:
        assert loop.list_experiments() == []
        with pytest.raises(NotFoundError):
            loop.replay("exp")
    assert not store_dir.exists()


def test_a_second_process_sees_what_the_first_recorded(
    seeded: LearningLoop, store_dir: Path
) -> None:
    seeded.record(meeting())
    with LearningLoop(store_dir) as other:
        other.record(meeting("2013-07-01"))
    seeded.record(meeting("2013-08-01"))  # its cached write model was stale: reloaded, retried
    assert [r.version for r in seeded._store.stream("experiment:exp")] == [1, 2, 3, 4]


def test_an_error_after_batches_were_written_rolls_every_batch_back(
    seeded: LearningLoop, store_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from learningloop import loop_recording

    monkeypatch.setattr(loop_recording, "BUFFERED_EVENTS", 100)
    monkeypatch.setattr(loop_recording, "BATCH_SIZE", 10)
    events = [meeting() for _ in range(1_000)]
    events[900] = meeting(kind="party")
    path = write_jsonl(tmp_path / "late.jsonl", events)
    seeded.close()
    before = store_bytes(store_dir)
    with pytest.raises(BadInputError, match="line 901: field kind"):
        seeded.import_files([path])
    assert seeded.event_count() == 4
    seeded.close()
    assert store_bytes(store_dir) == before


def test_a_failed_import_leaves_no_trace_in_the_cached_write_models(seeded: LearningLoop) -> None:
    planned = {"type": "MilestonePlanned", "experiment": "exp", "milestone": "m", "title": "M",
               "due_on": "2014-01-01", "occurred_on": "2013-02-01"}  # fmt: skip
    with pytest.raises(BadInputError):
        seeded.import_events([planned, meeting(kind="party")])
    reached = {"type": "MilestoneReached", "experiment": "exp", "milestone": "m",
               "occurred_on": "2013-12-01"}  # fmt: skip
    with pytest.raises(BadInputError, match="never planned"):
        seeded.record(reached)
    seeded.record(planned)
    assert seeded.record(reached).version == 3


@pytest.mark.parametrize("bad", [False, True])
def test_the_garbage_collector_pauses_during_a_write_and_comes_back_after_it(
    loop: LearningLoop, bad: bool
) -> None:
    seen: list[bool] = []
    events = [*base_events(), {"type": "MeetingHeld"}] if bad else base_events()
    assert gc.isenabled()
    with contextlib.suppress(BadInputError):
        loop.import_events(events, progress=lambda _: seen.append(gc.isenabled()))
    assert gc.isenabled()
    assert seen == ([] if bad else [False])


def test_a_write_leaves_a_collector_that_was_off_off(loop: LearningLoop) -> None:
    gc.disable()
    try:
        loop.import_events(base_events())
        assert not gc.isenabled()
    finally:
        gc.enable()
