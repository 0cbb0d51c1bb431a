"""A table of any length printed as `print_table` prints it, byte for byte, without holding
its rows: they are read twice. The first reading finds what the layout needs of every row
(each column's longest word, and its measure as rich takes it); the second prints the rows a
chunk at a time, every chunk laid out with the whole table's measures (header on the first).
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator, Sequence
from itertools import islice
from typing import Any

from rich.console import Console, ConsoleOptions, RenderResult
from rich.measure import Measurement
from rich.table import Column, Table

from . import rendering
from .output import Row
from .rendering import (
    fitted_widths,
    longest_word,
    print_records,
    print_table,
    rich_table,
    table_cells,
)

CHUNK_ROWS = 1_000


class _MeasuredTable(Table):
    """A rich table whose columns measure at least `floor` (the whole table's measures), and
    that notes its own measures in `measured`; with `silent` it measures and prints nothing."""

    floor: list[Measurement] | None = None
    silent = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.measured: dict[int, Measurement] = {}

    def _measure_column(
        self, console: Console, options: ConsoleOptions, column: Column
    ) -> Measurement:
        found = super()._measure_column(console, options, column)
        self.measured[column._index] = found
        if self.floor is None or options.max_width < 1:
            return found
        # as rich measures every cell: within the width it offers (a column squeezed when the
        # table is too wide is measured again, narrower), then at least the column's min_width
        floor = self.floor[column._index].with_maximum(options.max_width)
        return Measurement(max(found.minimum, floor.minimum), max(found.maximum, floor.maximum))

    def _render(self, console: Console, options: ConsoleOptions, widths: list[int]) -> RenderResult:
        if not self.silent:
            yield from super()._render(console, options, widths)


def print_table_read_twice(
    rows: Iterable[Row],
    columns: Sequence[str],
    title: str = "",
    first_reading: Iterable[Row] | None = None,
) -> None:
    """`print_table(list(rows), columns, title)`; `rows` is iterated twice (the first time
    through `first_reading` when given: the same rows, a reading already begun)."""
    console = Console(file=sys.stdout, soft_wrap=False, width=rendering._table_width())
    data = [1] * len(columns)  # a word is at least one character: longest_word's default
    measured: list[Measurement] = []
    for cells in _chunks(rows if first_reading is None else first_reading, columns):
        data = [max(found, longest_word(line[n] for line in cells)) for n, found in enumerate(data)]
        measured = _widest(measured, _measures(console, cells, columns, None, ""))
    if not measured:
        print_table([], columns, title)
        return
    widths = fitted_widths(data, columns, console.width)
    if widths is None:
        printed = 0
        for cells in _chunks(rows, columns):
            printed += print_records(cells, columns, "" if printed else title, console.width,
                                     False, first=printed + 1)  # fmt: skip
        return
    floor = _widest(measured, _measures(console, [], columns, widths, title))
    first = True
    for cells in _chunks(rows, columns):
        table = rich_table(cells, columns, widths, title if first else "", _MeasuredTable)
        table.floor, table.show_header = floor, first
        with console.capture() as captured:
            console.print(table)
        console.file.write(captured.get())
        first = False
    console.file.flush()


def _chunks(rows: Iterable[Row], columns: Sequence[str]) -> Iterator[list[list[str]]]:
    """The rows' cells as a table shows them, CHUNK_ROWS rows at a time."""
    found = iter(rows)
    while chunk := list(islice(found, CHUNK_ROWS)):
        yield table_cells(chunk, columns)


def _measures(
    console: Console,
    cells: list[list[str]],
    columns: Sequence[str],
    widths: list[int] | None,
    title: str,
) -> list[Measurement]:
    """How rich measures each column of these cells, before its min_width (without widths: of
    the cells alone, no header; with them: the header alone, as those widths wrap it)."""
    table = rich_table(cells, columns, widths or [0] * len(columns), title, _MeasuredTable)
    table.silent, table.show_header = True, widths is not None
    for column in table.columns:
        column.min_width = None
    with console.capture():
        console.print(table)
    return [table.measured[n] for n in range(len(columns))]


def _widest(found: list[Measurement], more: list[Measurement]) -> list[Measurement]:
    if not found:
        return more
    return [Measurement(max(a.minimum, b.minimum), max(a.maximum, b.maximum))
            for a, b in zip(found, more, strict=True)]  # fmt: skip
