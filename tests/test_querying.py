"""querying: one statement's rows through learningloop's error classes."""

from __future__ import annotations

import duckdb
import pytest

from learningloop.errors import BadInputError, MemoryLimitError
from learningloop.querying import run


def test_a_query_out_of_memory_names_the_setting_not_an_sql_error() -> None:
    con = duckdb.connect()
    con.execute("set memory_limit = '32MB'; set threads = 1")
    # a list aggregate keeps every value in memory: it cannot spill
    with pytest.raises(MemoryLimitError, match="LEARNINGLOOP_MEMORY_LIMIT"):
        run(con, "select list(range::varchar) from range(20000000)", [])


def test_a_bad_query_is_an_sql_error() -> None:
    with pytest.raises(BadInputError, match=r"^SQL error: "):
        run(duckdb.connect(), "select nope from range(1)", [])
