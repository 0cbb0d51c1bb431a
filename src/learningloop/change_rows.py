"""The rows of `changes` (CONTRACT 6.5) computed, joined to their causes and ordered in DuckDB,
then read a batch at a time: a window over a whole log never sits in memory at once.

The order is the one `changes` always had: table by table, removed then added, each part by
the Python `repr` of the row as a dict. No SQL expression writes that text (a string's quotes
and escapes, a float's shortest digits, a datetime's trailing zeros dropped), so DuckDB sorts
on it through a Python function it calls a vector at a time, over the very values the rows
come back as; the sort spills to disk past the connection's memory limit.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

import duckdb
from duckdb.func import ARROW

from learningloop.results import _batches, _parsed, duckdb_errors

if TYPE_CHECKING:
    import pyarrow as pa

ChangeRow = tuple[str, str, dict[str, Any], list[int]]

# $1 = D, $2 = T1, $3 = T2. `changed`: the rows at (D, new) not at (D, old); `recorded`: the
# positions of the events recorded after T1 and at or before T2, by stream.
_CHANGED = """
with changed as materialized (
    select * from {table}_at($1, {new}) except select * from {table}_at($1, {old})
),
recorded as (
    select stream, list(position order by position) as positions
    from log_events
    where recorded_at > $2::timestamptz and recorded_at <= $3::timestamptz
    group by stream
)
select coalesce(recorded.positions, []) as caused_by, changed.*
from changed
left join recorded on recorded.stream = {stream}
order by {key}(changed)
"""
_KEY_FUNCTION = "learningloop_change_order"


# Each table's columns and their types, as its view declares them: the row its `X_at` gives.
_COLUMNS = """
select table_name, list(column_name order by ordinal_position),
    list(data_type order by ordinal_position)
from information_schema.columns
where table_catalog = current_database() and table_schema = 'main'
    and list_contains(?, table_name)
group by table_name
"""


def changed_rows(
    con: duckdb.DuckDBPyConnection,
    tables: Sequence[str],
    moments: tuple[date, datetime, datetime],
) -> Iterator[ChangeRow]:
    """(table, change, row, caused_by) of every removed and added row, table by table, in
    the order of `changes`; each query runs while its rows are read."""
    with duckdb_errors():
        columns = {name: (names, kinds) for name, names, kinds in
                   con.execute(_COLUMNS, [list(tables)]).fetchall()}  # fmt: skip
    for table in tables:
        for change, new, old in (("removed", "$2", "$3"), ("added", "$3", "$2")):
            yield from _changed(con, table, change, (new, old), columns[table], list(moments))


def _changed(
    con: duckdb.DuckDBPyConnection,
    table: str,
    change: str,
    new_old: tuple[str, str],
    columns: tuple[list[str], list[str]],
    parameters: list[Any],
) -> Iterator[ChangeRow]:
    names, kinds = columns
    row_type = con.struct_type(
        {name: con.type(kind) for name, kind in zip(names, kinds, strict=True)}
    )
    con.create_function(_KEY_FUNCTION, _order_key(names, kinds), [row_type], "VARCHAR",
                        type=ARROW)  # fmt: skip
    try:
        new, old = new_old
        sql = _CHANGED.format(table=table, new=new, old=old, stream=_stream(names),
                              key=_KEY_FUNCTION)  # fmt: skip
        with duckdb_errors():
            relation = con.sql(sql, params=parameters)
        for batch in _batches(relation):
            values = [_values(column, kind) for column, kind in
                      zip(batch.columns[1:], kinds, strict=True)]  # fmt: skip
            caused = batch.column(0).to_pylist()
            for caused_by, row in zip(caused, zip(*values, strict=True), strict=True):
                yield table, change, dict(zip(names, row, strict=True)), caused_by
    finally:
        con.remove_function(_KEY_FUNCTION)


def _stream(names: list[str]) -> str:
    """The stream a row is about, as `changes` always named it: its experiment's when it has
    one (even ''), else its programme's (`programme:None` without one)."""
    programme = "'programme:' || coalesce(changed.programme, 'None')"
    if "programme" not in names:
        programme = "'programme:None'"
    if "experiment" not in names:
        return programme
    return (f"case when changed.experiment is not null then 'experiment:' || changed.experiment "
            f"else {programme} end")  # fmt: skip


def _order_key(names: list[str], kinds: list[str]) -> Callable[[pa.ChunkedArray], pa.Array]:
    """A DuckDB function from a row (a struct) to the `repr` of the dict it comes back as."""
    import pyarrow as pa

    # annotated with Any: DuckDB evaluates a function's annotations, and pyarrow is imported
    # here only for type checking
    def key(rows: Any) -> Any:
        keys: list[str] = []
        for chunk in rows.chunks:
            columns = [_values(field, kind) for field, kind in
                       zip(chunk.flatten(), kinds, strict=True)]  # fmt: skip
            rows_values = zip(*columns, strict=True)
            keys += [repr(dict(zip(names, values, strict=True))) for values in rows_values]
        return pa.array(keys, pa.string())

    return key


def _values(column: pa.Array | pa.ChunkedArray, kind: str) -> list[Any]:
    """A column's values as `querying.run` gives them: JSON parsed, timestamps in UTC."""
    values: list[Any] = column.to_pylist()
    if kind == "JSON":
        return [_parsed(value) for value in values]
    if "TIME ZONE" in kind:
        return [value.astimezone(UTC) if isinstance(value, datetime) else value
                for value in values]  # fmt: skip
    return values
