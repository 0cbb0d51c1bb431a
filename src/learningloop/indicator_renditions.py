"""The CSV lines of the indicator cache's tables, as rendered once: a later `--format csv`
writes them as they are. Rendering ~770k lines costs DuckDB seconds of CPU at 10M events;
writing them, a copy.

Each rendition also keeps where each line ends (int64s after the lines).
An answer merged from an earlier one after new events (indicator_delta) then gets its lines
the same way as its rows: the earlier rendition's lines for the experiments not touched, the
touched experiments' lines rendered afresh. A CSV line is a function of its row, the column
types, the layout and the constants alone, so the spliced lines are the lines rendered.
Such a rendition is kept as an overlay: its file holds the fresh lines alone and, per table,
its pieces in turn, each a byte range of that file or of the earlier file (named, with its
device, inode and size, in the footer's `base`), so that a merge writes kilobytes, not the
whole answer again. Only indicator_warm serves an overlay; the usual path splices again.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import duckdb
import numpy as np
import pyarrow as pa

from learningloop import indicator_delta, indicator_files, results
from learningloop.indicator_framing import file_identity


@dataclass(frozen=True)
class Rendition:
    """One table's CSV lines in one layout, its row count and, when the table has
    experiments, where each row's line ends (int64)."""

    lines: pa.Buffer | bytes
    rows: int
    ends: pa.Array | None
    at: int | None = None  # where the lines lie in the file they were read from


class Renditions:
    """The renditions of a key's tables, read from its file, and those rendered meanwhile."""

    def __init__(
        self, path: Path, key: str, private: bool, merge: indicator_delta.Merge | None = None
    ) -> None:
        self.path, self.key, self.private, self.merge = path, key, private, merge
        self._found: dict[str, Rendition] | None = None
        self._earlier: Renditions | None = None  # the merge base's: mapped and checked once
        self._new: dict[str, Rendition | Overlay] = {}
        # the file mapped (device, inode, size), when the same before and after mapping
        self.identity: tuple[int, int, int] | None = None

    def get(self, spec: str) -> Rendition | None:
        if self._found is None:
            before = _stat(self.path)
            opened = indicator_files.opened(self.path, self.key)
            data, parts = opened if opened is not None else (pa.py_buffer(b""), [])
            # an overlay's parts (pieces, no offset) are spliced again, never read here
            self._found = {part["spec"]: _read(data, part) for part in parts if "offset" in part}
            self.identity = before if before is not None and before == _stat(self.path) else None
        found = self._found.get(spec) or self._new.get(spec)
        return found if isinstance(found, Rendition) else None

    def add(self, spec: str, rendition: Rendition | Overlay) -> None:
        self._new[spec] = rendition

    def spliced(self, spec: str, name: str, fresh: Rendition) -> Overlay | None:
        """The lines of a merged answer's table `name`: the earlier answer's lines of the
        experiments not touched and `fresh`, the lines of those touched; None when the earlier
        rendition is not there (or does not fit)."""
        if self.merge is None:
            return None
        base = self.merge.base.with_suffix(".csv")
        if self._earlier is None:
            self._earlier = Renditions(base, self.merge.key, self.private)
        earlier = self._earlier
        found = earlier.get(spec)  # mapped (and its CRC checked) at the first table
        if earlier.identity is None:
            return None  # replaced while it was mapped: which file the bytes are is not known
        spliced = self.merge.tables[name]
        if found is None or found.ends is None or fresh.ends is None:
            return None
        if fresh.rows != spliced.fresh.num_rows or found.at is None:
            return None
        sources = {False: found, True: fresh}
        pieces = []
        for is_fresh, first, past in spliced.pieces:
            source = sources[is_fresh]
            start, stop = _offset(source, first), _offset(source, past)
            if not 0 <= start <= stop <= len(source.lines) or past > source.rows:
                return None
            pieces.append((is_fresh, start, stop))
        return Overlay(base, earlier.identity, found.at, found.lines, fresh.lines, pieces,
                       spliced.table.num_rows)  # fmt: skip

    def save(self) -> None:
        """Write what was rendered (with what the file held) as a new file, when anything was."""
        if not self._new:
            return
        bases = {o.base for o in self._new.values() if isinstance(o, Overlay)}
        if len(bases) > 1:
            return  # one merge has one base
        found = bases.pop() if bases else None

        def sections(sink: indicator_files.Summed) -> list[dict[str, Any]]:
            parts = []
            for spec, rendition in {**(self._found or {}), **self._new}.items():
                if isinstance(rendition, Overlay):
                    parts.append(rendition.saved(spec, sink))
                    continue
                start = sink.tell()
                sink.write(rendition.lines)
                part = {"spec": spec, "offset": start, "length": len(rendition.lines),
                        "rows": rendition.rows, "ends": None}  # fmt: skip
                # int64s as made (a cast would load pyarrow.compute), or none kept
                if (
                    rendition.ends is not None
                    and rendition.ends.type == pa.int64()
                    and (not rendition.ends.null_count)
                ):
                    sink.write(bytes(-sink.tell() % 8))  # int64s 8-aligned in the mapped file
                    part["ends"] = sink.tell()
                    sink.write(_int64_bytes(rendition.ends))
                parts.append(part)
            return parts

        identity = None
        if found is not None:
            overlay = next(o for o in self._new.values() if isinstance(o, Overlay))
            identity = {"name": found.name, "id": list(overlay.identity)}
        with contextlib.suppress(OSError):
            temporary = indicator_files.written(
                self.path.parent, self.private, self.key, sections, base=identity
            )
            try:
                os.replace(temporary, self.path)
            except OSError:
                temporary.unlink(missing_ok=True)
                raise


@dataclass(frozen=True)
class Overlay:
    """A merged table's CSV lines, as pieces in turn: byte ranges of the earlier rendition's
    lines (`lines`, mapped from file `base`, whose `identity` it was) or of `fresh`, the lines
    of the experiments touched, rendered afresh."""

    base: Path
    identity: tuple[int, int, int]
    at: int  # where `lines` lie in the base's file
    lines: pa.Buffer | bytes
    fresh: pa.Buffer | bytes
    pieces: list[tuple[bool, int, int]]
    rows: int

    def write(self, out: IO[bytes]) -> None:
        with memoryview(self.lines) as earlier, memoryview(self.fresh) as fresh:
            for is_fresh, start, stop in self.pieces:
                out.write((fresh if is_fresh else earlier)[start:stop])

    def saved(self, spec: str, sink: indicator_files.Summed) -> dict[str, Any]:
        """Write the fresh lines to `sink`; the part naming the pieces: [file, offset, length],
        file 0 this one, 1 the base (offsets in the base's file: where its lines lie in it)."""
        at = sink.tell()
        sink.write(self.fresh)
        pieces = [[0, at + start, stop - start] if is_fresh else [1, self.at + start, stop - start]
                  for is_fresh, start, stop in self.pieces if stop > start]  # fmt: skip
        return {"spec": spec, "rows": self.rows, "pieces": pieces}


class CachedStream(results.RowStream):
    """A cached table's rows; its CSV lines too, once rendered in the same layout."""

    def __init__(self, con: duckdb.DuckDBPyConnection, sql: str, name: str,
                 renditions: Renditions, table: pa.Table) -> None:  # fmt: skip
        with results.duckdb_errors():
            relation = con.sql(sql)
        super().__init__(con, relation, sql, [])
        self._name, self._renditions, self._table = name, renditions, table

    def write_csv(
        self,
        out: IO[bytes],
        layout: Sequence[str] | None = None,
        constants: dict[str, str] | None = None,
    ) -> int:
        spec = json.dumps([self._name, None if layout is None else list(layout), constants])
        found = self._renditions.get(spec)
        if found is None and layout is not None and self._renditions.merge is not None:
            fresh = self._renditions.merge.tables[self._name].fresh
            kinds = [str(kind) for kind in self._relation.types]
            view = f"learningloop_fresh_{self._name}"
            stream = CachedStream(self._con, typed(self._con, view, fresh, kinds), self._name,
                                  Renditions(self._renditions.path, "", False), fresh)  # fmt: skip
            overlay = self._renditions.spliced(spec, self._name,
                                               stream.rendered(layout, constants))  # fmt: skip
            if overlay is not None:
                self._renditions.add(spec, overlay)
                overlay.write(out)  # its pieces: written without a copy
                return overlay.rows
        if found is not None:
            out.write(found.lines)  # a buffer: written without a copy
            return found.rows
        rendition = self.rendered(layout, constants)
        out.write(rendition.lines)
        self._renditions.add(spec, rendition)
        return rendition.rows

    def rendered(self, layout: Sequence[str] | None, constants: dict[str, str] | None) -> Rendition:
        """The table's CSV lines as RowStream.write_csv writes them (its loop, with each
        line's length kept), and where each line ends when the table has experiments."""
        lines = None if layout is None else self._csv_lines(layout, constants or {})
        if lines is None or "experiment" not in self._table.column_names:
            kept = io.BytesIO()
            rows = super().write_csv(kept, layout, constants)
            return Rendition(kept.getvalue(), rows, None)
        parts: list[bytes] = []
        ends: list[Any] | None = []
        done = rows = 0
        for batch in results._batches(lines):
            column = batch.column(0)
            parts.append(results._string_bytes(column))
            rows += len(column)
            found = _line_ends(column)
            ends = None if ends is None or found is None else [*ends, found + done]
            done += len(parts[-1])
        data = b"".join(parts)
        if ends is None:
            return Rendition(data, rows, None)
        together = pa.array(np.concatenate(ends) if ends else [], pa.int64())
        if len(together) != rows or (rows and together[-1].as_py() != len(data)):
            return Rendition(data, rows, None)
        return Rendition(data, rows, together)


def _line_ends(column: pa.Array) -> Any:
    """Where each line of a string column ends, from the start of its first (numpy int64:
    straight from the column's offsets, without pyarrow.compute, which costs start-up)."""
    if not (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)):
        return None
    width = np.int64 if pa.types.is_large_string(column.type) else np.int32
    offsets = np.frombuffer(column.buffers()[1], dtype=width)
    offsets = offsets[column.offset : column.offset + len(column) + 1].astype(np.int64)
    return offsets[1:] - offsets[0]


def _read(data: pa.Buffer, part: dict[str, Any]) -> Rendition:
    rows, at = int(part["rows"]), part.get("ends")
    ends = None
    if isinstance(at, int) and at >= 0 and at + 8 * rows <= data.size:
        ends = pa.Array.from_buffers(pa.int64(), rows, [None, data.slice(at, 8 * rows)])
    return Rendition(data.slice(part["offset"], part["length"]), rows, ends, part["offset"])


def _offset(rendition: Rendition, row: int) -> int:
    """Where row `row`'s line starts in the rendition's lines."""
    assert rendition.ends is not None
    return 0 if row == 0 else int(rendition.ends[row - 1].as_py())


def _stat(path: Path) -> tuple[int, int, int] | None:
    """The file's identity (indicator_framing.file_identity); None when there is none."""
    try:
        return file_identity(os.stat(path))
    except OSError:
        return None


def _int64_bytes(ends: pa.Array) -> pa.Buffer:
    """The values of an int64 array with no nulls, as their buffer holds them."""
    return ends.buffers()[1].slice(ends.offset * 8, len(ends) * 8)


def typed(con: duckdb.DuckDBPyConnection, view: str, table: pa.Table, kinds: list[str]) -> str:
    """`table` registered on `con` as `view`, and the query giving its rows, every column typed
    as `kinds` (an Arrow round trip may lose a DuckDB type, JSON say: it is cast back)."""
    con.register(view, table)
    found = con.sql(f"select * from {view}").types
    cells = [
        _quoted(column)
        if str(kind) == wanted
        else f"{_quoted(column)}::{wanted} as {_quoted(column)}"
        for column, kind, wanted in zip(table.column_names, found, kinds, strict=True)
    ]
    return f"select {', '.join(cells)} from {view}"


def _quoted(column: str) -> str:
    return '"' + column.replace('"', '""') + '"'
