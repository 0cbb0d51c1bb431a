"""A stream's recorded events with the keys a replay filters and sorts by kept beside them.

Which events count at (D, T) is decided by three values per event (recorded_at, occurred_on,
the version a retraction retracts). Reading them from each event object is memory-bound at
10,000 events (a cache miss per object, several objects per event); read from lists of plain
integers, made once per stream and extended as it grows, it is a few times faster.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
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
class ReplayOrder:
    """What counting at any (D, T) starts from, sorted once per stream: the events that are
    not retractions in (occurred_on, version) order with their occurred_on (so D cuts a
    prefix), the last recorded_at, and each retraction as (recorded_at, version retracted).

    `settled` are those indexes with every retraction applied (what counts when T is at or
    after the last recording, the usual replay), with their occurred_on and, by class, their
    positions among them: such a replay is then slices of lists made once per stream."""

    indexes: list[int]
    occurred: list[int]
    last_recorded: int
    retractions: list[tuple[int, int]]
    settled: list[int]
    settled_occurred: list[int]
    settled_kinds: dict[type[ev.Event], list[int]]


@dataclass(frozen=True, slots=True)
class ReplayKeys:
    """Per event, in stream order: recorded_at (`instant`), occurred_on (ordinal), version,
    the version it retracts (None when it is not a retraction) and its class;
    `in_version_order`: every version greater than the one before (a stream as read);
    `order`: made from them by `ReplayKeys.of`."""

    recorded: list[int]
    occurred: list[int]
    versions: list[int]
    retracts: list[int | None]
    kinds: list[type[ev.Event]]
    in_version_order: bool
    order: ReplayOrder

    @classmethod
    def of(cls, recorded: list[int], occurred: list[int], versions: list[int],
           retracts: list[int | None], kinds: list[type[ev.Event]], in_version_order: bool,
           ) -> ReplayKeys:  # fmt: skip
        indexes = [index for index, target in enumerate(retracts) if target is None]
        # (occurred_on, version), ties in stream order: sorted by version, then stably by
        # occurred_on (one stable sort when the stream is in version order)
        if not in_version_order:
            indexes.sort(key=versions.__getitem__)
        indexes.sort(key=occurred.__getitem__)
        retractions = [(at, target) for at, target in zip(recorded, retracts, strict=True)
                       if target is not None]  # fmt: skip
        targets = {target for _, target in retractions}
        settled = [index for index in indexes if versions[index] not in targets]
        order = ReplayOrder(indexes, [occurred[index] for index in indexes],
                            max(recorded, default=0), retractions, settled,
                            [occurred[index] for index in settled],
                            _by_kind(settled, kinds))  # fmt: skip
        return cls(recorded, occurred, versions, retracts, kinds, in_version_order, order)

    def extended(self, events: Iterable[Recorded]) -> ReplayKeys:
        recorded, occurred = [*self.recorded], [*self.occurred]
        versions, retracts, kinds = [*self.versions], [*self.retracts], [*self.kinds]
        ordered, last = self.in_version_order, versions[-1] if versions else 0
        for stored in events:
            event, version = stored.event, stored.originator_version
            recorded.append(instant(stored.timestamp))
            occurred.append(event.occurred_on.toordinal())
            versions.append(version)
            kinds.append(kind := type(event))
            retracts.append(event.retracts if _retraction(kind) else None)  # type: ignore[attr-defined]
            ordered, last = ordered and version > last, version
        return ReplayKeys.of(recorded, occurred, versions, retracts, kinds, ordered)

    def counted(self, as_of: int, known_at: int) -> list[int]:
        """The indexes of the events that count at (D, T) (`as_of` an ordinal, `known_at` an
        `instant`), in (occurred_on, version) order (CONTRACT section 1)."""
        order = self.order
        if known_at >= order.last_recorded:  # all known, every retraction applied
            return order.settled[: bisect_right(order.settled_occurred, as_of)]
        chosen = order.indexes[: bisect_right(order.occurred, as_of)]
        recorded = self.recorded  # T before the last recording: some not known yet
        chosen = [index for index in chosen if recorded[index] <= known_at]
        retracted = {target for at, target in order.retractions if at <= known_at}
        if retracted:
            versions = self.versions
            chosen = [index for index in chosen if versions[index] not in retracted]
        return chosen

    def counted_by_kind(
        self, as_of: int, known_at: int
    ) -> tuple[list[int], dict[type[ev.Event], list[int]]]:
        """`counted` and, by class, the positions of those events among them."""
        order = self.order
        if known_at < order.last_recorded:
            chosen = self.counted(as_of, known_at)
            return chosen, _by_kind(chosen, self.kinds)
        cut = bisect_right(order.settled_occurred, as_of)  # fresh lists: the caller's own
        kinds = {kind: found[: bisect_left(found, cut)]
                 for kind, found in order.settled_kinds.items()}  # fmt: skip
        return order.settled[:cut], {kind: found for kind, found in kinds.items() if found}


def _by_kind(indexes: list[int], classes: list[type[ev.Event]]) -> dict[type[ev.Event], list[int]]:
    """The positions in `indexes` of the events of each class, in order."""
    kinds: dict[type[ev.Event], list[int]] = {}
    for position, index in enumerate(indexes):
        kinds.setdefault(classes[index], []).append(position)
    return kinds


_NO_KEYS = ReplayKeys.of([], [], [], [], [], True)


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
