"""The CSV cells DuckDB writes for `sql` and `indicators` (results.RowStream.write_csv), as
SQL, without the duckdb package: the indicators after new events (indicator_after) render the
touched experiments' lines with the very same expressions and must not load it."""

from __future__ import annotations

from collections.abc import Sequence

# Cells as Python's csv module writes the values the Python path produces: timestamps in
# ISO 8601 with a `T` (microseconds only when not zero), lists, structs and JSON as compact
# JSON, booleans true/false, floats as Python prints them, NULL as an empty cell.
_ISO_SECONDS = "strftime({c}, '%Y-%m-%dT%H:%M:%S')"
_ISO_FRACTION = (
    "case when strftime({c}, '%f') = '000000' then '' else '.' || strftime({c}, '%f') end"
)
_CELL_BY_TYPE = {
    # timezone('UTC', ...) gives the UTC wall time whatever the session's TimeZone
    "TIMESTAMP WITH TIME ZONE": (_ISO_SECONDS + " || " + _ISO_FRACTION + " || '+00:00'").replace(
        "{c}", "timezone('UTC', {c})"
    ),
    "TIMESTAMP": _ISO_SECONDS + " || " + _ISO_FRACTION,
    "JSON": "json({c})::varchar",
}


def csv_line_query(
    sql: str,
    columns: Sequence[str],
    kinds: Sequence[str],
    layout: Sequence[str] | None,
    constants: dict[str, str],
    also: Sequence[str] = (),
) -> tuple[str, list[str]]:
    """The query giving, for each row of `sql` (whose columns and DuckDB types are given),
    its CSV line (newline included) as a VARCHAR column, then the expressions `also`, and the
    values of the constants' parameters (they come before any of `sql`'s own)."""
    cells, values = [], []
    for position, name in enumerate(layout or columns):
        if name in constants:  # quoted here, as csv would: one parameter each
            cells.append("?::varchar")
            values.append(csv_header([constants[name]]).decode().rstrip("\n"))
        elif name in columns:  # by position without a layout: names may repeat
            index = position if layout is None else list(columns).index(name)
            cells.append(_csv_cell(f"#{index + 1}", kinds[index]))
        else:
            cells.append("''")
    line = "concat(" + ", ',', ".join(cells) + ", chr(10))"
    if len(cells) == 1:  # csv writes a lone empty field as "" so the line is not blank
        line = f"case when {line} = chr(10) then '\"\"' || chr(10) else {line} end"
    return f"select {', '.join([line, *also])} from ({sql})", values


def _csv_cell(column: str, kind: str) -> str:
    if kind in _CELL_BY_TYPE:
        text = _CELL_BY_TYPE[kind].format(c=column)
    elif kind.endswith("[]") or kind.startswith(("STRUCT", "MAP", "UNION")) or "[" in kind:
        text = f"to_json({column})::varchar"
    elif kind.startswith("DECIMAL") or kind == "FLOAT":
        text = f"{column}::double::varchar"
    else:
        text = f"{column}::varchar"
    if kind in _PLAIN_TYPES or kind.startswith(("DECIMAL", "TIMESTAMP")):
        return text  # its text never holds a comma, a quote or a newline
    quoted = f"'\"' || replace({text}, '\"', '\"\"') || '\"'"
    # csv.writer (QUOTE_MINIMAL, lineterminator "\n") quotes for a comma, a quote or "\n";
    # three plain searches cost DuckDB less than one regular expression
    special = " or ".join(f"contains({text}, {char})" for char in ("','", "'\"'", "chr(10)"))
    return f"(case when {special} then {quoted} else {text} end)"


# Types whose text (as cast to VARCHAR, or written by _CELL_BY_TYPE) is digits, signs, dots,
# dashes, colons, letters and spaces only: never quoted by csv, so never searched.
_PLAIN_TYPES = frozenset(
    ("BOOLEAN", "TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT",
     "UINTEGER", "UBIGINT", "UHUGEINT", "FLOAT", "DOUBLE", "DATE", "TIME", "UUID")
)  # fmt: skip


def csv_header(columns: list[str]) -> bytes:
    import csv
    import io

    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow(columns)
    return buffer.getvalue().encode()
