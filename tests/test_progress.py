"""Progress goes to stderr in a terminal only, with a total where one is known."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from learningloop.cli.progress import lines_in, progress


def test_json_lines_files_give_their_event_count_other_formats_none(tmp_path: Path) -> None:
    events = tmp_path / "events.jsonl"
    events.write_text('{"a": 1}\n{"a": 2}\n{"a": 3}\n')
    (tmp_path / "more.yaml").write_text("- a: 1\n")
    assert lines_in([str(events), str(events)]) == 6
    assert lines_in([str(events), str(tmp_path / "more.yaml")]) is None


def test_no_progress_at_all_when_stderr_is_not_a_terminal(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with progress("Importing", "events", 10) as advance:
        advance(3)
    assert capsys.readouterr() == ("", "")


def test_a_terminal_sees_the_count_against_the_total(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    with progress("Auditing", "events", 10) as advance:
        advance(3)
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "Auditing 3/10 events" in captured.err
