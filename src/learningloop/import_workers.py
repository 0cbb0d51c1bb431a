"""A big import admitted by worker processes, each with a share of the streams.

An event's rules read only its own stream and, for an experiment, its programme's write
model. So each experiment's events go to one worker (by the experiment's name), and every
programme event to every worker, which all keep the programme's write model up to date as of
that point of the files (programme events are ~2 % of a log; one worker sends their rows).
This process reads the files, routes each event, stamps its recorded_at from the session's
one clock (in file order: CONTRACT 6.11) and sends the workers compact chunks; each worker
admits its events as a single process would (parse, check, seal) and sends back the rows to
store; this process puts them back in file order for the one all-or-nothing append.
Messages are orjson bytes, not pickles.

Errors are not reported from here: on an event that names no stream (missing keys, not an
object) or that a worker refuses, the attempt raises Abandoned, the append rolls back, and
the caller imports again in one process, which finds the first error with its exact message
and "did you mean" hint. A worker that dies is a one-line StoreError.
"""

from __future__ import annotations

import multiprocessing
import os
import queue
import signal
import threading
import zlib
from collections import deque
from collections.abc import Iterator
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import TYPE_CHECKING, Any, Protocol, cast

import orjson

from learningloop.audit_workers import idle_cores
from learningloop.domain.recorded import Recorded
from learningloop.domain.values import quote
from learningloop.errors import BadInputError, StoreError
from learningloop.locations import StoreLocation
from learningloop.sources import RawEvent, json_line
from learningloop.store import Store

# Imported here, before the workers fork: each inherits the event models, built once.
from learningloop.writing import Admission, StreamCache

if TYPE_CHECKING:
    from learningloop.domain.events import Event

# The environment setting: 0 imports in this process, N >= 1 forces N workers; unset, a big
# import has a worker a core (up to 4) when at least one core is idle.
WORKERS_SETTING = "LEARNINGLOOP_IMPORT_WORKERS"
# Files smaller than this are imported in this process: starting workers costs ~0.3 s.
PARALLEL_FROM_BYTES = 6 << 20
MAX_WORKERS = 8  # what the setting may ask for
BLOCK = 4_000  # events read, routed and sent before the previous block's rows are merged
# Blocks sent and not yet merged (bounds both processes' memory: ~3 MB a block). Deep, as
# a file's events come in runs of one experiment: a block may hold work for one worker only.
IN_FLIGHT = 16
PROGRAMME_TYPES = frozenset({"ProgrammeOpened", "PartnerJoined", "PartnerLeft", "GatheringHeld"})
PROPOSED = "ExperimentProposed"
RETRACTED = "EventRetracted"
_STOP = b""


class Abandoned(Exception):
    """The parallel attempt cannot say what a single process would: import in one process."""


class Clock(Protocol):
    def now(self) -> datetime: ...


def workers_wanted(total_bytes: int) -> int:
    """Worker processes for an import of `total_bytes` of JSON Lines (0: this process)."""
    if "fork" not in multiprocessing.get_all_start_methods():
        return 0  # Windows: see Pool
    setting = os.environ.get(WORKERS_SETTING, "").strip()
    if setting:
        if not (setting.isascii() and setting.isdigit()) or len(setting) > 3:
            raise BadInputError(f"{WORKERS_SETTING} must be a whole number of worker "
                                f"processes (0: none), not {quote(setting)}")  # fmt: skip
        return min(int(setting), MAX_WORKERS)
    cores = os.cpu_count() or 1
    if cores < 2 or total_bytes < PARALLEL_FROM_BYTES:
        return 0
    # Less than a core idle: the machine shares CPU among sessions, not processes, so the
    # workers would win no time and cost a fifth more CPU (200,000 events, a core busy
    # elsewhere: 12.1 s in this process, 13.8 s with two workers).
    idle = idle_cores()
    if idle is not None and idle < 1:
        return 0
    return min(cores, 4)  # the one appending process keeps up with about four


class Router:
    """Which worker admits an event. An experiment's stream goes to one worker, by its name;
    a programme's events go to every worker (each keeps the programme's write model, which
    its experiments' rules read, as of that point of the files), and one of them, by the
    programme's name, sends the programme's rows."""

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self._shares: dict[str, int] = {}

    def worker(self, data: Any) -> tuple[int, bool]:
        """The worker that sends the event's row, and whether every worker admits it."""
        if not isinstance(data, dict):
            raise Abandoned
        kind = data.get("type")
        if not isinstance(kind, str):
            raise Abandoned
        programme = data.get("programme")
        experiment = data.get("experiment")
        if kind in PROGRAMME_TYPES or (kind == RETRACTED and experiment is None):
            if isinstance(programme, str):
                return self._share(programme), True
        elif isinstance(experiment, str) and (kind != RETRACTED or programme is None):
            return self._share(experiment), False
        raise Abandoned  # no stream to name: a single process says what is wrong

    def _share(self, name: str) -> int:
        share = self._shares.get(name)
        if share is None:
            # crc32, not hash(): the same share in every run, whatever PYTHONHASHSEED says
            share = self._shares[name] = (
                zlib.crc32(name.encode(errors="surrogatepass")) % self.workers
            )
        return share


class _Topic:
    """What the append reads of an event that a worker admitted: its stored topic."""

    __slots__ = ("TOPIC",)

    def __init__(self, topic: str) -> None:
        self.TOPIC = topic


_TOPICS: dict[str, _Topic] = {}


@dataclass
class _Block:
    """Events sent and not yet merged: each one's row sender and recorded_at, in file order,
    and the workers that answer for the block."""

    owners: list[int]
    stamps: list[datetime]
    answering: list[int]


class Pool:
    """Worker processes and a thread each that receives their messages (so a worker never
    waits on this process to send; this process bounds what is in flight)."""

    def __init__(self, count: int, location: StoreLocation, cipher_key: str | None,
                 recorded_by: str, empty_log: bool) -> None:  # fmt: skip
        # fork, not spawn: spawn runs the caller's __main__ again (a script without the
        # `if __name__ == "__main__"` guard would import itself) and costs ~0.3 s a worker.
        # The worker touches nothing of this process but `settings`: it opens its own store.
        context = multiprocessing.get_context("fork")
        self.inboxes: list[queue.SimpleQueue[bytes | None]] = []
        self._processes: list[BaseProcess] = []
        self._outputs: list[Connection] = []
        self._outboxes: list[queue.SimpleQueue[bytes | None]] = []
        self._threads: list[threading.Thread] = []
        settings = (location, cipher_key, recorded_by, empty_log, os.getpid())
        inputs: list[Connection] = []
        previous = signal.getsignal(signal.SIGINT)
        in_main_thread = threading.current_thread() is threading.main_thread()
        if in_main_thread:  # the workers inherit it: Ctrl-C is this process's to handle
            signal.signal(signal.SIGINT, signal.SIG_IGN)
        try:
            for n in range(count):
                their_in, our_out = context.Pipe(duplex=False)
                our_in, their_out = context.Pipe(duplex=False)
                # The worker closes its copies of this process's ends (those of the workers
                # forked before it too): when this process dies, every pipe of it breaks.
                ours = [*self._outputs, *inputs, our_out, our_in]
                process = context.Process(target=_work, args=(settings, their_in, their_out, ours),
                                          daemon=True, name=f"learningloop-import-{n}")  # fmt: skip
                process.start()
                their_in.close()
                their_out.close()
                self._processes.append(process)
                self._outputs.append(our_out)
                inputs.append(our_in)
        except OSError:  # no process or pipe to be had (a limit): import in this process
            for connection in inputs:
                connection.close()
            self.close(at_once=True)
            raise Abandoned from None
        finally:
            if in_main_thread:
                signal.signal(signal.SIGINT, previous)
        # The threads only once every worker is forked (a fork copies no other thread).
        for our_in in inputs:
            inbox: queue.SimpleQueue[bytes | None] = queue.SimpleQueue()
            self._start(_receive, our_in, inbox)
            self.inboxes.append(inbox)
        for our_out in self._outputs:
            outbox: queue.SimpleQueue[bytes | None] = queue.SimpleQueue()
            self._start(_send, our_out, outbox)
            self._outboxes.append(outbox)

    def _start(self, target: Any, connection: Connection, box: queue.SimpleQueue[Any]) -> None:
        thread = threading.Thread(target=target, args=(connection, box), daemon=True)
        thread.start()
        self._threads.append(thread)

    def send(self, worker: int, message: bytes) -> None:
        """Queue a message for a worker: a thread writes it, so this process never waits
        for one worker to read while another has nothing to do (what it sends in all is
        bounded by the caller: IN_FLIGHT blocks)."""
        self._outboxes[worker].put(message)

    def receive(self, worker: int) -> bytes:
        while True:
            try:
                message = self.inboxes[worker].get(timeout=0.5)
            except queue.Empty:
                continue  # a wait Ctrl-C can interrupt
            if message is None:
                raise _stopped()
            return message

    def close(self, *, at_once: bool = False) -> None:
        """Stop every worker: when it has read all it was sent, or `at_once` (after an error
        or Ctrl-C: they hold nothing to keep, and a pipe may hold half a message)."""
        for outbox in self._outboxes:
            if not at_once:
                outbox.put(_STOP)  # after every message queued before it
            outbox.put(None)  # the sending thread ends, closing its pipe
        for process in self._processes:
            if at_once:
                process.terminate()  # (a sending thread blocked on its pipe gets an error)
            process.join(timeout=None if at_once else 5)
            if process.is_alive():
                process.terminate()
                process.join()
        for thread in self._threads:
            thread.join()
        for output in self._outputs:
            output.close()


def _stopped() -> StoreError:
    return StoreError("an import worker process stopped unexpectedly; nothing was written")


def _send(connection: Connection, outbox: queue.SimpleQueue[bytes | None]) -> None:
    """A sending thread: write each queued message, until None. A worker that stopped
    breaks the pipe: its receiving thread reports it, this one drops what is left."""
    while (message := outbox.get()) is not None:
        with suppress(OSError):
            connection.send_bytes(message)


def _receive(connection: Connection, inbox: queue.SimpleQueue[bytes | None]) -> None:
    try:
        while True:
            inbox.put(connection.recv_bytes())
    except (EOFError, OSError):
        inbox.put(None)
    finally:
        connection.close()


def admitted(lines: Iterator[bytes], clock: Clock, router: Router, pool: Pool,
             touched: set[str]) -> Iterator[Recorded]:  # fmt: skip
    """The recorded events of JSON `lines`, in their order, admitted by the pool's workers;
    `touched` gets the stream of each. This process parses a line only to route it; the
    worker reads it as sources.json_line does."""
    in_flight: deque[_Block] = deque()
    loads = orjson.loads
    while True:
        owners: list[int] = []
        everyone: list[bool] = []
        events: list[bytes] = []
        for line in lines:
            if line.isspace():
                continue  # (and a line that str.isspace() alone skips fails orjson: Abandoned)
            if b"\r" in line and line.find(b"\r") != len(line) - 2:
                raise Abandoned  # a text file's lines also end at a lone CR
            try:
                owner, broadcast = router.worker(loads(line))
            except orjson.JSONDecodeError:  # not UTF-8, not JSON, a number beyond 64 bits
                raise Abandoned from None
            owners.append(owner)
            everyone.append(broadcast)
            events.append(line)
            if len(owners) == BLOCK:
                break
        if not owners:
            break
        # One clock, in file order: recorded_at never decreases along positions. A block of
        # stamps in one call when the clock makes them (a test's fixed clock may not).
        block_of = getattr(clock, "stamps", None)
        stamps = block_of(len(owners)) if block_of else [clock.now() for _ in owners]
        in_flight.append(_sent(pool, router.workers, owners, everyone, events, stamps))
        if len(in_flight) >= IN_FLIGHT:
            yield from _merged(pool, in_flight.popleft(), touched)
    while in_flight:
        yield from _merged(pool, in_flight.popleft(), touched)


def _sent(pool: Pool, workers: int, owners: list[int], everyone: list[bool],
          events: list[bytes], stamps: list[datetime]) -> _Block:  # fmt: skip
    """Send each worker its events of a block, in file order: a JSON header of [recorded_at,
    silent (its row is another worker's to send)], a newline, then the events' lines."""
    heads: list[list[tuple[datetime, bool]]] = [[] for _ in range(workers)]
    bodies: list[list[bytes]] = [[] for _ in range(workers)]
    for owner, broadcast, line, stamp in zip(owners, everyone, events, stamps, strict=True):
        if broadcast:
            for worker in range(workers):
                heads[worker].append((stamp, worker != owner))
                bodies[worker].append(line)
        else:
            heads[owner].append((stamp, False))
            bodies[owner].append(line)
    answering = []
    for worker, head in enumerate(heads):
        if head:
            pool.send(worker, orjson.dumps(head) + b"\n" + b"".join(bodies[worker]))
            answering.append(worker)
    return _Block(owners, stamps, answering)


def _merged(pool: Pool, block: _Block, touched: set[str]) -> Iterator[Recorded]:
    rows: list[Iterator[tuple[list[Any], bytes]]] = [iter(())] * len(pool.inboxes)
    for worker in block.answering:
        message = pool.receive(worker)
        if not message:  # the worker refused an event
            raise Abandoned
        header, _, body = message.partition(b"\n")
        rows[worker] = zip(orjson.loads(header), body.split(b"\n"), strict=True)
    topics = _TOPICS
    for owner, stamp in zip(block.owners, block.stamps, strict=True):
        (stream, version, topic, chain), stored = next(rows[owner])
        event = topics.get(topic) or topics.setdefault(topic, _Topic(topic))
        touched.add(stream)
        yield Recorded(stream, version, stamp, cast("Event", event), chain, stored)


def _work(settings: tuple[StoreLocation, str | None, str, bool, int], inbox: Connection,
          outbox: Connection, ours: list[Connection]) -> None:  # fmt: skip
    """A worker: admit each chunk's events in order, send their rows (or b"" on an error)."""
    for connection in ours:
        connection.close()
    with suppress(ValueError):  # a handler the importing program set is not the worker's
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
    _die_with_parent()
    location, cipher_key, recorded_by, empty_log, parent = settings
    store = Store(location, cipher_key)
    stamps: deque[datetime] = deque()
    clock = _Stamps(stamps)
    admission = Admission(StreamCache(store), clock, empty_log=empty_log)  # type: ignore[arg-type]
    try:
        while message := inbox.recv_bytes():
            if os.getppid() != parent:  # the import is gone: no one waits for these rows
                return
            outbox.send_bytes(_admitted(admission, stamps, message, recorded_by))
    except (EOFError, OSError):
        return  # the import is gone
    finally:
        store.close()


def _die_with_parent() -> None:
    """Linux: killed when the importing process dies, even in the middle of a chunk."""
    with suppress(Exception):
        import ctypes

        ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


class _Stamps:
    """The worker's clock: the recorded_at the importing process gave each event, in order."""

    def __init__(self, stamps: deque[datetime]) -> None:
        self.now = stamps.popleft


def _admitted(admission: Admission, stamps: deque[datetime], message: bytes,
              recorded_by: str) -> bytes:  # fmt: skip
    """The rows of a chunk's events that are not silent: a JSON header of (stream, version,
    topic, chain) and the stored JSON of each on a line of its own (compact JSON holds no
    newline); b"" when an event is refused."""
    head, _, body = message.partition(b"\n")
    header: list[tuple[str, int, str, str]] = []
    stored: list[bytes | None] = []
    try:
        for (stamp, silent), line in zip(orjson.loads(head), body.split(b"\n"), strict=False):
            stamps.append(datetime.fromisoformat(stamp))
            data = json_line(line.decode(), "")
            recorded = admission.admit(RawEvent("", data), recorded_by)
            if not silent:
                header.append((recorded.originator_id, recorded.originator_version,
                               recorded.event.TOPIC, recorded.chain))  # fmt: skip
                stored.append(recorded.stored)
    except Exception:  # the import starts again in one process, which names the problem
        return b""
    if None in stored:  # every admitted event is sealed: never, unless the admission changes
        return b""
    return orjson.dumps(header) + b"\n" + b"\n".join(stored)  # type: ignore[arg-type]
