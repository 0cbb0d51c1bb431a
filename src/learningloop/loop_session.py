"""A store opened by `LearningLoop`: its location, log and write-model cache, and read-only SQL.

The state every part of the facade shares, and the two calls they all lean on: `sql` (one
read-only statement over caught-up projections) and `_projector`.
"""

from __future__ import annotations

import getpass
import os
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any, Self

from learningloop.domain.basics import DEFAULT_FUNCTION_LABELS, did_you_mean, quote
from learningloop.errors import NotFoundError
from learningloop.locations import StoreLocation
from learningloop.sqlfiles import TABLE_ORDER as TABLE_ORDER  # where it was defined first
from learningloop.store import Clock, Store

# Imported where used: `import` and `record` never load duckdb or pyarrow, reading commands
# never the event models (pydantic) nor the write models.
if TYPE_CHECKING:
    from learningloop.duckdb_lease import Lease
    from learningloop.knowledge import Framework
    from learningloop.projector import Projector
    from learningloop.querying import QueryResult
    from learningloop.writing import StreamCache

ProgressCallback = Callable[[int], None]
PathLike = str | os.PathLike[str]


class Session:
    """The store a `LearningLoop` opened: its location, log, write models and projections."""

    def __init__(
        self,
        store: str | os.PathLike[str] | None = None,
        *,
        recorded_by: str | None = None,
        cipher_key: str | None = None,
        projections: str | os.PathLike[str] | None = None,
        memory_limit: str | None = None,
        fresh: bool = False,
    ) -> None:
        """Open a store (nothing is created before the first write).

        `store` is a directory or a postgresql:// URL; `projections` a DuckDB file (default: in
        the directory, or a per-user file keyed by the URL). `cipher_key` (or
        LEARNINGLOOP_CIPHER_KEY) encrypts event payloads at rest. `memory_limit` (or
        LEARNINGLOOP_MEMORY_LIMIT), such as "2GB", bounds DuckDB's memory (default: a share of
        the machine's). Reads catch the projections
        up with the log; when another process holds them read-only they answer from what is
        projected with a ProjectionsBehindWarning, or, with `fresh`, raise StoreError.
        """
        self.memory_limit = memory_limit or os.environ.get("LEARNINGLOOP_MEMORY_LIMIT") or None
        self.location = StoreLocation.resolve(store, projections)
        self.fresh = fresh
        self.recorded_by = recorded_by or _os_user()
        key = cipher_key or os.environ.get("LEARNINGLOOP_CIPHER_KEY") or None
        self._store = Store(self.location, key)
        self._clock = Clock()
        self._lease: Lease | None = None  # made by the first read (it loads duckdb)

    @cached_property
    def _cache(self) -> StreamCache:
        """The streams' write models, read once each (what replay and writes fold)."""
        from learningloop.writing import StreamCache

        return StreamCache(self._store)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        if self._lease is not None:
            self._lease.release()
        self._store.close()

    def sql(
        self,
        query: str,
        as_of: date | None = None,
        known_at: datetime | None = None,
        parameters: Sequence[Any] = (),
        *,
        framework: PathLike | None = None,
        timeout: float | None = None,
    ) -> QueryResult:
        """One read-only SQL statement over current projections, at (D, T); with `framework`
        (a file, CONTRACT 6.9) as if the programmes' functions were that file's; stopped with
        QueryTimeoutError after `timeout` seconds."""
        moment = utc(known_at) if known_at else None
        return self._projector(framework).query(query, parameters, as_of, moment, timeout)

    def _projector(self, framework: PathLike | None = None) -> Projector:
        from learningloop.duckdb_lease import Lease
        from learningloop.projection_what_if import WhatIf
        from learningloop.projector import Projector

        log = self._store.readable_log()
        if self._lease is None:
            self._lease = Lease()
        projector = Projector(
            self.location.projections_path,
            log,
            self.memory_limit,
            fresh=self.fresh,
            lease=self._lease,
        )
        if framework is None:
            return projector
        what_if = self.read_framework(framework)
        projector.what_if = WhatIf(what_if.function_rows(), what_if.mapping_rows())
        return projector

    def read_framework(self, path: PathLike) -> Framework:
        """A what-if framework file, checked against the programmes' function keys."""
        from learningloop.knowledge import read_framework

        found = self.sql("select distinct function from programme_functions")
        known = {str(row[0]) for row in found.rows} or {key for key, *_ in DEFAULT_FUNCTION_LABELS}
        return read_framework(path, known)

    def event_count(self) -> int:
        """How many events the log holds (from its seal)."""
        log = self._store.log(create=False)
        return 0 if log is None else log.seal().events

    def head_position(self) -> int:
        """The log position of the last event (PostgreSQL positions may skip numbers)."""
        log = self._store.log(create=False)
        return 0 if log is None else log.head_position()

    def _no_experiment(self, experiment: str) -> NotFoundError:
        hint = did_you_mean(experiment, self.list_experiments())
        return NotFoundError(
            f"no experiment {quote(experiment)} in store {self.location.describe()}{hint}"
        )

    def list_experiments(self) -> list[str]:
        """The slugs of every experiment stream in the log, in the order they were proposed."""
        return self._cache.keys("experiment")


def utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def today() -> date:
    """Today in UTC, as the projections' current_date."""
    return datetime.now(UTC).date()


def moment(as_of: date | None, known_at: datetime | None) -> tuple[date, datetime]:
    """D and T with their defaults, today and now; T in UTC."""
    return as_of or today(), utc(known_at) if known_at else datetime.now(UTC)


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"
