"""What decides a projection file's answers, summed up without holding a table whole: the
audit compares a live file and a rebuild by these (projector.checksums / fingerprint)."""

from __future__ import annotations

import hashlib

import duckdb

# Bookkeeping, not answers: when each file was written and how far it is projected.
_UNFINGERPRINTED = ("projection_tracking", "projection_versions")
_DEFINITIONS = (
    "select 'view ' || schema_name || '.' || view_name, sql from duckdb_views() "
    "where not internal and not temporary union all "
    "select 'macro ' || schema_name || '.' || function_name, "
    "parameters::varchar || macro_definition from duckdb_functions() "
    "where not internal and function_type in ('macro', 'table_macro')"
)


def fingerprint(con: duckdb.DuckDBPyConnection, up_to: int | None) -> dict[str, str]:
    tables = con.execute(
        "select t.table_name, exists (select 1 from duckdb_columns() as c "
        "where c.table_oid = t.table_oid and c.column_name = 'position'), "
        "(select string_agg(c.column_name || ' ' || c.data_type, ', ' order by c.column_index) "
        "from duckdb_columns() as c where c.table_oid = t.table_oid) "
        "from duckdb_tables() as t "
        "where t.schema_name = 'main' and not t.internal and not t.temporary"
    ).fetchall()
    found = {
        f"table {name}": _table_digest(con, name, columns, up_to if has_position else None)
        for name, has_position, columns in tables
        if name not in _UNFINGERPRINTED
    }
    for name, text in con.execute(_DEFINITIONS).fetchall():
        found[name] = hashlib.sha256(str(text).encode()).hexdigest()
    return found


def _table_digest(
    con: duckdb.DuckDBPyConnection, table: str, columns: str, up_to: int | None
) -> str:
    """A stored table's columns (names and types) and rows, summed up from DuckDB's hash of
    each row's values: hashing the values themselves costs a twelfth of writing every row
    out as text first (at 1M events, ~0.7 s of CPU against ~11 s per file). The row hash
    does not see the column names, so they are digested beside it."""
    where = f" where position <= {int(up_to)}" if up_to is not None else ""
    row = con.execute(
        f'select count(*), coalesce(sum(hash(t)::hugeint), 0) from "{ident(table)}" as t{where}'
    ).fetchall()[0]
    text = ":".join([columns, *(str(value) for value in row)])
    return hashlib.sha256(text.encode()).hexdigest()


def checksum(con: duckdb.DuckDBPyConnection, table: str, up_to: int | None) -> str:
    where = f" where position <= {int(up_to)}" if up_to is not None else ""
    row = con.execute(
        "select count(*), coalesce(sum(hash(row_text)::hugeint), 0), "
        "coalesce(sum(md5_number_lower(row_text)::hugeint), 0) "
        f'from (select t::varchar as row_text from "{ident(table)}" as t{where})'
    ).fetchall()[0]
    return hashlib.sha256(":".join(str(value) for value in row).encode()).hexdigest()


def ident(name: str) -> str:
    return name.replace('"', '""')
