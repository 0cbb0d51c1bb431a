"""Audit: is the log intact, complete and valid, and do the projections agree with it?

Integrity findings are errors (exit 1); data-quality findings are warnings, errors only with
`strict`. Every finding names the stream, version and log position it is about.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

import orjson

from learningloop.domain import aggregates as agg
from learningloop.domain import events as ev
from learningloop.domain import rules
from learningloop.domain.chain import GENESIS, chain_hash, digest_step
from learningloop.domain.recorded import Recorded
from learningloop.errors import BadInputError, InvalidEventError, LearningLoopError, StoreError
from learningloop.event_mapping import EventMapper
from learningloop.eventlog import EventLog, Seal

PAGE = 10_000
PROGRESS_EVERY = 1_000  # events between two progress reports
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
QUALITY_QUERY = (
    "select * from data_quality where \"check\" <> 'backfill' or lag_days > ? "
    'order by position, "check", message'
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


@dataclass(frozen=True, slots=True)
class Finding:
    check: str
    severity: str  # "error", "warning" or "info" (never fails, not even with strict)
    message: str
    stream: str | None = None
    version: int | None = None
    position: int | None = None


@dataclass
class AuditReport:
    """Everything an auditor needs, in a shape that stays stable for CI."""

    head_position: int
    events: int
    streams: int
    digest: str
    findings: list[Finding] = field(default_factory=list)
    checks_run: list[str] = field(default_factory=list)
    # The snapshot's last recorded_at: projections are compared as known then.
    head_recorded_at: datetime | None = None

    @property
    def head_digest(self) -> str:
        return f"{self.head_position}:{self.digest}"

    def passed(self, *, strict: bool = False) -> bool:
        failing = {"error", "warning"} if strict else {"error"}
        return not any(finding.severity in failing for finding in self.findings)

    def as_document(self, *, strict: bool = False) -> dict[str, Any]:
        return {
            "ok": self.passed(strict=strict),
            "strict": strict,
            "head": {"position": self.head_position, "digest": self.head_digest},
            "events": self.events,
            "streams": self.streams,
            "checks": [{"check": check, "status": self.status(check)} for check in self.checks_run],
            "findings": [asdict(finding) for finding in self.findings],
        }

    def status(self, check: str) -> str:
        """pass, info, warn or fail: the worst finding of that check."""
        severities = {f.severity for f in self.findings if f.check == check}
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


@dataclass
class _Walk:
    """State carried along the log while checking it, one event at a time."""

    chains: dict[str, str] = field(default_factory=dict)
    versions: dict[str, int] = field(default_factory=dict)
    rules: RuleWalk = field(default_factory=RuleWalk)
    digest: str = GENESIS
    digests: dict[int, str] = field(default_factory=dict)
    position: int = 0
    events: int = 0
    recorded_at: datetime | None = None


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
) -> AuditReport:
    """Walk the log once, up to the head of the snapshot `taken` (default: taken now):
    decoding, versions, hash chains, rules, time order, seal and digest."""
    walk, findings = _Walk(), []
    verify_at = verify_position(verify)
    taken = taken or snapshot(log)
    for notification in _notifications(log, taken.head):
        findings.extend(_check_event(log, walk, notification))
        if progress is not None and walk.events % PROGRESS_EVERY == 0:
            progress(PROGRESS_EVERY)
        if notification.id == verify_at:
            walk.digests[notification.id] = walk.digest
    problem = taken.seal_problem
    findings.extend(_check_seal(taken.seal, walk) if problem is None else [problem])
    if verify is not None:
        findings.extend(_check_verify(walk, verify, verify_at))
    report = AuditReport(walk.position, walk.events, len(walk.versions), walk.digest, findings)
    report.head_recorded_at = walk.recorded_at
    report.checks_run = [c for c in INTEGRITY_CHECKS if c != "projections"]
    if verify is None:
        report.checks_run.remove("verify")
    return report


def _notifications(log: EventLog, head: int) -> Iterator[Any]:
    for page in log.notification_pages(size=PAGE):
        for notification in page:
            if notification.id > head:
                return
            yield notification


def _check_event(log: EventLog, walk: _Walk, notification: Any) -> list[Finding]:
    stream, version, position = (
        str(notification.originator_id),
        notification.originator_version,
        notification.id,
    )
    where = {"stream": stream, "version": version, "position": position}
    findings: list[Finding] = []
    expected = walk.versions.get(stream, 0) + 1
    if version != expected:
        problem = f"version {version} where {expected} was expected (missing or out of order)"
        findings.append(Finding("versions", "error", problem, **where))
    walk.versions[stream] = max(version, walk.versions.get(stream, 0))
    walk.position, walk.events = position, walk.events + 1
    state = _raw_state(log, notification, findings, where)
    if state is not None:
        findings.extend(_check_time_order(walk, state.get("recorded_at"), where))
    stored_chain = str(state.pop("chain", "")) if state is not None else ""
    walk.digest = digest_step(walk.digest, position, stream, version, stored_chain)
    if state is None:
        return findings
    recomputed = chain_hash(walk.chains.get(stream, GENESIS), stream, version, state)
    if recomputed != stored_chain:
        problem = "hash chain broken: this event or one before it was altered, removed or moved"
        findings.append(Finding("chain", "error", problem, **where))
    walk.chains[stream] = stored_chain
    state["chain"] = stored_chain
    recorded = _decoded(notification, state, findings, where)
    if recorded is not None:
        findings.extend(walk.rules.findings(recorded, where))
    return findings


def _check_time_order(walk: _Walk, recorded_at: Any, where: dict[str, Any]) -> list[Finding]:
    """recorded_at never decreases along positions (CONTRACT 6.11; the writers make sure):
    an event appended later but dated earlier was back-dated."""
    try:
        moment = datetime.fromisoformat(str(recorded_at))
    except ValueError:
        return []  # the decode check names an event without a valid recorded_at
    previous, walk.recorded_at = walk.recorded_at, max(moment, walk.recorded_at or moment)
    if previous is None or moment >= previous:
        return []
    problem = (
        f"recorded_at {moment.isoformat()} is before the previous event's "
        f"{previous.isoformat()}: recorded_at never decreases along positions (back-dated?)"
    )
    return [Finding("time_order", "error", problem, **where)]


def _raw_state(
    log: EventLog, notification: Any, findings: list[Finding], where: dict[str, Any]
) -> dict[str, Any] | None:
    try:
        state = orjson.loads(log.plaintext(notification))
        if not isinstance(state, dict):
            raise ValueError("not a JSON object")
        return state
    except Exception as error:  # any corruption of the bytes is a finding, never a crash
        findings.append(Finding("decode", "error", f"stored bytes do not decode: {error}", **where))
        return None


def _decoded(
    notification: Any,
    state: dict[str, Any],
    findings: list[Finding],
    where: dict[str, Any],
) -> Recorded | None:
    """The event of a stored state already parsed (the bytes are parsed once a walk)."""
    stream, version = where["stream"], where["version"]
    try:
        recorded = EventMapper.from_state(stream, version, notification.topic, state)
    except Exception as error:
        message = str(error).strip().splitlines()[0]
        findings.append(Finding("decode", "error", f"does not validate: {message}", **where))
        return None
    if notification.topic != recorded.event.TOPIC:
        findings.append(Finding("decode", "error", "topic does not match the event type", **where))
    return recorded


def _check_seal(seal: Seal | None, walk: _Walk) -> list[Finding]:
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


def _check_verify(walk: _Walk, verify: str, position: int | None) -> list[Finding]:
    expected = verify.partition(":")[2]
    if position == 0 and expected == GENESIS:
        return []
    actual = walk.digests.get(position or 0)
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
