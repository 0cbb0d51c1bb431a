"""Write rows to stdout as a table, CSV or JSON; messages go to stderr.

The options every command shares and the entry points; the renderers are in `rendering`,
imported when rows are written: `learningloop --help` reads neither (issue 13 item 9).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from itertools import chain, islice
from typing import TYPE_CHECKING, Any, TypeVar

import click

if TYPE_CHECKING:
    from learningloop.results import RowStream

FORMATS = ("table", "csv", "json")
STREAM_FORMATS = (*FORMATS, "jsonl")
F = TypeVar("F", bound=Callable[..., Any])


def _format_option(formats: Sequence[str], help_text: str) -> Callable[[F], F]:
    """One definition of the shared --format option, over the formats a command writes."""
    return click.option(
        "--format",
        "output_format",
        type=click.Choice(formats),
        default="table",
        show_default=True,
        help=help_text,
    )


format_option = _format_option(FORMATS, "How rows are written to stdout.")
# Commands whose rows stream from DuckDB also write JSON Lines (one object a line).
stream_format_option = _format_option(
    STREAM_FORMATS, "How rows are written to stdout (csv, json and jsonl stream: any size)."
)
limit_option = click.option(
    "--limit",
    type=click.IntRange(min=0),
    help="Table format: at most this many rows (default: a screenful). CSV and JSON: all.",
)

Row = Mapping[str, Any]
# A table of at most this many rows is laid out from memory (see emit_rows).
TABLE_IN_MEMORY_ROWS = 20_000


def emit(rows: Sequence[Row], columns: Sequence[str], output_format: str, title: str = "") -> None:
    """Write rows in the chosen format to stdout (only data goes there)."""
    from .rendering import dumps, json_value, print_table, to_csv

    if output_format == "json":
        click.echo(dumps([{c: json_value(row.get(c)) for c in columns} for row in rows]))
    elif output_format == "csv":
        click.echo(to_csv(rows, columns), nl=False)
    else:
        print_table(rows, columns, title)


class Records:
    """Rows given as tuples, read as records: every iteration reads `rows` again."""

    def __init__(self, rows: Iterable[Sequence[Any]], columns: Sequence[str]) -> None:
        self.rows, self.columns = rows, columns

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return (dict(zip(self.columns, row, strict=True)) for row in self.rows)


def emit_rows(rows: Iterable[Row], columns: Sequence[str], output_format: str) -> None:
    """What `emit(list(rows), ...)` writes, byte for byte, as the rows come: JSON and CSV a
    chunk at a time, a table of more than TABLE_IN_MEMORY_ROWS rows after iterating `rows`
    twice (its layout needs every row)."""
    from .rendering import write_csv_rows, write_json_rows

    if output_format == "json":
        write_json_rows({column: row.get(column) for column in columns} for row in rows)
    elif output_format == "csv":
        write_csv_rows(rows, columns)
    else:
        from .rendering import print_table
        from .table_chunks import print_table_read_twice

        # Rows that fit in memory are laid out once (reading `rows` again runs its queries
        # again: twice the time of a small window for nothing); more are read twice, the
        # first reading going on from where this one stops.
        reading = iter(rows)
        first = list(islice(reading, TABLE_IN_MEMORY_ROWS + 1))
        if len(first) <= TABLE_IN_MEMORY_ROWS:
            print_table(first, columns)
        else:
            print_table_read_twice(rows, columns, first_reading=chain(first, reading))


def emit_stream(
    stream: RowStream, output_format: str, limit: int | None = None, title: str = ""
) -> None:
    """Write a streamed result: CSV as DuckDB renders it, JSON one batch at a time, a table
    of at most `limit` rows (a screenful by default) and how many more on stderr."""
    if output_format == "csv":
        sys.stdout.flush()
        stream.write_csv(sys.stdout.buffer)
        sys.stdout.buffer.flush()
        return
    from .rendering import more_rows, print_table, screen_rows, take_rows, write_json_rows

    records = (dict(zip(stream.columns, row, strict=True)) for row in stream.rows())
    if output_format in ("json", "jsonl"):
        write_json_rows(records, lines=output_format == "jsonl")
        return
    shown = take_rows(stream, screen_rows(limit))
    printed = print_table(shown, stream.columns, title, screenful=limit is None)
    more_rows(stream.count() + len(shown) - printed)


def message(text: str) -> None:
    """A human message on stderr."""
    click.echo(text, err=True)
