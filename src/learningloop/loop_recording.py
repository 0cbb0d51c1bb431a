"""Writing the log: import files or events, record one, copy a whole log; all or nothing."""

from __future__ import annotations

import os
import random
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import chain
from pathlib import Path
from typing import TYPE_CHECKING, Any

from learningloop.domain.basics import no_cycle_collection
from learningloop.errors import BadInputError, ConcurrentWriteError
from learningloop.loop_session import ProgressCallback, Session

if TYPE_CHECKING:  # imported where used: reading commands never load the event models
    from learningloop.domain.recorded import Recorded
    from learningloop.sources import RawEvent

BATCH_SIZE = 1000  # events a batch, also when copying a log
# Events held in memory before the first write: a bad event in a file smaller than this
# never opens the store for writing at all.
BUFFERED_EVENTS = 50_000
# A write that lost a race for a stream version is validated again and retried this often.
WRITE_ATTEMPTS = 8


@dataclass(frozen=True)
class ImportSummary:
    """What an import wrote."""

    events: int
    streams: int


class Recording(Session):
    """Every write: validated against the rules, then appended in one transaction."""

    def import_files(
        self, paths: Sequence[str | os.PathLike[str]], progress: ProgressCallback | None = None
    ) -> ImportSummary:
        """Import JSON Lines, JSON and YAML files: every event of every file, or none."""
        from learningloop.sources import check_sources, read_events

        files = [Path(path) for path in paths]
        check_sources(files)
        return self._write(
            lambda: chain.from_iterable(read_events(f) for f in files),
            progress,
            workers=_import_workers(files),
            files=files,
        )

    def import_events(
        self, raw_events: Iterable[Any], progress: ProgressCallback | None = None
    ) -> ImportSummary:
        """Import raw event mappings (as in a JSON file): all of them, or none."""
        from learningloop.sources import RawEvent

        items = list(raw_events)
        return self._write(
            lambda: (RawEvent(f"item {n}", raw) for n, raw in enumerate(items, 1)), progress
        )

    def record(self, raw_event: dict[str, Any]) -> Recorded:
        """Record one event, with the same validation as an import."""
        from learningloop.sources import RawEvent

        recorded: list[Recorded] = []
        self._write(lambda: iter([RawEvent("event", raw_event)]), None, recorded.append)
        # Each attempt admits the event again; only the last one (the one stored) counts: an
        # attempt that lost a race had the version another writer took.
        return recorded[-1]

    def copy_to(self, target: Session, progress: ProgressCallback | None = None) -> int:
        """Copy this whole log into an empty store: same streams, versions, recorded_at and
        stored JSON, so every hash chain (and, from an empty store, the digest) is kept."""
        from learningloop.writing import copied_pages

        source = self._store.readable_log()
        if target.event_count():
            raise BadInputError(f"store {target.location.describe()} is not empty: copy needs an "
                                "empty target")  # fmt: skip
        return target._store.writable_log().append(copied_pages(source, BATCH_SIZE), progress)

    def _write(
        self,
        raw_events: Callable[[], Iterator[RawEvent]],
        progress: ProgressCallback | None,
        on_recorded: Callable[[Recorded], None] | None = None,
        workers: int = 0,
        files: list[Path] | None = None,
    ) -> ImportSummary:
        """Validate and append (the JSON Lines `files` admitted by `workers` processes, 0: in
        this one); on a concurrent write to the same stream, start again."""
        try:
            # The collector paused (see no_cycle_collection): its passes re-scanned the
            # 50,000 buffered events, about a fifth of an import's CPU (200,000 programme
            # events: 24.1-25.0 s -> 18.4-20.6 s, the same peak memory).
            with no_cycle_collection():
                summary = self._write_attempts(
                    raw_events, progress, on_recorded, workers, files or []
                )
        except BaseException:
            self._store.discard_created()
            raise
        self._store.kept()
        return summary

    def _write_attempts(
        self,
        raw_events: Callable[[], Iterator[RawEvent]],
        progress: ProgressCallback | None,
        on_recorded: Callable[[Recorded], None] | None,
        workers: int,
        files: list[Path],
    ) -> ImportSummary:
        for attempt in range(1, WRITE_ATTEMPTS + 1):
            try:
                if workers:
                    # Here only: a record or a small import loads no worker machinery
                    # (multiprocessing, the audit's workers).
                    from learningloop.import_workers import Abandoned

                    try:
                        return self._admitted_by_workers(files, progress, workers)
                    except Abandoned:  # one process finds the first problem, and names it
                        workers = 0
                return self._admitted_here(raw_events, progress, on_recorded)
            except ConcurrentWriteError:
                if attempt == WRITE_ATTEMPTS:
                    raise
                time.sleep(random.uniform(0, 0.01 * attempt))  # let the other writer finish
        raise AssertionError("unreachable")

    def _admitted_here(
        self,
        raw_events: Callable[[], Iterator[RawEvent]],
        progress: ProgressCallback | None,
        on_recorded: Callable[[Recorded], None] | None,
    ) -> ImportSummary:
        from learningloop.writing import Admission, tap

        # Into an empty log (a first import), no stream is read before its first event:
        # a query a stream saved (52,810 of them in the 1M network shape).
        admission = Admission(self._cache, self._clock, empty_log=self.head_position() == 0)
        recorded: Iterator[Recorded] = (
            admission.admit(raw, self.recorded_by) for raw in raw_events()
        )
        if on_recorded is not None:
            recorded = tap(recorded, on_recorded)
        count = self._append(recorded, progress)
        admission.commit()
        return ImportSummary(events=count, streams=len(admission.touched))

    def _admitted_by_workers(
        self, files: list[Path], progress: ProgressCallback | None, workers: int
    ) -> ImportSummary:
        """Admitted by worker processes (see import_workers); the write models they built
        stay theirs: this session's cache reads the streams again when it needs them."""
        from learningloop.import_workers import BLOCK, Pool, Router, admitted

        empty_log = self.head_position() == 0
        router = Router(workers)
        touched: set[str] = set()
        pool = Pool(workers, self.location, self._store.cipher_key, self.recorded_by, empty_log)
        try:
            # Appending from the first block on: while the workers admit the next ones, this
            # process has the time to write (a refused event rolls it all back).
            count = self._append(admitted(_worker_lines(files), self._clock, router, pool,
                                          touched), progress, buffered=BLOCK)  # fmt: skip
        except BaseException:
            pool.close(at_once=True)
            raise
        pool.close()
        return ImportSummary(events=count, streams=len(touched))

    def _append(self, recorded: Iterator[Recorded], progress: ProgressCallback | None,
                buffered: int = BUFFERED_EVENTS) -> int:  # fmt: skip
        """Append the recorded events once `buffered` of them are admitted (an early error
        then takes no write lock)."""
        from learningloop.writing import batches, take

        first = take(recorded, buffered)
        if not first:
            return 0
        pages = batches(chain(first, recorded), BATCH_SIZE, progress)
        return self._store.writable_log().append(pages)


def _worker_lines(files: list[Path]) -> Iterator[bytes]:
    """The lines the import workers admit; on one longer than any event may be, the import
    starts again in one process, which names the first problem of the files in order."""
    from learningloop.import_workers import Abandoned
    from learningloop.sources import LineTooLong, json_lines_bytes

    try:
        yield from json_lines_bytes(files)
    except LineTooLong:
        raise Abandoned from None


def _import_workers(files: list[Path]) -> int:
    """Worker processes for importing `files`: JSON Lines only (other kinds, and small
    imports, are admitted in this process). The setting is checked whatever the files."""
    from learningloop.import_workers import workers_wanted
    from learningloop.sources import SUFFIXES

    try:
        size = sum(file.stat().st_size for file in files)
    except OSError:
        size = 0
    wanted = workers_wanted(size)
    return wanted if all(SUFFIXES[file.suffix.lower()] == "jsonl" for file in files) else 0
