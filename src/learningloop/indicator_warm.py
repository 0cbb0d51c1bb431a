"""`indicators --format csv` answered from the cache's files alone when nothing changed since
an earlier command answered it: no DuckDB, no pyarrow, no event model is loaded (at 10M
events those imports were most of a warm call's second).

An entry (`cache/warm-csv.json`) says what a command wrote and when that answer holds:
- the projection file is the very file it was (`fingerprint`: inode, size, modification
  time and the bytes of DuckDB's headers, whose checkpoint counter moves with every
  checkpoint; no write-ahead log beside it, where a commit not yet checkpointed would lie),
  taken before the answering connection opened and again after it closed, equal both times;
- the log's head is the position that file is projected to (the projections are current,
  so the usual path would answer from that file without writing it);
- D is the D answered (today in UTC by default; one given is not after the period of the
  last event, as then the usual path notes it on stderr); T, the default now, is at or past
  the latest `recorded_at` projected (so, as in indicator_cache, T hides nothing);
- the same learningloop, DuckDB and projection SQL; no cipher key, no memory setting, an
  unencrypted SQLite store (anything else goes the usual way, which checks it).
The bytes written are the CSV lines the cache's rendition file holds for the command's
layout (an overlay's pieces: of that file and of its base, each file checked by device, inode
and size); before anything is written, each file's bytes are checked against the CRC its
footer gave when the entry was noted (kept in the entry: noting reads no file through). Any
doubt, any error before the first byte: False, nothing written, and the usual path answers.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import mmap
import os
import sqlite3
import zlib
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from importlib import resources
from pathlib import Path
from typing import IO, Any

from learningloop import __version__
from learningloop.duckdb_settings import package_version
from learningloop.indicator_framing import (
    CACHE_DIRECTORY,
    MAGIC,
    file_identity,
    new_temporary,
    parsed_footer,
    write_sections,
)
from learningloop.locations import StoreLocation

ENTRIES = "warm-csv.json"
KEEP = 4  # entries kept: one a D answered lately
_HEADERS = 3 * 4096  # DuckDB's main header and its two database headers
ERRORS = (OSError, ValueError, KeyError, IndexError, TypeError, sqlite3.Error)


def fingerprint(database: Path, before_open: Sequence[Callable[[Path], object]] = ()) -> str | None:
    """What changes whenever the projection file's committed content does; None when there
    is no file or a write-ahead log lies beside it. Reading the headers opens the file, and
    DuckDB's lock is dropped when any fd of it closes: never call this while this process
    holds a connection on it (`before_open`: what releases one it keeps, duckdb_file's)."""
    for release in before_open:
        release(database.absolute())
    try:
        wal = database.with_name(database.name + ".wal")
        if wal.exists() and wal.stat().st_size:
            return None
        with database.open("rb") as file:
            found = os.fstat(file.fileno())
            headers = file.read(_HEADERS)
    except OSError:
        return None
    stamp = f"{found.st_dev}:{found.st_ino}:{found.st_size}:{found.st_mtime_ns}"
    return f"{stamp}:{hashlib.sha256(headers).hexdigest()}"


def sql_digest() -> str:
    """The projection SQL this learningloop ships (the usual path checks the definitions the
    file was built with against the same texts), hashed without parsing it."""
    package = resources.files("learningloop.projections")
    texts = sorted((entry.name, entry.read_bytes()) for entry in package.iterdir()
                   if entry.name.endswith(".sql"))  # fmt: skip
    digest = hashlib.sha256()
    for name, text in texts:
        digest.update(f"{name}\0{len(text)}\0".encode() + text)
    return digest.hexdigest()


def layout(columns: Sequence[tuple[str, Sequence[str]]]) -> list[str]:
    """The CSV columns `indicators` writes: `indicator`, then each table's new columns."""
    found = ["indicator"]
    for _, names in columns:
        found += [name for name in names if name not in found]
    return found


def csv_header(columns: Sequence[str]) -> bytes:
    import csv
    import io

    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow(columns)
    return buffer.getvalue().encode()


def note(
    directory: Path,
    rendition: Path,
    found: dict[str, Any],
    *,
    private: bool,
) -> None:
    """Keep an entry for the answer the rendition file holds in the command's layout, if it
    holds it (an overlay's pieces lie in it and in its base). `found`: database, fingerprint,
    position, as_of, last_recorded, last_until, columns. Each file's bytes are not read again:
    the entry keeps the CRC its footer gives, which `served` checks them against."""
    columns = [(name, list(names)) for name, names in found["columns"]]
    shared = layout(columns)
    header = csv_header(shared)
    try:
        with contextlib.ExitStack() as stack:
            files = [stack.enter_context(rendition.open("rb"))]
            footers = [_footer(files[0])]
            if not isinstance(footers[0].get("sections"), list):
                return  # a damaged footer
            parts = {part["spec"]: part for part in footers[0]["sections"]}
            specs = [json.dumps([name, shared, {"indicator": name}]) for name, _ in columns]
            if any(spec not in parts for spec in specs):
                return  # not rendered in this layout (another format was asked)
            sections = [piece for spec in specs for piece in _pieces(parts[spec])]
            base: dict[str, Any] = footers[0].get("base") or {}
            if any(file == 1 for file, _, _ in sections):
                files.append(stack.enter_context((directory / base["name"]).open("rb")))
                if _file_id(files[1])[:3] != base["id"]:
                    return  # not the file the overlay's pieces were taken from
                footers.append(_footer(files[1]))
            names = [rendition.name] + ([base["name"]] if len(files) > 1 else [])
            identities = [[name, *_file_id(file)] for name, file in zip(names, files, strict=True)]
        entry = {
            **{k: found[k] for k in ("database", "fingerprint", "position", "as_of")},
            "last_recorded": found["last_recorded"],
            "last_until": found["last_until"],
            "learningloop": __version__,
            "duckdb": package_version(),
            "sql": sql_digest(),
            "files": identities,
            "header": header.decode(),
            "sections": sections,
            "crcs": [int(footer["crc"]) for footer in footers],
        }
        kept = [e for e in _entries(directory) if e.get("as_of") != entry["as_of"]]
        _write(directory, [entry, *kept][:KEEP], private)
    except ERRORS:
        return


def _footer(file: IO[bytes]) -> dict[str, Any]:
    """An open cache file's footer (ValueError when it is not one)."""
    with mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ) as data, memoryview(data) as view:
        return parsed_footer(view)[0]


def _pieces(part: dict[str, Any]) -> list[list[int]]:
    """A rendition's byte ranges, as [file, offset, length] (file 0: the rendition's own, 1:
    an overlay's base)."""
    if "pieces" in part:
        return [[int(file), int(at), int(length)] for file, at, length in part["pieces"]]
    return [[0, int(part["offset"]), int(part["length"])]]


def _file_id(file: IO[bytes]) -> list[int]:
    """An open file's identity, as its JSON entry holds it (a list)."""
    return list(file_identity(os.fstat(file.fileno())))


def plain_store(
    store: str | None, projections: str | None, cipher_key: str | None, memory_limit: str | None
) -> StoreLocation | None:
    """The store's location when nothing but its files decides the answer: no cipher key and no
    memory setting given (as LearningLoop reads them: the usual path checks them), not on
    PostgreSQL; None otherwise."""
    limit = memory_limit or os.environ.get("LEARNINGLOOP_MEMORY_LIMIT") or ""
    if cipher_key or os.environ.get("LEARNINGLOOP_CIPHER_KEY") or limit.strip():
        return None
    try:
        location = StoreLocation.resolve(store, projections)
    except ERRORS:
        return None
    return None if location.is_postgres else location


def served(
    out: IO[bytes],
    *,
    as_of: date | None = None,
    store: str | None,
    projections: str | None,
    cipher_key: str | None,
    memory_limit: str | None,
) -> bool:
    """Write the answer of `indicators --format csv` at D (`as_of`, default today) and the
    default T when an entry holds it (see the module's docstring); False, nothing written,
    otherwise."""
    location = plain_store(store, projections, cipher_key, memory_limit)
    if location is None:
        return False
    with contextlib.ExitStack() as stack:
        try:
            database = location.projections_path
            entry = _entry_for(database.parent / CACHE_DIRECTORY, database, as_of)
            if entry is None or not _current(entry, database, location.events_path):
                return False
            files = []
            for name, *identity in entry["files"]:
                file = stack.enter_context((database.parent / CACHE_DIRECTORY / name).open("rb"))
                if _file_id(file) != identity:
                    return False
                files.append((file.fileno(), stack.enter_context(
                    mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ))))  # fmt: skip
            sections = entry["sections"]
            if not _whole([data for _, data in files], entry["crcs"], sections):
                return False
            header = entry["header"].encode()
        except ERRORS:
            return False
        write_sections(out, header, files, sections)  # checked: any error now is the output's
    return True


def _entry_for(directory: Path, database: Path, as_of: date | None) -> dict[str, Any] | None:
    """The entry of the file at D; None when there is none, or when D is after the period
    of every event projected (the usual path then says so on stderr: moment_notes)."""
    day = (as_of or datetime.now(UTC).date()).isoformat()
    wanted = str(database.absolute())
    for entry in _entries(directory):
        if entry.get("database") == wanted and entry.get("as_of") == day:
            last = entry["last_until"]
            return entry if as_of is None or last is None or day <= last else None
    return None


def _current(entry: dict[str, Any], database: Path, events: Path) -> bool:
    """Whether the entry's answer is the one the usual path would give now."""
    if entry["learningloop"] != __version__ or entry["sql"] != sql_digest():
        return False
    if entry["duckdb"] is None or entry["duckdb"] != package_version():
        return False
    last = entry["last_recorded"]
    if last is not None and datetime.now(UTC) < datetime.fromisoformat(last):
        return False  # T (now) would hide an event
    before = fingerprint(database)
    if before is None or before != entry["fingerprint"]:
        return False
    if log_head(events) != entry["position"]:
        return False
    return fingerprint(database) == before


def log_head(events: Path) -> int | None:
    """The log's head, read as eventlog does; None for an encrypted store (the usual path
    asks for its key) or a file that is not a store."""
    if not events.exists():
        return None
    uri = f"{events.absolute().as_uri()}?mode=ro"
    with contextlib.closing(sqlite3.connect(uri, uri=True)) as con:
        checks = con.execute("select value from learningloop_meta where name = 'key_check'")
        if checks.fetchall() != [("",)]:
            return None
        head = con.execute("select max(rowid) from stored_events").fetchall()[0][0]
        return int(head or 0)


def _whole(maps: Sequence[mmap.mmap], crcs: Sequence[int], sections: list[list[int]]) -> bool:
    """Whether each mapped cache file's bytes (between its MAGIC and its footer) have the CRC
    the entry kept, and every section lies in its file."""
    if len(crcs) != len(maps):
        return False
    for data, crc in zip(maps, crcs, strict=True):
        with memoryview(data) as view:
            _, end, length = parsed_footer(view)
            with view[len(MAGIC) : end - length] as body:
                if zlib.crc32(body) != crc:
                    return False
    return all(offset >= 0 and length >= 0 and offset + length <= len(maps[file])
               for file, offset, length in sections)  # fmt: skip


def _entries(directory: Path) -> list[dict[str, Any]]:
    try:
        found = json.loads((directory / ENTRIES).read_bytes())
    except (OSError, ValueError):
        return []
    return [e for e in found if isinstance(e, dict)] if isinstance(found, list) else []


def _write(directory: Path, entries: list[dict[str, Any]], private: bool) -> None:
    """The entries, written under a temporary name (pruned like the cache's own if a killed
    process leaves it) then renamed: a reader sees the old file or the new one, whole."""
    temporary = new_temporary(directory, private)
    try:
        with temporary.open("wb") as file:
            file.write(json.dumps(entries).encode())
        os.replace(temporary, directory / ENTRIES)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
