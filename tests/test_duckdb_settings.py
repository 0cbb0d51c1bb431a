"""DuckDB's settings and its core, without the duckdb package: the same engine, the same
version, the same settings as the package's connections get."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from learningloop import duckdb_settings
from learningloop.errors import BadInputError


def test_the_core_connects_as_the_package_does() -> None:
    assert duckdb_settings.core().connect is duckdb.connect


def test_the_version_read_without_the_package_is_the_package_version() -> None:
    assert duckdb_settings.package_version() == duckdb.__version__
    assert duckdb_settings.in_range(duckdb.__version__)
    assert not duckdb_settings.in_range("1.4.2") and not duckdb_settings.in_range("3.0.0")


def test_a_file_header_says_its_storage_number(tmp_path: Path) -> None:
    assert duckdb_settings.header_storage_number(tmp_path / "none.duckdb") == 0
    (tmp_path / "other").write_bytes(b"not a database at all")
    assert duckdb_settings.header_storage_number(tmp_path / "other") == 0
    database = tmp_path / "x.duckdb"
    settings = duckdb_settings.config(False, False, "512MiB")
    duckdb.connect(str(database), config=settings).close()
    assert duckdb_settings.header_storage_number(database) > 0
    assert duckdb_settings.header_storage_number(database) <= duckdb_settings.NEWEST_STORAGE_NUMBER


def test_a_locked_down_read_only_connection_reaches_no_other_file(tmp_path: Path) -> None:
    database = tmp_path / "x.duckdb"
    duckdb.connect(str(database)).close()
    settings = duckdb_settings.config(True, True, "512MiB")
    with duckdb_settings.core().connect(str(database), read_only=True, config=settings) as con:
        duckdb_settings.settle(con, locked_down=True)
        with pytest.raises(duckdb.Error):
            con.execute(f"copy (select 1) to '{tmp_path / 'out.csv'}'")
        with pytest.raises(duckdb.Error):
            con.execute("set enable_external_access = true")


@pytest.mark.parametrize(
    ("value", "accepted"),
    [("512MiB", True), ("1000000TB", True), ("1000001TB", False), ("9999999999TB", False)],
)
def test_a_memory_limit_beyond_any_machine_is_refused_before_duckdb_sees_it(
    value: str, accepted: bool
) -> None:
    if accepted:  # and DuckDB takes it
        limit = duckdb_settings.memory_limit(value, 2**30)
        duckdb.connect(config={"memory_limit": limit}).close()
    else:
        with pytest.raises(BadInputError, match="is more than any machine has"):
            duckdb_settings.memory_limit(value, 2**30)
