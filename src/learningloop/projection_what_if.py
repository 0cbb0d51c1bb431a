"""A what-if framework (CONTRACT 6.9) applied to one read: the two macros that give the
programmes' functions are replaced inside a transaction that is rolled back."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import duckdb

from learningloop.sqlfiles import INTERNAL_SCHEMA


@dataclass(frozen=True)
class WhatIf:
    """A what-if framework: its functions (key, label, label_fr, ordinal) and, for each
    programme function, the what-if function it counts for (source key, key)."""

    functions: list[tuple[str, str, str | None, int]]
    mapping: list[tuple[str, str]]


# The two macros a what-if framework replaces, for one read, in a transaction rolled back.
_WHAT_IF_MACROS = {
    "programme_functions": (
        "select programmes.programme, f.function, f.label, f.label_fr, f.ordinal "
        "from (select distinct programme from log_events where programme is not null) "
        "as programmes cross join {schema}.what_if_functions as f"
    ),
    "function_map": "select source_function, function from {schema}.what_if_map",
}


@contextmanager
def what_if_applied(con: duckdb.DuckDBPyConnection, what_if: WhatIf) -> Iterator[None]:
    """Every projection answers as if the programmes' functions were `what_if`'s; DuckDB's
    catalog is transactional, so the rollback leaves the database as it was."""
    con.execute("begin transaction")
    try:
        con.execute(
            f"create table {INTERNAL_SCHEMA}.what_if_functions "
            "(function varchar, label varchar, label_fr varchar, ordinal integer)"
        )
        con.executemany(
            f"insert into {INTERNAL_SCHEMA}.what_if_functions values (?, ?, ?, ?)",
            what_if.functions,
        )
        con.execute(
            f"create table {INTERNAL_SCHEMA}.what_if_map "
            "(source_function varchar, function varchar)"
        )
        con.executemany(f"insert into {INTERNAL_SCHEMA}.what_if_map values (?, ?)",
                        what_if.mapping)  # fmt: skip
        for name, body in _WHAT_IF_MACROS.items():
            con.execute(
                f"create or replace macro {INTERNAL_SCHEMA}.{name}"
                f"(requested_as_of, requested_known_at) as table "
                + body.format(schema=INTERNAL_SCHEMA)
            )
        yield
    finally:
        con.execute("rollback")
