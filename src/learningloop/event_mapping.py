"""How a `Recorded` event is stored: compact JSON of its fields, encrypted when the store is.

Old class versions are upcast on load; topics are fixed strings (`learningloop:MeetingHeld`),
never module paths, so renaming a module never orphans a stored event.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

import orjson
from eventsourcing.persistence import Mapper, StoredEvent, Transcoder

from learningloop.domain.chain import stored_state
from learningloop.domain.recorded import Recorded

if TYPE_CHECKING:
    from learningloop.domain.events import Event

# Each stored topic's event class, filled on the first decoding: opening the log to read
# projections (`sql`, `indicators`) never builds the event models.
_TOPICS: dict[str, type[Event]] = {}


def _topics() -> dict[str, type[Event]]:
    from learningloop.domain.events import TOPICS

    _TOPICS.update(TOPICS)
    return _TOPICS


class JsonTranscoder(Transcoder):
    """Compact UTF-8 JSON; values are already JSON-ready (the mapper dumps pydantic models)."""

    def encode(self, obj: Any) -> bytes:
        return orjson.dumps(obj)

    def decode(self, data: bytes) -> Any:
        return orjson.loads(data)


class EventMapper(Mapper[str]):
    """Maps a `Recorded` event to a stored event and back, upcasting old class versions."""

    def to_stored_event(self, domain_event: Any) -> StoredEvent:
        recorded: Recorded = domain_event
        data = recorded.stored
        if data is None:
            state = stored_state(recorded.event, recorded.timestamp)
            state["chain"] = recorded.chain
            data = self.transcoder.encode(state)
        if self.compressor:
            data = self.compressor.compress(data)
        if self.cipher:
            data = self.cipher.encrypt(data)
        return StoredEvent(
            originator_id=recorded.originator_id,
            originator_version=recorded.originator_version,
            topic=recorded.event.TOPIC,
            state=data,
        )

    def to_domain_event(self, stored_event: StoredEvent) -> Any:
        data = stored_event.state
        if self.cipher:
            data = self.cipher.decrypt(data)
        if self.compressor:
            data = self.compressor.decompress(data)
        state: dict[str, Any] = self.transcoder.decode(data)
        return self.from_state(
            str(stored_event.originator_id), stored_event.originator_version,
            stored_event.topic, state,
        )  # fmt: skip

    @staticmethod
    def from_state(stream: str, version: int, topic: str, state: dict[str, Any]) -> Recorded:
        """The recorded event of a decoded stored state (consumed: its keys are popped)."""
        event_class = (_TOPICS or _topics())[topic]
        chain = state.pop("chain", "")
        recorded_at = datetime.fromisoformat(state.pop("recorded_at"))
        from_version = state.pop("class_version", 1)
        while from_version < event_class.class_version:
            getattr(event_class, f"upcast_v{from_version}_v{from_version + 1}")(state)
            from_version += 1
        return Recorded(
            originator_id=stream,
            originator_version=version,
            timestamp=recorded_at,
            event=event_class.model_validate(state),
            chain=chain,
        )
