"""Query results streamed from DuckDB in Arrow record batches, never held whole in memory.

Rows reach Python one batch at a time (JSON, JSON Lines and tables convert each batch and let
it go). CSV does not go through Python row by row at all: DuckDB renders every line, quoted
as Python's csv module would, and the bytes of each batch's string buffer are written as they
are, so `sql --format csv` runs near the speed of DuckDB's own COPY.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import IO, Any

import duckdb
import orjson
import pyarrow as pa

from learningloop.errors import BadInputError, MemoryLimitError

STREAM_ROWS = 20_000  # rows a batch: big enough for speed, small enough to bound memory
# DuckDB's own default (80 % of the machine) would let one query crowd out everything else;
# this share keeps a command with its Python side under ~1.5 GiB on a 24 GiB machine.
MEMORY_SHARE = 0.04
MINIMUM_MEMORY = 512 * 2**20

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


class RowStream:
    """The columns of one running query and its rows, batch by batch (read them once)."""

    def __init__(
        self,
        con: duckdb.DuckDBPyConnection,
        relation: duckdb.DuckDBPyRelation,
        sql: str,
        parameters: list[Any],
    ) -> None:
        self.columns: list[str] = list(relation.columns)
        self._con, self._sql, self._parameters = con, sql, parameters
        self._relation = relation
        self._json_columns = [i for i, kind in enumerate(relation.types) if str(kind) == "JSON"]
        self._reader: Iterator[pa.RecordBatch] | None = None
        self._left_over = 0

    def _arrow(self) -> Iterator[pa.RecordBatch]:
        """The one reader of this query's rows: batches() and count() continue each other."""
        if self._reader is None:
            self._reader = _batches(self._relation)
        return self._reader

    def batches(self) -> Iterator[list[tuple[Any, ...]]]:
        """Rows as tuples of Python values (JSON columns parsed), a batch at a time."""
        for batch in self._arrow():
            columns = [_in_utc(column).to_pylist() for column in batch.columns]
            for index in self._json_columns:
                columns[index] = [_parsed(value) for value in columns[index]]
            yield list(zip(*columns, strict=True))

    def rows(self) -> Iterator[tuple[Any, ...]]:
        for batch in self.batches():
            yield from batch

    def close(self) -> None:
        """Stop reading (DuckDB runs one result at a time on a connection)."""
        if self._reader is not None:
            self._reader.close()  # type: ignore[attr-defined]

    def left_over(self, rows: int) -> None:
        """Rows of the last batch taken from `batches()` that the reader did not use."""
        self._left_over += rows

    def count(self) -> int:
        """How many rows are left (they are read, not converted)."""
        return self._left_over + sum(int(batch.num_rows) for batch in self._arrow())

    def write_csv(
        self,
        out: IO[bytes],
        layout: Sequence[str] | None = None,
        constants: dict[str, str] | None = None,
    ) -> int:
        """Every row as CSV bytes, after the header unless a `layout` is given: then the rows
        only, cells in `layout` order (this result's columns by name, `constants` as given,
        any other column empty). Returns the number of rows written."""
        if layout is None:
            out.write(_csv_header(self.columns))
        lines = self._csv_lines(layout, constants or {})
        if lines is None:  # not a plain select (explain): in Python
            return _write_csv_slowly(self, out)
        written = 0
        for batch in _batches(lines):
            out.write(_string_bytes(batch.column(0)))
            written += batch.num_rows
        return written

    def _csv_lines(self, layout: Sequence[str] | None, constants: dict[str, str]) -> Any:
        """One VARCHAR column holding each row's CSV line (newline included), or None."""
        # parsed by the query's own connection: no second DuckDB instance just to parse
        if self._con.extract_statements(self._sql)[0].type.name != "SELECT":
            return None
        kinds = [str(kind) for kind in self._relation.types]
        cells, values = [], []
        for position, name in enumerate(layout or self.columns):
            if name in constants:  # quoted here, as csv would: one parameter each
                cells.append("?::varchar")
                values.append(_csv_header([constants[name]]).decode().rstrip("\n"))
            elif name in self.columns:  # by position without a layout: names may repeat
                index = position if layout is None else self.columns.index(name)
                cells.append(_csv_cell(f"#{index + 1}", kinds[index]))
            else:
                cells.append("''")
        line = "concat(" + ", ',', ".join(cells) + ", chr(10))"
        if len(cells) == 1:  # csv writes a lone empty field as "" so the line is not blank
            line = f"case when {line} = chr(10) then '\"\"' || chr(10) else {line} end"
        query = f"select {line} from ({self._sql})"
        try:
            return self._con.sql(query, params=[*values, *self._parameters] or None)
        except duckdb.Error as error:
            raise BadInputError(f"SQL error: {str(error).strip().splitlines()[0]}") from None


def open_stream(con: duckdb.DuckDBPyConnection, sql: str, parameters: list[Any]) -> RowStream:
    """A lazily run query on `con` (open while the stream is read)."""
    with duckdb_errors():
        relation = con.sql(sql, params=parameters or None)
    if relation is None:
        raise BadInputError("the statement returns no rows")
    return RowStream(con, relation, sql, parameters)


@contextmanager
def duckdb_errors() -> Iterator[None]:
    """DuckDB's errors as the user's: out of memory names the setting, a bad query is bad
    input; an interrupt passes through (Ctrl-C or --timeout: the projector says which)."""
    try:
        yield
    except duckdb.OutOfMemoryException as error:
        raise memory_error(error) from None
    except duckdb.InterruptException:
        raise
    except duckdb.Error as error:
        raise BadInputError(f"SQL error: {str(error).strip().splitlines()[0]}") from None


def memory_limit(value: str | None, total_memory: int) -> str:
    """The DuckDB memory limit: `value` (such as 2GB, 512MiB) or a share of the machine's."""
    if value is None or not value.strip():
        return f"{max(MINIMUM_MEMORY, int(total_memory * MEMORY_SHARE)) // 2**20}MiB"
    if not re.fullmatch(r"\s*\d+(\.\d+)?\s*([KMGT]i?B)\s*", value, flags=re.I):
        raise BadInputError(
            f"LEARNINGLOOP_MEMORY_LIMIT / --memory-limit: {value!r} is not a size such as "
            "512MB or 4GB"
        )
    return value.strip()


def memory_error(error: Exception) -> MemoryLimitError:
    """One line naming the setting to raise, and a value above the limit in force (DuckDB's
    message says both what it used and that limit)."""
    found = re.search(r"\(([^()]*)/([^()]*) used\)", str(error))
    used = f" ({found.group(1)}/{found.group(2)} used)" if found else ""
    larger = _doubled(found.group(2)) if found else None
    return MemoryLimitError(
        f"DuckDB ran out of memory{used}: raise LEARNINGLOOP_MEMORY_LIMIT or the global "
        f"option --memory-limit (for example {larger or '4GB'}), or narrow the query"
    )


_UNITS = {"KiB": 2**10, "MiB": 2**20, "GiB": 2**30, "TiB": 2**40}


def _doubled(limit: str) -> str | None:
    """Twice a limit as DuckDB prints it (964.0 MiB -> 2GiB, 30.5 MiB -> 61MiB), rounded up
    to a whole unit; None when it is not one."""
    found = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([KMGT]iB)\s*", limit)
    if not found:
        return None
    twice = 2 * float(found.group(1)) * _UNITS[found.group(2)]
    unit = "GiB" if twice >= 2**30 else "MiB"
    return f"{math.ceil(twice / _UNITS[unit])}{unit}"


def _batches(relation: Any) -> Iterator[pa.RecordBatch]:
    with duckdb_errors():
        reader = relation.to_arrow_reader(STREAM_ROWS)
        try:
            while True:
                try:
                    yield reader.read_next_batch()
                except StopIteration:
                    return
        finally:
            reader.close()


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


def _string_bytes(column: pa.Array | pa.ChunkedArray) -> bytes:
    """The concatenated values of a string column, straight from its data buffer."""
    chunks = column.chunks if isinstance(column, pa.ChunkedArray) else [column]
    parts = []
    for chunk in chunks:
        if pa.types.is_string(chunk.type) or pa.types.is_large_string(chunk.type):
            width = 8 if pa.types.is_large_string(chunk.type) else 4
            offsets = chunk.buffers()[1]
            first = int.from_bytes(offsets[chunk.offset * width : (chunk.offset + 1) * width],
                                   "little", signed=True)  # fmt: skip
            end = chunk.offset + len(chunk)
            last = int.from_bytes(offsets[end * width : (end + 1) * width], "little", signed=True)
            parts.append(chunk.buffers()[2].slice(first, last - first).to_pybytes())
        else:
            parts.append("".join(chunk.to_pylist()).encode())
    return b"".join(parts)


def _csv_header(columns: list[str]) -> bytes:
    import csv
    import io

    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow(columns)
    return buffer.getvalue().encode()


def _write_csv_slowly(stream: RowStream, out: IO[bytes]) -> int:
    import csv
    import io

    written = 0
    for batch in stream.batches():
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerows(["" if value is None else str(value) for value in row] for row in batch)
        out.write(buffer.getvalue().encode())
        written += len(batch)
    return written


def _in_utc(column: pa.Array) -> pa.Array:
    """Time-zone-aware timestamps as UTC whatever the session's TimeZone (metadata only)."""
    kind = column.type
    if pa.types.is_timestamp(kind) and kind.tz and kind.tz != "UTC":
        return column.cast(pa.timestamp(kind.unit, tz="UTC"))
    return column


def _parsed(value: Any) -> Any:
    return orjson.loads(value) if isinstance(value, str) else value
