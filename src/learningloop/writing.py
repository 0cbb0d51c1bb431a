"""Writing: admit events against cached write models, in batches, all or nothing."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import replace
from itertools import islice
from typing import TYPE_CHECKING, Any

from learningloop.domain import aggregates as agg
from learningloop.domain import events as ev
from learningloop.domain import rules
from learningloop.domain.chain import GENESIS, sealed_state
from learningloop.domain.parsing import parse_event
from learningloop.domain.recorded import Recorded
from learningloop.domain.streams import Stream
from learningloop.domain.values import did_you_mean
from learningloop.errors import InvalidEventError
from learningloop.store import Clock, EventLog, Store

if TYPE_CHECKING:  # a type only: replaying loads no YAML parser
    from learningloop.sources import RawEvent

ProgressCallback = Callable[[int], None]


class StreamCache:
    """Committed write models and decoded streams, fast-forwarded from the store on each use,
    as eventsourcing's repository cache does: a 10,000-event stream is decoded once."""

    MAX_STREAMS = 256

    def __init__(self, store: Store) -> None:
        self._store = store
        self.models: dict[str, agg.Programme | agg.Experiment] = {}
        self._events: dict[str, Stream] = {}

    def model(self, stream_id: str) -> agg.Programme | agg.Experiment | None:
        """A private copy of the stream's write model, up to date with the store."""
        cached = self.models.get(stream_id)
        model = cached.clone() if cached else None
        after = model.version if model else None
        return agg.project_stream(model, self._store.stream(stream_id, after))

    def committed(self, models: dict[str, agg.Programme | agg.Experiment | None]) -> None:
        self.models.update({key: model for key, model in models.items() if model is not None})
        self._trim(self.models)

    def keys(self, kind: ev.StreamKind) -> list[str]:
        """The slugs of every programme or experiment in the log, in the order they started."""
        log = self._store.log(create=False)
        if log is None:
            return []
        # Only the opening events are read: the topic filter runs in the database.
        opening = ev.ProgrammeOpened if kind == "programme" else ev.ExperimentProposed
        pages = log.notification_pages(size=10_000, topics=[opening.TOPIC])
        return [str(n.originator_id).partition(":")[2] for page in pages for n in page]

    def events(self, stream_id: str) -> Stream:
        cached = self._events.get(stream_id, Stream())
        after = cached[-1].version if cached else None
        events = cached.extended(self._store.stream(stream_id, after))
        self._events[stream_id] = events
        self._trim(self._events)
        return events

    def _trim(self, entries: dict[str, Any]) -> None:
        while len(entries) > self.MAX_STREAMS:
            entries.pop(next(iter(entries)))


class Admission:
    """Checks each new event against its stream's write model and gives it a version."""

    def __init__(self, cache: StreamCache, clock: Clock, *, empty_log: bool = False) -> None:
        """`empty_log`: the log held no event when this admission began, so no stream needs
        reading (a writer that appends meanwhile makes our version 1 collide: the write
        starts again, with a new admission that reads)."""
        self._cache = cache
        self._clock = clock
        self._empty_log = empty_log
        self._streams: dict[str, agg.Programme | agg.Experiment | None] = {}
        self.touched: set[str] = set()

    def commit(self) -> None:
        """The writes landed: later admissions may start from these write models."""
        self._cache.committed(self._streams)

    def admit(self, raw: RawEvent, recorded_by: str) -> Recorded:
        try:
            event = parse_event(raw.data, default_recorded_by=recorded_by)
            return self._admit(event)
        except InvalidEventError as error:
            raise self._with_hint(error, raw.data).at(raw.location) from None

    def _with_hint(self, error: InvalidEventError, data: Any) -> InvalidEventError:
        """A stream that does not exist: name the closest one that does, if any."""
        kind: ev.StreamKind
        if error.field == "programme":
            kind = "programme"
        elif error.field == "experiment":
            kind = "experiment"
        else:
            return error
        name = data.get(kind) if isinstance(data, dict) else None
        if not isinstance(name, str):
            return error
        started = [key.partition(":")[2] for key, model in self._streams.items()
                   if model is not None and key.startswith(f"{kind}:")]  # fmt: skip
        known = {*self._cache.keys(kind), *started}
        hint = "" if name in known else did_you_mean(name, known)
        return InvalidEventError(kind, error.reason + hint) if hint else error

    def _admit(self, event: ev.Event) -> Recorded:
        stream_id = ev.stream_id(ev.stream_kind_of(event), event.stream_key)
        stream = self._load(stream_id)
        rules.check(event, stream, self._programme)
        version = stream.version + 1 if stream else 1
        recorded_at = self._clock.now()
        previous = stream.chain if stream else GENESIS
        chain, stored = sealed_state(previous, stream_id, version, event, recorded_at)
        recorded = Recorded(stream_id, version, recorded_at, event, chain, stored)
        self._streams[stream_id] = rules.applied(stream, recorded)
        self.touched.add(stream_id)
        return recorded

    def _programme(self, key: str) -> agg.Programme | None:
        programme = self._load(ev.stream_id("programme", key))
        assert programme is None or isinstance(programme, agg.Programme)
        return programme

    def _load(self, stream_id: str) -> agg.Programme | agg.Experiment | None:
        if stream_id not in self._streams:
            self._streams[stream_id] = None if self._empty_log else self._cache.model(stream_id)
        return self._streams[stream_id]


def copied_pages(source: EventLog, page_size: int) -> Iterator[list[Recorded]]:
    """The source's events in log order, each carrying its exact stored JSON."""
    for page in source.notification_pages(size=page_size):
        batch = []
        for notification in page:
            recorded: Recorded = source.mapper.to_domain_event(notification)  # type: ignore[assignment]
            batch.append(replace(recorded, stored=source.plaintext(notification)))
        yield batch


def take(items: Iterator[Recorded], count: int) -> list[Recorded]:
    # islice pulls the items in C: no Python loop step an event.
    return list(islice(items, count))


def batches(
    items: Iterable[Recorded], size: int, progress: ProgressCallback | None
) -> Iterator[list[Recorded]]:
    items = iter(items)
    while batch := list(islice(items, size)):
        yield batch
        if progress:
            progress(len(batch))


def tap(items: Iterator[Recorded], see: Callable[[Recorded], None]) -> Iterator[Recorded]:
    for item in items:
        see(item)
        yield item
