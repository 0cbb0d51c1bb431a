"""How rows are rendered: JSON values, CSV cells, tables that fit the terminal."""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
import sys
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import click

from .output import Row, message

if TYPE_CHECKING:
    from learningloop.results import RowStream


def json_value(value: Any) -> Any:
    """Dates as ISO strings; everything else as JSON knows it."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, tuple | list):
        return [json_value(item) for item in value]
    if isinstance(value, dict):
        return {str(key): json_value(item) for key, item in value.items()}
    return value


def text_value(value: Any, *, for_csv: bool = False) -> str:
    """A cell: lists as JSON in CSV (unambiguous), comma-separated in a table (readable)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple | dict):
        if for_csv or isinstance(value, dict):
            return json.dumps(json_value(value), ensure_ascii=False, separators=(",", ":"))
        return ", ".join(text_value(item) for item in value)
    return str(json_value(value))


def take_rows(stream: RowStream, limit: int) -> list[dict[str, Any]]:
    """The first `limit` rows as records; the rest stay unread (counted by `stream.count`)."""
    taken: list[dict[str, Any]] = []
    batches = stream.batches()
    for batch in batches:
        room = limit - len(taken)
        taken += [dict(zip(stream.columns, row, strict=True)) for row in batch[:room]]
        if len(batch) > room:
            stream.left_over(len(batch) - room)
            break
    return taken


def screen_rows(limit: int | None) -> int:
    """`--limit`, else the rows that fit the terminal (50 when it is not one), at least 10."""
    if limit is not None:
        return limit
    return max(10, shutil.get_terminal_size((80, 56)).lines - 6)


def more_rows(count: int) -> None:
    if count:
        message(f"{count:,} more rows: use --limit N or --format csv|json|jsonl to see them")


def write_json_rows(records: Iterable[Mapping[str, Any]], *, lines: bool = False) -> None:
    """JSON as one array (exactly as json.dumps(indent=2) prints it), or JSON Lines, written
    a chunk at a time so the output never sits whole in memory."""
    chunk: list[str] = []
    first = True
    for record in records:
        if lines:
            document = {key: json_value(value) for key, value in record.items()}
            chunk.append(json.dumps(document, ensure_ascii=False, default=json_value) + "\n")
        else:
            text = "  " + record_text(record).replace("\n", "\n  ")
            chunk.append(("[\n" if first else ",\n") + text)
        first = False
        if len(chunk) >= 1_000:
            click.echo("".join(chunk), nl=False)
            chunk.clear()
    if not lines:
        chunk.append("[]\n" if first else "\n]\n")
    click.echo("".join(chunk), nl=False)


def csv_header(columns: Sequence[str]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow(columns)
    return buffer.getvalue().encode()


def dumps(document: Any) -> str:
    return json.dumps(document, ensure_ascii=False, indent=2, default=json_value)


def record_text(record: Row) -> str:
    """dumps({key: json_value(value) ...}): the same text, a value at a time. json.dumps with
    an indent runs the pure-Python encoder, a generator call per value (~20 s for the 535k
    rows of `indicators` at 1M events); here each plain value is written directly as that
    encoder writes it, and anything else (lists, Decimal, NaN, a key not a string) by dumps."""
    parts = []
    for key, value in record.items():
        if type(key) is not str:
            return dumps({key: json_value(value) for key, value in record.items()})
        parts.append(f"{_string(key)}: {_value_text(value)}")
    return "{\n  " + ",\n  ".join(parts) + "\n}" if parts else "{}"


# What json.dumps(ensure_ascii=False) writes for a string (its C function when there is one).
_string: Callable[[str], str] = json.encoder.encode_basestring


def _value_text(value: Any) -> str:
    """One value of a record, as dumps writes it inside an object one level deep."""
    kind = type(value)
    if kind is str:
        return _string(value)
    if value is None:
        return "null"
    if kind is int:
        return int.__repr__(value)
    if kind is bool:
        return "true" if value else "false"
    if kind is float and value - value == 0:  # finite: NaN and infinities as dumps writes them
        return float.__repr__(value)
    if kind is date or kind is datetime:
        return _string(value.isoformat())
    return dumps(json_value(value)).replace("\n", "\n  ")


def write_csv_rows(rows: Iterable[Row], columns: Sequence[str]) -> None:
    """`to_csv` written a chunk of rows at a time."""
    for text in _csv_chunks(rows, columns):
        click.echo(text, nl=False)


def to_csv(rows: Sequence[Row], columns: Sequence[str]) -> str:
    return "".join(_csv_chunks(rows, columns))


def _csv_chunks(rows: Iterable[Row], columns: Sequence[str]) -> Iterator[str]:
    """The CSV text of the header and rows, 1,000 rows a piece (the last piece may be shorter,
    or the header alone)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    for count, row in enumerate(rows, 1):
        writer.writerow([text_value(row.get(column), for_csv=True) for column in columns])
        if count % 1_000 == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def print_table(
    rows: Sequence[Row], columns: Sequence[str], title: str = "", *, screenful: bool = False
) -> int:
    """A table that fits the terminal with every word whole: columns wrap between words (a
    header between the parts of its name, after each `_`), and when even that cannot fit,
    each row is printed as a vertical record instead. With `screenful` (the default limit)
    the rows stop at a screenful of lines, however many each wraps to. Returns how many rows
    were printed (the caller counts the rest as more rows)."""
    from rich.console import Console

    cells = table_cells(rows, columns)
    console = Console(file=sys.stdout, soft_wrap=False, width=_table_width())
    data = [longest_word(line[n] for line in cells) for n in range(len(columns))]
    widths = fitted_widths(data, columns, console.width)
    if widths is None:
        return print_records(cells, columns, title, console.width, screenful)
    shown, lines = len(cells), screen_rows(None)
    while True:  # with `screenful`, as many rows as their wrapped lines fit on a screen
        with console.capture() as captured:
            console.print(rich_table(cells[:shown], columns, widths, title))
        text = captured.get()
        if not screenful or shown <= 1 or text.count("\n") <= lines:
            break
        shown = max(1, min(shown - 1, shown * lines // text.count("\n")))
    console.file.write(text)
    console.file.flush()
    return shown


def table_cells(rows: Iterable[Row], columns: Sequence[str]) -> list[list[str]]:
    return [[text_value(row.get(column)) for column in columns] for row in rows]


def fitted_widths(data: list[int], columns: Sequence[str], width: int) -> list[int] | None:
    """Each column's width from its longest word (`data`) and name, or None when even names
    wrapped between their parts do not fit `width` (then rows print as records)."""
    # Columns two spaces apart, no outer border: the most that fits in 80 columns.
    room = width - 2 * (len(columns) - 1)
    widths = [max(word, longest_word([column])) for word, column in zip(data, columns, strict=True)]
    if sum(widths) > room:  # the names of the columns wrap too, between their parts
        widths = [
            max(word, _longest_part(column)) for word, column in zip(data, columns, strict=True)
        ]
    return None if sum(widths) > room else widths


def rich_table(
    cells: list[list[str]],
    columns: Sequence[str],
    widths: list[int],
    title: str,
    kind: Callable[..., Any] | None = None,
) -> Any:
    from rich import box
    from rich.table import Table

    table = (kind or Table)(title=title or None, title_justify="left", box=box.SIMPLE_HEAD,
                            show_edge=False, pad_edge=False, collapse_padding=True)  # fmt: skip
    for column, width in zip(columns, widths, strict=True):
        table.add_column(_header(column, width), overflow="fold", min_width=width)
    for line in cells:
        table.add_row(*line)
    return table


def _longest_part(column: str) -> int:
    return max(len(part) for part in _header_parts(column))


def _header_parts(column: str) -> list[str]:
    """`median_days_to_action` -> `median_`, `days_`, `to_`, `action`: where a name may wrap."""
    return re.findall(r"[^_]*_+|[^_]+", column) or [column]


def _header(column: str, width: int) -> str:
    """The column's name on as few lines of `width` as its parts allow."""
    lines = [""]
    for part in _header_parts(column):
        if lines[-1] and len(lines[-1]) + len(part) > width:
            lines.append("")
        lines[-1] += part
    return "\n".join(lines)


def longest_word(texts: Iterable[str]) -> int:
    return max((len(word) for text in texts for word in text.split()), default=1)


def print_records(
    cells: list[list[str]],
    columns: Sequence[str],
    title: str,
    width: int,
    screenful: bool,
    first: int = 1,
) -> int:
    """Each row as `column  value` lines (psql's expanded display), values wrapped by word,
    numbered from `first`; with `screenful`, as many records as fill a screen (at least one)."""
    import textwrap

    label = max(len(column) for column in columns)
    if screenful:
        cells = cells[: max(1, screen_rows(None) // (len(columns) + 1))]
    if title:
        click.echo(title)
    for number, line in enumerate(cells, first):
        click.echo(f"-[ {number} ]" + "-" * max(0, min(width, 40) - 6 - len(str(number))))
        for column, value in zip(columns, line, strict=True):
            wrapped = textwrap.wrap(value, max(20, width - label - 2), break_long_words=False,
                                    break_on_hyphens=False) or [""]  # fmt: skip
            click.echo(f"{column:<{label}}  {wrapped[0]}")
            for more in wrapped[1:]:
                click.echo(" " * (label + 2) + more)
    return len(cells)


def _table_width() -> int | None:
    # A pipe gets a wide table rather than one folded to 80 columns.
    return None if sys.stdout.isatty() else 200
