"""Write rows to stdout as a table, CSV or JSON; messages go to stderr."""

from __future__ import annotations

import csv
import io
import json
import sys
import uuid
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import click

FORMATS = ("table", "csv", "json")

format_option = click.option(
    "--format",
    "output_format",
    type=click.Choice(FORMATS),
    default="table",
    show_default=True,
    help="How rows are written to stdout.",
)

Row = Mapping[str, Any]


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


def emit(rows: Sequence[Row], columns: Sequence[str], output_format: str, title: str = "") -> None:
    """Write rows in the chosen format to stdout (only data goes there)."""
    if output_format == "json":
        click.echo(dumps([{c: json_value(row.get(c)) for c in columns} for row in rows]))
    elif output_format == "csv":
        click.echo(to_csv(rows, columns), nl=False)
    else:
        print_table(rows, columns, title)


def dumps(document: Any) -> str:
    return json.dumps(document, ensure_ascii=False, indent=2, default=json_value)


def to_csv(rows: Sequence[Row], columns: Sequence[str]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([text_value(row.get(column), for_csv=True) for column in columns])
    return buffer.getvalue()


def print_table(rows: Sequence[Row], columns: Sequence[str], title: str = "") -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title or None, title_justify="left", show_lines=False)
    for column in columns:
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*(text_value(row.get(column)) for column in columns))
    Console(file=sys.stdout, soft_wrap=False, width=_table_width()).print(table)


def _table_width() -> int | None:
    # A pipe gets a wide table rather than one folded to 80 columns.
    return None if sys.stdout.isatty() else 200


def message(text: str) -> None:
    """A human message on stderr."""
    click.echo(text, err=True)
