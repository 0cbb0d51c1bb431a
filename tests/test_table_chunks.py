"""A table printed from rows read twice, a chunk at a time, is the table `print_table` prints
from all of them: the same bytes, whichever layout (columns that fit, squeezed ones, records)."""

from __future__ import annotations

import contextlib
import io
from typing import Any
from unittest import mock

from hypothesis import given, settings
from hypothesis import strategies as st

from cli import table_chunks
from cli.rendering import print_table

COLUMNS = ["table", "change", "a_long_column_name", "n"]
cells = st.one_of(
    st.none(),
    st.integers(-5, 10**6),
    st.text(alphabet="ab cé-'\"[]/:é漢", max_size=12),
    st.text(alphabet="xyz", min_size=30, max_size=90),
    st.lists(st.integers(0, 99), max_size=6),
    st.dictionaries(st.sampled_from(["k", "v"]), st.integers(0, 9), max_size=2),
)
rows = st.lists(st.fixed_dictionaries({column: cells for column in COLUMNS}), max_size=12)


def printed(write: Any) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        write()
    return out.getvalue()


@settings(max_examples=150, deadline=None)
@given(found=rows, chunk=st.integers(1, 5), title=st.sampled_from(["", "Changes"]))
def test_a_table_read_twice_prints_what_print_table_prints(
    found: list[dict[str, Any]], chunk: int, title: str
) -> None:
    with mock.patch.object(table_chunks, "CHUNK_ROWS", chunk):
        chunked = printed(lambda: table_chunks.print_table_read_twice(found, COLUMNS, title))
    assert chunked == printed(lambda: print_table(found, COLUMNS, title))


def test_each_reading_reads_the_rows_again() -> None:
    readings: list[int] = []

    class Rows:
        def __iter__(self) -> Any:
            readings.append(1)
            return iter([{"table": "t", "change": "added", "a_long_column_name": "x", "n": 1}])

    printed(lambda: table_chunks.print_table_read_twice(Rows(), COLUMNS))
    assert len(readings) == 2
