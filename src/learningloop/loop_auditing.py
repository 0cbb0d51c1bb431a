"""The audit: the log's checks, the projections against a rebuild, and data quality."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import TYPE_CHECKING

from learningloop.loop_session import TABLE_ORDER, ProgressCallback, Session, today

if TYPE_CHECKING:
    # imported where used: reading commands (`sql`, `indicators`) need not load the audit
    from learningloop.audit import AuditReport


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
        against a fresh rebuild (made in a thread while the log is walked), and data quality
        (warnings) as of D (default today). `progress` hears of the events walked."""
        from learningloop.audit import (
            QUALITY_CHECKS,
            check_log,
            snapshot,
            verify_position,
        )
        from learningloop.audit_findings import AuditHold
        from learningloop.audit_projections import ProjectionAgreement, quality_findings
        from learningloop.audit_workers import PARALLEL_FROM, idle_cores, walkers

        verify_position(verify)  # bad input before anything starts
        log = self._store.readable_log()
        taken = snapshot(log)
        # Idle cores are counted before the rebuild thread takes one.
        idle = idle_cores() if taken.head >= PARALLEL_FROM else None
        beside = self.location.projections_path.parent
        hold = AuditHold(beside)  # stale directories of a killed audit go first
        try:
            with ProjectionAgreement.running(self._projector(), log, beside, taken.head) as agreed:
                report = check_log(log, verify, progress, taken, walkers(taken.head, idle))
                report.findings.hold(hold)
                as_of, known_at = as_of or today(), datetime.now(UTC)
                # The projections are compared on the audited snapshot alone: as known at its
                # last event, log_events up to its head, whatever others record meanwhile.
                snapshot_t = report.head_recorded_at or known_at
                tables = ["log_events", *TABLE_ORDER]
                report.findings.extend(agreed.findings(tables, as_of, snapshot_t))
        except BaseException:
            hold.close()
            raise
        report.checks_run.append("projections")
        if report.passed():
            moment = (as_of, known_at)
            quality_findings(self._projector(), moment, backfill_days, QUALITY_CHECKS,
                             report.findings, beside)  # fmt: skip
            report.checks_run.extend(QUALITY_CHECKS)
        return report

    def audit_log_only(self, verify: str | None = None) -> AuditReport:
        """The log checks alone (no projections, no data quality): fast, for --digest."""
        from learningloop.audit import check_log

        return check_log(self._store.readable_log(), verify)
