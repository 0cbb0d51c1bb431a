"""A stream's recorded events with the keys a replay filters and sorts by kept beside them.

Which events count at (D, T) is decided by three values per event (recorded_at, occurred_on,
the version a retraction retracts). Reading them from each event object is memory-bound at
10,000 events (a cache miss per object, several objects per event); read from lists of plain
integers, made once per stream and extended as it grows, it is a few times faster.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache

from learningloop.domain import events as ev
from learningloop.domain.recorded import Recorded

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def instant(moment: datetime) -> int:
    """A UTC time as whole microseconds since 1970: exact, ordered as the times are."""
    return (moment - _EPOCH) // _MICROSECOND


@dataclass(frozen=True, slots=True)
class ReplayKeys:
    """Per event, in stream order: recorded_at (`instant`), occurred_on (ordinal), version,
    and the version it retracts (None when it is not a retraction);
    `in_version_order`: every version greater than the one before (a stream as read)."""

    recorded: list[int]
    occurred: list[int]
    versions: list[int]
    retracts: list[int | None]
    in_version_order: bool = True

    def extended(self, events: Iterable[Recorded]) -> ReplayKeys:
        recorded, occurred = [*self.recorded], [*self.occurred]
        versions, retracts = [*self.versions], [*self.retracts]
        ordered, last = self.in_version_order, versions[-1] if versions else 0
        for stored in events:
            event, version = stored.event, stored.originator_version
            recorded.append(instant(stored.timestamp))
            occurred.append(event.occurred_on.toordinal())
            versions.append(version)
            retracts.append(event.retracts if _retraction(type(event)) else None)  # type: ignore[attr-defined]
            ordered, last = ordered and version > last, version
        return ReplayKeys(recorded, occurred, versions, retracts, ordered)


_NO_KEYS = ReplayKeys([], [], [], [])


@cache
def _retraction(kind: type[ev.Event]) -> bool:
    # isinstance on a pydantic model goes through ABCMeta: decided once per class
    return issubclass(kind, ev.EventRetracted)


class Stream(list[Recorded]):
    """Recorded events of one stream, in the order read, with their `ReplayKeys` made on
    first use (a stream read once and replayed many times pays for them once)."""

    _keys: ReplayKeys | None = None

    def replay_keys(self) -> ReplayKeys:
        if self._keys is None or len(self._keys.versions) != len(self):  # made, or appended to
            self._keys = _NO_KEYS.extended(self)
        return self._keys

    def extended(self, events: Sequence[Recorded]) -> Stream:
        """This stream followed by `events`, its keys extended rather than made again."""
        if not events:
            return self
        longer = Stream([*self, *events])
        if self._keys is not None:
            longer._keys = self._keys.extended(events)
        return longer


def keys_of(events: Sequence[Recorded]) -> ReplayKeys:
    """The replay keys of any sequence of events (kept when it is a `Stream`)."""
    if isinstance(events, Stream):
        return events.replay_keys()
    return _NO_KEYS.extended(events)
