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
from typing import IO, TYPE_CHECKING, Any

import duckdb
import orjson

from learningloop.csv_cells import csv_header as _csv_header
from learningloop.csv_cells import csv_line_query as csv_line_query
from learningloop.duckdb_settings import memory_limit as memory_limit
from learningloop.errors import BadInputError, MemoryLimitError

if TYPE_CHECKING:  # imported where used: `indicators` after new events never loads pyarrow
    import pyarrow as pa

STREAM_ROWS = 20_000  # rows a batch: big enough for speed, small enough to bound memory


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
        query, values = csv_line_query(self._sql, self.columns, kinds, layout, constants)
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


def _string_bytes(column: pa.Array | pa.ChunkedArray) -> bytes:
    """The concatenated values of a string column, straight from its data buffer."""
    import pyarrow as pa

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
    import pyarrow as pa

    kind = column.type
    if pa.types.is_timestamp(kind) and kind.tz and kind.tz != "UTC":
        return column.cast(pa.timestamp(kind.unit, tz="UTC"))
    return column


def _parsed(value: Any) -> Any:
    return orjson.loads(value) if isinstance(value, str) else value
