"""The audit's checks beyond the log: the projections against a rebuild, and data quality.

The rebuild of the audited snapshot runs in a thread while the log is walked: it is mostly
DuckDB, which releases the GIL, and the walk is Python, so on two cores the audit takes about
as long as the longer of the two. Both sides are compared by fingerprint (each stored table's
checksum, each view's and macro's text): equal fingerprints answer every query alike, so no
view runs unless they differ, and then only to name the contract tables affected.
"""

from __future__ import annotations

import tempfile
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from learningloop.audit_findings import BACKFILL, QUALITY, Finding, FindingLog
from learningloop.eventlog import EventLog

if TYPE_CHECKING:  # loaded with the projector, when an audit starts
    from learningloop.projector import Projector


class _Stopped(Exception):
    """The walk ended first (an error or Ctrl-C): the rebuild stops at its next page."""


@dataclass
class _Outcome:
    live_position: int = 0
    live: dict[str, str] = field(default_factory=dict)
    rebuilt: dict[str, str] = field(default_factory=dict)
    fresh: Projector | None = None
    error: BaseException | None = None


class ProjectionAgreement:
    """The live projections and a rebuild of the log up to `head`, fingerprinted in a
    thread started by `running`; `findings` waits for it."""

    def __init__(self, live: Projector, log: EventLog, scratch: Path, head: int) -> None:
        self._live, self._log, self._scratch, self._head = live, log, scratch, head
        self._stop = threading.Event()
        self._fresh: Projector | None = None
        self._outcome = _Outcome()
        self._thread = threading.Thread(target=self._run, name="learningloop-audit-rebuild")

    def _run(self) -> None:
        from learningloop.projector import Projector

        outcome = self._outcome
        try:
            outcome.live_position, outcome.live = self._live.fingerprint(self._head)
            # Exactly the events the live file holds (behind the log when a read-only holder
            # keeps it there, past the snapshot when others record meanwhile): a row marked
            # by a later retraction is marked alike on both sides.
            fresh = self._fresh = Projector(
                self._scratch / "projections.duckdb",
                self._log,
                self._live.memory_limit,
                until=outcome.live_position,
            )
            self._check_stop(0)  # stopped while the live file was fingerprinted
            fresh.catch_up(self._check_stop)
            outcome.rebuilt, outcome.fresh = fresh.fingerprint(self._head)[1], fresh
        except BaseException as error:  # handed to the caller of findings()
            outcome.error = error

    def _check_stop(self, _events: int) -> None:
        if self._stop.is_set():
            raise _Stopped

    def findings(self, tables: Sequence[str], as_of: date, known_at: datetime) -> list[Finding]:
        """Differences between the live file and the rebuild; the contract tables that
        disagree are named by comparing their checksums at (D, T)."""
        from learningloop.projector import ProjectionError

        self._thread.join()
        outcome = self._outcome
        if isinstance(outcome.error, ProjectionError):
            return [Finding("projections", "error", str(outcome.error))]
        if outcome.error is not None:
            raise outcome.error
        if outcome.live == outcome.rebuilt:
            return []
        assert outcome.fresh is not None
        live = self._live.checksums(tables, as_of, known_at, self._head)[1]
        rebuilt = outcome.fresh.checksums(tables, as_of, known_at, self._head)[1]
        return _definition_findings(outcome.live, outcome.rebuilt, tables) + (
            projection_findings(live, rebuilt)
        )

    @staticmethod
    @contextmanager
    def running(
        live: Projector, log: EventLog, beside: Path, head: int
    ) -> Iterator[ProjectionAgreement]:
        """Start the rebuild; on leaving, stop it if still running and delete its file. It
        goes beside the projection file, on the store's disk rather than a /tmp that may be
        memory (DuckDB spills there too)."""
        beside.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix=".audit-", dir=beside) as scratch:
            agreement = ProjectionAgreement(live, log, Path(scratch), head)
            agreement._thread.start()
            try:
                yield agreement
            finally:
                # After Ctrl-C too: the rebuild's statement (or the live file's fingerprint
                # scan) is interrupted, its transaction rolled back, and its file deleted
                # once DuckDB has let it go (never a half-written file left).
                agreement._stop.set()
                if agreement._thread.is_alive():  # the walk ended first: Ctrl-C or an error
                    for projector in (live, agreement._fresh):
                        if projector is not None:
                            projector.duckdb_file.interrupt()
                agreement._thread.join()


def _definition_findings(
    live: dict[str, str], rebuilt: dict[str, str], tables: Sequence[str]
) -> list[Finding]:
    """Views, macros and stored tables other than the contract's that differ: a definition
    altered, added or dropped in the projection file, or a constant table changed."""
    named = {f"table {table}" for table in tables}
    return [
        Finding(
            "projections",
            "error",
            f"projection {name} {_how(live.get(name), rebuilt.get(name))} "
            "(`learningloop project --rebuild` restores it)",
        )
        for name in sorted(live.keys() | rebuilt.keys())
        if name not in named and live.get(name) != rebuilt.get(name)
    ]


def _how(live: str | None, rebuilt: str | None) -> str:
    if live is None:
        return "is missing from the projection file"
    if rebuilt is None:
        return "is not one of learningloop's: it was added to the projection file"
    return "differs from the one learningloop builds: it was altered in the projection file"


def projection_findings(live: dict[str, str], rebuilt: dict[str, str]) -> list[Finding]:
    """Compare per-table checksums of the live projections with a fresh rebuild."""
    return [
        Finding(
            "projections",
            "error",
            f"projection {table} disagrees with the log (checksum "
            f"{live.get(table, 'missing')[:12]} live, {checksum[:12]} rebuilt)",
        )
        for table, checksum in rebuilt.items()
        if live.get(table) != checksum
    ]


@dataclass
class _Batch:
    """Backfilled events of one recorder on one day, folded as they stream by."""

    first: dict[str, Any]
    events: int = 0
    years: tuple[int, int] = (9999, 0)
    lags: tuple[int, int] = (2**63, 0)

    def add(self, row: dict[str, Any]) -> None:
        self.events += 1
        year, lag = row["occurred_on"].year, row["lag_days"]
        self.years = (min(self.years[0], year), max(self.years[1], year))
        self.lags = (min(self.lags[0], lag), max(self.lags[1], lag))

    def finding(self, recorded_on: Any, recorded_by: Any) -> Finding:
        low, high = self.years
        span = str(low) if low == high else f"{low}–{high}"
        by = f" by {recorded_by}" if recorded_by else ""
        events = "event" if self.events == 1 else "events"
        return Finding(
            "backfill", "info",
            f"{self.events} {events} recorded on {recorded_on}{by} for {span} "
            f"({self.lags[0]} to {self.lags[1]} days after they occurred)",
            self.first["stream"], self.first["version"], self.first["position"],
        )  # fmt: skip


def quality_findings(rows: Iterable[dict[str, Any]], into: FindingLog) -> None:
    """Rows of the data_quality projection (in position order, read once, as they stream) as
    warnings written out as they come; backfills once per recording batch (the events one
    recorder wrote on one day), named by its first event and listed before the warnings.
    Recording history late is information, not a fault: it never fails --strict."""
    batches: dict[tuple[Any, Any], _Batch] = {}
    for row in rows:
        if row["check"] != "backfill":
            into.add([Finding(row["check"], "warning", row["message"], row["stream"],
                              row["version"], row["position"])], QUALITY)  # fmt: skip
            continue
        key = (row["recorded_on"], row["recorded_by"])
        if key not in batches:
            batches[key] = _Batch({name: row[name] for name in ("stream", "version", "position")})
        batches[key].add(row)
    into.add((batch.finding(*key) for key, batch in batches.items()), BACKFILL)
