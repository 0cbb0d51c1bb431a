"""The audit's two walks of the log, each in memory that does not grow with the log.

Along positions: the log digest and recorded_at order, which chain every event in log order
(a few values carried from one event to the next). Stream by stream, each in the order it
was written: versions, hash chains, decoding and the writers' rules, with one stream's write
model in memory at a time. The rules look across streams only at programmes (an experiment's
partners and functions are its programme's), so programme streams are walked first and keep
what experiments ask of them, with the positions it became true at: an experiment event is
judged against its programme as the log stood just before it, exactly as a walk in log order
would.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson

from learningloop.audit_findings import Finding
from learningloop.domain import aggregates as agg
from learningloop.domain import events as ev
from learningloop.domain import rules
from learningloop.domain.chain import GENESIS, chain_hash, digest_step
from learningloop.domain.recorded import Recorded
from learningloop.errors import InvalidEventError
from learningloop.event_mapping import EventMapper
from learningloop.eventlog import EventLog, Within

PAGE = 10_000  # events read at a time along positions
PROGRESS_EVERY = 1_000  # events between two progress reports


@dataclass
class LogWalk:
    """Along positions: the digest, the event count, the last position and recorded_at."""

    digest: str = GENESIS
    position: int = 0
    events: int = 0
    recorded_at: datetime | None = None
    verified: str | None = None  # the digest at the --verify position, once passed


def walk_positions(
    log: EventLog,
    head: int,
    verify_at: int | None,
    found: Callable[[list[Finding]], None],
    each_page: Callable[[], None] | None = None,
) -> LogWalk:
    """The log digest and the time-order check, up to `head`, in log order."""
    walk = LogWalk()
    for page in log.raw_pages(0, PAGE) if log.mapper.cipher is None else _decrypted(log):
        if each_page is not None:
            each_page()
        for position, stream, version, data in page:
            if position > head:
                return walk
            state = _state_or_none(data)
            chain = ""
            if state is not None:
                if late := _check_time_order(walk, state.get("recorded_at")):
                    found([Finding("time_order", "error", late, stream, version, position)])
                chain = str(state.get("chain", ""))
            walk.digest = digest_step(walk.digest, position, stream, version, chain)
            walk.position, walk.events = position, walk.events + 1
            if position == verify_at:
                walk.verified = walk.digest
    return walk


def _decrypted(log: EventLog) -> Iterator[list[tuple[int, str, int, bytes | None]]]:
    """Pages of an encrypted log, with None where the bytes do not decrypt."""
    for page in log.notification_pages(size=PAGE):
        rows = []
        for notification in page:
            try:
                data: bytes | None = log.plaintext(notification)
            except Exception:  # the stream walk names it (decode)
                data = None
            rows.append((notification.id, str(notification.originator_id),
                         notification.originator_version, data))  # fmt: skip
        yield rows


def _state(data: bytes) -> dict[str, Any]:
    """The stored JSON object; ValueError (orjson's errors are ValueErrors) when the bytes
    hold anything else."""
    state = orjson.loads(data)
    if not isinstance(state, dict):
        raise ValueError("not a JSON object")
    return state


def _state_or_none(data: bytes | None) -> dict[str, Any] | None:
    """The stored JSON object, None when there is none (the stream walk names why)."""
    try:
        return _state(data) if data is not None else None
    except (ValueError, TypeError):  # TypeError: a forged row holding a number, say
        return None


def _check_time_order(walk: LogWalk, recorded_at: Any) -> str | None:
    """recorded_at never decreases along positions (CONTRACT 6.11; the writers make sure):
    an event appended later but dated earlier was back-dated. The problem, if any."""
    try:
        moment = datetime.fromisoformat(str(recorded_at))
    except ValueError:
        return None  # the decode check names an event without a valid recorded_at
    previous, walk.recorded_at = walk.recorded_at, max(moment, walk.recorded_at or moment)
    if previous is None or moment >= previous:
        return None
    return (
        f"recorded_at {moment.isoformat()} is before the previous event's "
        f"{previous.isoformat()}: recorded_at never decreases along positions (back-dated?)"
    )


@dataclass
class _Programme:
    """What experiments ask of a programme, with the position each part became true at."""

    opened: int
    function_keys: tuple[str, ...]
    joined_at: list[int] = field(default_factory=list)  # positions, ascending
    partners: list[str] = field(default_factory=list)  # who joined there


@dataclass
class StreamWalk:
    """Stream by stream: the programmes seen so far, and how many streams and events."""

    programmes: dict[str, _Programme] = field(default_factory=dict)
    streams: int = 0
    events: int = 0
    position: int = 0  # of the event being judged
    _cached: tuple[str, int, agg.Programme] | None = None

    def programme_now(self, key: str) -> agg.Programme | None:
        """Programme `key`'s write model as the log stood just before the event being judged."""
        known = self.programmes.get(key)
        if known is None or known.opened >= self.position:
            return None
        joined = bisect_left(known.joined_at, self.position)
        if self._cached is None or self._cached[:2] != (key, joined):
            model = agg.Programme(id=ev.stream_id("programme", key), key=key,
                                  partners=set(known.partners[:joined]),
                                  function_keys=known.function_keys)  # fmt: skip
            self._cached = (key, joined, model)
        return self._cached[2]

    def remember(self, model: agg.Programme, recorded: Recorded, position: int) -> None:
        """An admitted event of a programme stream: what experiments will ask of it."""
        event = recorded.event
        known = self.programmes.get(model.key)
        if known is None:
            known = self.programmes[model.key] = _Programme(position, model.function_keys)
        if isinstance(event, ev.PartnerJoined) and event.partner not in known.partners:
            known.joined_at.append(position)
            known.partners.append(event.partner)
        self._cached = None


@dataclass(frozen=True)
class Share:
    """The streams one walker judges. Every walker walks the programme streams (experiments
    ask them), the first alone counting and reporting them; of the other streams, those from
    id `within[0]` to before `within[1]` (None: no bound)."""

    first: bool = True
    within: Within = (None, None)


def walk_streams(
    log: EventLog,
    head: int,
    found: Callable[[list[Finding]], None],
    progress: Callable[[int], None] | None = None,
    share: Share = Share(),
) -> StreamWalk:
    """Versions, chains, decoding and rules, stream by stream, programmes first."""
    walk = StreamWalk()
    decrypted = None if log.mapper.cipher is None else log.decrypted
    for programmes in (True, False):
        stream: _Stream | None = None
        judged = share.first or not programmes  # counted and reported
        for page in log.stream_rows(head, programmes, within=share.within):
            for stream_id, position, version, topic, data in page:
                if stream is None or stream_id != stream.id:
                    stream = _Stream(str(stream_id))
                    walk.streams += judged
                row = (position, version, topic, data)
                findings = _check_event(walk, stream, row, decrypted)
                if not judged:
                    continue
                if findings:
                    found(findings)
                walk.events += 1
                if progress is not None and walk.events % PROGRESS_EVERY == 0:
                    progress(PROGRESS_EVERY)
    return walk


@dataclass
class _Stream:
    """One stream's walk: its highest version, last chain hash and write model."""

    id: str
    version: int = 0
    chain: str = GENESIS
    model: rules.WriteModel | None = None


def _check_event(
    walk: StreamWalk,
    stream: _Stream,
    row: tuple[int, int, str, bytes],
    decrypted: Callable[[bytes], bytes] | None,
) -> list[Finding]:
    """The findings of one event; `decrypted` turns stored bytes into plaintext (None: they
    are plaintext)."""
    position, version, topic, data = row
    findings: list[Finding] = []
    if version != stream.version + 1:
        problem = (
            f"version {version} where {stream.version + 1} was expected (missing or out of order)"
        )
        findings.append(Finding("versions", "error", problem, stream.id, version, position))
    if version > stream.version:
        stream.version = version
    try:
        state = _state(data if decrypted is None else decrypted(data))
    except Exception as error:  # any corruption of the bytes is a finding, never a crash
        problem = f"stored bytes do not decode: {error}"
        findings.append(Finding("decode", "error", problem, stream.id, version, position))
        return findings
    stored_chain = str(state.pop("chain", ""))
    if chain_hash(stream.chain, stream.id, version, state) != stored_chain:
        problem = "hash chain broken: this event or one before it was altered, removed or moved"
        findings.append(Finding("chain", "error", problem, stream.id, version, position))
    stream.chain = stored_chain
    state["chain"] = stored_chain
    where = (stream.id, version, position)
    recorded = _decoded(topic, state, findings, where)
    if recorded is not None:
        walk.position = position
        try:
            rules.check(recorded.event, stream.model, walk.programme_now)
        except InvalidEventError as error:
            findings.append(Finding("rules", "error", f"breaks a rule: {error}", *where))
            return findings
        stream.model = rules.applied(stream.model, recorded)
        if isinstance(stream.model, agg.Programme):
            walk.remember(stream.model, recorded, position)
    return findings


def _decoded(
    topic: str, state: dict[str, Any], findings: list[Finding], where: tuple[str, int, int]
) -> Recorded | None:
    """The event of a stored state already parsed (the bytes are parsed once a walk)."""
    try:
        recorded = EventMapper.from_state(where[0], where[1], topic, state)
    except Exception as error:
        message = str(error).strip().splitlines()[0]
        findings.append(Finding("decode", "error", f"does not validate: {message}", *where))
        return None
    if topic != recorded.event.TOPIC:
        findings.append(Finding("decode", "error", "topic does not match the event type", *where))
    return recorded
