"""An exact cache of the indicators' result rows, in files beside the projection file.

The indicators at (D, T) are a pure function of what the projection file holds up to its
tracking position P, of D, and of T only through the events T hides: once T is at or past
the latest `recorded_at` of the rows up to P (a retraction is one of them), every T answers
alike ("head"). So the answer is keyed by P, the file's projection versions (each with the
moment it was applied: a rebuild or a new schema changes them), D, "head", the what-if
framework, the query texts and the engine's versions, all read in the very read-only
transaction that would answer. Any T before the head is computed, never cached. After new
events, the answer of an earlier P with the same key otherwise gives the rows of the
experiments they did not touch (indicator_delta).

One file per key, `cache/indicators-<sha256 of the key>.arrow`: each query's rows as an Arrow
IPC stream, then a JSON footer (the key, where each stream lies, its DuckDB types, a CRC of
the streams), written under a temporary name then renamed. A file that cannot be read, does
not match its key or fails its CRC is ignored; a directory that cannot be written means no
caching. The files of an encrypted store hold plaintext: they are private (0600) like the
projection file; otherwise they get what the umask gives. Deleting them is always safe.
Cached rows are Arrow tables registered on the answering connection, typed as the views
type them, and reach the output through the same RowStream code.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from learningloop import (
    indicator_delta,
    indicator_files,
    indicator_framing,
    indicator_keys,
    indicator_renditions,
    results,
)
from learningloop.indicator_keys import read_key

CACHE_DIRECTORY = indicator_framing.CACHE_DIRECTORY


@dataclass(frozen=True)
class Cached:
    """One query's rows and the DuckDB type of each column, as the view gave them."""

    table: pa.Table
    kinds: list[str]


def directory_of(database: Path) -> Path:
    """Where the cache files of a projection file live."""
    return database.parent / CACHE_DIRECTORY


@contextmanager
def cached_streams(
    con: duckdb.DuckDBPyConnection,
    queries: dict[str, str],
    context: dict[str, Any],
    *,
    directory: Path,
    private: bool,
    warm: dict[str, Any] | None = None,
) -> Iterator[dict[str, results.RowStream]]:
    """The rows of `queries` on `con` (already at D and T, in its transaction), from the cache
    when it holds them, else computed (and cached when T is at the head). `context`: what
    else decides the answer (the file, its position P, the what-if framework). `warm`, when
    given, is filled once the block ran to its end with what indicator_warm.note needs."""
    key = read_key(con, queries, context)
    if key is None:  # T before the head: as uncached reads always did
        yield {name: results.open_stream(con, sql, []) for name, sql in queries.items()}
        return
    path = directory / f"{indicator_keys.stem(key)}.arrow"
    tables, merge = load(path, key), None
    if tables is None:
        tables, merge = _computed(con, queries, path, key, private)
    else:
        with contextlib.suppress(OSError):  # the newest files are the ones kept
            os.utime(path)
    csv = directory / f"{indicator_keys.stem(key)}.csv"
    renditions = indicator_renditions.Renditions(csv, key, private, merge)
    yield _streams(con, tables, renditions)
    renditions.save()  # only when the block ran to its end: never a partial rendition
    if merge is not None:
        indicator_framing.prune(directory)  # the merged answers' small rendition files
    if warm is not None:
        last, until = con.execute(
            "select max(recorded_at), max(occurred_until) from log_events"
        ).fetchall()[0]
        warm.update(
            rendition=csv,
            as_of=json.loads(key)["as_of"],
            last_recorded=None if last is None else last.isoformat(),
            last_until=None if until is None else until.isoformat(),
            columns=[(name, cached.table.column_names) for name, cached in tables.items()],
        )


def load(path: Path, key: str, *, check: bool = True) -> dict[str, Cached] | None:
    """The tables a cache file holds for `key`; None when it is missing, unreadable, written
    for another key or damaged (`check`: its CRC too; not for the file this process just
    wrote)."""
    opened = indicator_files.opened(path, key, check=check)
    if opened is None:
        return None
    data, parts = opened
    try:
        return {
            part["name"]: Cached(
                pa.ipc.open_stream(data.slice(part["offset"], part["length"])).read_all(),
                list(part["kinds"]),
            )
            for part in parts
        }
    except indicator_files.ERRORS:
        return None


def _computed(
    con: duckdb.DuckDBPyConnection, queries: dict[str, str], path: Path, key: str, private: bool
) -> tuple[dict[str, Cached], indicator_delta.Merge | None]:
    """Each query's rows, written to the cache on the way when its directory allows (then
    served from that file, as a later command would be), else held in memory; or merged from
    an earlier position's file, in memory (with that merge)."""

    # after new events, when an earlier answer is cached: only the experiments touched
    merge = indicator_delta.plan(con, queries, key, lambda: _keys(path.parent), _tables)
    if merge is not None:
        # not written: the next position merges from the same base again (the experiments
        # touched since it, which a later answer would have to list anyway), and rewriting
        # every row (~44 MiB at 10M events) cost more than the merge
        for base in (merge.base, merge.base.with_suffix(".csv")):
            with contextlib.suppress(OSError):
                os.utime(base)  # the newest files are the ones kept: the base stays
        return {name: Cached(spliced.table, spliced.kinds)
                for name, spliced in merge.tables.items()}, merge  # fmt: skip

    def sections(sink: indicator_files.Summed) -> list[dict[str, Any]]:
        parts = []
        for name, sql in queries.items():
            start = sink.tell()
            with results.duckdb_errors():
                relation = con.sql(sql)
                kinds = [str(kind) for kind in relation.types]
                reader = relation.to_arrow_reader(results.STREAM_ROWS)
                with pa.ipc.new_stream(sink, reader.schema) as writer:
                    for batch in reader:  # batch by batch: memory stays flat
                        writer.write_batch(batch)
            parts.append({"name": name, "offset": start, "length": sink.tell() - start,
                          "kinds": kinds})  # fmt: skip
        return parts

    try:
        temporary = indicator_files.written(path.parent, private, key, sections)
    except OSError:  # a read-only directory, a full disk: the rows are answered all the same
        return {name: _rows(con, sql) for name, sql in queries.items()}, None
    # mapped before the rename, so pruning cannot take it away
    tables = load(temporary, key, check=False)
    try:
        if tables is None:
            raise OSError(f"{temporary} does not read back")
        os.replace(temporary, path)
    except OSError:
        temporary.unlink(missing_ok=True)
        return tables or {name: _rows(con, sql) for name, sql in queries.items()}, None
    indicator_framing.prune(path.parent)
    return tables, merge


def _keys(directory: Path) -> dict[Path, str]:
    """The key of each cache file of rows in `directory`."""
    return indicator_keys.file_keys(directory, "indicators-*.arrow")


def _tables(path: Path, key: str) -> dict[str, tuple[pa.Table, list[str]]] | None:
    tables = load(path, key)
    return None if tables is None else {n: (c.table, c.kinds) for n, c in tables.items()}


def _rows(con: duckdb.DuckDBPyConnection, sql: str) -> Cached:
    with results.duckdb_errors():
        relation = con.sql(sql)
        return Cached(relation.to_arrow_table(), [str(kind) for kind in relation.types])


def _streams(
    con: duckdb.DuckDBPyConnection,
    tables: dict[str, Cached],
    renditions: indicator_renditions.Renditions,
) -> dict[str, results.RowStream]:
    """Each table as a stream over the connection, every column typed as the view typed it
    (an Arrow round trip may lose a DuckDB type, JSON say: it is cast back)."""
    streams: dict[str, results.RowStream] = {}
    for index, (name, cached) in enumerate(tables.items()):
        view = f"learningloop_cached_{index}"
        sql = indicator_renditions.typed(con, view, cached.table, cached.kinds)
        streams[name] = indicator_renditions.CachedStream(con, sql, name, renditions, cached.table)
    return streams
