"""The settings of learningloop's DuckDB connections and what a projection file's header says,
without importing the duckdb package: its Python layer (relations, and its version read through
importlib.metadata) costs ~0.25 s of CPU to import, and `indicators --format csv` after new
events (indicator_after) needs DuckDB's compiled core alone (`core()`)."""

from __future__ import annotations

import importlib
import importlib.util
import os
import re
from pathlib import Path
from types import ModuleType
from typing import Any

from learningloop.errors import BadInputError

# The projection file is written in DuckDB 1.4's storage format, so that every DuckDB from 1.4
# on (Python, CLI, harlequin, dbt) opens it. A file whose header says a newer format (written
# by an earlier learningloop) is rebuilt in this one.
STORAGE_COMPATIBILITY = "v1.4.0"
OLDEST_READER = "1.4"
NEWEST_STORAGE_NUMBER = 67  # the header's version number that DuckDB 1.4 still reads
# The DuckDB this package writes and queries with (pyproject.toml declares the same range).
ENGINE_RANGE = ((2, 0, 1), (3, 0, 0))
# DuckDB's own default (80 % of the machine) would let one query crowd out everything else;
# this share keeps a command with its Python side under ~1.5 GiB on a 24 GiB machine.
MEMORY_SHARE = 0.04
MINIMUM_MEMORY = 512 * 2**20

Config = dict[str, str | bool | int | float | list[str]]


def config(read_only: bool, locked_down: bool, memory_limit: str) -> Config:
    """The settings of a learningloop connection, all given to connect(): a caller's DuckDB
    instance (another config) is never shared, so never altered."""
    # Bounded memory however long the log: DuckDB spills to disk past this.
    found: Config = {"memory_limit": memory_limit}
    if not read_only:
        found["storage_compatibility_version"] = STORAGE_COMPATIBILITY
    if locked_down:
        found["enable_external_access"] = False
    return found


def settle(con: Any, locked_down: bool) -> Any:
    """The two settings connect() cannot take. The progress bar (on stdout, which is for data)
    is a session setting; the lock comes after it. The instance is ours alone: a connection
    of the caller's to the same file has another config, and connect() refuses to share."""
    con.execute("set enable_progress_bar = false")
    if locked_down:
        con.execute("set lock_configuration = true")
    return con


def header_storage_number(database: Path) -> int:
    """The storage version number in a DuckDB file's header (0 when there is no file). Reading
    it opens the file: see duckdb_file.storage_number for a file this process holds."""
    try:
        with database.open("rb") as file:
            header = file.read(20)
    except FileNotFoundError:
        return 0
    if len(header) < 20 or header[8:12] != b"DUCK":
        return 0
    return int.from_bytes(header[12:20], "little")


def machine_memory() -> int:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError):  # not POSIX: assume a small machine
        return 8 * 2**30


MAXIMUM_MEMORY = 10**18  # 1,000,000 TB: DuckDB takes it; far more, and it cannot


def memory_limit(value: str | None, total_memory: int) -> str:
    """The DuckDB memory limit: `value` (such as 2GB, 512MiB) or a share of the machine's."""
    if value is None or not value.strip():
        return f"{max(MINIMUM_MEMORY, int(total_memory * MEMORY_SHARE)) // 2**20}MiB"
    size = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([KMGT])(i?)B\s*", value, flags=re.I)
    if not size:
        raise BadInputError(
            f"LEARNINGLOOP_MEMORY_LIMIT / --memory-limit: {value!r} is not a size such as "
            "512MB or 4GB"
        )
    number, unit, binary = size.groups()
    power = "KMGT".index(unit.upper()) + 1
    if float(number) * (1024 if binary else 1000) ** power > MAXIMUM_MEMORY:
        # DuckDB refuses a value beyond its range with a parser error as it connects
        raise BadInputError(
            f"LEARNINGLOOP_MEMORY_LIMIT / --memory-limit: {value.strip()[:40]!r} is more "
            "than any machine has (at most 1,000,000TB)"
        )
    return value.strip()


def package_version() -> str | None:
    """The installed duckdb package's version, from its distribution's directory name (what
    duckdb.__version__ reads through importlib.metadata, without loading either); None when
    that is not one clear name."""
    spec = importlib.util.find_spec("duckdb")
    if spec is None or not spec.submodule_search_locations:
        return None
    site = Path(next(iter(spec.submodule_search_locations))).parent
    names = [n for n in os.listdir(site) if n.startswith("duckdb-") and n.endswith(".dist-info")]
    return names[0].removeprefix("duckdb-").removesuffix(".dist-info") if len(names) == 1 else None


def in_range(version: str) -> bool:
    """Whether a duckdb package version is one learningloop works with (ENGINE_RANGE)."""
    found = tuple(int(part) for part in re.findall(r"\d+", version)[:3])
    return ENGINE_RANGE[0] <= found < ENGINE_RANGE[1]


def core() -> ModuleType:
    """DuckDB's compiled core, whose connect() and connections the duckdb package hands out
    as they are (`duckdb.connect is _duckdb.connect`), or the package when it has no such
    core (another layout): queries and their rows are the same either way."""
    try:
        return importlib.import_module("_duckdb")
    except ImportError:
        return importlib.import_module("duckdb")
