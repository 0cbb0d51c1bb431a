"""Reading JSON Lines, JSON arrays and YAML lists, with the location of every event."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from learningloop import sources
from learningloop.errors import BadInputError, NotFoundError
from learningloop.sources import check_sources, read_events


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_json_lines_skip_blank_lines_and_name_each_line(tmp_path: Path) -> None:
    path = write(tmp_path / "e.jsonl", '{"a": 1}\n\n{"a": 2}\n')
    assert [(r.location, r.data) for r in read_events(path)] == [
        (f"{path}, line 1", {"a": 1}),
        (f"{path}, line 3", {"a": 2}),
    ]


def test_a_broken_json_line_is_reported_with_its_line(tmp_path: Path) -> None:
    path = write(tmp_path / "e.jsonl", '{"a": 1}\n{"a": \n')
    with pytest.raises(BadInputError, match=r"e\.jsonl, line 2: not valid JSON"):
        list(read_events(path))


def test_a_json_array_streams_items_across_chunk_boundaries(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sources, "_CHUNK", 7)  # every item straddles several reads
    items = [{"type": "T", "n": n, "text": "é" * n} for n in range(30)]
    path = write(tmp_path / "e.json", json.dumps(items, indent=2))
    read = list(read_events(path))
    assert [r.data for r in read] == items
    assert read[4].location == f"{path}, item 5"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"a": 1}', "must hold an array"),
        ('[{"a": 1}', "not valid JSON|expected ','"),
        ('[{"a": 1} {"a": 2}]', "item 1: expected ','"),
        ('[{"a": 1}, {"a": }]', "item 2: not valid JSON"),
    ],
)
def test_a_malformed_json_file_is_reported(tmp_path: Path, text: str, expected: str) -> None:
    with pytest.raises(BadInputError, match=expected):
        list(read_events(write(tmp_path / "e.json", text)))


def test_an_empty_json_array_has_no_events(tmp_path: Path) -> None:
    assert list(read_events(write(tmp_path / "e.json", " [ ] "))) == []


def test_yaml_items_carry_their_index_and_line_and_real_dates(tmp_path: Path) -> None:
    path = write(tmp_path / "e.yaml", "- type: A\n  occurred_on: 2013-04-18\n- type: B\n")
    read = list(read_events(path))
    assert read[1].location == f"{path}, item 2 (line 3)"
    assert str(read[0].data["occurred_on"]) == "2013-04-18"


def test_broken_yaml_names_its_line(tmp_path: Path) -> None:
    path = write(tmp_path / "e.yml", "- type: A\n  bad: [unclosed\n- type: B\n")
    with pytest.raises(BadInputError, match=r"e\.yml, line \d+: not valid YAML"):
        list(read_events(path))


def test_yaml_that_is_not_a_list_is_refused(tmp_path: Path) -> None:
    with pytest.raises(BadInputError, match="list of events"):
        list(read_events(write(tmp_path / "e.yaml", "type: A\n")))


def test_unknown_suffix_and_missing_file_fail_before_reading(tmp_path: Path) -> None:
    with pytest.raises(BadInputError, match=r"unknown file kind '\.csv'"):
        check_sources([write(tmp_path / "e.csv", "")])
    with pytest.raises(NotFoundError, match="no such file"):
        check_sources([tmp_path / "missing.jsonl"])
