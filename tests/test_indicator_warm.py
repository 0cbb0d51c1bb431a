"""`indicators --format csv` from the cache's files alone: served only when the usual path
would write the very same bytes, and then those bytes."""

from __future__ import annotations

import io
import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from learningloop import (
    LearningLoop,
    indicator_after,
    indicator_cache,
    indicator_files,
    indicator_renditions,
    indicator_warm,
)
from learningloop.cli.main import main
from learningloop.demo import demo_path
from learningloop.store import new_cipher_key
from tests.conftest import base_events
from tests.strategies import programme_histories

DATES = st.dates(date(2010, 6, 1), date(2018, 1, 1))
PROPERTY = settings(
    max_examples=4, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def usual(store: Path, as_of: date | None = None) -> bytes:
    """What the command writes (served from an entry or not)."""
    at = [] if as_of is None else ["--as-of", as_of.isoformat()]
    arguments = ["--store", str(store), "indicators", "--format", "csv", *at]
    result = CliRunner().invoke(main, arguments)
    assert result.exit_code == 0, result.output
    return result.stdout_bytes


def uncached(store: Path, monkeypatch: pytest.MonkeyPatch, as_of: date | None = None) -> bytes:
    """The answer computed, no cache file read or written, no entry served."""
    with monkeypatch.context() as patched:
        patched.setattr(indicator_cache, "read_key", lambda *arguments: None)
        patched.setattr(indicator_warm, "served", lambda *arguments, **options: False)
        patched.setattr(indicator_after, "served", lambda *arguments, **options: False)
        return usual(store, as_of)


def served(store_dir: Path, as_of: date | None = None, **options: Any) -> bytes | None:
    out = io.BytesIO()
    given = {"store": str(store_dir), "projections": None, "cipher_key": None,
             "memory_limit": None} | options  # fmt: skip
    if not indicator_warm.served(out, as_of=as_of, **given):
        assert out.getvalue() == b""  # nothing written when not served
        return None
    return out.getvalue()


def entries(store: Path) -> list[dict[str, Any]]:
    path = store / indicator_cache.CACHE_DIRECTORY / indicator_warm.ENTRIES
    return json.loads(path.read_bytes()) if path.exists() else []


def rewrite_entry(store: Path, **changes: Any) -> None:
    path = store / indicator_cache.CACHE_DIRECTORY / indicator_warm.ENTRIES
    path.write_text(json.dumps([entry | changes for entry in entries(store)]))


@pytest.fixture
def demo(tmp_path: Path) -> Path:
    store = tmp_path / "store"
    for command in (["import", str(demo_path())], ["project"]):
        assert CliRunner().invoke(main, ["--store", str(store), *command]).exit_code == 0
    return store


@PROPERTY
@given(history=programme_histories(max_events=25), data=st.data())
def test_what_is_served_is_what_the_command_computes_whatever_was_recorded_in_between(
    tmp_path_factory: pytest.TempPathFactory,
    history: list[dict[str, Any]],
    data: st.DataObject,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    store = tmp_path_factory.mktemp("warm") / "s"
    cuts = sorted(data.draw(st.sets(st.integers(1, len(history)), max_size=3), label="cuts"))
    for start, end in zip([0, *cuts], [*cuts, len(history)], strict=True):
        if end <= start:
            continue
        with LearningLoop(store, recorded_by="p") as loop:
            loop.import_events(history[start:end])
        as_of = data.draw(st.one_of(st.none(), DATES), label="D")
        assert served(store, as_of) is None  # the log grew: what was noted no longer holds
        first = usual(store, as_of)  # caught up, then merged or computed: not noted
        assert first == uncached(store, monkeypatch, as_of)
        assert usual(store, as_of) == first  # read from the cache, and noted
        assert served(store, as_of) in (first, None)  # None: D after the last period
        assert usual(store, as_of) == first  # the command itself, served or not


def test_a_date_after_every_period_is_left_to_the_usual_path_which_notes_it(
    demo: Path,
) -> None:
    for day, note in ((date(2013, 6, 30), False), (date(2030, 1, 1), True)):
        first = usual(demo, day)
        arguments = ["--store", str(demo), "indicators", "--format", "csv",
                     "--as-of", day.isoformat()]  # fmt: skip
        again = CliRunner().invoke(main, arguments)
        assert again.stdout_bytes == first
        assert ("after the last recorded event" in again.stderr) == note
        assert (served(demo, day) is None) == note


def test_the_command_is_served_without_duckdb_once_noted(demo: Path) -> None:
    first = usual(demo)
    assert len(first) > 1000 and entries(demo)
    assert served(demo) == first
    assert usual(demo) == first


def test_damaged_lines_are_not_served(demo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = usual(demo)
    rendition = demo / indicator_cache.CACHE_DIRECTORY / entries(demo)[0]["files"][0][0]
    data = bytearray(rendition.read_bytes())
    file, offset, _ = entries(demo)[0]["sections"][0]
    assert file == 0
    data[offset] ^= 1  # same size, same file: only the CRC tells
    with rendition.open("r+b") as file:
        file.write(bytes(data))
    assert served(demo) is None
    assert usual(demo) == first == uncached(demo, monkeypatch)


def test_a_write_ahead_log_beside_the_projections_means_the_usual_path(demo: Path) -> None:
    usual(demo)
    wal = demo / "projections.duckdb.wal"
    wal.write_bytes(b"x")
    assert served(demo) is None
    wal.write_bytes(b"")  # empty: nothing committed there
    assert served(demo) is not None


@pytest.mark.parametrize(
    "change",
    [
        {"as_of": "2014-06-30"},  # another D than today's
        {"last_recorded": (datetime.now(UTC) + timedelta(hours=1)).isoformat()},  # T hides one
        {"fingerprint": "another file"},
        {"position": 1},
        {"sql": "other projections"},
        {"duckdb": "0.0.0"},
        {"learningloop": "0.0.0"},
        {"crcs": [0]},
        {"files": [["indicators-x.csv", 0, 0, 0]]},
        {"database": "/elsewhere/projections.duckdb"},
    ],
)
def test_an_entry_that_does_not_fit_is_not_served(demo: Path, change: dict[str, Any]) -> None:
    usual(demo)
    assert served(demo) is not None
    rewrite_entry(demo, **change)
    assert served(demo) is None


@pytest.mark.parametrize(
    "options", [{"cipher_key": "a key"}, {"memory_limit": "2GB"}, {"store": "postgresql://x/y"}]
)
def test_options_the_usual_path_checks_mean_the_usual_path(
    demo: Path, options: dict[str, Any]
) -> None:
    usual(demo)
    assert served(demo, **options) is None


@pytest.mark.parametrize(
    ("variable", "value"),
    [("LEARNINGLOOP_MEMORY_LIMIT", "2GB"), ("LEARNINGLOOP_CIPHER_KEY", new_cipher_key())],
    # A fresh key each run: named by the variable, so every pytest-xdist worker collects the
    # same test ids.
    ids=["memory-limit", "cipher-key"],
)
def test_settings_from_the_environment_mean_the_usual_path(
    demo: Path, monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    first = usual(demo)
    monkeypatch.setenv(variable, value)
    assert served(demo) is None
    result = CliRunner().invoke(main, ["--store", str(demo), "indicators", "--format", "csv"])
    if variable == "LEARNINGLOOP_CIPHER_KEY":  # the usual path refuses a key for this store
        assert result.exit_code == 1 and "not encrypted" in result.stderr
    else:
        assert result.stdout_bytes == first


def test_another_format_or_options_note_nothing(demo: Path) -> None:
    for extra in (["--format", "json"], ["--format", "table"]):
        assert CliRunner().invoke(main, ["--store", str(demo), "indicators", *extra]).exit_code == 0
    at = ["--store", str(demo), "indicators", "--format", "csv", "--known-at", "2013-01-01"]
    assert CliRunner().invoke(main, at).exit_code == 0  # T before the head: not cached
    assert entries(demo) == []


def test_a_rebuild_is_not_served_until_answered_again(demo: Path) -> None:
    first = usual(demo)
    assert CliRunner().invoke(main, ["--store", str(demo), "project", "--rebuild"]).exit_code == 0
    assert served(demo) is None
    assert usual(demo) == first
    assert served(demo) == first


def test_an_encrypted_store_is_never_served(tmp_path: Path) -> None:
    store = tmp_path / "store"
    with LearningLoop(store, recorded_by="p", cipher_key=new_cipher_key()) as loop:
        loop.import_events(base_events())
    assert indicator_warm.log_head(store / "events.sqlite") is None  # the usual path asks


@pytest.fixture
def overlaid(demo: Path) -> Path:
    """The demo answered, one more meeting recorded and projected, then answered twice (merged
    from the first answer, noted the second time): its entry names an overlay and its base."""
    usual(demo)
    with LearningLoop(demo, recorded_by="p") as loop:
        query = "select experiment, max(occurred_on) from stg_meetings group by 1 order by 1"
        experiment, day = loop.sql(query).rows[0]
        loop.import_events([{"type": "MeetingHeld", "experiment": experiment, "kind": "local",
                             "attendees": 3, "occurred_on": day.isoformat()}])  # fmt: skip
        loop.project()
    usual(demo)
    return demo


def test_an_overlay_is_served_from_its_own_bytes_and_its_base(
    overlaid: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    again = usual(overlaid)
    (entry,) = entries(overlaid)
    assert len(entry["files"]) == 2 and {file for file, _, _ in entry["sections"]} == {0, 1}
    taken = {0: 0, 1: 0}
    for file, _, length in entry["sections"]:
        taken[file] += length
    assert 0 < taken[0] < taken[1]  # the overlay holds the lines of the experiment touched
    assert served(overlaid) == again == uncached(overlaid, monkeypatch)


@pytest.mark.parametrize("change", ["replaced", "flipped"])
def test_an_overlay_whose_base_changed_is_not_served(
    overlaid: Path, monkeypatch: pytest.MonkeyPatch, change: str
) -> None:
    first = usual(overlaid)
    base = overlaid / indicator_cache.CACHE_DIRECTORY / entries(overlaid)[0]["files"][1][0]
    data = bytearray(base.read_bytes())
    if change == "flipped":  # same file, same size: only the CRC tells
        _, offset, _ = next(s for s in entries(overlaid)[0]["sections"] if s[0] == 1)
        data[offset] ^= 1
        with base.open("r+b") as opened:
            opened.write(bytes(data))
    else:  # the same bytes in another file, renamed in its place
        copy = base.with_name("copy")
        copy.write_bytes(bytes(data))
        copy.replace(base)
    assert served(overlaid) is None
    assert usual(overlaid) == first == uncached(overlaid, monkeypatch)


@pytest.mark.parametrize("replaced", [False, True])
def test_a_base_is_known_by_the_file_mapped(
    overlaid: Path, monkeypatch: pytest.MonkeyPatch, replaced: bool
) -> None:
    base = overlaid / indicator_cache.CACHE_DIRECTORY / entries(overlaid)[0]["files"][1][0]
    footer = indicator_files.read_footer(base)
    assert footer is not None
    original = indicator_files.opened

    def replacing(path: Path, key: str, **options: Any) -> Any:
        found = original(path, key, **options)
        if replaced:  # another process's rendition renamed in its place meanwhile
            base.with_name("copy").write_bytes(base.read_bytes())
            base.with_name("copy").replace(base)
        return found

    monkeypatch.setattr(indicator_files, "opened", replacing)
    renditions = indicator_renditions.Renditions(base, footer["key"], private=False)
    assert renditions.get("no such spec") is None
    stat = base.stat()
    expected = None if replaced else (stat.st_dev, stat.st_ino, stat.st_size)
    assert renditions.identity == expected
