"""Audit: is the log intact, complete and valid, and do the projections agree with it?

Integrity findings are errors (exit 1); data-quality findings are warnings, errors only with
`strict`. Every finding names the stream, version and log position it is about.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from learningloop.audit_findings import Finding, FindingLog
from learningloop.audit_walk import LogWalk
from learningloop.audit_workers import walk_log
from learningloop.domain import aggregates as agg
from learningloop.domain import events as ev
from learningloop.domain import rules
from learningloop.domain.chain import GENESIS, Seal
from learningloop.domain.recorded import Recorded
from learningloop.errors import BadInputError, InvalidEventError, LearningLoopError, StoreError
from learningloop.eventlog import EventLog

QUALITY_CHECKS = (
    "review_sessions_missing",
    "commitment_below_cadence",
    "milestone_overdue",
    "decision_without_evidence",
    "learning_never_actioned",
    "backfill",
    "date_out_of_programme_range",
    "decision_on_revised_evidence",
)
INTEGRITY_CHECKS = (
    "decode",
    "versions",
    "chain",
    "rules",
    "time_order",
    "seal",
    "verify",
    "projections",
)


@dataclass
class AuditReport:
    """Everything an auditor needs, in a shape that stays stable for CI."""

    head_position: int
    events: int
    streams: int
    digest: str
    findings: FindingLog = field(default_factory=FindingLog)
    checks_run: list[str] = field(default_factory=list)
    # The snapshot's last recorded_at: projections are compared as known then.
    head_recorded_at: datetime | None = None

    @property
    def head_digest(self) -> str:
        return f"{self.head_position}:{self.digest}"

    def passed(self, *, strict: bool = False) -> bool:
        failing = {"error", "warning"} if strict else {"error"}
        return not failing & self.findings.severities()

    def as_document(self, *, strict: bool = False, findings: bool = True) -> dict[str, Any]:
        """The report as JSON-ready data; `findings=False` leaves the findings out (they can
        be many: the command line streams them after the rest)."""
        document = {
            "ok": self.passed(strict=strict),
            "strict": strict,
            "head": {"position": self.head_position, "digest": self.head_digest},
            "events": self.events,
            "streams": self.streams,
            "checks": [{"check": check, "status": self.status(check)} for check in self.checks_run],
        }
        if findings:
            document["findings"] = [asdict(finding) for finding in self.findings]
        return document

    def status(self, check: str) -> str:
        """pass, info, warn or fail: the worst finding of that check."""
        severities = self.findings.severities(check)
        if "error" in severities:
            return "fail"
        return "warn" if "warning" in severities else "info" if severities else "pass"


@dataclass
class RuleWalk:
    """The write models rebuilt along the log, so each event is judged by the writers' own
    rules (`domain.rules.check`) against the events before it."""

    streams: dict[str, rules.WriteModel] = field(default_factory=dict)

    def findings(self, recorded: Recorded, where: dict[str, Any]) -> list[Finding]:
        stream = self.streams.get(recorded.stream)
        try:
            rules.check(recorded.event, stream, self.programme)
        except InvalidEventError as error:
            return [Finding("rules", "error", f"breaks a rule: {error}", **where)]
        self.streams[recorded.stream] = rules.applied(stream, recorded)
        return []

    def programme(self, key: str) -> agg.Programme | None:
        found = self.streams.get(ev.stream_id("programme", key))
        return found if isinstance(found, agg.Programme) else None


@dataclass(frozen=True)
class Snapshot:
    """What the audit judges: the log up to `head`, read with its seal by one statement at
    the start (events others append meanwhile are not judged)."""

    head: int
    seal: Seal | None
    seal_problem: Finding | None = None


def snapshot(log: EventLog) -> Snapshot:
    """The seal and the head position at the start; a missing or unreadable seal is a
    finding, never a crash."""
    try:
        seal, head = log.snapshot()
    except StoreError as error:
        head = log.head_position()
        return Snapshot(head, None, Finding("seal", "error", f"{error}: it was altered",
                                            position=head))  # fmt: skip
    if seal is None:
        problem = "the seal is missing (deleted outside learningloop)"
        return Snapshot(head, None, Finding("seal", "error", problem, position=head))
    return Snapshot(head, seal)


def check_log(
    log: EventLog,
    verify: str | None = None,
    progress: Callable[[int], None] | None = None,
    taken: Snapshot | None = None,
    workers: int | None = None,
) -> AuditReport:
    """Walk the log up to the head of the snapshot `taken` (default: taken now), along
    positions (digest, time order) and stream by stream (decoding, versions, chains, rules);
    then the seal and the digest. Memory does not grow with the log (audit_walk). A big log
    is walked by `workers` processes beside this one (default: by its size; audit_workers)."""
    verify_at = verify_position(verify)
    taken = taken or snapshot(log)
    report = AuditReport(taken.head, 0, 0, GENESIS)
    found = report.findings.add
    along, report.streams = walk_log(log, taken.head, verify_at, found, progress, workers)
    report.head_position, report.events, report.digest = along.position, along.events, along.digest
    report.head_recorded_at = along.recorded_at
    problem = taken.seal_problem
    report.findings.extend(_check_seal(taken.seal, along) if problem is None else [problem])
    if verify is not None:
        report.findings.extend(_check_verify(along, verify, verify_at))
    report.checks_run = [c for c in INTEGRITY_CHECKS if c != "projections"]
    if verify is None:
        report.checks_run.remove("verify")
    return report


def _check_seal(seal: Seal | None, walk: LogWalk) -> list[Finding]:
    assert seal is not None
    if (seal.position, seal.events, seal.digest) == (walk.position, walk.events, walk.digest):
        return []
    return [Finding(
        "seal", "error",
        f"the log does not match its seal: {walk.events} events up to position {walk.position}, "
        f"sealed {seal.events} events up to position {seal.position} (events were removed, "
        "added or altered outside learningloop)",
        position=walk.position,
    )]  # fmt: skip


def verify_position(verify: str | None) -> int | None:
    """The position of a `--verify` digest; BadInputError when it is not one."""
    if verify is None:
        return None
    position, _, digest = verify.partition(":")
    if not position.isdigit() or len(digest) != 64:
        raise BadInputError(
            f"--verify: {verify!r} is not a digest (POSITION:HASH from audit --digest)"
        )
    return int(position)


def _check_verify(walk: LogWalk, verify: str, position: int | None) -> list[Finding]:
    expected = verify.partition(":")[2]
    if position == 0 and expected == GENESIS:
        return []
    actual = walk.verified
    if actual is None:
        return [Finding("verify", "error", f"the log has no event at position {position}: "
                        "events up to the digest were removed", position=position)]  # fmt: skip
    if actual != expected:
        return [Finding("verify", "error", f"the log up to position {position} is not the one "
                        "digested: it was rewritten", position=position)]  # fmt: skip
    return []


__all__ = [
    "AuditReport",
    "Finding",
    "LearningLoopError",
    "RuleWalk",
    "Snapshot",
    "check_log",
    "snapshot",
    "verify_position",
]
