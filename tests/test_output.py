"""Tables for people: they fit 80 columns and never cut a word into fragments."""

from __future__ import annotations

import pytest

from learningloop.cli import output

LONG_TEXT = "Programme de travail 2012/2014: deux axes de travail complémentaires ont été retenus"


@pytest.fixture
def eighty_columns(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(output, "_table_width", lambda: 80)


def words_of(text: str) -> set[str]:
    return set(text.replace("│", " ").split())


def test_a_narrow_table_keeps_its_columns_and_fits_80_columns(
    eighty_columns: None, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = [{"experiment": "chantier-ecole-st-nazaire", "status": "retained", "ratio": 0.4}]
    output.print_table(rows, ["experiment", "status", "ratio"], title="Experiments")
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
    output.print_table([row], columns)
    printed = capsys.readouterr().out
    assert all(len(line) <= 80 for line in printed.splitlines())
    assert words_of(LONG_TEXT) <= words_of(printed)  # no word broken into fragments
    assert "cnam-pays-de-la-loire" in printed.split()
    assert printed.splitlines()[0].startswith("-[ 1 ]")
