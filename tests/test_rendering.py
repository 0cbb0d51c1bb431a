"""Tables for people: they fit 80 columns and never cut a word into fragments."""

from __future__ import annotations

import io
from contextlib import redirect_stdout
from datetime import UTC
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from learningloop.cli import rendering

LONG_TEXT = "Programme de travail 2012/2014: deux axes de travail complémentaires ont été retenus"


@pytest.fixture
def eighty_columns(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rendering, "_table_width", lambda: 80)


def words_of(text: str) -> set[str]:
    return set(text.replace("│", " ").split())


def test_a_narrow_table_keeps_its_columns_and_fits_80_columns(
    eighty_columns: None, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = [{"experiment": "chantier-ecole-st-nazaire", "status": "retained", "ratio": 0.4}]
    rendering.print_table(rows, ["experiment", "status", "ratio"], title="Experiments")
    printed = capsys.readouterr().out
    assert all(len(line) <= 80 for line in printed.splitlines())
    assert "chantier-ecole-st-nazaire  retained" in printed


def test_a_wide_row_becomes_a_vertical_record_with_every_word_whole(
    eighty_columns: None, capsys: pytest.CaptureFixture[str]
) -> None:
    columns = ["experiment", "title", "source", "territory", "carriers", "recorded_by"]
    row = {"experiment": "deltameca-gouvernance", "title": LONG_TEXT, "source": LONG_TEXT,
           "territory": "Loire-Atlantique", "carriers": ["deltameca", "cnam-pays-de-la-loire"],
           "recorded_by": "learningloop-demo"}  # fmt: skip
    rendering.print_table([row], columns)
    printed = capsys.readouterr().out
    assert all(len(line) <= 80 for line in printed.splitlines())
    assert words_of(LONG_TEXT) <= words_of(printed)  # no word broken into fragments
    assert "cnam-pays-de-la-loire" in printed.split()
    assert printed.splitlines()[0].startswith("-[ 1 ]")


# What a row can hold once DuckDB hands it over: every scalar type, NULL, unicode and control
# characters, non-finite and extreme floats, dates and times, lists nested in lists, maps.
SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(), st.text(),
    st.floats(allow_nan=True, allow_infinity=True), st.dates(), st.datetimes(),
    st.datetimes(timezones=st.just(UTC)), st.decimals(allow_nan=False, places=3),
    st.uuids(), st.sampled_from([0.1, -0.0, 1e16, 1e-7, 2**63, -(2**63), "\u2028\x7f\x00\"\\"]),
)  # fmt: skip
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner,
                                                                max_size=2),
    max_leaves=6,
)  # fmt: skip


def old_record_text(record: dict[Any, Any]) -> str:
    """How each object of a JSON array was written before `record_text`."""
    return rendering.dumps({key: rendering.json_value(value) for key, value in record.items()})


@given(record=st.dictionaries(st.text(max_size=4), VALUES, max_size=6))
def test_a_record_is_written_as_dumps_writes_it(record: dict[str, Any]) -> None:
    assert rendering.record_text(record) == old_record_text(record)


@pytest.mark.parametrize(
    "record", [{1: 2, "a": None}, {"a": False, 1.5: "b", None: 1}, {"a": [], "b": {}}, {}]
)
def test_a_record_with_a_key_not_a_string_or_empty_values_is_written_as_dumps_writes_it(
    record: dict[Any, Any],
) -> None:
    assert rendering.record_text({**record}) == old_record_text(record)


@given(records=st.lists(st.dictionaries(st.sampled_from("abc"), VALUES, max_size=3), max_size=4))
def test_a_json_array_of_records_is_the_one_dumps_writes(records: list[dict[str, Any]]) -> None:
    with redirect_stdout(io.StringIO()) as written:
        rendering.write_json_rows(iter(records))
    expected = [{key: rendering.json_value(value) for key, value in r.items()} for r in records]
    assert written.getvalue() == rendering.dumps(expected) + "\n"


# The indicators' learning loops at 1M events: too wide for 80 columns by their names alone.
LOOP_COLUMNS = ["experiment", "cycles", "learnings", "learnings_actioned", "open_loops",
                "median_days_to_action"]  # fmt: skip


def test_long_column_names_wrap_at_their_underscores_and_the_table_stays_a_table(
    eighty_columns: None, capsys: pytest.CaptureFixture[str]
) -> None:
    row = dict(zip(LOOP_COLUMNS, ["nexp-000015", 1, 3, 1, 2, 3.0], strict=True))
    assert rendering.print_table([row], LOOP_COLUMNS) == 1
    printed = capsys.readouterr().out
    assert all(len(line) <= 80 for line in printed.splitlines())
    assert not printed.startswith("-[ 1 ]")
    assert "nexp-000015" in printed.split() and "3.0" in printed.split()
    # each name is whole once its lines are read in order; only underscores end a line
    header = [line.split() for line in printed.split("─")[0].splitlines() if line.strip()]
    assert "".join(word for line in header for word in line if word.endswith("_")) != ""
    assert "action" in {word for line in header for word in line}


@given(widths=st.lists(st.integers(1, 30), min_size=1, max_size=8), screen=st.integers(10, 40))
def test_a_screenful_of_wrapped_rows_or_records_never_prints_more_lines_than_the_screen(
    widths: list[int], screen: int
) -> None:
    columns = [f"c{n}" for n in range(len(widths))]
    # words short enough to stay in a table, long texts that wrap onto several lines
    rows = [{c: " ".join(["word"] * w) for c, w in zip(columns, widths, strict=True)}] * 60
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(rendering, "_table_width", lambda: 80)
        patch.setattr(rendering, "screen_rows", lambda limit: screen)
        with redirect_stdout(io.StringIO()) as written:
            shown = rendering.print_table(rows, columns, screenful=True)
    lines = written.getvalue().splitlines()
    assert 1 <= shown <= 60
    assert shown == 1 or len(lines) <= screen
    records = [line for line in lines if line.startswith("-[ ")]
    assert not records or len(records) == shown
