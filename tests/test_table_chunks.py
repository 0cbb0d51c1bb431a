"""A table printed from rows read twice, a chunk at a time, is the table `print_table` prints
from all of them: the same bytes, whichever layout (columns that fit, squeezed ones, records)."""

from __future__ import annotations

import contextlib
import io
from typing import Any
from unittest import mock

from hypothesis import given, settings
from hypothesis import strategies as st

from cli import output, table_chunks
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


class CountedRows:
    """Rows that count how often they are read, and how many rows each reading gave."""

    def __init__(self, count: int) -> None:
        self.count = count
        self.readings: list[int] = []

    def __iter__(self) -> Any:
        self.readings.append(0)
        for n in range(self.count):
            self.readings[-1] += 1
            yield {"table": "t", "change": "added", "a_long_column_name": f"x{n}", "n": n}


def test_a_table_that_fits_in_memory_is_read_once_and_a_longer_one_twice() -> None:
    with mock.patch.object(output, "TABLE_IN_MEMORY_ROWS", 5):
        small, large = CountedRows(5), CountedRows(8)
        for found in (small, large):
            shown = printed(lambda f=found: output.emit_rows(f, COLUMNS, "table"))
            assert shown == printed(lambda f=found: print_table(list(f), COLUMNS))
    # (each check above read the rows once more, with print_table)
    assert small.readings == [5, 5]
    assert large.readings == [8, 8, 8], "the first reading goes on; the second prints"
