"""An import admitted by worker processes stores exactly what one process stores, or fails
with exactly its error, nothing written."""

from __future__ import annotations

import os
import sqlite3
import sys
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from learningloop import LearningLoop
from learningloop import import_workers as iw
from learningloop.errors import BadInputError, LearningLoopError, StoreError
from tests.conftest import base_events, event, store_bytes
from tests.strategies import programme_histories

ROOT = Path(__file__).resolve().parents[1]


class FixedClock:
    """recorded_at a fixed step apart from a fixed start: two imports stamp alike."""

    def __init__(self) -> None:
        self.moment = datetime(2026, 1, 1, tzinfo=UTC)

    def now(self) -> datetime:
        self.moment += timedelta(microseconds=7)
        return self.moment


Outcome = tuple[str, list[tuple[Any, ...]], list[tuple[Any, ...]], int] | tuple[str, str, int]


def imported(
    monkeypatch: pytest.MonkeyPatch, store: Path, files: list[Path], workers: int
) -> Outcome:
    """The stored rows and seal after importing `files` (or the error and its exit code)."""
    monkeypatch.setenv(iw.WORKERS_SETTING, str(workers))
    with LearningLoop(store, recorded_by="tester") as loop:
        loop._clock = FixedClock()  # type: ignore[assignment]
        try:
            streams = loop.import_files(files).streams
        except LearningLoopError as error:
            return "error", str(error), int(error.exit_code)
    with sqlite3.connect(store / "events.sqlite") as con:
        rows = con.execute("select rowid, originator_id, originator_version, topic, state "
                           "from stored_events order by rowid").fetchall()  # fmt: skip
        seal = con.execute("select * from learningloop_seal").fetchall()
    return "stored", rows, seal, streams


def write(path: Path, events: list[Any]) -> Path:
    path.write_bytes(b"".join(orjson.dumps(item) + b"\n" for item in events))
    return path


def both(monkeypatch: pytest.MonkeyPatch, tmp: Path, events: list[Any]) -> Outcome:
    """Imported by two workers and by this process: the same outcome; that outcome."""
    source = write(tmp / "events.jsonl", events)
    single = imported(monkeypatch, tmp / "single", [source], 0)
    parallel = imported(monkeypatch, tmp / "parallel", [source], 2)
    assert parallel == single
    if single[0] == "error":
        assert store_bytes(tmp / "parallel") == {}
    return single


def renamed(events: list[dict[str, Any]], prefix: str) -> list[dict[str, Any]]:
    """The same history in another programme, its experiments renamed."""
    named = []
    for item in events:
        item = dict(item)
        if "programme" in item:
            item["programme"] = prefix + item["programme"]
        if isinstance(item.get("experiment"), str):
            item["experiment"] = prefix + item["experiment"]
        named.append(item)
    return named


@st.composite
def two_programmes(draw: st.DrawFn) -> list[Any]:
    """Two programmes' histories interleaved at random, perhaps with one bad event."""
    first = draw(programme_histories(max_events=12))
    second = renamed(draw(programme_histories(max_events=12)), "b-")
    merged: list[Any] = []
    while first or second:
        source = first if first and (not second or draw(st.booleans())) else second
        merged.append(source.pop(0))
    if draw(st.booleans()):
        bad = draw(st.sampled_from([
            "not an object", {"type": "LearningRecorded", "occurred_on": "2012-01-01"},
            {"type": "NoSuchType", "experiment": "x"}, merged[0], merged[-1],
            {"type": ["MeetingHeld"], "experiment": "x"}, {"type": "MeetingHeld"},
            {"type": "LearningRecorded", "experiment": "nowhere", "occurred_on": "2012-01-01",
             "learning": "l", "observation": "o"},
            {"type": "EventRetracted", "programme": "prog", "experiment": "x", "retracts": 1,
             "reason": "r", "occurred_on": "2012-01-01"},
        ]))  # fmt: skip
        merged.insert(draw(st.integers(0, len(merged))), bad)
    return merged


@settings(max_examples=20, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                 HealthCheck.too_slow])  # fmt: skip
@given(events=two_programmes())
def test_workers_store_what_one_process_stores_or_fail_alike(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory, events: list[Any]
) -> None:
    both(monkeypatch, tmp_path_factory.mktemp("imp"), events)


@pytest.mark.parametrize("shape", ["programme", "network"])
def test_generated_shapes_stored_alike(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, shape: str
) -> None:
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from generate import write_jsonl

    source = tmp_path / "events.jsonl"
    write_jsonl(source, 6_000, shape=shape)
    single = imported(monkeypatch, tmp_path / "single", [source], 0)
    # more blocks than are ever in flight, and three workers for two cores
    monkeypatch.setattr(iw, "BLOCK", 500)
    assert imported(monkeypatch, tmp_path / "parallel", [source], 3) == single
    assert single[0] == "stored" and len(single[1]) == 6_000


def lines(events: list[dict[str, Any]]) -> list[bytes]:
    return [orjson.dumps(item) for item in events]


GOOD = lines(base_events())
ODD_FILES = {
    "crlf": b"\r\n".join(GOOD) + b"\r\n",
    "no final newline, blank lines": b"\n\n".join(GOOD[:3]) + b"\n \t\n" + GOOD[3],
    "a lone CR between keys": b"\n".join(GOOD[:3]) + b"\n" + GOOD[3].replace(b",", b",\r", 1),
    "a line of no-break spaces": b"\n".join(GOOD[:2]) + "\n\u00a0\n".encode() + GOOD[2],
    "a BOM": "\ufeff".encode() + b"\n".join(GOOD),
    "escapes": b"\n".join(GOOD[:3])
    + b"\n"
    + GOOD[3].replace(b'e":"Experiment"', b'e":"Exp\\u00e9"'),
    "a huge number": b"\n".join(GOOD)
    + b"\n"
    + lines([event("MeetingHeld", "2013-02-01", kind="local", attendees=0)])[0].replace(
        b":0", b":1" + b"0" * 30
    ),
    "not UTF-8": b"\n".join(GOOD) + b"\n\xff",
    "a duplicate key": b"\n".join(GOOD[:3]) + b"\n" + GOOD[3][:-1] + b', "title": "T"}',
}


@pytest.mark.parametrize("name", ODD_FILES)
def test_lines_read_as_one_process_reads_them(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, name: str
) -> None:
    source = tmp_path / "events.jsonl"
    source.write_bytes(ODD_FILES[name])
    single = imported(monkeypatch, tmp_path / "single", [source], 0)
    assert imported(monkeypatch, tmp_path / "parallel", [source], 2) == single


def test_recorded_at_increases_along_positions_with_the_real_clock(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    source = write(tmp_path / "events.jsonl", base_events() + renamed(base_events(), "b-"))
    monkeypatch.setenv(iw.WORKERS_SETTING, "2")
    monkeypatch.setattr(iw, "BLOCK", 3)  # several blocks, each stamped by one call
    with LearningLoop(tmp_path / "store") as loop:
        loop.import_files([source])
    with sqlite3.connect(tmp_path / "store" / "events.sqlite") as con:
        states = [orjson.loads(row[0]) for row in
                  con.execute("select state from stored_events order by rowid")]  # fmt: skip
    stamps = [datetime.fromisoformat(state["recorded_at"]) for state in states]
    assert len(stamps) == 8 and all(a < b for a, b in pairwise(stamps))


def test_the_first_error_in_file_order_is_reported(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    events = base_events() + renamed(base_events(), "b-")
    late = event("LearningRecorded", "2013-02-01", learning="l", observation="o")
    early = {**renamed([late], "b-")[0], "learning": "Not A Slug"}
    outcome = both(monkeypatch, tmp_path, [*events[:5], early, *events[5:], late | {"x": 1}])
    assert outcome == ("error", f"{tmp_path / 'events.jsonl'}, line 6: field learning: "
                       "'Not A Slug' is not a slug (lowercase letters, digits and '-', 1-64 "
                       "chars)", 2)  # fmt: skip


def test_an_unknown_experiment_is_named_with_its_hint(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    typo = event("LearningRecorded", "2013-02-01", learning="l", observation="o")
    outcome = both(monkeypatch, tmp_path, [*base_events(), typo | {"experiment": "exq"}])
    assert outcome[0] == "error" and "did you mean 'exp'" in str(outcome[1])


def test_a_second_file_into_a_store_with_events(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    first = write(tmp_path / "first.jsonl", base_events())
    later = [event("LearningRecorded", "2013-02-01", learning=f"l{n}", observation="o")
             for n in range(5)]  # fmt: skip
    second = write(tmp_path / "second.jsonl", later)
    for name in ("single", "parallel"):
        imported(monkeypatch, tmp_path / name, [first], 0)
    single = imported(monkeypatch, tmp_path / "single", [second], 0)
    assert imported(monkeypatch, tmp_path / "parallel", [second], 2) == single


def test_a_worker_that_dies_is_one_line_and_nothing_is_written(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    def dead(*_: Any) -> bytes:
        os._exit(9)  # in the forked worker

    monkeypatch.setattr(iw, "_admitted", dead)
    source = write(tmp_path / "events.jsonl", base_events())
    monkeypatch.setenv(iw.WORKERS_SETTING, "2")
    with LearningLoop(tmp_path / "store") as loop, pytest.raises(StoreError) as raised:
        loop.import_files([source])
    assert str(raised.value) == "an import worker process stopped unexpectedly; nothing was written"
    assert store_bytes(tmp_path / "store") == {}


def test_no_processes_to_be_had_imports_in_this_one(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    class NoPipes:
        def Pipe(self, duplex: bool) -> Any:  # multiprocessing's name
            raise OSError(24, "Too many open files")

    monkeypatch.setattr(iw.multiprocessing, "get_context", lambda _: NoPipes())
    source = write(tmp_path / "events.jsonl", base_events())
    monkeypatch.setenv(iw.WORKERS_SETTING, "2")
    with LearningLoop(tmp_path / "store") as loop:
        assert loop.import_files([source]).events == 4


def test_programme_events_go_to_every_worker_and_experiments_to_one() -> None:
    router = iw.Router(3)
    opened = router.worker({"type": "ProgrammeOpened", "programme": "p"})
    assert opened[1] is True
    assert router.worker({"type": "EventRetracted", "programme": "p", "retracts": 1}) == opened
    proposed = router.worker({"type": "ExperimentProposed", "experiment": "e", "programme": "p"})
    assert proposed[1] is False
    assert router.worker({"type": "MeetingHeld", "experiment": "e"}) == proposed
    for unnamed in ("text", {"type": "MeetingHeld"}, {"programme": 1, "type": "PartnerJoined"},
                    {"type": ["ProgrammeOpened"], "programme": "p"}, {"experiment": "e"},
                    {"type": "EventRetracted", "programme": "p", "experiment": "e"}):  # fmt: skip
        with pytest.raises(iw.Abandoned):
            router.worker(unnamed)


@pytest.mark.parametrize(
    ("setting", "size", "wanted"),
    [("", 1_000, 0), ("0", 10**9, 0), ("2", 10, 2), (" 1 ", 10, 1), ("99", 10, 8)],
)
def test_how_many_workers(
    monkeypatch: pytest.MonkeyPatch, setting: str, size: int, wanted: int
) -> None:
    monkeypatch.setenv(iw.WORKERS_SETTING, setting)
    assert iw.workers_wanted(size) == wanted


@pytest.mark.parametrize("setting", ["x", "-1", "2.5", "٣", "9" * 20])
def test_a_bad_setting_is_one_line_exit_2_nothing_written(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, setting: str
) -> None:
    source = write(tmp_path / "events.jsonl", base_events())
    monkeypatch.setenv(iw.WORKERS_SETTING, setting)
    with LearningLoop(tmp_path / "store") as loop, pytest.raises(BadInputError) as raised:
        loop.import_files([source])
    assert str(raised.value).startswith("LEARNINGLOOP_IMPORT_WORKERS must be a whole number")
    assert raised.value.exit_code == 2 and store_bytes(tmp_path / "store") == {}


@pytest.mark.parametrize(("idle", "wanted"), [(None, 2), (1.2, 2), (0.9, 0)])
def test_by_default_a_big_import_uses_the_idle_cores(
    monkeypatch: pytest.MonkeyPatch, idle: float | None, wanted: int
) -> None:
    monkeypatch.delenv(iw.WORKERS_SETTING, raising=False)
    monkeypatch.setattr(iw, "idle_cores", lambda: idle)
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    assert iw.workers_wanted(iw.PARALLEL_FROM_BYTES) == wanted
    assert iw.workers_wanted(iw.PARALLEL_FROM_BYTES - 1) == 0
    monkeypatch.setattr(os, "cpu_count", lambda: 1)
    assert iw.workers_wanted(iw.PARALLEL_FROM_BYTES) == 0


def test_on_postgresql(monkeypatch: pytest.MonkeyPatch, postgres_url: str, tmp_path: Path) -> None:
    source = write(tmp_path / "events.jsonl", base_events() + renamed(base_events(), "b-"))
    monkeypatch.setenv(iw.WORKERS_SETTING, "2")
    with LearningLoop(postgres_url, projections=tmp_path / "p.duckdb") as loop:
        assert loop.import_files([source]).events == 8
        stored = [(r.stream, r.version) for r in loop._store.stream("experiment:b-exp")]
        assert stored == [("experiment:b-exp", 1)]
        assert loop._store.writable_log().seal().events == 8


@pytest.mark.parametrize("length", [1 << 20, 5 << 20])  # a worker's to refuse; never sent
def test_an_event_too_long_fails_as_in_one_process_first_error_first(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, length: int
) -> None:
    learning = event("LearningRecorded", "2013-02-01", learning="l", observation="o" * length)
    outcome = both(monkeypatch, tmp_path, [*base_events(), learning])
    path = tmp_path / "events.jsonl"
    assert outcome == ("error", f"{path}, line 5: an event may take at most 1,048,576 "
                       "characters", 2)  # fmt: skip
    bad = event("MeetingHeld", "2013-02-01", kind="nope")
    (tmp_path / "first").mkdir()
    outcome = both(monkeypatch, tmp_path / "first", [*base_events(), bad, learning])
    assert outcome[0] == "error" and "line 5: field kind" in str(outcome[1])
