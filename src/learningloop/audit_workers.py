"""The audit's walks of a big log in worker processes, beside the rebuild.

The walks are Python from end to end (parsing, hashing, validating every event), so in one
process they hold the interpreter lock that the rebuild thread also needs, and use one core.
Here the walk along positions runs in one process and the stream walk is shared among
others by ranges of stream ids (every walker walks the few programme streams, which
experiments ask; the first alone reports them). This process only collects: findings as they
come (FindingLog orders them by position and check, so the order they arrive in does not
matter), progress, and each walk's result. The workers ignore Ctrl-C: this process stops
them at once (and they stop by themselves if it is gone), so the audit still exits 130
promptly. A small log is walked here, in this process: starting a worker costs ~1 s.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from itertools import pairwise
from multiprocessing.connection import Connection, wait
from typing import Any

from learningloop.audit_findings import Finding, fields_of
from learningloop.audit_walk import LogWalk, Share, walk_positions, walk_streams
from learningloop.errors import StoreError
from learningloop.eventlog import EventLog, Within

PARALLEL_FROM = 50_000  # log positions: a smaller log is walked in this process
SAMPLES = 64  # events whose stream ids split the stream walk into shares
BATCH = 1_000  # findings a worker sends at a time
Job = tuple[str, int, Any]  # ("positions", head, verify_at) or ("streams", head, Share)


def walkers(head: int, idle: float | None = None) -> int:
    """How many processes share the stream walk of a log whose head is at `head`, given the
    cores `idle` before the audit started (None: unknown). With less than one core idle the
    walk stays in this process: the machine shares CPU among sessions, not processes, so
    workers would win no time there and cost a quarter more CPU (1M network: 52 s in this
    process, 66 s in three)."""
    if head < PARALLEL_FROM or (idle is not None and idle < 1):
        return 0
    return max(1, min(os.cpu_count() or 1, 4))


def idle_cores(seconds: float = 0.2) -> float | None:
    """How many cores were idle over the next `seconds` (Linux /proc/stat; None elsewhere)."""

    def sample() -> tuple[int, int]:
        with open("/proc/stat") as stat:
            ticks = [int(value) for value in stat.readline().split()[1:]]
        return ticks[3] + ticks[4], sum(ticks)  # idle and iowait, every state

    try:
        idle, total = sample()
        time.sleep(seconds)
        idle_after, total_after = sample()
    except (OSError, ValueError, IndexError):
        return None
    if total_after <= total:
        return None
    return (os.cpu_count() or 1) * (idle_after - idle) / (total_after - total)


def walk_log(
    log: EventLog,
    head: int,
    verify_at: int | None,
    found: Callable[[list[Finding]], None],
    progress: Callable[[int], None] | None = None,
    workers: int | None = None,
) -> tuple[LogWalk, int]:
    """Both walks of the log up to `head`: the positions' walk and the number of streams.
    `workers` processes share the stream walk (default: by the log's size, see walkers;
    0: none)."""
    workers = walkers(head) if workers is None else workers
    if workers == 0:
        along = walk_positions(log, head, verify_at, found)
        return along, walk_streams(log, head, found, progress).streams
    shares = _shares(_bounds(log, head, workers))
    jobs: list[Job] = [("positions", head, verify_at)]
    jobs += [("streams", head, share) for share in shares]
    results = _run(log, jobs, found, progress or (lambda _events: None))
    return results[0], sum(results[1:])


def _bounds(log: EventLog, head: int, parts: int) -> list[str]:
    """Stream ids that split the events of the streams other than programmes into about
    `parts` equal shares, from the streams of events at evenly spaced positions."""
    ids = []
    for n in range(SAMPLES):
        found = log.read_notifications(head * n // SAMPLES, 1)
        stream = str(found[0].originator_id) if found else "programme:"
        if found and found[0].id <= head and not stream.startswith("programme:"):
            ids.append(stream)
    # In the log's own order: the shares are ranges compared by the events table, whose
    # collation (PostgreSQL's en_US, say, ignoring hyphens) may not be Python's: bounds in
    # another order would give overlapping shares and streams judged twice. (An id the table
    # does not give back as text, in a forged log, goes last.)
    rank = {stream: n for n, stream in enumerate(log.in_stream_order(ids))}
    ids.sort(key=lambda stream: (rank.get(stream, len(rank)), stream))
    return list(dict.fromkeys(ids[len(ids) * n // parts] for n in range(1, parts))) if ids else []


def _shares(bounds: list[str]) -> list[Share]:
    edges: list[str | None] = [None, *bounds, None]
    ranges: list[Within] = list(pairwise(edges))
    return [Share(first=n == 0, within=within) for n, within in enumerate(ranges)]


def _run(
    log: EventLog,
    jobs: list[Job],
    found: Callable[[list[Finding]], None],
    progress: Callable[[int], None],
) -> list[Any]:
    """Run each job in a process of its own; their results, in the jobs' order."""
    context = multiprocessing.get_context("spawn")  # never fork: the rebuild thread runs
    opener = (type(log), dict(log.env) | {"CREATE_TABLE": "no", "CHECK_CIPHER": "no"})
    processes, pending, results = [], {}, [None] * len(jobs)
    try:
        with _ctrl_c_ignored():  # the workers inherit it: this process stops them
            for n, job in enumerate(jobs):
                receiving, sending = context.Pipe(duplex=False)
                worker = context.Process(
                    target=_work, args=(opener, job, sending, os.getpid()), daemon=True,
                    name=f"learningloop-audit-{job[0]}-{n}",
                )  # fmt: skip
                worker.start()
                sending.close()
                processes.append(worker)
                pending[receiving] = n
        while pending:
            for connection in wait(list(pending)):
                assert isinstance(connection, Connection)
                done = _received(connection, found, progress)
                if done is not None:
                    results[pending.pop(connection)] = done[0]
                    connection.close()
    finally:
        for worker in processes:  # after an error or Ctrl-C here: stop the others now
            if worker.is_alive():
                worker.terminate()
        for worker in processes:
            worker.join()
        for connection in pending:
            connection.close()
    return results


def _received(
    connection: Connection,
    found: Callable[[list[Finding]], None],
    progress: Callable[[int], None],
) -> tuple[Any] | None:
    """Handle one message of a worker; its result (in a 1-tuple) when it is done."""
    try:
        kind, value = connection.recv()
    except EOFError:
        raise StoreError("an audit worker stopped before the end of its walk") from None
    if kind == "found":
        found([Finding(*finding) for finding in value])
    elif kind == "progress":
        progress(value)
    elif kind == "error":
        raise value
    else:
        return (value,)
    return None


@contextmanager
def _ctrl_c_ignored() -> Iterator[None]:
    try:
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    except ValueError:  # not the main thread: Ctrl-C is not this thread's to handle
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _work(opener: tuple[type[EventLog], dict[str, str]], job: Job, out: Connection,
          parent: int) -> None:  # fmt: skip
    """A worker: one walk, its findings and progress sent as they come, then its result."""
    kind, head, argument = job
    pending: list[tuple[Any, ...]] = []

    def found(findings: list[Finding]) -> None:
        pending.extend(fields_of(finding) for finding in findings)
        if len(pending) >= BATCH:
            out.send(("found", pending[:]))
            pending.clear()

    def alive() -> None:
        if os.getppid() != parent:  # the audit is gone: no one waits for this walk
            raise SystemExit(1)

    def tick(events: int) -> None:
        alive()
        out.send(("progress", events))

    try:
        cls, env = opener
        log = cls(env=env)
        try:
            if kind == "positions":
                result: Any = walk_positions(log, head, argument, found, alive)
            else:
                result = walk_streams(log, head, found, tick, argument).streams
        finally:
            log.close()
        out.send(("found", pending))
        out.send(("done", result))
    except Exception as error:
        with suppress(OSError):  # the audit is gone: nothing to tell
            out.send(("error", _sendable(error)))
    finally:
        out.close()


def _sendable(error: Exception) -> Exception:
    """The error itself when it pickles, else a StoreError with its text."""
    import pickle

    try:
        pickle.loads(pickle.dumps(error))
    except Exception:
        return StoreError(f"{type(error).__name__}: {error}")
    return error
