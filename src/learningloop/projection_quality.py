"""The data_quality projection as the audit reads it: in bounded memory at any size.

The view is a union of its checks over the counted events, and DuckDB plans a union as one
query whose branches' states (joins, windows, aggregates) live together: at 10M events they
outgrow the memory limit, whereas each check alone fits. So the audit runs the checks one at a
time (a filter on the constant `check` column leaves DuckDB one branch to plan) into a
temporary table, which DuckDB spills to its temporary directory past the limit, then sorts that
(a sort spills too). The backfills, one row per event recorded late, are grouped into the
audit's recording batches by DuckDB instead of streaming out one by one. The warnings leave
as Arrow record batches, counted by check here: at 10M events of the benchmark's programme
shape there are 7.3M of them, which the audit keeps on disk as they come (audit_findings).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from learningloop import results
from learningloop.sqlfiles import literal

BACKFILL = "backfill"
_TABLE = "audit_quality_warnings"

# One row per recording batch (the events one recorder wrote on one day), named by its first
# event: the least position (an event has one backfill row), listed in that order.
BATCHES_QUERY = """
select
    recorded_on,
    recorded_by,
    count(*) as events,
    min(year(occurred_on)) as first_year,
    max(year(occurred_on)) as last_year,
    min(lag_days) as least_lag,
    max(lag_days) as most_lag,
    arg_min(stream, position) as stream,
    arg_min(version, position) as version,
    min(position) as position
from data_quality
where "check" = 'backfill' and lag_days > ?
group by recorded_on, recorded_by
order by min(position)
"""

WARNINGS_QUERY = f"""
select "check", message, stream, version, position
from {_TABLE}
order by position, "check", message
"""


@dataclass(frozen=True)
class Staged:
    """The data quality at (D, T) on `con`: the backfill batches, then the warnings, to be
    read in that order (DuckDB runs one result at a time on a connection)."""

    con: duckdb.DuckDBPyConnection
    batches: results.RowStream
    counts: dict[str, int]  # warnings by check

    def write_warnings(self, path: Path) -> bool:
        """The warnings (check, message, stream, version, position) in their order, written
        to an Arrow file at `path` batch by batch as DuckDB gives them; False if none."""
        with results.duckdb_errors():
            reader = self.con.sql(WARNINGS_QUERY).to_arrow_reader(results.STREAM_ROWS)
        writer = None
        try:
            with results.duckdb_errors():
                for batch in reader:
                    if writer is None:
                        options = pa.ipc.IpcWriteOptions(compression="lz4")
                        writer = pa.ipc.new_file(str(path), batch.schema, options=options)
                    writer.write_batch(batch)
        finally:
            reader.close()
            if writer is not None:
                writer.close()
        return writer is not None


def read_rows(path: Path) -> Iterator[tuple[Any, ...]]:
    """The rows of an Arrow file written by write_warnings, one batch in memory at a time
    (the file is mapped)."""
    with pa.memory_map(str(path)) as source:
        reader = pa.ipc.open_file(source)
        for n in range(reader.num_record_batches):
            columns = [column.to_pylist() for column in reader.get_batch(n).columns]
            yield from zip(*columns, strict=True)


def staged(con: duckdb.DuckDBPyConnection, backfill_days: int, checks: Sequence[str]) -> Staged:
    """The backfill batches (lag over `backfill_days`) and the warnings (every other check,
    ordered by position, check and message), counted by check. `checks` names the warning
    checks; one more pass collects any check they leave out (DuckDB plans it as an empty
    result when they leave none)."""
    con.execute(
        f"create temp table {_TABLE} (position bigint, "
        '"check" varchar, message varchar, stream varchar, version integer)'
    )
    warnings = [check for check in checks if check != BACKFILL]
    listed = ", ".join(literal(check) for check in [*warnings, BACKFILL])
    for where in [*(f"= {literal(check)}" for check in warnings), f"not in ({listed})"]:
        con.execute(
            f'insert into {_TABLE} select position, "check", message, stream, version '
            f'from data_quality where "check" {where}'
        )
    counted = con.execute(f'select "check", count(*) from {_TABLE} group by all').fetchall()
    batches = results.open_stream(con, BATCHES_QUERY, [backfill_days])
    return Staged(con, batches, dict(counted))
