"""Where a file stops being UTF-8: the line of its first undecodable byte."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from learningloop import source_text
from learningloop.source_text import undecodable

BAD = [b"\xff", b"\xe9x", b"\xed\xa0\x80", b"\xf0\x9f"]  # invalid start, continuation, surrogate


@given(
    lines=st.lists(st.text(alphabet=st.characters(exclude_categories=["Cs"])), max_size=8),
    ending=st.sampled_from([b"\n", b"\r\n", b"\r"]),
    bad=st.none() | st.sampled_from(BAD),
    at=st.integers(min_value=0),
    chunk=st.integers(min_value=1, max_value=7),
)
def test_the_first_undecodable_byte_is_on_the_line_text_mode_counts(
    tmp_path_factory: pytest.TempPathFactory,
    lines: list[str],
    ending: bytes,
    bad: bytes | None,
    at: int,
    chunk: int,
) -> None:
    data = ending.join(line.encode() for line in lines)
    if bad is not None:
        at %= len(data) + 1
        while at and data[:at].decode(errors="ignore").encode() != data[:at]:
            at -= 1  # between two characters, not inside one
        data = data[:at] + bad + data[at:]
    path = tmp_path_factory.mktemp("utf8") / "e.jsonl"
    path.write_bytes(data)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(source_text, "READ_CHUNK", chunk)  # characters cut between two reads
        found = undecodable(path)
    try:
        data.decode()
    except UnicodeDecodeError as error:
        text = data[: error.start].decode()
        expected = text.replace("\r\n", "\n").replace("\r", "\n").count("\n") + 1
        assert found == (expected, error.reason)
    else:
        assert found is None
