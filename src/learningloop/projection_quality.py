"""The data_quality projection as the audit reads it: in bounded memory at any size.

The view is a union of its checks over the counted events, and DuckDB plans a union as one
query whose branches' states (joins, windows, aggregates) live together: at 10M events they
outgrow the memory limit, whereas each check alone fits. So the audit runs the checks one at a
time (a filter on the constant `check` column leaves DuckDB one branch to plan) into a
temporary table, which DuckDB spills to its temporary directory past the limit, then sorts that
(a sort spills too). The backfills, one row per event recorded late, are grouped into the
audit's recording batches by DuckDB instead of streaming out one by one.
"""

from __future__ import annotations

from collections.abc import Sequence

import duckdb

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


def staged(
    con: duckdb.DuckDBPyConnection, backfill_days: int, checks: Sequence[str]
) -> tuple[results.RowStream, results.RowStream]:
    """The backfill batches (lag over `backfill_days`) and the warnings (every other check,
    ordered by position, check and message) as two streams, to be read in that order. `checks`
    names the warning checks; one more pass collects any check they leave out (DuckDB plans it
    as an empty result when they leave none)."""
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
    batches = results.open_stream(con, BATCHES_QUERY, [backfill_days])
    return batches, results.open_stream(con, WARNINGS_QUERY, [])
