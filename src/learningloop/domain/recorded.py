"""A recorded event: the fact plus where and when the log stored it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # a type only: reading the log never builds the event models
    from learningloop.domain.events import Event


@dataclass(frozen=True, slots=True)
class Recorded:
    """One stored event. Field names follow eventsourcing's domain-event protocol."""

    originator_id: str  # the stream, e.g. "experiment:deltameca"
    originator_version: int  # the stream version, from 1
    timestamp: datetime  # recorded_at: transaction time, UTC
    event: Event
    chain: str = ""  # hash chained to the previous event of the stream (domain.chain)
    # The JSON bytes to store, when the writer already made them (not part of the fact).
    stored: bytes | None = field(default=None, compare=False, repr=False)

    @property
    def stream(self) -> str:
        return self.originator_id

    @property
    def version(self) -> int:
        return self.originator_version

    @property
    def recorded_at(self) -> datetime:
        return self.timestamp

    @property
    def occurred_on(self) -> date:
        return self.event.occurred_on
