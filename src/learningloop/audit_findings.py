"""The audit's findings, kept on disk as they come, read back in order as a stream.

A log of millions of events can have hundreds of thousands of findings (data-quality
warnings, or an integrity error at every event of a forged log): they go to a private
temporary SQLite file, never a list in memory, and only counts by check and severity stay
in memory, so a report's verdict is known before a single finding is written out.

Millions of data-quality warnings (7.3M at 10M events of the benchmark's programme shape)
come from DuckDB already in order: they are attached as a file of rows the projector wrote
(projection_quality), never one Python object each until someone reads them.
"""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import tempfile
import weakref
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

BATCH = 1_000  # findings held before they are written to the file

# Where a finding goes in the report: the log's events by position (and, at one position,
# in the order the checks judge an event), then the seal and digest, then data quality.
EVENTS, LOG, BACKFILL, QUALITY = range(4)
RANK = {"versions": 0, "time_order": 1, "chain": 2, "decode": 3, "rules": 4}


@dataclass(frozen=True, slots=True)
class Finding:
    check: str
    severity: str  # "error", "warning" or "info" (never fails, not even with strict)
    message: str
    stream: str | None = None
    version: int | None = None
    position: int | None = None


def fields_of(finding: Finding) -> tuple[str, str, str, str | None, int | None, int | None]:
    """A finding's fields in order, as astuple gives them without its deep copy of each
    value (most of the Python time of storing 267,253 data-quality findings at 1M events)."""
    f = finding
    return (f.check, f.severity, f.message, f.stream, f.version, f.position)


# An audit's private directories beside the projections (this module's and the rebuild's):
# a prefix and tempfile's eight random characters.
PRIVATE = re.compile(r"\.audit-(findings-)?[a-z0-9_]{8}")


class AuditHold:
    """A live audit's hold on `directory` (beside the projections): a shared flock on the
    directory itself, so nothing is written. Taking it, when no other audit holds it, first
    removes the private directories a killed audit left there (SIGKILL runs no clean-up; a
    rebuild's copy weighs hundreds of MB at 10M events); one of a live audit is never
    touched. The lock goes with `close`, or with this process however it ends."""

    def __init__(self, directory: Path) -> None:
        self._fd: int | None = None
        try:
            import fcntl
        except ImportError:  # not POSIX: nothing held, nothing removed
            return
        directory.mkdir(parents=True, exist_ok=True)
        try:
            held = os.open(directory, os.O_RDONLY)
        except OSError:  # a directory this process may not open: nothing held or removed
            return
        try:
            try:
                fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:  # another audit is live: what lies there may be its own
                pass
            else:
                _remove_stale(directory)
            fcntl.flock(held, fcntl.LOCK_SH)
        except OSError:  # a file system without locks: nothing held, nothing removed
            os.close(held)
            return
        self._fd = held

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def _remove_stale(directory: Path) -> None:
    for entry in directory.iterdir():
        if PRIVATE.fullmatch(entry.name) and entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)


class FindingLog:
    """Findings in report order, written to a temporary file and streamed back.

    Iterating reads them back in order; `len`, `severities` and `add` are all the rest."""

    def __init__(self, findings: Iterable[Finding] = ()) -> None:
        # "" opens a private temporary database SQLite deletes on close; it spills to disk
        # past its page cache, so memory stays bounded.
        self._db = sqlite3.connect("", check_same_thread=False)
        self._db.execute(
            "create table finding (part int, position int, rank int, check_ text, "
            "severity text, message text, stream text, version int, at int)"
        )
        self._pending: list[tuple[Any, ...]] = []
        self._counts: Counter[tuple[str, str]] = Counter()
        # files of findings, each with its reader and their severity
        self._attached: list[tuple[Path, Callable[[Path], Iterator[tuple[Any, ...]]], str]] = []
        self._directory: Path | None = None
        self._hold: AuditHold | None = None
        self.add(findings)

    def add(self, findings: Iterable[Finding], part: int = EVENTS) -> None:
        """Findings of one part of the report; event findings are ordered by position."""
        for finding in findings:
            self._counts[finding.check, finding.severity] += 1
            position = (finding.position or 0) if part == EVENTS else 0
            rank = RANK.get(finding.check, 0) if part == EVENTS else 0
            self._pending.append((part, position, rank, *fields_of(finding)))
            if len(self._pending) >= BATCH:
                self._flush()

    def append(self, finding: Finding) -> None:
        self.add([finding], LOG)

    def extend(self, findings: Iterable[Finding], part: int = LOG) -> None:
        self.add(findings, part)

    def _flush(self) -> None:
        self._db.executemany("insert into finding values (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                             self._pending)  # fmt: skip
        self._pending.clear()

    def attach(
        self,
        write: Callable[[Path], bool],
        read: Callable[[Path], Iterator[tuple[Any, ...]]],
        counts: Mapping[str, int],
        severity: str,
        directory: Path,
    ) -> None:
        """Findings of `severity`, in report order, to come after every finding added:
        `write(path)` puts them in a file (False: there were none), `read(path)` yields them
        back as rows (check, message, stream, version, position); `counts` by check. The file
        goes to a private directory made in `directory` (a store's disk, not a /tmp that may
        be memory), deleted on close or when this log is collected, at exit too."""
        path = self._private(directory) / f"attached-{len(self._attached)}"
        if write(path):
            self._attached.append((path, read, severity))
        self._counts.update({(check, severity): n for check, n in counts.items() if n})

    def hold(self, hold: AuditHold) -> None:
        """Keep the audit's hold as long as these findings: their file lies in its directory,
        read after the audit has returned."""
        self._hold = hold
        weakref.finalize(self, hold.close)

    def _private(self, directory: Path) -> Path:
        if self._directory is None:
            directory.mkdir(parents=True, exist_ok=True)
            self._directory = Path(tempfile.mkdtemp(prefix=".audit-findings-", dir=directory))
            self._removal = weakref.finalize(self, shutil.rmtree, self._directory, True)
        return self._directory

    def __len__(self) -> int:
        return self._counts.total()

    def __iter__(self) -> Iterator[Finding]:
        self._flush()
        cursor = self._db.execute(
            "select check_, severity, message, stream, version, at from finding "
            "order by part, position, rank, rowid"
        )
        while rows := cursor.fetchmany(BATCH):
            yield from (Finding(*row) for row in rows)
        for path, read, severity in self._attached:
            for check, message, stream, version, position in read(path):
                yield Finding(check, severity, message, stream, version, position)

    def __repr__(self) -> str:
        return f"FindingLog({list(self)!r})"

    def severities(self, check: str | None = None) -> set[str]:
        """The severities found (of one check, or of all)."""
        return {s for (c, s), n in self._counts.items() if n and check in (None, c)}

    def close(self) -> None:
        self._db.close()
        if self._directory is not None:
            self._removal()
        if self._hold is not None:
            self._hold.close()
