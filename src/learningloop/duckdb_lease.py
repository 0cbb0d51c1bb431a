"""One DuckDB connection a long-lived `LearningLoop` keeps between its `sql` calls, briefly.

Opening and closing the projection file costs ~30 ms of CPU even when it is empty, and more
at 10M events (its catalog, a checkpoint on close): a notebook that records an event then
queries paid it twice a call. A lease keeps ONE read-write, locked-down connection (no file
but its own, configuration locked) for catching up and for the user's read-only statements,
and lets go of it:
- after IDLE_SECONDS without a call, from a timer thread: another process waiting for the
  file (duckdb_file.LOCK_WAIT_SECONDS) gets in well before it gives up;
- after LONGEST_SECONDS held, whatever the calls, then not again for COOL_DOWN_SECONDS, so a
  loop of calls never keeps others out nor lets the WAL grow without a checkpoint;
- on close(), at process exit, and before any other connection of this process opens the
  same file (DuckDB refuses a second instance of one file in one process).
A lease is taken only by the second call within IDLE_SECONDS, and only when the caller says
it is worth it (projection_reading: the log grew since the last call, a `record` then a
`sql`): a command that queries once, or a session that only reads, never holds the write lock
for its reading, so other processes read beside it as before. While a lease is held, a
caller's own duckdb.connect() to the file in the same process is refused by DuckDB (another
configuration): close() the LearningLoop first, or wait IDLE_SECONDS.

A kill while held loses nothing: every page was committed (the WAL is synced on commit), and
the event log stays the truth the next catch-up reads from.
"""

from __future__ import annotations

import atexit
import os
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import duckdb

from learningloop import duckdb_file, results
from learningloop.duckdb_file import DuckDBFile
from learningloop.errors import BadInputError, StoreError

IDLE_SECONDS = 1.0
LONGEST_SECONDS = 3.0
COOL_DOWN_SECONDS = 0.3

Prepare = Callable[[duckdb.DuckDBPyConnection], None]
Check = Callable[[], bool]


class Lease:
    """The connection kept for one projection file by one `LearningLoop`, when it is kept."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._con: duckdb.DuckDBPyConnection | None = None
        self._file: DuckDBFile | None = None
        self._key: object = None  # the file, memory limit and definitions it was opened for
        self._opened_at = 0.0
        self._last_call = float("-inf")  # when the last call ended
        self._not_before = 0.0
        self._timer: threading.Timer | None = None
        self._user: int | None = None  # the thread using the connection now
        # the file's log position, kept by its user: nothing else writes it while it is held
        self.position: int | None = None
        _ALL.add(self)

    @contextmanager
    def connection(
        self, file: DuckDBFile, prepare: Prepare, definitions: object, usable: Check
    ) -> Iterator[duckdb.DuckDBPyConnection | None]:
        """The kept connection on `file` (opened, then `prepare`d, when it is not), or None
        when this call opens its own as before: a first call, right after a long hold, when
        `usable` says the file is not (asked before opening only: see _release_held), or
        when another process holds the file (the usual path then waits or says who).
        `definitions`: what `prepare` installs; a connection prepared for others is let go."""
        key = (file.database, file.memory_limit, definitions)
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
            con = self._take(file, prepare, key, usable)
            if con is not None:
                self._lock.acquire()  # held while the connection is used, released below
                self._user = threading.get_ident()
        if con is None:  # the usual path, which threads run side by side as before
            try:
                yield None
            finally:
                self._last_call = time.monotonic()
            return
        try:
            yield con
        except BadInputError:
            raise  # the user's statement was refused or failed: the connection is fine
        except duckdb.OutOfMemoryException as error:
            self._release()
            raise results.memory_error(error) from None
        except BaseException:
            self._release()  # a connection in an unknown state is not kept
            raise
        finally:
            self._user = None
            self._last_call = time.monotonic()
            if self._con is not None:
                self._idle_timer()
            self._lock.release()

    def _take(
        self, file: DuckDBFile, prepare: Prepare, key: object, usable: Check
    ) -> duckdb.DuckDBPyConnection | None:
        now = time.monotonic()
        if self._con is not None and key != self._key:
            self._release()
            self._last_call = float("-inf")
        if self._con is not None and now - self._opened_at > LONGEST_SECONDS:
            self._release()
            self._not_before = now + COOL_DOWN_SECONDS
        if self._con is not None:
            return self._con
        if now - self._last_call > IDLE_SECONDS or now < self._not_before or not usable():
            return None
        try:
            con = file.open(False, True, patient=False, wait=False)
        except StoreError:  # held by another process: the usual path waits or says who,
            self._not_before = time.monotonic() + IDLE_SECONDS  # without a try each call
            return None
        try:
            prepare(con)
        except BaseException:
            con.close()
            raise
        self._con, self._file, self._key = con, file, key
        self._opened_at = time.monotonic()
        _HELD[file.database.absolute()] = self
        return con

    def _idle_timer(self) -> None:
        self._timer = threading.Timer(IDLE_SECONDS, self._expire)
        self._timer.daemon = True
        self._timer.name = "learningloop-lease"
        self._timer.start()

    def _expire(self) -> None:
        with self._lock:
            if self._user is None and time.monotonic() - self._last_call >= IDLE_SECONDS * 0.9:
                self._release()

    def release(self) -> None:
        """Close the kept connection now (its commits are checkpointed on closing); the next
        call is a first call again."""
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
            self._release()
            self._last_call = float("-inf")

    def _release(self) -> None:
        con, self._con = self._con, None
        self.position = None
        if self._file is not None:
            _HELD.pop(self._file.database.absolute(), None)
        self._file = None
        if con is not None:
            con.close()


# The lease holding each file in this process: released before anything else opens it.
_HELD: dict[object, Lease] = {}
_ALL: weakref.WeakSet[Lease] = weakref.WeakSet()


def _release_held(database: object) -> None:
    """Before this process opens the file in any way: DuckDB's lock on it is a POSIX record
    lock, which the kernel drops when the process closes ANY descriptor of the file (even
    one that read its header), so nothing may open it while a lease holds it. Another
    thread's lease is waited for, then closed; this thread's own, in use, is kept (nothing
    opens the file while a statement runs on the lease)."""
    lease = _HELD.get(database)
    if lease is None or lease._user == threading.get_ident():
        return
    # bounded: two objects of one file used from two threads must not wait on each other
    if lease._lock.acquire(timeout=duckdb_file.LOCK_WAIT_SECONDS):
        try:
            lease.release()
        finally:
            lease._lock.release()


def _release_all() -> None:
    for lease in list(_ALL):
        lease.release()


def _forget_in_child() -> None:
    """A forked child does not own its parent's DuckDB connections: it forgets them."""
    for lease in list(_ALL):
        lease._con, lease._file, lease._timer = None, None, None
        lease._lock = threading.RLock()
    _HELD.clear()


duckdb_file.BEFORE_OPEN.append(_release_held)
atexit.register(_release_all)
os.register_at_fork(after_in_child=_forget_in_child)
