"""`indicators --format csv` after new events, merged from an earlier answer without pyarrow:
served only when the usual path would write the very same bytes, and then those bytes; the
cache left as the usual path leaves it (an overlay, a warm entry)."""

from __future__ import annotations

import io
import json
import mmap
import os
import subprocess
import sys
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from learningloop import (
    LearningLoop,
    indicator_after,
    indicator_delta,
    indicator_framing,
    indicator_keys,
)
from learningloop.cli.main import main
from tests.strategies import programme_histories
from tests.test_indicator_warm import DATES, demo, entries, uncached, usual

__all__ = ["demo"]  # the fixture, shared with test_indicator_warm

PROPERTY = settings(
    max_examples=4, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def served(store_dir: Path, as_of: date | None = None, **options: Any) -> bytes | None:
    out = io.BytesIO()
    given = {"store": str(store_dir), "projections": None, "cipher_key": None,
             "memory_limit": None} | options  # fmt: skip
    if not indicator_after.served(out, as_of=as_of, **given):
        assert out.getvalue() == b""  # nothing written when not served
        return None
    return out.getvalue()


def one_more_meeting(store: Path, *, project: bool = True) -> None:
    with LearningLoop(store, recorded_by="p") as loop:
        query = "select experiment, max(occurred_on) from stg_meetings group by 1 order by 1"
        experiment, day = loop.sql(query).rows[0]
        loop.import_events([{"type": "MeetingHeld", "experiment": experiment, "kind": "local",
                             "attendees": 3, "occurred_on": day.isoformat()}])  # fmt: skip
        if project:
            loop.project()


def cache_files(store: Path) -> set[str]:
    return {path.name for path in (store / indicator_framing.CACHE_DIRECTORY).iterdir()}


@PROPERTY
@given(history=programme_histories(max_events=25), data=st.data())
def test_what_is_served_is_what_the_command_computes_whatever_was_recorded_in_between(
    tmp_path_factory: pytest.TempPathFactory,
    history: list[dict[str, Any]],
    data: st.DataObject,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    store = tmp_path_factory.mktemp("after") / "s"
    cuts = sorted(data.draw(st.sets(st.integers(1, len(history)), max_size=3), label="cuts"))
    as_of = data.draw(st.one_of(st.none(), DATES), label="D")
    for start, end in zip([0, *cuts], [*cuts, len(history)], strict=True):
        if end <= start:
            continue
        with LearningLoop(store, recorded_by="p") as loop:
            loop.import_events(history[start:end])
            loop.project()
        expected = uncached(store, monkeypatch, as_of)
        assert served(store, as_of) in (expected, None)  # None: no earlier answer, say
        assert usual(store, as_of) == expected  # served by either path, or computed


def test_one_event_later_the_answer_is_merged_and_the_next_call_is_warm(
    demo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    usual(demo)
    one_more_meeting(demo)
    before = cache_files(demo)
    found = served(demo)
    assert found is not None and found == uncached(demo, monkeypatch)
    (overlay,) = cache_files(demo) - before  # the merged answer's lines, as an overlay
    (entry,) = entries(demo)
    assert entry["files"][0][0] == overlay and {file for file, _, _ in entry["sections"]} == {0, 1}
    assert usual(demo) == found  # from the warm entry


def test_the_command_after_one_event_loads_no_pyarrow_no_event_model_no_duckdb_package(
    demo: Path,
) -> None:
    usual(demo)
    one_more_meeting(demo)
    program = (
        "import sys; from learningloop.cli.main import main\n"
        "try: main(['--store', sys.argv[1], 'indicators', '--format', 'csv'])\n"
        "except SystemExit: pass\n"
        "heavy = {'pyarrow', 'numpy', 'eventsourcing', 'pydantic', 'duckdb'}\n"
        "heavy.add('importlib.metadata')\n"
        "loaded = heavy & set(sys.modules) | ({'_duckdb'} - set(sys.modules))\n"
        "sys.stderr.write(repr(sorted(loaded)))"
    )
    run = subprocess.run([sys.executable, "-c", program, str(demo)], capture_output=True,
                         check=True)  # fmt: skip
    assert run.stderr.decode().endswith("[]")  # DuckDB's core alone
    assert len(run.stdout) > 1000 and len(entries(demo)) == 1


def test_projections_behind_the_log_mean_the_usual_path(demo: Path) -> None:
    usual(demo)
    one_more_meeting(demo, project=False)
    assert served(demo) is None
    assert usual(demo)  # caught up there


def test_no_earlier_answer_means_the_usual_path(demo: Path) -> None:
    assert served(demo) is None  # no cache directory
    usual(demo)
    assert served(demo) is None  # the answer at this position: the warm path's


def test_a_damaged_earlier_answer_is_not_merged(
    demo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    usual(demo)
    (base,) = (demo / "cache").glob("indicators-*.csv")
    one_more_meeting(demo)
    data = bytearray(base.read_bytes())
    data[len(indicator_framing.MAGIC)] ^= 1  # same size, same file: only the CRC tells
    base.write_bytes(bytes(data))
    assert served(demo) is None
    assert usual(demo) == uncached(demo, monkeypatch)


def test_too_many_experiments_touched_means_the_usual_path(
    demo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    usual(demo)
    one_more_meeting(demo)
    monkeypatch.setattr(indicator_delta, "MAX_TOUCHED", 0)
    assert served(demo) is None


@pytest.mark.parametrize(
    "options", [{"cipher_key": "a key"}, {"memory_limit": "2GB"}, {"store": "postgresql://x/y"}]
)
def test_options_the_usual_path_checks_mean_the_usual_path(
    demo: Path, options: dict[str, Any]
) -> None:
    usual(demo)
    one_more_meeting(demo)
    assert served(demo, **options) is None


def test_a_date_after_every_period_is_left_to_the_usual_path(demo: Path) -> None:
    day = date(2030, 1, 1)
    usual(demo, day)
    one_more_meeting(demo)
    assert served(demo, day) is None
    result = CliRunner().invoke(main, ["--store", str(demo), "indicators", "--format", "csv",
                                       "--as-of", day.isoformat()])  # fmt: skip
    assert "after the last recorded event" in result.stderr


@pytest.mark.parametrize(
    ("line", "field", "expected"),
    [
        (b"t,exp-1,2\n", 1, "exp-1"),
        (b't,"a,b ""c""",2\n', 1, 'a,b "c"'),
        (b't,"a\nb"\n', 1, "a\nb"),
        (b"t,\xc3\xa9t\xc3\xa9\n", 1, "\u00e9t\u00e9"),
        (b"t,last\n", 1, "last"),
        (b"t,,x\n", 1, ""),
    ],
)
def test_a_cell_is_read_as_csv_wrote_it(line: bytes, field: int, expected: str) -> None:
    data = mmap.mmap(-1, len(line) + 4)
    data[2 : 2 + len(line)] = line
    assert indicator_after._field(data, 2, 2 + len(line), field) == expected


@pytest.mark.parametrize("line", [b"t\n", b't,"open\n'])
def test_a_line_without_the_cell_is_unsure(line: bytes) -> None:
    data = mmap.mmap(-1, len(line))
    data[:] = line
    with pytest.raises(indicator_after._Unsure):
        indicator_after._field(data, 0, len(line), 1)


@pytest.mark.parametrize("target", ["file", "pipe", "memory"])
def test_sections_are_written_alike_into_a_file_a_pipe_or_memory(
    tmp_path: Path, target: str
) -> None:
    source = tmp_path / "source"
    source.write_bytes(bytes(range(256)) * 64)
    sections = [[0, 10, 100], [0, 5000, 7000], [0, 0, 0], [0, 3, 1]]
    expected = b"head\n" + b"".join(source.read_bytes()[o : o + n] for _, o, n in sections)
    with source.open("rb") as file, mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ) as data:
        files = [(file.fileno(), data)]
        if target == "memory":
            out = io.BytesIO()
            indicator_framing.write_sections(out, b"head\n", files, sections)
            assert out.getvalue() == expected
        elif target == "file":
            with (tmp_path / "out").open("wb") as written:
                indicator_framing.write_sections(written, b"head\n", files, sections)
            assert (tmp_path / "out").read_bytes() == expected
        else:
            reading, writing = os.pipe()
            with os.fdopen(writing, "wb") as written, os.fdopen(reading, "rb") as read:
                indicator_framing.write_sections(written, b"head\n", files, sections)
                written.close()
                assert read.read() == expected


def test_the_overlay_names_its_base_as_the_usual_path_does(demo: Path) -> None:
    usual(demo)
    one_more_meeting(demo)
    before = cache_files(demo)
    assert served(demo) is not None
    (overlay,) = cache_files(demo) - before
    footer = indicator_framing.parsed_footer(memoryview((demo / "cache" / overlay).read_bytes()))
    base = demo / "cache" / footer[0]["base"]["name"]
    stat = base.stat()
    assert footer[0]["base"]["id"] == [stat.st_dev, stat.st_ino, stat.st_size]
    assert all("pieces" in part for part in footer[0]["sections"])
    assert json.loads(footer[0]["key"])["position"] > 0


def test_described_types_are_the_types_a_relation_gives(demo: Path) -> None:
    """What the CSV cells of the touched experiments' lines are chosen by (DESCRIBE, as the
    duckdb package is not loaded there) is what the usual path chooses them by."""
    import duckdb

    with duckdb.connect(str(demo / "projections.duckdb"), read_only=True) as con:
        for sql in [*indicator_keys.indicator_queries().values(), ODD_TYPES]:
            described = con.execute(f"describe {sql}").fetchall()
            relation = con.sql(sql)
            assert [row[0] for row in described] == relation.columns
            assert [row[1] for row in described] == [str(kind) for kind in relation.types]


ODD_TYPES = (
    "select {'a': 1, 'b': [1.5]}::struct(a int, b decimal(18,3)[]) as s, '{}'::json as j, "
    "now() as t, 1::hugeint as h, 'x'::enum('x', 'y') as e, [1, 2] as l, map {'k': 1} as m"
)
