"""Hostile input at the command line (CONTRACT 6.10): exit 2, one short line, nothing written."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner, Result
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from learningloop import LearningLoop, loop_recording
from learningloop.cli.main import main
from tests.conftest import base_events, store_bytes

MEETINGS = [
    {"type": "MeetingHeld", "experiment": "exp", "kind": "local", "attendees": n,
     "occurred_on": f"2013-0{n}-01", "notes": f"meeting {n}"}
    for n in range(1, 4)
]  # fmt: skip


def render(kind: str, events: list[dict[str, Any]]) -> str:
    if kind == "jsonl":
        return "".join(json.dumps(event) + "\n" for event in events)
    if kind == "json":
        return json.dumps(events, indent=1)
    return yaml.safe_dump(events, sort_keys=False)


def run(store: Path, *args: str) -> Result:
    return CliRunner().invoke(main, ["--store", str(store), "--by", "cli", *args])


def assert_refused(result: Result) -> None:
    """Exit 2, one `Error:` line under 300 characters, no traceback, nothing on stdout."""
    assert result.exit_code == 2, (result.exit_code, result.output, result.exception)
    assert isinstance(result.exception, SystemExit), result.exception
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr[:500]
    assert len(lines[0]) < 300, lines[0][:500]
    assert "Traceback" not in result.stderr and result.stdout == ""


@pytest.fixture(scope="module")
def seeded_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    store = tmp_path_factory.mktemp("seeded") / "store"
    with LearningLoop(store, recorded_by="tester") as loop:
        loop.import_events(base_events())
    return store


POISON = [
    "\x00", '"', "{", "}", "[", "]", ",", ":", "\n", " garbage", "[" * 70, "9" * 60,
    "2013-02-29", "&a ", "*a", "!!timestamp ", "- ", "\t", '"x\\n"', "-1", "NaN",
    '"attendees": 4294967296, ', '"months": 2147483648, ', "9999-12-31", "\ufeff", "é",
]  # fmt: skip


@st.composite
def mutations(draw: st.DrawFn, text: str) -> str:
    """A valid document with one to three local edits: poison, deletion, duplication."""
    for _ in range(draw(st.integers(1, 3))):
        at = draw(st.integers(0, len(text)))
        edit = draw(st.sampled_from(["poison", "delete", "duplicate", "truncate", "char"]))
        if edit == "poison":
            text = text[:at] + draw(st.sampled_from(POISON)) + text[at:]
        elif edit == "delete":
            text = text[:at] + text[at + draw(st.integers(1, 20)) :]
        elif edit == "duplicate":
            text = text[:at] + text[at : at + draw(st.integers(1, 40))] * 2 + text[at + 40 :]
        elif edit == "truncate":
            text = text[:at]
        else:
            text = text[:at] + draw(st.characters(codec="utf-8")) + text[at + 1 :]
    return text


@pytest.mark.parametrize("kind", ["jsonl", "json", "yaml"])
@settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_a_mutated_file_is_imported_whole_or_refused_in_one_line_leaving_the_store_as_it_was(
    seeded_store: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    kind: str,
    data: st.DataObject,
) -> None:
    text = data.draw(mutations(render(kind, MEETINGS)))
    monkeypatch.chdir(tmp_path)  # a short file name: the line's length is the message's
    path = Path(f"mutated.{kind}")
    path.write_text(text, encoding="utf-8")
    before = store_bytes(seeded_store)
    result = run(seeded_store, "import", str(path))
    if result.exit_code == 0:  # an edit that left a valid document: written whole
        with LearningLoop(seeded_store) as loop:
            loop.sql("select 1")  # the store still opens and projects
        return
    assert_refused(result)
    assert store_bytes(seeded_store) == before


@pytest.mark.parametrize(
    ("name", "text", "fragment"),
    [
        ("bomb.yaml", "- type: A\n  a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n"
         + "".join(f"  a{n}: &a{n} [{', '.join([f'*a{n - 1}'] * 9)}]\n" for n in range(1, 10)),
         "aliases expand beyond the size of the file"),
        ("deep.json", "[" * 1_000 + "]" * 1_000, "nested deeper than 64 levels"),
        ("deep.yaml", "- " + "[" * 1_000 + "]" * 1_000, "nested deeper than 64 levels"),
        ("nul.yaml", "- type: MeetingHeld\n  notes: \"a\0b\"\n", "line 2: not valid YAML"),
        ("date.yaml", "- {type: MeetingHeld, experiment: exp, kind: local, "
         "occurred_on: 2013-02-29}\n", "field occurred_on: '2013-02-29' is not a real date"),
        ("huge.json", json.dumps([MEETINGS[0] | {"attendees": 10**30}]), "field attendees"),
        ("huge.yaml", "- {type: MeetingHeld, attendees: " + "9" * 5_000 + "}\n", "too large"),
        ("garbage.json", json.dumps(MEETINGS) + " garbage", "unexpected 'garbage'"),
        ("two.json", json.dumps(MEETINGS) + json.dumps(MEETINGS), "after the array"),
        ("dup.jsonl", '{"type": "MeetingHeld", "type": "MeetingHeld"}\n', "duplicate key"),
        ("slug.jsonl", json.dumps(MEETINGS[0] | {"experiment": "exp\n"}) + "\n",
         "field experiment: 'exp\\n' is not a slug"),
        ("big.jsonl", json.dumps(MEETINGS[0] | {"kind": "x" * 1_000_000}) + "\n",
         "field kind"),
        ("huge.jsonl", json.dumps(MEETINGS[0] | {"kind": "x" * 10_000_000}) + "\n",
         "line 1: an event may take at most 1,048,576 characters"),
        ("int.jsonl", json.dumps(MEETINGS[0] | {"attendees": 2**31}) + "\n", "attendees"),
        ("months.jsonl", json.dumps({"type": "CommitmentMade", "experiment": "exp",
         "commitment": "c", "description": "D", "meetings_per_year_min": 1,
         "meetings_per_year_max": 2, "starts_on": "2013-01-01", "months": 2**31,
         "occurred_on": "2013-01-01"}) + "\n", "field months"),
        ("far.jsonl", json.dumps(MEETINGS[0] | {"occurred_on": "9999-12-31"}) + "\n",
         "outside 1900-01-01..2199-12-31"),
    ],
)  # fmt: skip
def test_each_reproduction_of_issue_11_is_refused_in_one_line(
    seeded_store: Path, tmp_path: Path, name: str, text: str, fragment: str
) -> None:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    before = store_bytes(seeded_store)
    result = run(seeded_store, "import", str(path))
    assert_refused(result)
    assert fragment in result.stderr
    assert store_bytes(seeded_store) == before


@pytest.mark.parametrize("value", ["1_000", "+5", "٣", "2147483648"])
def test_record_refuses_loose_integers(seeded_store: Path, value: str) -> None:
    result = run(seeded_store, "record", "MeetingHeld", "--experiment", "exp", "--kind",
                 "local", "--occurred-on", "2013-01-01", "--attendees", value)  # fmt: skip
    assert_refused(result)
    assert "attendees" in result.stderr


def test_record_takes_text_that_looks_like_json_as_text(tmp_path: Path) -> None:
    store = tmp_path / "store"
    with LearningLoop(store) as loop:
        loop.import_events(base_events())
    result = run(store, "record", "MeetingHeld", "--experiment", "exp", "--kind", "local",
                 "--occurred-on", "2013-01-01", "--notes", "[draft] went well")  # fmt: skip
    assert result.exit_code == 0, result.output
    with LearningLoop(store) as loop:
        assert loop._store.stream("experiment:exp")[-1].event.notes == "[draft] went well"  # type: ignore[attr-defined]


def test_a_failed_import_into_a_new_store_leaves_nothing_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Past the buffer the store is opened for writing before the bad event is read.
    monkeypatch.setattr(loop_recording, "BUFFERED_EVENTS", 2)
    bad = [*base_events(), MEETINGS[0] | {"occurred_on": "2013-02-30"}]
    path = tmp_path / "events.jsonl"
    path.write_text(render("jsonl", bad), encoding="utf-8")
    store = tmp_path / "new" / "store"
    result = run(store, "import", str(path))
    assert_refused(result)
    assert not (tmp_path / "new").exists()


def test_an_empty_required_text_is_refused_and_spaces_alone_are_kept(
    seeded_store: Path, tmp_path: Path
) -> None:
    """CONTRACT 6.10: a required text is not empty. Spaces alone are not empty: earlier versions
    stored them, and a stored event must stay decodable."""
    before = store_bytes(seeded_store)
    result = run(seeded_store, "record", "LearningRecorded", "--experiment", "exp",
                 "--learning", "l9", "--occurred-on", "2013-01-01",
                 "--observation", "")  # fmt: skip
    assert_refused(result)
    assert "observation: is empty" in result.stderr
    assert store_bytes(seeded_store) == before
    joined = {"type": "PartnerJoined", "programme": "prog", "partner": "p9", "name": "   ",
              "kind": "company", "occurred_on": "2013-01-01"}  # fmt: skip
    path = tmp_path / "blank.jsonl"
    path.write_text(render("jsonl", [joined]), encoding="utf-8")
    result = run(seeded_store, "import", str(path))
    assert result.exit_code == 0, result.output
    result = run(seeded_store, "sql", "select name from partners where partner = 'p9'",
                 "--format", "csv")  # fmt: skip
    assert result.stdout == "name\n   \n"


@pytest.mark.parametrize(
    "args",
    [
        ["sql", "-- a comment first\nselect 41 + 1 as answer", "--format", "csv"],
        ["sql", "--format", "csv", "-- a comment first\nselect 41 + 1 as answer"],
        ["sql", "--format=csv", "--", "-- a comment first\nselect 41 + 1 as answer"],
    ],
)
def test_a_query_starting_with_a_comment_is_the_query(seeded_store: Path, args: list[str]) -> None:
    result = run(seeded_store, *args)
    assert result.exit_code == 0, result.output
    assert result.stdout == "answer\n42\n"


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["sql", "select 1", "-- x"], "unexpected extra argument"),
        (["sql"], "Missing argument 'QUERY'"),
        (["sql", "select 1", "--format", "xml"], "'xml' is not one of"),
        (["frobnicate"], "No such command"),
        (["sql", "select 1", "--timeout", "nan"], "nan is not a number of seconds"),
        (["sql", "select 1", "--timeout", "inf"], "inf is not in the range"),
        (["sql", "select 1", "--timeout", "1e10"], "is not in the range"),  # overflowed the timer
    ],
)
def test_a_usage_error_is_one_line(seeded_store: Path, args: list[str], fragment: str) -> None:
    result = run(seeded_store, *args)
    assert_refused(result)
    assert fragment in result.stderr and "--help" in result.stderr


def test_projections_that_name_a_directory_are_refused_in_one_line(seeded_store: Path) -> None:
    before = store_bytes(seeded_store)
    result = run(seeded_store, "--projections", str(seeded_store), "indicators")
    assert_refused(result)
    assert f"--projections: {seeded_store} is a directory" in result.stderr
    assert store_bytes(seeded_store) == before


def test_a_memory_limit_too_small_to_open_the_projections_names_the_setting(
    seeded_store: Path,
) -> None:
    result = run(seeded_store, "--memory-limit", "100KB", "indicators")
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit), result.exception
    assert result.stderr.startswith("Error: DuckDB ran out of memory")
    assert "LEARNINGLOOP_MEMORY_LIMIT" in result.stderr and len(result.stderr.splitlines()) == 1


@pytest.mark.parametrize(
    "args",
    [
        ["replay", "x" * 100_000],
        ["why", "d" * 100_000],
        ["why", "--prediction", "p" * 100_000],
        ["changes", "--since", "2000-01-01", "--table", "t" * 100_000],
    ],
)
def test_a_long_name_that_names_nothing_is_quoted_cut_in_one_line(
    seeded_store: Path, args: list[str]
) -> None:
    result = run(seeded_store, *args)
    assert result.exit_code == 2, result.output
    assert len(result.stderr.splitlines()) == 1 and len(result.stderr) < 400, result.stderr[:400]
