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
        "where c.table_oid = t.table_oid and c.column_name = 'position') "
        "from duckdb_tables() as t "
        "where t.schema_name = 'main' and not t.internal and not t.temporary"
    ).fetchall()
    found = {
        f"table {name}": checksum(con, name, up_to if has_position else None)
        for name, has_position in tables
        if name not in _UNFINGERPRINTED
    }
    for name, text in con.execute(_DEFINITIONS).fetchall():
        found[name] = hashlib.sha256(str(text).encode()).hexdigest()
    return found


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
