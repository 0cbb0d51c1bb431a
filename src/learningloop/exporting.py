"""Exporting the projections at one (D, T): Parquet files with a load.sql, or one DuckDB file.

Either way the export carries `X_at(as_of, known_at)` macros that answer for the exported D
and T only, and is readable by any DuckDB from 1.4 on.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb

from learningloop.duckdb_file import STORAGE_COMPATIBILITY

EXPORT_DATABASE = "projections.duckdb"


def write_tables(
    con: duckdb.DuckDBPyConnection,
    tables: Sequence[str],
    directory: Path,
    moment: tuple[date, datetime],
    file_format: str,
) -> None:
    """Each table at the connection's (D, T): `<table>.parquet` files and a `load.sql` that
    makes them one database, or one self-contained `projections.duckdb` (DuckDB 1.4's
    format). Both carry `X_at` macros answering for that D and T only."""
    as_of, known_at = moment
    selects = {table: _exported_select(con, table) for table in tables}
    if file_format == "duckdb":
        _export_database(con, selects, directory / EXPORT_DATABASE, as_of, known_at)
        return
    for table, select in selects.items():
        target = _quoted(str(directory / f"{table}.parquet"))
        con.execute(f"copy ({select}) to '{target}' (format parquet)")
    (directory / "load.sql").write_text(_load_sql(list(tables), as_of, known_at), encoding="utf-8")


def _exported_select(con: duckdb.DuckDBPyConnection, table: str) -> str:
    """The table's rows with JSON columns as UTF-8 text (Parquet readers see strings, not
    bytes); dates, timestamps and lists keep their types."""
    description = con.execute(f"select * from {table} limit 0").description or []
    as_text = [column[0] for column in description if str(column[1]) == "JSON"]
    if not as_text:
        return f"select * from {table}"
    replaced = ", ".join(f"{name}::varchar as {name}" for name in as_text)
    return f"select * replace ({replaced}) from {table}"


def _moment_check(as_of: date, known_at: datetime) -> str:
    """A scalar macro the exported X_at macros call: an export holds one D and T only."""
    d, t = as_of.isoformat(), known_at.astimezone(UTC).isoformat()
    return (
        "create or replace macro learningloop_export_moment(as_of, known_at) as case "
        f"when coalesce(as_of, date '{d}') = date '{d}' "
        f"and coalesce(known_at, timestamptz '{t}') = timestamptz '{t}' then true "
        f"else error('this export holds the tables at as_of {d}, known_at {t} only') end"
    )


def _export_macros(tables: Sequence[str], as_of: date, known_at: datetime) -> list[str]:
    return [_moment_check(as_of, known_at)] + [
        f"create or replace macro {table}_at(as_of, known_at) as table "
        f"select * from {table} where learningloop_export_moment(as_of, known_at)"
        for table in tables
    ]


def _load_sql(tables: list[str], as_of: date, known_at: datetime) -> str:
    """One `create view` per Parquet file and the X_at macros, for any DuckDB from 1.4."""
    header = (
        f"-- learningloop export: every table as of {as_of.isoformat()}, as known at "
        f"{known_at.astimezone(UTC).isoformat()}.\n"
        "-- Run from this directory: duckdb -init load.sql   (or: duckdb my.duckdb < load.sql)\n"
        "-- X_at(as_of, known_at) answers for that D and T only (NULL means them).\n"
    )
    views = [
        f"create or replace view {table} as select * from read_parquet('{table}.parquet')"
        for table in tables
    ]
    return header + "".join(f"{statement};\n" for statement in views
                            + _export_macros(tables, as_of, known_at))  # fmt: skip


def _export_database(
    con: duckdb.DuckDBPyConnection,
    selects: dict[str, str],
    path: Path,
    as_of: date,
    known_at: datetime,
) -> None:
    """A self-contained DuckDB file in DuckDB 1.4's format: tables, X_at macros, manifest."""
    for stale in (path, path.with_name(path.name + ".wal")):
        stale.unlink(missing_ok=True)
    home = con.execute("select current_database()").fetchall()[0][0]
    con.execute(
        f"attach '{_quoted(str(path))}' as learningloop_export "
        f"(read_only false, storage_version '{STORAGE_COMPATIBILITY}')"
    )
    try:
        for table, select in selects.items():
            con.execute(f"create table learningloop_export.main.{table} as {select}")
        con.execute(
            "create table learningloop_export.main.export_manifest as select "
            "?::date as as_of, ?::timestamptz as known_at, "
            "(select position from projection_tracking) as log_position",
            [as_of, known_at],
        )
        con.execute("use learningloop_export")
        for statement in _export_macros(list(selects), as_of, known_at):
            con.execute(statement)
    finally:
        con.execute(f'use "{home}"')
        con.execute("detach learningloop_export")


def _quoted(text: str) -> str:
    """Text inside a single-quoted SQL literal."""
    return text.replace("'", "''")
