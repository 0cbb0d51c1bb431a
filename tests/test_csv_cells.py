"""The SQL of CSV lines: each row's line, then whatever else is asked beside it."""

from __future__ import annotations

import duckdb

from learningloop.csv_cells import csv_line_query


def test_a_line_comes_with_the_expressions_asked_beside_it() -> None:
    sql = "select * from (values ('a,b', 1), ('c', null)) t(name, n) order by name"
    query, values = csv_line_query(sql, ["name", "n"], ["VARCHAR", "INTEGER"], ["k", "n", "name"],
                                   {"k": "x"}, also=["#1"])  # fmt: skip
    with duckdb.connect() as con:
        assert con.execute(query, values).fetchall() == [('x,1,"a,b"\n', "a,b"), ("x,,c\n", "c")]
