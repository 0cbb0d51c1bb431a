"""The audit's findings, kept on disk as they come, read back in order as a stream.

A log of millions of events can have hundreds of thousands of findings (data-quality
warnings, or an integrity error at every event of a forged log): they go to a private
temporary SQLite file, never a list in memory, and only counts by check and severity stay
in memory, so a report's verdict is known before a single finding is written out.
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
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

    def __repr__(self) -> str:
        return f"FindingLog({list(self)!r})"

    def severities(self, check: str | None = None) -> set[str]:
        """The severities found (of one check, or of all)."""
        return {s for (c, s), n in self._counts.items() if n and check in (None, c)}

    def close(self) -> None:
        self._db.close()
