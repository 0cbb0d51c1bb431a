"""Reading JSON Lines, JSON arrays and YAML lists, with the location of every event."""

from __future__ import annotations

import json
import re
import tracemalloc
from pathlib import Path

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from learningloop import source_yaml, sources
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


@pytest.mark.parametrize(
    ("line", "reason"),
    [('{"a": "open', "Unterminated string"), ('{"a": "x\ty"}', "Invalid control character")],
)
def test_a_json_error_says_what_without_a_dangling_at(
    tmp_path: Path, line: str, reason: str
) -> None:
    path = write(tmp_path / "e.jsonl", line)  # no newline: the string runs to the end
    with pytest.raises(BadInputError) as raised:
        list(read_events(path))
    assert str(raised.value) == f"{path}, line 1: not valid JSON ({reason})"


@pytest.mark.parametrize(
    ("name", "text"), [("e.jsonl", '{"a": 1}\n{"a": 2}\n'), ("e.json", '[{"a": 1}, {"a": 2}]')]
)
def test_a_leading_byte_order_mark_is_skipped(tmp_path: Path, name: str, text: str) -> None:
    path = write(tmp_path / name, "\ufeff" + text)
    assert [r.data for r in read_events(path)] == [{"a": 1}, {"a": 2}]


def test_a_json_array_streams_items_across_chunk_boundaries(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sources, "READ_CHUNK", 7)  # every item straddles several reads
    items = [{"type": "T", "n": n, "text": "é" * n} for n in range(30)]
    path = write(tmp_path / "e.json", json.dumps(items, indent=2))
    read = list(read_events(path))
    assert [r.data for r in read] == items
    assert read[4].location == f"{path}, item 5 (line 22)"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"a": 1}', "must hold an array"),
        ('[{"a": 1}', "not valid JSON|expected ','"),
        ('[{"a": 1} {"a": 2}]', r"item 1 \(line 1\): expected ','"),
        ('[{"a": 1}, {"a": }]', r"item 2 \(line 1\): not valid JSON"),
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


# --- CONTRACT 6.10: one value, bounded parsers ----------------------------------------

EVENT = '{"type": "ProgrammeOpened", "programme": "p", "occurred_on": "2013-01-01", "title": "T"}'


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        ("e.json", f"[{EVENT}] garbage", r"e\.json, line 1: unexpected 'garbage' after the array"),
        ("e.json", f"[{EVENT}]\n[{EVENT}]", r"e\.json, line 2: unexpected '\[\{"),
        ("e.json", f'[{EVENT},\n{EVENT[:-1]}, "title": "U"}}]', r"item 2 \(line 2\): dup"),
        ("e.json", "[" * 1_000 + "]" * 1_000, "nested deeper than 64 levels"),
        ("e.json", "[" * 66 + "]" * 66, "nested deeper than 64 levels"),
        ("e.json", "[" + "9" * 5_000 + "]", r"number '9999.{70,80}… is too large"),
        ("e.json", "[NaN]", "NaN is not a JSON number"),
        ("e.jsonl", EVENT[:-1] + ', "title": "U"}', r"line 1: duplicate key 'title'"),
        ("e.jsonl", "[" * 1_000, "nested deeper than 64 levels"),
        ("e.jsonl", '{"a": ' + "9" * 5_000 + "}", "is too large"),
        ("e.jsonl", EVENT + " x", "unexpected 'x' after the event"),
        ("e.yaml", "- type: A\n  type: B\n", r"duplicate key 'type' in one object \(line 2\)"),
        ("e.yaml", "- " + "[" * 1_000 + "]" * 1_000 + "\n", "nested deeper than 64 levels"),
        ("e.yaml", "- " + "[" * 66 + "]" * 66 + "\n", "nested deeper than 64 levels"),
        ("e.yaml", "- type: A\n  n: " + "9" * 5_000 + "\n", "is too large"),
        ("e.yaml", '- type: A\n  title: "x\0"\n', r"e\.yaml, line 2: not valid YAML"),
        ("e.yaml", "- type: A\n  d: !!timestamp 2013-02-29\n", r"item 1 \(line 1\): not a valid"),
        ("e.yaml", "- !!timestamp type: A\n", r"item 1 \(line 1\): 'type' is not a YAML time"),
        ("e.yaml", "- type: A\n  d: !!timestamp [1]\n", r"item 1 \(line 1\): a !!timestamp must"),
        ("e.yaml", "- type: A\n  d: !!bool maybe\n", r"item 1 \(line 1\): not a valid YAML value"),
        ("e.yaml", '- type: A\n  d: !!int ""\n', r"item 1 \(line 1\): not a valid YAML value"),
    ],
)
def test_documents_beyond_the_limits_are_refused_in_one_short_line(
    tmp_path: Path, name: str, text: str, expected: str
) -> None:
    with pytest.raises(BadInputError, match=expected) as caught:
        list(read_events(write(tmp_path / name, text)))
    assert len(str(caught.value)) < 300 and "\n" not in str(caught.value)


@given(
    depth=st.integers(min_value=1, max_value=70),
    in_strings=st.integers(min_value=0, max_value=70),
    wrap=st.sampled_from(["object", "list"]),
)
def test_a_json_line_is_refused_exactly_when_it_nests_deeper_than_the_limit(
    tmp_path_factory: pytest.TempPathFactory, depth: int, in_strings: int, wrap: str
) -> None:
    # A line with few brackets skips the depth walk: brackets inside strings count toward
    # "few" but must not change the verdict, which is the depth's alone.
    padding = json.dumps("[{" * in_strings)
    inner = f'{{"note": {padding}}}'
    for _ in range(depth - 1):
        inner = f'{{"a": {inner}}}' if wrap == "object" else f"[{inner}]"
    path = write(tmp_path_factory.mktemp("depth") / "e.jsonl", inner + "\n")
    if depth > sources.MAX_DEPTH:
        with pytest.raises(BadInputError, match="nested deeper than 64 levels"):
            list(read_events(path))
    else:
        assert [r.data for r in read_events(path)] == [json.loads(inner)]


def test_an_unquoted_impossible_yaml_date_is_left_to_the_date_check(tmp_path: Path) -> None:
    path = write(tmp_path / "e.yaml", "- occurred_on: 2013-02-29\n")
    assert [r.data for r in read_events(path)] == [{"occurred_on": "2013-02-29"}]


def yaml_bomb(levels: int) -> str:
    lines = ["- type: A", '  a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for level in range(1, levels + 1):
        lines.append(f"  a{level}: &a{level} [{', '.join([f'*a{level - 1}'] * 9)}]")
    return "\n".join(lines) + "\n"


def test_a_yaml_alias_bomb_is_refused_before_it_expands(tmp_path: Path) -> None:
    path = write(tmp_path / "e.yaml", yaml_bomb(9))
    assert path.stat().st_size < 700
    with pytest.raises(BadInputError, match="aliases expand beyond the size of the file"):
        list(read_events(path))


def test_yaml_aliases_within_the_file_size_are_fine(tmp_path: Path) -> None:
    path = write(tmp_path / "e.yaml", "- &a {type: A, tags: [x, y]}\n- *a\n- *a\n")
    assert [r.data for r in read_events(path)] == [{"type": "A", "tags": ["x", "y"]}] * 3


def test_json_items_name_the_line_they_start_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sources, "READ_CHUNK", 5)
    path = write(tmp_path / "e.json", "[\n" + ",\n\n".join(['{"n": 1}'] * 4) + "\n]\n")
    assert [r.location for r in read_events(path)][-1] == f"{path}, item 4 (line 8)"


def _json_text(draw: st.DrawFn, depth: int = 0) -> str:
    """JSON text written by hand, so objects may repeat keys and numbers may be long."""
    kinds = ["int", "float", "text", "const"] + ["list", "object"] * (depth < 3)
    kind = draw(st.sampled_from(kinds))
    if kind == "int":
        return draw(st.sampled_from(["0", "-0", "7", "18446744073709551615", "18446744073709551616",
                                     "-9223372036854775809", "123456789012345678901"]))  # fmt: skip
    if kind == "float":
        odd = ["-0.0", "1e400", "2.2250738585072011e-308", "1E5", "0.1e-400", "3.14159265358979323"]
        return draw(st.sampled_from(odd) | st.floats().map(repr))
    if kind == "text":
        return json.dumps(draw(st.text(alphabet="a:é\\\"\x00\U0001f600 ", max_size=6)),
                          ensure_ascii=draw(st.booleans()))  # fmt: skip
    if kind == "const":  # and escapes json.dumps never writes
        return draw(st.sampled_from(["true", "false", "null", "NaN", "-Infinity", '"\\u003a"',
                                     '"\\ud800"', '"\x01"', "[1,]", "01"]))  # fmt: skip
    items = draw(st.lists(st.deferred(lambda: st.composite(lambda d: _json_text(d, depth + 1))()),
                          max_size=4))  # fmt: skip
    if kind == "list":
        return "[" + ", ".join(items) + "]"
    keys = draw(st.lists(st.sampled_from(["a", "b", "a:b", "é"]), min_size=len(items),
                         max_size=len(items)))  # fmt: skip
    return "{" + ",".join(f"{json.dumps(k)}: {v}" for k, v in zip(keys, items, strict=True)) + "}"


@given(st.composite(_json_text)(), st.sampled_from(["", " ", "\t", "\x0c"]))
@example('{"a": 1, "a": 2}', "")  # the quick parser keeps the last
@example('{"a": 1, "a": 2, "b": "\\u003a"}', "")  # an escaped colon evens the count
@example(f"[1{'0' * 45}]", "")  # beyond 64 bits and the digits _decode_json allows
def test_the_quick_reading_of_a_line_is_the_exact_reading_or_none(text: str, pad: str) -> None:
    line = f"{pad}{text}{pad}\n"
    quick = sources.quick_decode(line)
    try:
        exact = repr(sources._decode_json(line, len(line) - len(line.lstrip()))[0])
    except (json.JSONDecodeError, ValueError):
        exact = "refused"
    # repr: the same types (an int is not a float), values and key order
    assert quick is sources._UNDECIDED or repr(quick) == exact


# --- hostile sizes and bytes: one event's bound, undecodable text ---------------------

BOUND = sources.MAX_EVENT_CHARS
HUGE = 16 * BOUND


def event_of(length: int) -> str:
    """A JSON object of exactly `length` characters."""
    head = '{"type": "A", "notes": "'
    return head + "n" * (length - len(head) - 2) + '"}'


@pytest.mark.parametrize(("name", "where"), [("e.jsonl", "line 2"), ("e.json", "item 2 (line 2)")])
def test_an_event_is_read_up_to_the_bound_and_refused_one_character_beyond(
    tmp_path: Path, name: str, where: str
) -> None:
    for length, accepted in [(BOUND, True), (BOUND + 1, False)]:
        lines = [EVENT, event_of(length)]
        text = "[" + ",\n".join(lines) + "]\n" if name == "e.json" else "\n".join(lines) + "\n"
        path = write(tmp_path / name, text)
        if accepted:
            assert [len(json.dumps(r.data)) for r in read_events(path)][1] == length
        else:
            with pytest.raises(BadInputError) as caught:
                list(read_events(path))
            assert str(caught.value) == (
                f"{path}, {where}: an event may take at most 1,048,576 characters"
            )


@pytest.mark.parametrize(
    ("name", "text", "where"),
    [
        ("e.jsonl", EVENT + "\n" + event_of(HUGE) + "\n" + EVENT + "\n", "line 2"),
        ("e.json", f"[{EVENT},\n" + event_of(HUGE) + f",\n{EVENT}]", "item 2 (line 2)"),
        ("e.yaml", "- {type: A}\n- type: B\n  notes: " + "n" * HUGE + "\n", "item 2"),
        ("e.yaml", "- {type: A}\n- type: B\n  notes: '" + "n" * HUGE + "'\n", "item 2"),
        ("e.yaml", "- [" + "1, " * (HUGE // 3) + "]\n", "item 1 (line 1)"),
    ],
)
def test_a_huge_event_is_refused_without_being_read_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, text: str, where: str
) -> None:
    if name == "e.yaml":  # the pure-Python YAML scanner takes seconds a megabyte: a lower bound
        monkeypatch.setattr(source_yaml, "MAX_EVENT_CHARS", 1 << 12)
    path = write(tmp_path / name, text)
    tracemalloc.start()
    try:
        with pytest.raises(BadInputError, match=re.escape(where) + ".*: an event may take at"):
            list(read_events(path))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < HUGE // 2


def test_import_workers_read_no_line_longer_than_an_event_can_be(tmp_path: Path) -> None:
    short = (EVENT + "\n").encode()
    path = tmp_path / "e.jsonl"
    path.write_bytes(short + b"[" * (4 * BOUND + 8) + b"\n" + short)
    lines = sources.json_lines_bytes([path])
    assert next(lines) == short
    with pytest.raises(sources.LineTooLong):
        next(lines)
    path.write_bytes(short + event_of(BOUND + 1).encode())  # long, but their own to refuse
    assert [len(line) for line in sources.json_lines_bytes([path])] == [len(short), BOUND + 2]


@pytest.mark.parametrize(
    ("name", "line", "before"),
    [("e.jsonl", 3, ""), ("e.jsonl", 900, ""), ("e.json", 4, "[\n"), ("e.yaml", 700, "")],
)
def test_text_that_is_not_utf8_names_its_line(
    tmp_path: Path, name: str, line: int, before: str
) -> None:
    item = "- {type: A}\n" if name == "e.yaml" else EVENT + ("\n" if name == "e.jsonl" else ",\n")
    first = before.count("\n") + 1
    text = (before + item * (line - first)).encode() + b'"caf\xe9"\n'
    path = tmp_path / name
    path.write_bytes(text + item.encode() * 3)
    with pytest.raises(BadInputError) as caught:
        list(read_events(path))
    assert str(caught.value) == f"{path}, line {line}: not UTF-8 text (invalid continuation byte)"


def test_a_yaml_alias_is_located_at_its_own_line_not_its_anchors(tmp_path: Path) -> None:
    path = write(tmp_path / "e.yaml", "- &a {type: A}\n-\n  *a\n- [*a]\n")
    assert [r.location for r in read_events(path)] == [
        f"{path}, item 1 (line 1)",
        f"{path}, item 2 (line 3)",
        f"{path}, item 3 (line 4)",
    ]


def test_a_yaml_list_that_names_itself_expands_no_further_than_the_file(tmp_path: Path) -> None:
    with pytest.raises(BadInputError, match=r"item 2 \(line 3\): aliases expand beyond"):
        list(read_events(write(tmp_path / "e.yaml", "&all\n- {type: A}\n- *all\n")))
