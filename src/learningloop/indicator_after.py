"""`indicators --format csv` after new events, with the projections current: the CSV lines of
the answer cached at an earlier position for the experiments the events left alone, and the
lines of those they touched rendered afresh by DuckDB, without pyarrow, numpy or the event
models (at 10M events their imports were half of such a call's second).

It answers exactly what the usual path answers (indicator_cache, then indicator_delta and
indicator_renditions: the same key, the same experiments touched, the same queries for them,
the same CSV cells) and leaves the cache as it would: the merged answer as an overlay of its
base's lines, and a warm entry (indicator_warm) for the next call. The earlier answer is a
rendition file of the same key at an earlier position that is not itself an overlay; its
bytes are checked against its CRC before anything is written, and a touched experiment's run
of lines is found by bisection over its `experiment` cells, read from the lines themselves
(`order by experiment`: byte order, nulls last; each joint and the fresh lines are checked).

Only when nothing is in doubt: a plain SQLite store (no cipher key, no memory setting), a
projection file current with the log and this learningloop's definitions, no what-if
framework, T the default, D not after the last event's period, a cache directory holding
such a base, at most indicator_delta.MAX_TOUCHED experiments touched, none without a key, no
empty `experiment` cell. Anything else, any error before the first byte: False, nothing
written, and the usual path answers (and says what the user did wrong, if anything).
"""

from __future__ import annotations

import bisect
import contextlib
import itertools
import json
import mmap
import os
import zlib
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from learningloop import (
    duckdb_settings,
    indicator_delta,
    indicator_framing,
    indicator_keys,
    indicator_warm,
)
from learningloop.csv_cells import csv_line_query
from learningloop.duckdb_settings import NEWEST_STORAGE_NUMBER
from learningloop.errors import LearningLoopError
from learningloop.indicator_framing import FOOTER_LENGTH, MAGIC, parsed_footer
from learningloop.sqlfiles import load_sql_files

if TYPE_CHECKING:  # never imported here: DuckDB's core answers (duckdb_settings.core)
    import duckdb


class _Unsure(Exception):
    """Something the usual path must answer (a cell that may be NULL, an order not kept)."""


@dataclass(frozen=True)
class Base:
    """The earlier answer's rendition file, open and mapped, its bytes checked."""

    path: Path
    file: IO[bytes]
    data: mmap.mmap
    identity: tuple[int, int, int]
    parts: dict[str, dict[str, Any]]
    position: int
    key: str


@dataclass(frozen=True)
class Table:
    """One table's answer: its rows' lines as pieces of the base's lines (file 1) and of the
    fresh lines (`fresh`, file 0 from `at` on in the overlay written)."""

    spec: str
    rows: int
    fresh: bytes
    pieces: list[tuple[bool, int, int]]  # (fresh?, start, stop): bytes of fresh or of the base


@dataclass(frozen=True)
class Answer:
    key: str
    base: Base
    tables: list[Table]
    header: bytes
    noted: dict[str, Any]  # what indicator_warm.note needs but the file's fingerprint


def served(
    out: IO[bytes],
    *,
    as_of: date | None = None,
    store: str | None,
    projections: str | None,
    cipher_key: str | None,
    memory_limit: str | None,
) -> bool:
    """Write the answer of `indicators --format csv` at D (`as_of`, default today) merged from
    an earlier answer (see the module's docstring); False, nothing written, otherwise."""
    location = indicator_warm.plain_store(store, projections, cipher_key, memory_limit)
    if location is None:
        return False
    database = location.projections_path
    directory = database.parent / indicator_framing.CACHE_DIRECTORY
    core: Any = None
    with contextlib.ExitStack() as stack:
        try:
            before = indicator_warm.fingerprint(database)
            head = indicator_warm.log_head(location.events_path)
            if before is None or head is None or not directory.is_dir():
                return False
            version = duckdb_settings.package_version()
            if version is None or not duckdb_settings.in_range(version):
                return False  # the usual path says which duckdb it needs
            if duckdb_settings.header_storage_number(database) > NEWEST_STORAGE_NUMBER:
                return False
            core = duckdb_settings.core()
            answer = _answered(core, database, directory, as_of, head, stack)
            if answer is None:
                return False
            overlay, file, sections = _overlay(directory, answer, stack)
        except (*indicator_warm.ERRORS, LearningLoopError, _Unsure):
            return False
        except Exception as error:  # DuckDB's errors: its core's classes, not imported here
            if core is not None and isinstance(error, core.Error):
                return False
            raise
        files = [file, (answer.base.file.fileno(), answer.base.data)]
        indicator_framing.write_sections(out, answer.header, files, sections)
        if indicator_warm.fingerprint(database) == before:
            noted = {**answer.noted, "fingerprint": before}
            indicator_warm.note(directory, overlay, noted, private=False)
    return True


def _answered(
    core: Any,
    database: Path,
    directory: Path,
    as_of: date | None,
    head: int,
    stack: contextlib.ExitStack[bool | None],
) -> Answer | None:
    """The merged answer, read on one read-only connection (closed before it returns), set as
    duckdb_file sets one (a file locked by a writer: an error, and the usual path waits)."""
    limit = duckdb_settings.memory_limit(None, duckdb_settings.machine_memory())
    settings = duckdb_settings.config(read_only=True, locked_down=True, memory_limit=limit)
    opened = core.connect(str(database), read_only=True, config=settings)
    with contextlib.closing(opened) as con:
        duckdb_settings.settle(con, locked_down=True)
        con.execute("begin transaction")  # one snapshot (read-only: nothing to roll back)
        if not _current(con, head):
            return None
        if as_of is not None:  # as querying.set_moment; T: the default (now)
            con.execute("set variable as_of = ?::date", [as_of])
        last, until = con.execute(
            "select max(recorded_at), max(occurred_until) from log_events"
        ).fetchall()[0]
        if as_of is not None and until is not None and as_of > until:
            return None  # the usual path notes it on stderr
        queries = indicator_keys.indicator_queries()
        context = {"database": str(database.absolute()), "position": head, "framework": "None"}
        key = indicator_keys.read_key(con, queries, context)
        base = None if key is None else _base(directory, key, stack)
        if key is None or base is None or not indicator_delta.mergeable(queries):
            return None
        touched = indicator_delta.changed_experiments(con, base.position)
        if touched is None or None in touched.experiments:
            return None
        tables, columns = _tables(con, queries, touched, base)
    shared = indicator_warm.layout(columns)
    noted = {
        "database": context["database"],
        "position": head,
        "as_of": json.loads(key)["as_of"],
        "last_recorded": None if last is None else last.isoformat(),
        "last_until": None if until is None else until.isoformat(),
        "columns": columns,
    }
    return Answer(key, base, tables, indicator_warm.csv_header(shared), noted)


def _current(con: duckdb.DuckDBPyConnection, head: int) -> bool:
    """Whether the file is projected to the log's head with this learningloop's definitions
    (else the usual path catches it up or rebuilds it first). A file without the schema
    fails here or in a later query (a CatalogException: the usual path answers); asking
    duckdb_tables() first, as duckdb_file.has_schema does, cost ~40 ms at 10M events."""
    versions = dict(con.execute("select projection, version from projection_versions")
                    .fetchall())  # fmt: skip
    if any(versions.get(f.name) != f.version for f in load_sql_files()):
        return False
    found = con.execute("select position from projection_tracking").fetchall()
    return bool(found) and int(found[0][0]) == head


def _base(directory: Path, key: str, stack: contextlib.ExitStack[bool | None]) -> Base | None:
    """The latest rendition of the same key at an earlier position that is no overlay, mapped
    and checked (its CRC), or None."""
    footers = {path: indicator_keys.footer(path) for path in directory.glob("indicators-*.csv")}
    keys = {path: found["key"] for path, found in footers.items()
            if found is not None and not found.get("base")}  # fmt: skip
    earlier = indicator_keys.earlier(key, keys)
    if earlier is None:
        return None
    file = stack.enter_context(earlier.path.open("rb"))
    data = stack.enter_context(mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ))
    with memoryview(data) as view:
        found, end, length = parsed_footer(view)
        with view[len(MAGIC) : end - length] as body:
            if found.get("key") != keys[earlier.path] or zlib.crc32(body) != found.get("crc"):
                return None
    parts = {part["spec"]: part for part in found["sections"] if "offset" in part}
    identity = indicator_framing.file_identity(os.fstat(file.fileno()))
    return Base(earlier.path, file, data, identity, parts, earlier.position, found["key"])


def _tables(
    con: duckdb.DuckDBPyConnection,
    queries: dict[str, str],
    touched: indicator_delta.Touched,
    base: Base,
) -> tuple[list[Table], list[tuple[str, list[str]]]]:
    """Each table's pieces: the touched experiments' lines rendered as the usual path renders
    them (one layout for every table, each cell as results.csv_line_query writes it), spliced
    into the base's lines."""
    indicator_delta.stage(con, touched)
    fresh = {name: indicator_delta.fresh_query(sql, touched, staged=True)
             for name, sql in queries.items()}  # fmt: skip
    # each column and its type as DESCRIBE names them (what str() of a relation's types
    # gives, test_indicator_after: relations belong to the duckdb package, not loaded here)
    described = {name: con.execute(f"describe {sql}").fetchall() for name, sql in fresh.items()}
    columns = [(name, [row[0] for row in rows]) for name, rows in described.items()]
    shared = indicator_warm.layout(columns)
    tables = []
    for name, names in columns:
        spec = json.dumps([name, shared, {"indicator": name}])
        kinds = [str(row[1]) for row in described[name]]
        if spec not in base.parts or "experiment" not in names:
            raise _Unsure(f"{name}: no lines in this layout")
        experiment = f"#{names.index('experiment') + 1}"
        query, values = csv_line_query(fresh[name], names, kinds, shared, {"indicator": name},
                                       also=[experiment])  # fmt: skip
        lines = con.execute(query, values or None).fetchall()
        tables.append(_spliced(spec, base, lines, touched, shared.index("experiment")))
    return tables, columns


def _spliced(
    spec: str,
    base: Base,
    lines: list[tuple[str, str | None]],
    touched: indicator_delta.Touched,
    field: int,
) -> Table:
    """The base's lines of table `spec` with each touched experiment's run replaced by its
    fresh lines (`lines`: each with its experiment), where `order by experiment` puts them."""
    with _Cells(base, base.parts[spec], field) as cells:
        return _pieces(spec, cells, lines, touched)


def _pieces(
    spec: str, cells: _Cells, lines: list[tuple[str, str | None]], touched: indicator_delta.Touched
) -> Table:
    """As indicator_delta._spliced splices rows: runs found by bisection, joints checked."""
    fresh = [line.encode() for line, _ in lines]
    starts = [0, *itertools.accumulate(len(line) for line in fresh)]
    experiments = [experiment for _, experiment in lines if experiment is not None]
    if len(experiments) != len(lines) or not indicator_delta.ordered([*experiments]):
        raise _Unsure("fresh lines without an experiment or out of order")
    keys = sorted({k for k in touched.experiments if k is not None}, key=lambda k: k.encode())
    rows: list[tuple[bool, int, int]] = []  # (fresh?, first row, past the last)
    done = 0
    for key in keys:
        start = bisect.bisect_left(cells, key)
        count = bisect.bisect_right(cells, key, lo=start) - start
        first = bisect.bisect_left(experiments, key)
        if start < done:
            raise _Unsure("runs out of order")
        rows += [(False, done, start), (True, first, bisect.bisect_right(experiments, key))]
        done = start + count
    rows.append((False, done, len(cells)))
    rows = [(is_fresh, first, past) for is_fresh, first, past in rows if past > first]
    joints: list[str | None] = []
    for is_fresh, first, past in rows:
        joints += [experiments[first], experiments[past - 1]] if is_fresh else [
            cells[first], cells[past - 1]]  # fmt: skip
    if not indicator_delta.ordered(joints):
        raise _Unsure("a joint out of order")
    pieces = [(True, starts[first], starts[past]) if is_fresh else
              (False, cells.offset(first), cells.offset(past))
              for is_fresh, first, past in rows]  # fmt: skip
    count = sum(past - first for _, first, past in rows)
    return Table(spec, count, b"".join(fresh), pieces)


class _Cells:
    """The `experiment` cells of a table's lines in the base (field `field` of each), as a
    sequence bisect reads; _Unsure for an empty cell (NULL and '' both write one). The first
    and last are read at once: when neither is empty, none is (nulls sort last, '' first)."""

    def __init__(self, base: Base, part: dict[str, Any], field: int) -> None:
        self.data, self.field = base.data, field
        self.at, self.length = int(part["offset"]), int(part["length"])
        self.rows = int(part["rows"])
        ends = part.get("ends")
        if not isinstance(ends, int) or ends % 8 or ends + 8 * self.rows > len(self.data):
            raise _Unsure("no line ends")
        with memoryview(self.data) as whole, whole[ends : ends + 8 * self.rows] as window:
            self.ends = window.cast("q")
        try:
            if self.rows and self.ends[-1] != self.length:
                raise _Unsure("line ends that do not fit the lines")
            if self.rows:
                _ = self[0], self[self.rows - 1]
        except BaseException:
            self.ends.release()
            raise

    def __enter__(self) -> _Cells:
        return self

    def __exit__(self, *exception: object) -> None:
        self.ends.release()  # the base's mapping is closed later: no view of it may be left

    def __len__(self) -> int:
        return self.rows

    def offset(self, row: int) -> int:
        """Where row `row`'s line starts in the base's file."""
        return self.at + (0 if row == 0 else int(self.ends[row - 1]))

    def __getitem__(self, row: int) -> str:
        cell = _field(self.data, self.offset(row), self.offset(row + 1), self.field)
        if not cell:
            raise _Unsure("an empty experiment cell")
        return cell


def _field(data: mmap.mmap, start: int, stop: int, field: int) -> str:
    """Field `field` of the CSV line data[start:stop] (csv's quoting: a quoted field doubles
    its quotes)."""
    at = start
    for index in itertools.count():
        if at < stop and data[at] == ord('"'):
            text, at = _quoted(data, at + 1, stop)
        else:
            end = min(i for i in (data.find(b",", at, stop), data.find(b"\n", at, stop), stop)
                      if i >= 0)  # fmt: skip
            text, at = data[at:end].decode(), end
        if index == field:
            return text
        if at >= stop or data[at] != ord(","):
            raise _Unsure("a line with fewer fields")
        at += 1
    raise AssertionError("unreachable")


def _quoted(data: mmap.mmap, at: int, stop: int) -> tuple[str, int]:
    """A quoted field's text from `at` (just past its opening quote), and where it ends."""
    parts = []
    while True:
        end = data.find(b'"', at, stop)
        if end < 0:
            raise _Unsure("a quote not closed")
        parts.append(data[at:end])
        if end + 1 < stop and data[end + 1] == ord('"'):
            parts.append(b'"')
            at = end + 2
            continue
        return b"".join(parts).decode(), end + 1


def _overlay(
    directory: Path, answer: Answer, stack: contextlib.ExitStack[bool | None]
) -> tuple[Path, tuple[int, mmap.mmap], list[list[int]]]:
    """The merged answer's lines kept as the usual path keeps them (indicator_renditions'
    overlay: the fresh lines, and per table its pieces of this file and of the base), the
    file (open and mapped) and the answer's sections ([file, offset, length]: 0 this file, 1
    the base). OSError when it cannot be written (the usual path then answers)."""
    temporary = indicator_framing.new_temporary(directory, private=False)
    try:
        file = stack.enter_context(temporary.open("w+b"))
        file.write(MAGIC)
        crc, parts, sections = 0, [], []
        for table in answer.tables:
            at = file.tell()
            file.write(table.fresh)
            crc = zlib.crc32(table.fresh, crc)
            pieces = [[0, at + start, stop - start] if is_fresh else [1, start, stop - start]
                      for is_fresh, start, stop in table.pieces]  # fmt: skip
            parts.append({"spec": table.spec, "rows": table.rows, "pieces": pieces})
            sections += [piece for piece in pieces if piece[2] > 0]
        base = {"name": answer.base.path.name, "id": list(answer.base.identity)}
        footer = json.dumps({"key": answer.key, "sections": parts, "crc": crc, "base": base})
        file.write(footer.encode() + len(footer.encode()).to_bytes(FOOTER_LENGTH, "little"))
        file.write(MAGIC)
        file.flush()
        data = stack.enter_context(mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ))
        path = directory / f"{indicator_keys.stem(answer.key)}.csv"
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    # as the usual path leaves them: the base the newest files, so pruning keeps it
    for kept in (answer.base.path, answer.base.path.with_suffix(".arrow")):
        with contextlib.suppress(OSError):
            os.utime(kept)
    indicator_framing.prune(directory)
    return path, (file.fileno(), data), sections
