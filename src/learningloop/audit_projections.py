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
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from learningloop.audit_findings import BACKFILL, Finding, FindingLog
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


def quality_findings(
    projector: Projector,
    moment: tuple[date, datetime],
    backfill_days: int,
    checks: Sequence[str],
    into: FindingLog,
    spill: Path,
) -> None:
    """The data_quality projection at (D, T) as findings: the backfills once per recording
    batch (the events one recorder wrote on one day, grouped by DuckDB), named by their first
    event, listed before the warnings; then every other check's rows as warnings, by
    position, check and message, written by DuckDB's Arrow batches to a file in `spill` (a
    store's disk). Recording history late is information, not a fault: it never fails
    --strict."""
    from learningloop.projection_quality import read_rows

    with projector.data_quality(*moment, backfill_days, checks) as staged:
        into.add((_batch_finding(row) for row in staged.batches.rows()), BACKFILL)
        into.attach(staged.write_warnings, read_rows, staged.counts, "warning", spill)


def _batch_finding(row: tuple[Any, ...]) -> Finding:
    """A row of projection_quality.BATCHES_QUERY as the batch's finding."""
    recorded_on, recorded_by, events, low, high, least_lag, most_lag, *first = row
    span = str(low) if low == high else f"{low}–{high}"
    by = f" by {recorded_by}" if recorded_by else ""
    noun = "event" if events == 1 else "events"
    return Finding(
        "backfill", "info",
        f"{events} {noun} recorded on {recorded_on}{by} for {span} "
        f"({least_lag} to {most_lag} days after they occurred)",
        *first,
    )  # fmt: skip
