"""What names an answer of the indicators in the cache (indicator_cache) and which earlier
answer a later one merges from (indicator_delta), without pyarrow: `indicators --format csv`
after new events (indicator_after) reads the same keys and must not load it."""

from __future__ import annotations

import hashlib
import json
import mmap
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from learningloop import __version__
from learningloop.duckdb_settings import package_version
from learningloop.indicator_framing import parsed_footer
from learningloop.sqlfiles import TABLE_ORDER

if TYPE_CHECKING:
    import duckdb

FORMAT = "learningloop-indicators-1"
INDICATOR_TABLES = (
    "experiment_coverage",
    "function_coverage",
    "commitment_cadence",
    "review_completion",
    "milestones",
    "learning_loops",
)


def stem(key: str) -> str:
    """The name of a key's cache files, without their suffix (.arrow: rows, .csv: lines)."""
    return f"indicators-{hashlib.sha256(key.encode()).hexdigest()}"


def indicator_queries() -> dict[str, str]:
    """The queries of `indicators` (but its table format), as a key names them."""
    return {name: f"select * from {name} order by {TABLE_ORDER[name]}" for name in INDICATOR_TABLES}


def read_key(
    con: duckdb.DuckDBPyConnection, queries: dict[str, str], context: dict[str, Any]
) -> str | None:
    """What decides the answer at the connection's (D, T), or None when T hides an event."""
    as_of, at_head = con.execute(
        "select (select as_of from moment), "
        "coalesce((select known_at from moment) >= (select max(recorded_at) from log_events), "
        "true)"
    ).fetchall()[0]
    if not at_head:
        return None
    versions = con.execute(
        "select projection, version, applied_at::varchar from projection_versions "
        "order by projection"
    ).fetchall()
    parts = {
        "format": FORMAT,
        "learningloop": __version__,
        "duckdb": engine_version(),
        "versions": [list(row) for row in versions],
        "as_of": as_of.isoformat(),
        "known_at": "head",
        "queries": queries,
        **context,
    }
    return json.dumps(parts, sort_keys=True, default=str)


def engine_version() -> str:
    """The duckdb package's version, as a key names it: from its distribution's name (importing
    the package costs a call that does not need it ~0.25 s), else from the package itself."""
    found = package_version()
    if found is None:
        import duckdb

        found = duckdb.__version__
    return found


@dataclass(frozen=True)
class Earlier:
    """A cached answer of the same key at an earlier position."""

    path: Path
    position: int


def earlier(key: str, keys: dict[Path, str]) -> Earlier | None:
    """Among cache files and their keys, the one whose key differs from `key` only by an
    earlier position, the latest such position; None when there is none."""
    wanted = json.loads(key)
    position = wanted.pop("position", None)
    best = None
    for path, found in keys.items():
        parts = json.loads(found)
        at = parts.pop("position", None)
        if parts != wanted or not isinstance(at, int) or not isinstance(position, int):
            continue
        if at < position and (best is None or at > best.position):
            best = Earlier(path, at)
    return best


def footer(path: Path) -> dict[str, Any] | None:
    """A cache file's footer (its key, sections, CRC); None when the file is not one."""
    try:
        with (
            path.open("rb") as file,
            mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ) as data,
            memoryview(data) as view,
        ):
            found = parsed_footer(view)[0]
    except (OSError, ValueError):
        return None
    return found if isinstance(found.get("key"), str) else None


def file_keys(directory: Path, pattern: str) -> dict[Path, str]:
    """The key of each cache file in `directory` whose name matches `pattern`."""
    found = {path: footer(path) for path in directory.glob(pattern)}
    return {path: parts["key"] for path, parts in found.items() if parts is not None}
