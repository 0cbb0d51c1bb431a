"""The indicators after new events: the cached answer of an earlier position, with only the
experiments the new events touched computed again.

Why the answer is exactly the computed one. Every table of PER_EXPERIMENT is a set of rows
per experiment (its first column, the first key of its order) that depends only on D, T, the
what-if framework, the projector's constant tables and
- the staging rows (stg_*) whose `experiment` is that experiment,
- the rows of the programme-level staging tables (a `programme` column, no `experiment`
  one: stg_programmes) whose programme is one its staging rows name.
`reads_only_staging` checks that the views read no other projection (log_events, say), and
the property test of test_indicator_delta compares merged with computed answers.

Between two positions P0 < P1 of one projection file, the same versions applied at the same
moments (no rebuild, no new schema: both are in the key), a catch-up changes staging rows in
two ways only (projection_pages.py): it inserts rows at positions after P0, and it sets the
`retracted_at` of a row to the recorded_at of a retraction after P0. An experiment none of
whose staging rows (nor its programmes' rows) is at a position after P0 or has a retracted_at
at or after the earliest recorded_at of a retraction after P0 therefore keeps, at P1, the rows
it had at P0, for the same D and T at the head both times (T then hides nothing: every staged
row counts as known, every retraction as retracted). Those rows come from the cached answer;
the rows of the experiments touched are computed by the views' own SQL over those experiments'
staging rows alone (_fresh), and each replaces its experiment's run of cached rows where
`order by experiment` puts it (byte order, nulls last, as DuckDB sorts text: a test pins
it; the fresh rows and each joint are checked). Never under a what-if framework:
programme_functions then reads log_events.
"""

from __future__ import annotations

import bisect
import itertools
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from learningloop.indicator_keys import Earlier as Earlier
from learningloop.indicator_keys import earlier as earlier
from learningloop.sqlfiles import (
    INGEST_FILE,
    RETRACTION,
    STAGING_PREFIX,
    SqlFile,
    literal,
    load_sql_files,
)

if TYPE_CHECKING:  # imported where used: indicator_after reads the experiments touched without
    import duckdb  # either (a connection of DuckDB's core: see duckdb_settings.core)
    import pyarrow as pa

# The indicator tables whose rows are per experiment (see the module's docstring).
PER_EXPERIMENT = frozenset(
    {
        "experiment_coverage",
        "function_coverage",
        "commitment_cadence",
        "review_completion",
        "milestones",
        "learning_loops",
    }
)
# Beyond this many experiments touched, computing everything is about as quick (measured when
# each touched experiment cost two passes over each cached table, ~17 ms at 1M network: 52
# touched by a programme's retraction, 2.9 s CPU against 4.1 s computed; bisection now finds
# a run in a few dozen cells). A merged answer's rows are not written, so this also bounds
# what the events since the last computed answer may touch before it is computed again.
MAX_TOUCHED = 100
_QUERY = re.compile(r"select \* from (\w+) order by (experiment(?:, \w+)*)")


@dataclass(frozen=True)
class Touched:
    """The experiments whose rows may differ from the cached answer's (None: a row with no
    experiment)."""

    experiments: tuple[str | None, ...]
    keyed: frozenset[str] = frozenset()  # the staging tables with an `experiment` column


@dataclass(frozen=True)
class Spliced:
    """One query's answer: the cached rows of the experiments not touched and the touched
    experiments' rows computed afresh (`fresh`), in the query's order. `pieces`: which rows,
    in turn, as (from the fresh rows?, first row, past the last row)."""

    table: pa.Table
    pieces: list[tuple[bool, int, int]]
    fresh: pa.Table
    kinds: list[str]  # each column's DuckDB type, as the view gave it


@dataclass(frozen=True)
class Merge:
    """The answer of a key from the cached answer at an earlier position (`base`: its file)."""

    base: Path
    key: str
    tables: dict[str, Spliced]


def plan(
    con: duckdb.DuckDBPyConnection,
    queries: dict[str, str],
    key: str,
    keys: Callable[[], dict[Path, str]],
    load: Callable[[Path, str], dict[str, tuple[pa.Table, list[str]]] | None],
) -> Merge | None:
    """The answer of `key` merged from the answer of the same key at an earlier position when
    the cache holds one (`keys`: each cache file's key; `load`: its tables and their DuckDB
    types), else None: compute the queries."""
    import duckdb

    from learningloop import results

    # under a what-if framework, programme_functions is another macro (projection_reading)
    if json.loads(key).get("framework") != "None" or not mergeable(queries):
        return None
    found = keys()
    base = earlier(key, found)
    tables = load(base.path, found[base.path]) if base else None
    try:  # a file whose tables or views do not fit what is asked here: computed as before
        touched = changed_experiments(con, base.position) if base and tables else None
        if base is None or tables is None or touched is None or set(tables) != set(queries):
            return None
        stage(con, touched)
        relations = {name: con.sql(fresh_query(sql, touched, staged=True))
                     for name, sql in queries.items()}  # fmt: skip
    except (duckdb.BinderException, duckdb.CatalogException, duckdb.ParserException):
        return None
    spliced = {}
    for name, relation in relations.items():
        table, kinds = tables[name]
        if [str(kind) for kind in relation.types] != kinds:
            return None  # not the types the cached rows were computed with
        with results.duckdb_errors():
            fresh = relation.to_arrow_table()
        merged = _spliced(table, fresh, touched, kinds)
        if merged is None:
            return None
        spliced[name] = merged
    return Merge(base.path, found[base.path], spliced)


def _spliced(base: pa.Table, fresh: pa.Table, touched: Touched, kinds: list[str]) -> Spliced | None:
    """The cached rows with each touched experiment's run replaced by its fresh rows, where
    `order by experiment` puts them: strings in byte order, nulls last, checked on the way
    (as DuckDB sorts them; the fresh rows and each joint are checked)."""
    import pyarrow as pa

    if fresh.schema != base.schema:
        try:
            fresh = fresh.cast(base.schema)
        except (pa.ArrowException, ValueError):
            return None
    keys = sorted(set(touched.experiments), key=lambda k: (k is None, (k or "").encode()))
    pieces: list[tuple[bool, int, int]] = []
    done = 0
    for key in keys:
        start, count = _run(base, key)
        fresh_start, fresh_count = _run(fresh, key)
        if start < done:
            return None
        pieces += [(False, done, start), (True, fresh_start, fresh_start + fresh_count)]
        done = start + count
    pieces.append((False, done, base.num_rows))
    pieces = [(is_fresh, first, past) for is_fresh, first, past in pieces if past > first]
    sources = {False: base, True: fresh}
    slices = [sources[f].slice(first, past - first) for f, first, past in pieces]
    table = pa.concat_tables(slices) if slices else base.slice(0, 0)
    return Spliced(table, pieces, fresh, kinds) if _in_order(sources, pieces) else None


def _run(table: pa.Table, key: str | None) -> tuple[int, int]:
    """Where the rows of experiment `key` start in a table sorted by experiment (byte order,
    nulls last), and how many there are (where they would start, and 0, when none). Found by
    bisection, a few dozen cells read (counting the cells before it cost two passes over every
    row, ~80 ms a table at 10M events)."""
    column = table.column("experiment")
    known = table.num_rows - column.null_count
    if key is None:
        return known, column.null_count
    cells = _Cells(column, known)
    start = bisect.bisect_left(cells, key)
    return start, bisect.bisect_right(cells, key, lo=start) - start


class _Cells:
    """The first `length` cells of a string column, as a sequence bisect reads (str order is
    code point order, which is UTF-8 byte order)."""

    def __init__(self, column: pa.ChunkedArray, length: int) -> None:
        self.column, self.length = column, length

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: int) -> Any:
        return self.column[index].as_py()


def _in_order(sources: dict[bool, pa.Table], pieces: list[tuple[bool, int, int]]) -> bool:
    """Whether the pieces together keep `order by experiment`'s order (byte order, nulls
    last). Each source came sorted that way from DuckDB (test_indicator_delta pins that
    DuckDB sorts text so): the fresh rows, a few, are checked whole all the same, and each
    joint between two pieces (a pass over every cached row cost loading pyarrow.compute,
    ~0.2 s of CPU, and ~0.06 s more at 10M events)."""
    if not ordered(sources[True].column("experiment").to_pylist()):
        return False
    joints: list[str | None] = []
    for is_fresh, first, past in pieces:
        column = sources[is_fresh].column("experiment")
        joints += [column[first].as_py(), column[past - 1].as_py()]
    return ordered(joints)


def ordered(cells: list[str | None]) -> bool:
    """Whether cells never decrease, nulls last (str order is code point order, which is
    UTF-8 byte order)."""
    keys = [(cell is None, cell or "") for cell in cells]
    return all(before <= after for before, after in itertools.pairwise(keys))


def mergeable(queries: dict[str, str]) -> bool:
    """Whether every query reads one per-experiment table in an order led by `experiment`."""
    for name, sql in queries.items():
        found = _QUERY.fullmatch(sql)
        if found is None or found.group(1) != name or name not in PER_EXPERIMENT:
            return False
    return reads_only_staging(PER_EXPERIMENT)


def reads_only_staging(views: frozenset[str]) -> bool:
    """Whether the views, and the views they read, read no projection table but staging."""
    files = {sql_file.name: sql_file for sql_file in load_sql_files()}
    if not views <= set(files):
        return False
    reads = set(views).union(*(_transitive(files, view) for view in views))
    return INGEST_FILE not in reads


def _transitive(files: dict[str, SqlFile], name: str) -> set[str]:
    """Every projection `name` reads, directly or through the views it reads (a staging
    table is a table: what its file reads is the page being projected, not a read)."""
    found: set[str] = set()
    pending = list(files[name].reads)
    while pending:
        read = pending.pop()
        if read not in found:
            found.add(read)
            if not read.startswith(STAGING_PREFIX):
                pending.extend(files[read].reads)
    return found


def changed_experiments(con: duckdb.DuckDBPyConnection, after: int) -> Touched | None:
    """The experiments the events after position `after` may have changed; None when that
    cannot be told by experiment (a programme with no key) or is too many to be worth it."""
    retracted_from = con.execute(
        "select min(recorded_at) from log_events where position > ? and type = ?",
        [after, RETRACTION],
    ).fetchall()[0][0]
    changed = "position > $after" + (
        "" if retracted_from is None else " or retracted_at >= $retracted_from"
    )
    parameters = {"after": after}
    if retracted_from is not None:
        parameters["retracted_from"] = retracted_from
    columns = _staging_columns(con)
    experiments: set[str | None] = set()
    programmes: set[str | None] = set()
    for table, names in columns.items():
        key = (
            "experiment" if "experiment" in names else "programme" if "programme" in names else None
        )
        if key is None:
            return None
        found = con.execute(
            f"select distinct {key} from {table} where {changed}", parameters
        ).fetchall()
        (experiments if key == "experiment" else programmes).update(row[0] for row in found)
        if len(experiments) > MAX_TOUCHED:
            return None
    if None in programmes:
        return None  # `programme not in (...)` over a NULL changes every experiment's answer
    if programmes:
        for table, names in columns.items():
            if {"experiment", "programme"} <= names:
                found = con.execute(
                    f"select distinct experiment from {table} "
                    "where list_contains($programmes, programme)",
                    {"programmes": sorted(programmes)},  # type: ignore[type-var]
                ).fetchall()
                experiments.update(row[0] for row in found)
    if len(experiments) > MAX_TOUCHED:
        return None
    ordered = tuple(sorted(experiments, key=lambda e: (e is None, e or "")))
    return Touched(ordered, frozenset(t for t, names in columns.items() if "experiment" in names))


def _staging_columns(con: duckdb.DuckDBPyConnection) -> dict[str, set[str]]:
    rows = con.execute(
        "select table_name, column_name from duckdb_columns() "
        "where database_name = current_database() and schema_name = 'main' "
        "and starts_with(table_name, ?)",
        [STAGING_PREFIX],
    ).fetchall()
    columns: dict[str, set[str]] = {}
    for table, column in rows:
        columns.setdefault(table, set()).add(column)
    return columns


# The temporary copy of a staging table's rows of the touched experiments (stage()).
STAGED_PREFIX = "learningloop_touched_"


def stage(con: duckdb.DuckDBPyConnection, touched: Touched) -> None:
    """Copy the touched experiments' rows of each staging table keyed by experiment into a
    temporary table (dropped with the connection's transaction, or the connection) that
    fresh_query(staged=True) reads: one pass over each staging table for every query
    instead of one per query and read (at 10M events the six queries cost ~0.4 s of scans)."""
    chosen = _chosen(touched)
    for table in sorted(touched.keyed):
        con.execute(f"create temp table {STAGED_PREFIX}{table} as "
                    f"select * from main.{table} where {chosen}")  # fmt: skip


def fresh_query(sql: str, touched: Touched, *, staged: bool = False) -> str:
    """The query `sql` (select * from X order by ...) for the touched experiments only
    (`staged`: reading the copies stage() made of their staging rows)."""
    found = _QUERY.fullmatch(sql)
    assert found is not None  # mergeable() said so
    table, order = found.group(1), found.group(2)
    chosen = _chosen(touched)
    scoped = _scoped(table, chosen, touched, staged)
    return f"{scoped} select * from {table} where {chosen} order by {order}"


def _chosen(touched: Touched) -> str:
    """The condition keeping the rows of the touched experiments."""
    named = [literal(e) for e in touched.experiments if e is not None]
    tests = [f"experiment in ({', '.join(named)})"] if named else []
    if None in touched.experiments:
        tests.append("experiment is null")
    return " or ".join(tests) or "false"


def _scoped(view: str, chosen: str, touched: Touched, staged: bool) -> str:
    """A WITH clause defining `view`, and every view it reads that reads staging, from their
    files' SQL over the staging rows that `chosen` keeps (DuckDB does not push a filter on
    `experiment` through a left join's right side: computing a view for a few experiments
    then cost as much as for all of them). Views reading no staging (moment: the
    connection's D and T; function_map) are the connection's own."""
    files = {sql_file.name: sql_file for sql_file in load_sql_files()}
    needed = {view, *_transitive(files, view)}
    ctes = []
    for sql_file in load_sql_files():  # in dependency order
        name = sql_file.name
        if name not in needed:
            continue
        if name.startswith(STAGING_PREFIX) and name in touched.keyed:
            kept = f"{STAGED_PREFIX}{name}" if staged else f"main.{name} where {chosen}"
            ctes.append(f"{name} as (select * from {kept})")
        elif name.startswith(STAGING_PREFIX):
            ctes.append(f"{name} as (select * from main.{name})")
        elif any(read.startswith(STAGING_PREFIX) for read in _transitive(files, name)):
            ctes.append(f"{name} as (\n{sql_file.sql}\n)")
        else:
            ctes.append(f"{name} as (select * from main.{name})")
    return "with " + ",\n".join(ctes)
