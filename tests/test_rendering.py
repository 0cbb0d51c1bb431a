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
