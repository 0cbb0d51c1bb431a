"""The report's HTML pieces: its style sheet, escaping, tables, and dates and values as a
reader sees them."""

from __future__ import annotations

import html
from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any

from learningloop.domain.values import format_at_precision
from learningloop.report.words import VALUES

CSS = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 60rem; color: #222; }
h1 { font-size: 1.6rem; } h2 { margin-top: 2rem; border-bottom: 1px solid #ccc; }
table { border-collapse: collapse; margin: .5rem 0; font-size: .85rem; }
th, td { border: 1px solid #ddd; padding: .2rem .4rem; text-align: left; vertical-align: top; }
td.n { text-align: center; } td.c0 { background: #f7f7f7; } td.c1 { background: #d9f0d3; }
td.c2 { background: #a6dba0; } td.c3 { background: #5aae61; color: #fff; }
td.absent { background: #f4a582; } td.not_assessed { background: #fff; color: #888; }
td.not_applicable { background: repeating-linear-gradient(45deg, #eee, #eee 4px, #d9d9d9 4px,
  #d9d9d9 8px); }
del { color: #999; } .overdue { color: #b00; font-weight: bold; } figure { margin: .5rem 0; }
.wide { overflow-x: auto; } tr > th:first-child { white-space: nowrap; }
footer { margin-top: 3rem; font-size: .75rem; color: #555; word-break: break-all; }
@media print { section.experiment { page-break-inside: avoid; } body { margin: 0; } }
"""


def moment_text(moment: datetime) -> str:
    """A transaction time to the second, in UTC: microseconds mean nothing to a reader."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def day_text(day: date, precision: str | None) -> str:
    return format_at_precision(day, precision or "day")


def value_text(value: Any, lang: str) -> str:
    return VALUES[lang].get(str(value), str(value)) if value is not None else ""


def basis_mark(basis: str | None, text: dict[str, str]) -> str:
    return f" <em>({escape(text[basis])})</em>" if basis in ("inferred", "illustrative") else ""


def html_table(header: Sequence[str], body: Sequence[Sequence[Any]], wide: bool = False) -> str:
    """A table; `wide`: its column names may wrap after an underscore, and it scrolls
    sideways inside the page rather than running off its edge (15 columns of a network's
    programme summary)."""
    names = (escape(h).replace("_", "_<wbr>") if wide else escape(h) for h in header)
    head = "".join(f"<th>{name}</th>" for name in names)
    lines = "".join(
        "<tr>" + "".join(f"<td>{escape('' if v is None else v)}</td>" for v in row) + "</tr>"
        for row in body
    )
    table = f"<table><tr>{head}</tr>{lines}</table>"
    return f'<div class="wide">{table}</div>' if wide else table


def escape(value: Any) -> str:
    return html.escape(str(value))
