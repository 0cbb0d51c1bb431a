"""The indicators' result cache: a cached answer is always the answer computed afresh."""

from __future__ import annotations

import json
import os
import shutil
import stat
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from learningloop import (
    LearningLoop,
    indicator_cache,
    indicator_files,
    indicator_framing,
    projector,
    sqlfiles,
)
from learningloop.cli.main import main
from learningloop.demo import demo_path
from learningloop.loop_reading import _indicator_queries
from learningloop.store import new_cipher_key
from tests.conftest import base_events, event
from tests.strategies import programme_histories

FAR = datetime(2100, 1, 1, tzinfo=UTC)
PROPERTY = settings(
    max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
DATES = st.dates(date(2010, 6, 1), date(2018, 1, 1))
Answer = dict[str, tuple[list[str], list[tuple[Any, ...]]]]


def fresh(loop: LearningLoop, as_of: date | None, known_at: datetime | None,
          framework: Path | None = None) -> Answer:  # fmt: skip
    """The indicators computed without the cache, as before it existed."""
    found = loop._projector(framework).query_many(_indicator_queries(), as_of, known_at)
    return {name: (result.columns, result.rows) for name, result in found.items()}


def cached(loop: LearningLoop, as_of: date | None, known_at: datetime | None,
           framework: Path | None = None) -> Answer:  # fmt: skip
    found = loop.indicators(as_of, known_at, framework=framework)
    return {name: (result.columns, result.rows) for name, result in found.items()}


def cache_files(store: Path, suffix: str = ".arrow") -> list[Path]:
    directory = store / indicator_cache.CACHE_DIRECTORY
    return sorted(directory.glob(f"indicators-*{suffix}")) if directory.is_dir() else []


def recorded(loop: LearningLoop) -> list[datetime]:
    return [row[0] for row in loop.sql("select recorded_at from log_events order by position").rows]


@PROPERTY
@given(history=programme_histories(max_events=30), data=st.data())
def test_a_cached_answer_equals_a_fresh_one_whatever_was_recorded_in_between(
    tmp_path_factory: pytest.TempPathFactory, history: list[dict[str, Any]], data: st.DataObject
) -> None:
    store = tmp_path_factory.mktemp("cache") / "s"
    # up to three imports: what comes later (retractions included) changes earlier answers
    cuts = sorted(data.draw(st.sets(st.integers(1, len(history)), max_size=2), label="cuts"))
    chunks = [history[start:end] for start, end in zip([0, *cuts], [*cuts, len(history)],
                                                          strict=True) if end > start]  # fmt: skip
    with LearningLoop(store, recorded_by="p") as loop:
        for chunk in chunks:
            loop.import_events(chunk)
            times = recorded(loop)
            reads = [(data.draw(st.one_of(st.none(), DATES)), None)]  # at the head: cached
            for _ in range(data.draw(st.integers(0, 2), label="more reads")):
                known_at = data.draw(st.one_of(st.none(), st.just(FAR), st.sampled_from(times)))
                reads.append((data.draw(st.one_of(st.none(), DATES)), known_at))
            for as_of, known_at in data.draw(st.permutations(reads)):
                answer = cached(loop, as_of, known_at)
                assert answer == fresh(loop, as_of, known_at)
                assert cached(loop, as_of, known_at) == answer  # from the file at the head
    assert cache_files(store)


def test_a_time_before_the_last_recording_is_never_cached(seeded: LearningLoop) -> None:
    seeded.import_events([event("LearningRecorded", "2013-03-01", learning="l1", observation="o")])
    times = recorded(seeded)
    cached(seeded, None, times[-2])
    assert cache_files(seeded.location.directory) == []
    cached(seeded, None, times[-1])
    assert len(cache_files(seeded.location.directory)) == 1


def test_a_cache_file_is_used_while_nothing_is_recorded(
    seeded: LearningLoop, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = cached(seeded, date(2014, 1, 1), None)
    calls: list[str] = []
    original = indicator_cache._computed
    monkeypatch.setattr(indicator_cache, "_computed", lambda *a: calls.append("x") or original(*a))
    assert cached(seeded, date(2014, 1, 1), FAR) == first
    assert calls == []  # served from the file
    seeded.import_events([event("LearningRecorded", "2013-03-01", learning="l1", observation="o")])
    assert cached(seeded, date(2014, 1, 1), None) == fresh(seeded, date(2014, 1, 1), None)
    assert calls == ["x"]


@pytest.mark.parametrize("damage", ["flip", "truncate", "empty", "garbage", "other key"])
def test_a_damaged_cache_file_is_ignored_and_replaced(seeded: LearningLoop, damage: str) -> None:
    seeded.import_events([event("LearningRecorded", "2013-03-01", learning="l1", observation="o")])
    cached(seeded, date(2013, 1, 1), None)
    other = cache_files(seeded.location.directory)[0]  # another D: another key
    cached(seeded, date(2014, 1, 1), None)
    (path,) = (found for found in cache_files(seeded.location.directory) if found != other)
    seeded.import_events([event("LearningRecorded", "2013-04-01", learning="l2", observation="o")])
    expected = fresh(seeded, date(2014, 1, 1), None)
    data = bytearray(path.read_bytes())  # the earlier answer a merge would start from
    if damage == "flip":
        data[len(data) // 2] ^= 0x01
    elif damage == "truncate":
        data = data[: len(data) - 3]
    elif damage == "empty":
        data = bytearray()
    elif damage == "garbage":
        data = bytearray(b"\x00" * len(data))
    else:  # a whole file, of another key, under this key's name
        data = bytearray(other.read_bytes())
    path.write_bytes(bytes(data))
    assert cached(seeded, date(2014, 1, 1), None) == expected  # computed: no merge from it
    (written,) = set(cache_files(seeded.location.directory)) - {path, other}
    assert indicator_cache.load(written, _key_in(written)) is not None  # written anew, whole


def _key_in(path: Path) -> str:
    data = path.read_bytes()
    end = len(data) - len(indicator_files.MAGIC) - 8
    length = int.from_bytes(data[end : end + 8], "little")
    return str(json.loads(data[end - length : end])["key"])


def test_a_changed_framework_file_is_a_new_answer(seeded: LearningLoop, tmp_path: Path) -> None:
    seeded.import_events([
        event("FunctionEvidenced", "2013-03-01", function="training", evidence="x", strength=2),
        event("FunctionEvidenced", "2013-03-02", function="employer", evidence="y", strength=1),
    ])  # fmt: skip
    framework = tmp_path / "f.json"
    framework.write_text(json.dumps([{"key": "people", "label": "P", "from": ["training"]}]))
    before = cached(seeded, None, None, framework)
    assert before == fresh(seeded, None, None, framework)
    assert cached(seeded, None, None, framework) == before
    framework.write_text(
        json.dumps(
            [
                {"key": "jobs", "label": "J", "from": ["employer"]},
                {"key": "people", "label": "P", "from": ["training"]},
            ]
        )
    )
    after = cached(seeded, None, None, framework)
    assert after == fresh(seeded, None, None, framework) != before
    assert cached(seeded, None, None) == fresh(seeded, None, None) != after


def test_a_rebuild_over_another_log_of_the_same_length_is_a_new_answer(
    store_dir: Path, tmp_path: Path
) -> None:
    other = tmp_path / "other"
    for where, learning in ((store_dir, "2013-03-01"), (other, "2014-09-01")):
        with LearningLoop(where, recorded_by="t") as loop:
            loop.import_events([*base_events(), event("LearningRecorded", learning,
                                                      learning="l1", observation="o")])  # fmt: skip
    with LearningLoop(store_dir, recorded_by="t") as loop:
        before = cached(loop, date(2014, 1, 1), FAR)
    shutil.copy(other / "events.sqlite", store_dir / "events.sqlite")  # same length, P alike
    with LearningLoop(store_dir, recorded_by="t") as loop:
        loop.project(rebuild=True)
        after = cached(loop, date(2014, 1, 1), FAR)
        assert after == fresh(loop, date(2014, 1, 1), FAR) != before


def test_a_new_projection_schema_is_a_new_answer(
    seeded: LearningLoop, monkeypatch: pytest.MonkeyPatch
) -> None:
    seeded.import_events([event("LearningRecorded", "2013-03-01", learning="l1", observation="o")])
    before = cached(seeded, None, None)
    assert before["learning_loops"][1]
    original = sqlfiles.load_sql_files

    def changed() -> list[sqlfiles.SqlFile]:
        return [sqlfiles.SqlFile(f.name, f.sql.replace("select * from final", "select * from "
                                 "final where cycles < 0"), f.reads)
                if f.name == "learning_loops" else f for f in original()]  # fmt: skip

    monkeypatch.setattr(projector, "load_sql_files", changed)
    after = cached(seeded, None, None)
    assert after == fresh(seeded, None, None) != before
    assert after["learning_loops"][1] == []


def test_two_projection_files_in_one_directory_keep_their_own_answers(tmp_path: Path) -> None:
    answers = []
    for name, learning in (("a", "2013-03-01"), ("b", "2014-09-01")):
        with LearningLoop(tmp_path / name, projections=tmp_path / "shared" / f"{name}.duckdb",
                          recorded_by="t") as loop:  # fmt: skip
            loop.import_events([*base_events(), event("LearningRecorded", learning,
                                                      learning="l1", observation="o")])  # fmt: skip
            answers.append(cached(loop, date(2014, 1, 1), None))
            assert answers[-1] == fresh(loop, date(2014, 1, 1), None)
    assert answers[0] != answers[1]
    assert len(cache_files(tmp_path / "shared")) == 2


def test_an_encrypted_store_keeps_its_cache_private(tmp_path: Path) -> None:
    store = tmp_path / "enc"
    with LearningLoop(store, cipher_key=new_cipher_key(), recorded_by="t") as loop:
        loop.import_events(base_events())
        cached(loop, None, None)
    directory = store / indicator_cache.CACHE_DIRECTORY
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    assert [stat.S_IMODE(p.stat().st_mode) for p in directory.iterdir()] == [0o600]


def test_a_plain_store_cache_follows_the_umask(store_dir: Path) -> None:
    previous = os.umask(0o027)
    try:
        with LearningLoop(store_dir, recorded_by="t") as loop:
            loop.import_events(base_events())
            cached(loop, None, None)
    finally:
        os.umask(previous)
    assert [stat.S_IMODE(p.stat().st_mode) for p in cache_files(store_dir)] == [0o640]


def test_an_unwritable_cache_place_means_no_cache_and_the_same_answer(seeded: LearningLoop) -> None:
    (seeded.location.directory / indicator_cache.CACHE_DIRECTORY).write_text("not a directory")
    assert cached(seeded, None, None) == fresh(seeded, None, None)
    assert cached(seeded, None, None) == fresh(seeded, None, None)


def test_only_the_newest_files_are_kept(
    seeded: LearningLoop, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(indicator_framing, "KEEP", 2)
    for day in range(4):
        cached(seeded, date(2014, 1, 1) + timedelta(days=day), None)
    assert len(cache_files(seeded.location.directory)) == 2


def test_each_format_asked_in_turn_gets_its_own_answer(
    runner: CliRunner, store_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    imported = runner.invoke(main, ["--store", str(store_dir), "import", str(demo_path())])
    assert imported.exit_code == 0
    outputs = ("csv", "table", "json")
    arguments = [["--store", str(store_dir), "indicators", "--format", output]
                 for output in outputs]  # fmt: skip
    printed = [runner.invoke(main, each).stdout_bytes for each in arguments]
    monkeypatch.setattr(indicator_cache, "read_key", lambda *arguments: None)
    assert printed == [runner.invoke(main, each).stdout_bytes for each in arguments]


@pytest.mark.parametrize("output", ["csv", "json", "jsonl", "table"])
def test_every_format_prints_the_same_bytes_cached_or_not(
    runner: CliRunner, store_dir: Path, output: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    arguments = ["--store", str(store_dir), "indicators", "--format", output, "--as-of",
                 "2014-06-30"]  # fmt: skip
    assert (
        runner.invoke(main, ["--store", str(store_dir), "import", str(demo_path())]).exit_code == 0
    )
    cold = runner.invoke(main, arguments)
    warm = runner.invoke(main, arguments)  # CSV: the lines as rendered the first time
    for rendition in cache_files(store_dir, ".csv"):
        rendition.write_bytes(rendition.read_bytes()[:-1] + b"!")  # damaged: rendered again
    rendered = runner.invoke(main, arguments)  # CSV: from the cached rows
    monkeypatch.setattr(indicator_cache, "read_key", lambda *arguments: None)
    uncached = runner.invoke(main, arguments)
    assert uncached.exit_code == 0 and len(uncached.stdout_bytes) > 1000
    for result in (cold, warm, rendered):
        assert (result.exit_code, result.stdout_bytes) == (0, uncached.stdout_bytes)
        assert result.stderr == uncached.stderr
    assert cache_files(store_dir)
