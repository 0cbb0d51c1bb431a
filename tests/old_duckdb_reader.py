"""Read a projection file with another DuckDB, as an analyst's own client would.

Run by tests/test_projector_compatibility.py with the Python of a venv holding an older
duckdb: `python old_duckdb_reader.py FILE D T NAME...` prints, as JSON, for each NAME the rows
of the view (under the variables as_of = D, known_at = T) and of the macro NAME_at(D, T).
Only duckdb and the standard library are imported: learningloop is not installed there.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any


def plain(value: Any) -> Any:
    """A value as JSON-ready data that two DuckDB versions (or Python and DuckDB) agree on."""
    if isinstance(value, datetime):
        return (value.astimezone(UTC) if value.tzinfo else value).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, list | tuple):
        return [plain(item) for item in value]
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    return value


def plain_rows(rows: list[tuple[Any, ...]], json_columns: list[int]) -> list[Any]:
    """Rows as plain data, JSON text parsed, in a stable order."""
    parsed = [
        [json.loads(v) if i in json_columns and isinstance(v, str) else v for i, v in enumerate(r)]
        for r in rows
    ]
    return sorted((plain(row) for row in parsed), key=lambda row: json.dumps(row, sort_keys=True))


def _read(con: Any, sql: str, parameters: list[Any]) -> list[Any]:
    cursor = con.execute(sql, parameters)
    json_columns = [i for i, column in enumerate(cursor.description) if str(column[1]) == "JSON"]
    return plain_rows(cursor.fetchall(), json_columns)


def main(database: str, as_of: str, known_at: str, names: list[str]) -> None:
    import duckdb

    con = duckdb.connect(database, read_only=True)
    con.execute("set variable as_of = ?::date", [as_of])
    con.execute("set variable known_at = ?::timestamptz", [known_at])
    macro = "select * from {}_at(?::date, ?::timestamptz)"
    answers = {
        name: {
            "view": _read(con, f"select * from {name}", []),
            "macro": _read(con, macro.format(name), [as_of, known_at]),
        }
        for name in names
    }
    print(json.dumps({"duckdb": duckdb.__version__, "answers": answers}))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:])
