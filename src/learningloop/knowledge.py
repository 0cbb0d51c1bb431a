"""What changed in what we know (CONTRACT 6.5) and what-if frameworks (6.9).

`changes` compares every table at (D, T1) and (D, T2) through the `X_at` macros; a what-if
framework is read from a file and handed to the projector, which applies it to one read
inside a transaction it rolls back: nothing is written, to the log or to the projections.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from learningloop.domain.basics import quote
from learningloop.domain.values import FunctionKey, RequiredText, Text
from learningloop.errors import BadInputError, InvalidEventError, NotFoundError
from learningloop.sources import check_sources, read_events

if TYPE_CHECKING:
    from learningloop.projector import Projector

# The tables `changes` compares by default: those of CONTRACT section 4, in its order.
SECTION_4_TABLES = (
    "events", "experiments", "timeline", "function_coverage", "experiment_coverage",
    "commitment_cadence", "review_completion", "milestones", "decisions", "learning_loops",
    "partners",
)  # fmt: skip
CHANGE_COLUMNS = ["table", "change", "row", "caused_by"]


@dataclass(frozen=True)
class Changes:
    """Rows removed and added between (D, T1) and (D, T2), table by table, each with the
    positions of the events recorded in between in that row's experiment or programme stream
    (CONTRACT 6.5), as (table, change, row, caused_by). They are computed and ordered in
    DuckDB and read a batch at a time: each iteration runs the queries again (a table format
    reads them twice), none holds them all."""

    projector: Projector
    tables: Sequence[str]
    as_of: date
    since: datetime
    until: datetime

    def __iter__(self) -> Iterator[tuple[str, str, dict[str, Any], list[int]]]:
        with self.projector.changes(self.tables, self.as_of, self.since, self.until) as rows:
            yield from rows


@dataclass(frozen=True)
class ChangeDigest:
    """What a report lists of what changed since T1: the events recorded after T1 by kind
    (`retractions`, `backdated`, `new_facts`) and the indicator rows they moved, as
    (table, experiment or programme); of each list its first `listed` items and its size."""

    recorded: dict[str, tuple[list[dict[str, Any]], int]]
    moved: tuple[list[tuple[str, str]], int]


# $1 = D, $2 = T1, $3 = T2: events recorded after T1, by kind (back-dated: before T1's day in
# UTC), first by position. `changes` finds them as rows of `events` added between T1 and T2;
# none of them can be a row at T1 (it holds what was recorded by then), so no set difference.
_RECORDED_KINDS = """
with recorded as (
    select position, type, experiment, programme, occurred_on, precision,
        case when type = 'EventRetracted' then 'retractions'
             when occurred_on < timezone('UTC', $2::timestamptz)::date then 'backdated'
             else 'new_facts' end as kind
    from events_at($1, $3)
    where recorded_at > $2
)
select kind, count(*) over (partition by kind) as total, * exclude (kind)
from recorded
qualify row_number() over (partition by kind order by position) <= {listed}
order by kind, position
"""
_KEYED_COLUMNS = (
    "select table_name, list(column_name) from information_schema.columns "
    "where column_name in ('experiment', 'programme') group by table_name"
)


def change_digest(
    projector: Projector, as_of: date, since: datetime, until: datetime, listed: int
) -> ChangeDigest:
    """The report's view of `changes` (events, then every table but events and timeline,
    keyed by experiment, else programme), counted and cut in DuckDB: a minute of a network's
    recording moves ~100,000 rows, which `changes` holds in memory all at once."""
    keyed = dict(projector.query(_KEYED_COLUMNS).rows)
    tables = [t for t in SECTION_4_TABLES if t not in ("events", "timeline")]
    moved = " union all ".join(_moved_keys(table, keyed.get(table, [])) for table in tables)
    queries = {
        "recorded": _RECORDED_KINDS.format(listed=listed),
        "moved": f"with moved as ({moved}) select *, count(*) over () from moved "
        f'order by "table", key limit {listed}',
    }
    found = projector.query_many(queries, None, None, [as_of, since, until])
    recorded: dict[str, tuple[list[dict[str, Any]], int]] = {}
    for row in found["recorded"].records():
        kind, total = row.pop("kind"), row.pop("total")
        recorded.setdefault(kind, ([], total))[0].append(row)
    rows = found["moved"].rows
    return ChangeDigest(recorded, ([(t, k) for t, k, _ in rows], rows[0][2] if rows else 0))


def _moved_keys(table: str, columns: list[str]) -> str:
    """The distinct (table, key) of the rows of `table` removed or added between T1 and T2."""
    keys = [f"nullif({c}::varchar, '')" for c in ("experiment", "programme") if c in columns]
    key = f"coalesce({', '.join([*keys, repr('')])})"
    added = f"select * from {table}_at($1, $3) except select * from {table}_at($1, $2)"
    removed = f"select * from {table}_at($1, $2) except select * from {table}_at($1, $3)"
    return (
        f"select distinct '{table}' as \"table\", {key} as key "
        f"from (({added}) union all ({removed}))"
    )


# --- what-if frameworks -------------------------------------------------------------------


class FrameworkFunction(BaseModel):
    """One function of a what-if framework and the programme's functions it stands for."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
    key: FunctionKey
    label: RequiredText
    label_fr: Text | None = None
    sources: tuple[FunctionKey, ...] = Field(alias="from", min_length=1)


@dataclass(frozen=True)
class Framework:
    """A what-if framework read from a file: its functions, in order."""

    path: Path
    functions: tuple[FrameworkFunction, ...]

    @property
    def name(self) -> str:
        return self.path.name

    def function_rows(self) -> list[tuple[str, str, str | None, int]]:
        """(function, label, label_fr, ordinal) of each function."""
        return [(f.key, f.label, f.label_fr, n) for n, f in enumerate(self.functions, 1)]

    def mapping_rows(self) -> list[tuple[str, str]]:
        """(programme function, the what-if function it counts for)."""
        return [(source, f.key) for f in self.functions for source in f.sources]


def read_framework(path: str | os.PathLike[str], known_functions: set[str]) -> Framework:
    """A framework file (YAML or JSON list of {key, label, from}), checked against the
    programme's function keys; errors name the file, the item and the field."""
    source = Path(path)
    check_sources([source])
    functions: list[FrameworkFunction] = []
    for raw in read_events(source):
        try:
            function = FrameworkFunction.model_validate(raw.data)
        except ValidationError as error:
            problem = error.errors()[0]
            field = ".".join(str(part) for part in problem["loc"]) or None
            raise InvalidEventError(field, problem["msg"]).at(raw.location) from None
        _check_framework_function(function, functions, known_functions, raw.location)
        functions.append(function)
    if not functions:
        raise BadInputError(f"{source}: a framework needs at least one function")
    return Framework(source, tuple(functions))


def _check_framework_function(
    function: FrameworkFunction,
    earlier: list[FrameworkFunction],
    known_functions: set[str],
    location: str,
) -> None:
    if any(other.key == function.key for other in earlier):
        raise InvalidEventError("key", f"{function.key!r} appears twice").at(location)
    for source in function.sources:
        if source not in known_functions:
            known = ", ".join(sorted(known_functions))
            raise InvalidEventError(
                "from", f"{source!r} is not a function of the programme (known: {known})"
            ).at(location)


# --- a prediction's provenance ----------------------------------------------------------

NAMED_AT_MOST = 5  # a key shared by 14,000 experiments of a network: one readable line


def experiments_named(experiments: list[str]) -> str:
    """`a, b` or, beyond a few, `14,237 experiments (a, b, c, d, e, …)`: an error stays one
    line a person reads, whatever the store's size."""
    if len(experiments) <= NAMED_AT_MOST:
        return ", ".join(experiments)
    return f"{len(experiments):,} experiments ({', '.join(experiments[:NAMED_AT_MOST])}, …)"


_PREDICTION_ROWS = "select * from predictions where prediction = ? order by experiment"
_STORED_EVENTS = (
    "select position, stream, version, type, occurred_on, recorded_at, recorded_by, source, "
    "payload ->> '$.chain' as chain from log_events where list_contains(?, position) "
    "order by position"
)


def trace_prediction(
    projector: Projector, prediction: str, experiment: str | None, as_of: date, known_at: datetime
) -> dict[str, Any]:
    """The prediction's row at (D, T) and the stored events that made and decided it: their
    log positions and chain hashes show which was recorded first."""
    rows = [row for row in projector.query(_PREDICTION_ROWS, [prediction], as_of, known_at)
            .records() if experiment is None or row["experiment"] == experiment]  # fmt: skip
    if not rows:
        raise NotFoundError(f"no prediction {quote(prediction)} counted as of {as_of} "
                            f"(as known at {known_at.isoformat()})")  # fmt: skip
    if len(rows) > 1:
        places = experiments_named([str(row["experiment"]) for row in rows])
        raise BadInputError(f"prediction {quote(prediction)} exists in {places}: give --experiment")
    row = rows[0]
    positions = [p for p in (row["made_position"], row["deciding_position"]) if p is not None]
    stored = {r["position"]: r for r in projector.query(_STORED_EVENTS, [positions]).records()}
    made, deciding = stored[row["made_position"]], stored.get(row["deciding_position"])
    return {
        "prediction": {k: v for k, v in row.items() if not k.endswith("_position")},
        "made": made,
        "decided_by": deciding,
        "proof": _proof(row, made, deciding),
    }


def _proof(row: dict[str, Any], made: dict[str, Any], deciding: dict[str, Any] | None) -> str:
    """One sentence on what the log proves about when the prediction was made."""
    where = f"position {made['position']} (chain {str(made['chain'])[:12]}…)"
    if row["outcome"] is None:
        return f"Recorded at {where}; no outcome yet."
    if deciding is None:
        verdict = "before" if row["made_before_outcome"] else "after"
        return (f"Recorded at {where}, {verdict} its deadline {row['resolves_on']} passed "
                f"(decided by the deadline).")  # fmt: skip
    order = "before" if row["made_before_outcome"] else "after"
    return (f"Recorded at {where}, {order} the {deciding['type']} that decided it, at position "
            f"{deciding['position']} (chain {str(deciding['chain'])[:12]}…).")  # fmt: skip
