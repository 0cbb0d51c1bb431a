"""The fingerprint of a projection file: any change to a stored table changes it, the order
of its rows does not."""

from __future__ import annotations

from collections.abc import Callable

import duckdb
import pytest

from learningloop.projection_checks import fingerprint

ROWS = "(1, 'exp-a', 'exp-b', 2), (2, 'exp-c', 'exp-d', 3), (3, 'exp-e', null, 5)"


def file_with(rows: str = ROWS, columns: str = "position bigint, a varchar, b varchar, n integer",
              ) -> duckdb.DuckDBPyConnection:  # fmt: skip
    con = duckdb.connect()
    con.execute(f"create table stg_things ({columns})")
    con.execute(f"insert into stg_things values {rows}")
    return con


def table_digest(con: duckdb.DuckDBPyConnection, up_to: int | None = None) -> str:
    return fingerprint(con, up_to)["table stg_things"]


CHANGES: dict[str, Callable[[duckdb.DuckDBPyConnection], object]] = {
    "a value": lambda con: con.execute("update stg_things set n = 4 where position = 2"),
    "a null filled": lambda con: con.execute("update stg_things set b = '' where position = 3"),
    "values swapped between columns": lambda con: con.execute(
        "update stg_things set a = b, b = a where position = 1"
    ),
    "a row duplicated": lambda con: con.execute(
        "insert into stg_things select * from stg_things where position = 1"
    ),
    "a row deleted": lambda con: con.execute("delete from stg_things where position = 2"),
    "a column renamed": lambda con: con.execute("alter table stg_things rename n to m"),
    "a column's type": lambda con: con.execute("alter table stg_things alter n type bigint"),
}


@pytest.mark.parametrize("change", sorted(CHANGES))
def test_any_change_to_a_stored_table_changes_its_fingerprint(change: str) -> None:
    con = file_with()
    before = table_digest(con)
    CHANGES[change](con)
    assert table_digest(con) != before


def test_the_order_of_the_rows_does_not_count() -> None:
    reordered = "(3, 'exp-e', null, 5), (1, 'exp-a', 'exp-b', 2), (2, 'exp-c', 'exp-d', 3)"
    assert table_digest(file_with(reordered)) == table_digest(file_with())


def test_rows_past_the_audited_position_do_not_count() -> None:
    con = file_with()
    before = table_digest(con, up_to=3)
    con.execute("insert into stg_things values (4, 'exp-f', 'exp-g', 7)")
    assert table_digest(con, up_to=3) == before
    assert table_digest(con) != before
