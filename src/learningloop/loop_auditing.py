"""The audit: the log's checks, the projections against a rebuild, and data quality."""

from __future__ import annotations

import tempfile
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from learningloop.loop_session import TABLE_ORDER, ProgressCallback, Session, today
from learningloop.store import EventLog

if TYPE_CHECKING:
    # imported where used: reading commands (`sql`, `indicators`) need not load the audit
    from learningloop.audit import AuditReport, Finding


class Auditing(Session):
    """`audit`: whether the log and the projections can be trusted."""

    def audit(
        self,
        *,
        verify: str | None = None,
        backfill_days: int = 365,
        as_of: date | None = None,
        progress: ProgressCallback | None = None,
    ) -> AuditReport:
        """Check the log (decoding, versions, chains, rules, seal, digest), the projections
        against a fresh rebuild, and data quality (warnings) as of D (default today).
        `progress` hears of the events walked in the log checks."""
        from learningloop.audit import QUALITY_CHECKS, QUALITY_QUERY, check_log, quality_findings

        log = self._store.readable_log()
        report = check_log(log, verify, progress)
        as_of, known_at = as_of or today(), datetime.now(UTC)
        # The projections are compared on the audited snapshot alone: as known at its last
        # event, log_events up to its head, whatever others record meanwhile.
        snapshot_t = report.head_recorded_at or known_at
        report.findings.extend(
            self._projection_agreement(log, as_of, snapshot_t, report.head_position)
        )
        report.checks_run.append("projections")
        if report.passed():
            quality = self.sql(QUALITY_QUERY, as_of, known_at, parameters=[backfill_days])
            report.findings.extend(quality_findings(quality.records()))
            report.checks_run.extend(QUALITY_CHECKS)
        return report

    def audit_log_only(self, verify: str | None = None) -> AuditReport:
        """The log checks alone (no projections, no data quality): fast, for --digest."""
        from learningloop.audit import check_log

        return check_log(self._store.readable_log(), verify)

    def _projection_agreement(
        self, log: EventLog, as_of: date, known_at: datetime, head: int
    ) -> list[Finding]:
        from learningloop.audit import Finding, projection_findings
        from learningloop.projector import ProjectionError, Projector

        tables = ["log_events", *TABLE_ORDER]
        # The rebuild (and what DuckDB spills) goes beside the projections, on the store's
        # disk rather than a /tmp that may be memory.
        beside = self.location.projections_path.parent
        beside.mkdir(parents=True, exist_ok=True)
        try:
            position, live = self._projector().checksums(tables, as_of, known_at, head)
            with tempfile.TemporaryDirectory(prefix=".audit-", dir=beside) as scratch:
                # a live file held behind the log (a read-only holder) compares up to where
                # it stands
                until = position if position < head else None
                fresh = Projector(
                    Path(scratch) / "projections.duckdb", log, self.memory_limit, until=until
                )
                rebuilt = fresh.checksums(tables, as_of, known_at, head)[1]
        except ProjectionError as error:
            return [Finding("projections", "error", str(error))]
        return projection_findings(live, rebuilt)
