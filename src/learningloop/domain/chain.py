"""Tamper evidence: each event's hash chains to the previous event of its stream.

chain(n) = sha256(chain(n-1) + canonical JSON of {stream, version, state}), where `state` is
exactly what is stored for the event (its fields, recorded_at, class_version when above 1).
The log digest chains every event in log order: it is what an auditor keeps outside the store.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import orjson

if TYPE_CHECKING:  # a type only: reading the log never builds the event models
    from learningloop.domain.events import Event
    from learningloop.domain.recorded import Recorded

GENESIS = "0" * 64


def stored_state(event: Event, recorded_at: datetime) -> dict[str, Any]:
    """The JSON object stored for an event, without its chain hash."""
    # What model_dump(mode="json", exclude_none=True) returns, without its keyword plumbing
    # (every other option passed as None): half the cost an event, on every import.
    state: dict[str, Any] = event.__pydantic_serializer__.to_python(
        event, mode="json", exclude_none=True
    )
    state["recorded_at"] = recorded_at.isoformat()
    if event.class_version > 1:
        state["class_version"] = event.class_version
    return state


def canonical(value: Any) -> bytes:
    """Compact UTF-8 JSON with sorted keys (the same bytes as json.dumps would give)."""
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)


def chain_hash(previous: str, stream: str, version: int, state: dict[str, Any]) -> str:
    """The hash of one event, chained to the hash of the previous event of its stream."""
    content = canonical({"stream": stream, "version": version, "state": state})
    return hashlib.sha256(previous.encode() + content).hexdigest()


def sealed_state(
    previous: str, stream: str, version: int, event: Event, recorded_at: datetime
) -> tuple[str, bytes]:
    """An event's chain hash and the exact JSON bytes to store for it (chain included)."""
    # stored_state's bytes without the serializer's JSON-mode dict: the validated fields as
    # they are (None left out), dates and tuples written by orjson as the serializer writes
    # them, nested models by _fields. A third of the serializer's cost (tests/test_chain.py
    # holds both to the same bytes).
    state = _fields(event)
    # orjson writes a datetime as isoformat() does (6 digits of microseconds unless none,
    # the UTC offset as +00:00), without a str object in between.
    state["recorded_at"] = recorded_at
    if event.class_version > 1:
        state["class_version"] = event.class_version
    content = orjson.dumps(
        {"stream": stream, "version": version, "state": state},
        default=_fields,
        option=orjson.OPT_SORT_KEYS,
    )
    chain = hashlib.sha256(previous.encode() + content).hexdigest()
    # The state with "chain" as its last key, as orjson writes it (a hex digest needs no
    # escaping), joined into a new object rather than kept as orjson returns it: orjson's
    # bytes keep the capacity of its write buffer (~4 KiB each, for ~300 bytes), and an
    # import holds 50,000 of them before writing (200,000 programme events: 359 -> 161 MiB
    # peak; keeping 100,000 cost ~3 us of CPU each in page faults and 390 MiB).
    return chain, b"".join((orjson.dumps(state, default=_fields)[:-1], b',"chain":"',
                            chain.encode(), b'"}'))  # fmt: skip


def _fields(model: Any) -> dict[str, Any]:
    """A validated model's fields in their declared order, without the None ones (what
    `to_python(exclude_none=True)` gives): the models have no aliases, computed fields or
    custom serializers, and forbid extra fields."""
    optional = _OPTIONAL.get(type(model))
    if optional is None:
        if getattr(model, "__pydantic_fields_set__", None) is None:
            raise TypeError  # not a model: orjson reports the type it cannot write
        optional = _OPTIONAL[type(model)] = _optional_fields(type(model))
    state: dict[str, Any] = model.__dict__.copy()
    # Only the fields that may be None are looked at (a few of an event's ten or so).
    for name in optional:
        if state[name] is None:
            del state[name]
    return state


# Each model class's fields that may hold None, found once per class.
_OPTIONAL: dict[type, tuple[str, ...]] = {}


def _optional_fields(model_class: Any) -> tuple[str, ...]:
    fields = model_class.model_fields
    return tuple(name for name, info in fields.items() if not _never_none(info.annotation))


def _never_none(annotation: Any) -> bool:
    """A plain (or Annotated) type without None in it: validation never leaves None there."""
    import types
    import typing

    while typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    if annotation is None or annotation is type(None) or annotation is Any:
        return False
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return all(_never_none(arg) for arg in typing.get_args(annotation))
    return True


def digest_step(previous: str, position: int, stream: str, version: int, chain: str) -> str:
    """The log digest after one more event, in log (position) order."""
    link = f"{previous}|{position}|{stream}|{version}|{chain}"
    return hashlib.sha256(link.encode()).hexdigest()


@dataclass(frozen=True)
class Seal:
    """The log's head as the writers left it: checked by `audit` against the events."""

    position: int
    events: int
    digest: str

    def extended(self, appended: Iterable[tuple[int, Recorded]]) -> Seal:
        position, events, digest = self.position, self.events, self.digest
        for position, recorded in appended:
            digest = digest_step(
                digest, position, recorded.stream, recorded.version, recorded.chain
            )
            events += 1
        return Seal(position, events, digest)

    @property
    def head_digest(self) -> str:
        """POSITION:HASH, as `audit --digest` prints and `--verify` takes."""
        return f"{self.position}:{self.digest}"
