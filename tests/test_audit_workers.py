"""The audit's walks in worker processes: the same report as one process walking, shares
that cover every stream once, and Ctrl-C stopping every worker at once."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

from learningloop import LearningLoop, audit_workers
from learningloop.audit import check_log
from learningloop.store import new_cipher_key
from tests.conftest import base_events
from tests.test_audit_walk import experiments

ROOT = Path(__file__).resolve().parent.parent


def report_of(store: Path, workers: int) -> tuple[Any, ...]:
    with LearningLoop(store) as loop:
        report = check_log(loop._store.readable_log(), workers=workers)
        return report.as_document(), report.head_recorded_at


def test_workers_report_exactly_what_one_process_finds(tmp_path: Path) -> None:
    store = tmp_path / "store"
    with LearningLoop(store, recorded_by="auditor") as loop:
        loop.import_events(experiments(60))
    with sqlite3.connect(store / "events.sqlite") as con:
        con.execute("update stored_events set state = substr(state, 2) where rowid in (3, 40)")
        con.execute("update stored_events set topic = 'learningloop:MeetingHeld' where rowid = 90")
        con.execute("delete from stored_events where rowid = 121")
        for old, new in ((150, 1000), (151, 150), (1000, 151)):  # two positions swapped
            con.execute("update stored_events set rowid = ? where rowid = ?", (new, old))
    alone = report_of(store, 0)
    checks = {finding["check"] for finding in alone[0]["findings"]}
    assert {"decode", "versions", "chain", "time_order", "seal"} <= checks, checks
    assert report_of(store, 3) == alone


def test_workers_open_the_log_as_it_was_opened_on_each_backend_encrypted_too(
    backend: tuple[str, Path],
) -> None:
    target, _ = backend
    with LearningLoop(target, recorded_by="auditor", cipher_key=new_cipher_key()) as loop:
        loop.import_events(experiments(20))
        log = loop._store.readable_log()
        alone, shared = check_log(log, workers=0), check_log(log, workers=2)
    assert alone.passed() and alone.events == 63 and alone.streams == 21
    assert shared.as_document() == alone.as_document()


def test_the_shares_cover_every_stream_once_in_order(backend: tuple[str, Path]) -> None:
    target, _ = backend
    with LearningLoop(target, recorded_by="auditor") as loop:
        loop.import_events(experiments(30))
        log = loop._store.readable_log()
        head = log.head_position()
        bounds = audit_workers._bounds(log, head, 3)
        shares = audit_workers._shares(bounds)
        whole = [row[0] for page in log.stream_rows(head, False) for row in page]
        parts = [[row[0] for page in log.stream_rows(head, False, within=share.within)
                  for row in page] for share in shares]  # fmt: skip
    assert len(bounds) == 2 and all(parts), bounds
    assert [stream for part in parts for stream in part] == whole
    assert [share.first for share in shares] == [True, False, False]


def test_the_shares_follow_the_collation_of_the_events_table(postgres_url: str) -> None:
    """A PostgreSQL server whose collation ignores hyphens (as glibc's en_US does) sorts
    "experiment:e-k" after "experiment:ef"; Python puts it before. Bounds taken in Python's
    order would make overlapping shares there: streams walked, and reported, twice."""
    import psycopg

    events = base_events()[:3]
    for name in [f"e-{letter}" for letter in "abcdefghijklmno"] + [
        f"e{letter}" for letter in "abcdefghijklmno"
    ]:
        events.append({"type": "ExperimentProposed", "experiment": name, "programme": "prog",
                       "title": name, "carriers": ["acme"], "scale": "company",
                       "occurred_on": "2013-01-10"})  # fmt: skip
    with LearningLoop(postgres_url, recorded_by="auditor") as loop:
        loop.import_events(events)
        log = loop._store.readable_log()
        table, _ = log._events_table()
        schema = table.split(".")[0]
        with psycopg.connect(postgres_url.split("?")[0], autocommit=True) as con:
            con.execute(f"create collation {schema}.shifted "
                        "(provider = icu, locale = 'und-u-ka-shifted')")  # fmt: skip
            con.execute(f"alter table {table} alter column originator_id "
                        f"type text collate {schema}.shifted")  # fmt: skip
        head = log.head_position()
        bounds = audit_workers._bounds(log, head, 3)
        whole = [row[0] for page in log.stream_rows(head, False) for row in page]
        parts = [[row[0] for page in log.stream_rows(head, False, within=share.within)
                  for row in page] for share in audit_workers._shares(bounds)]  # fmt: skip
        shared = check_log(log, workers=2)
        alone = check_log(log, workers=0)
    assert whole.index("experiment:ek") < whole.index("experiment:e-l")  # hyphens ignored
    assert len(bounds) == 2 and all(parts), bounds
    assert [stream for part in parts for stream in part] == whole
    assert shared.as_document() == alone.as_document() and alone.streams == 31


CHILD = """
import multiprocessing, sys
from learningloop import LearningLoop
from learningloop.audit import check_log
from learningloop.store import new_cipher_key

def walked(events):
    print(*(p.pid for p in multiprocessing.active_children()), flush=True)

if __name__ == "__main__":
    with LearningLoop(sys.argv[1]) as loop:
        try:
            while True:  # until Ctrl-C, however fast this machine walks
                check_log(loop._store.readable_log(), progress=walked, workers=2)
        except KeyboardInterrupt:
            sys.exit(130)
"""


def test_ctrl_c_stops_every_worker_at_once(tmp_path: Path) -> None:
    store = tmp_path / "store"
    with LearningLoop(store, recorded_by="auditor") as loop:
        loop.import_events(experiments(1_000))
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    process = subprocess.Popen(
        [sys.executable, str(script), str(store)],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        process_group=0,  # a terminal's Ctrl-C goes to the whole group: the workers too
    )
    assert process.stdout is not None
    workers = [int(pid) for pid in process.stdout.readline().split()]  # a walk is under way
    os.killpg(process.pid, signal.SIGINT)
    _, stderr = process.communicate(timeout=30)
    assert process.returncode == 130 and "Traceback" not in stderr, stderr
    assert 1 <= len(workers) <= 3  # the walk along positions may be over already
    assert not any(alive(pid) for pid in workers)  # stopped and waited for, not left running


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_a_big_log_is_walked_in_workers_only_while_a_core_is_idle() -> None:
    big = audit_workers.PARALLEL_FROM
    assert audit_workers.walkers(big - 1, idle=2.0) == 0  # small: starting workers costs more
    assert audit_workers.walkers(big, idle=0.4) == 0  # busy machine: no time to win
    assert audit_workers.walkers(big, idle=1.0) >= 1
    assert audit_workers.walkers(big, idle=None) >= 1  # unknown: as before


def test_idle_cores_are_between_none_and_every_core() -> None:
    idle = audit_workers.idle_cores(0.05)
    if Path("/proc/stat").exists():  # Linux: known
        assert idle is not None
    assert idle is None or 0 <= idle <= (os.cpu_count() or 1)


def test_programme_streams_are_read_by_their_ids_prefix_whatever_the_ids(tmp_path: Path) -> None:
    """SQLite reads programme streams by a range of the primary key: the same rows as the
    prefix test, for ids next to the bounds, forged blobs and NULLs included."""
    store = tmp_path / "store"
    with LearningLoop(store, recorded_by="auditor") as loop:
        loop.import_events(experiments(2))
    forged: list[Any] = ["programme:", "programme;", "programme:~", "programme9", "programmf:",
                         "Programme:x", "programme", "programme:\U0001f600", b"programme:b",
                         None, "program:x", "programmf"]  # fmt: skip
    with sqlite3.connect(store / "events.sqlite") as con:
        for stream in forged:
            con.execute("insert into stored_events values (?, 1, 't', x'7b7d')", (stream,))
        expected = [row[0] for row in con.execute(
            "select originator_id from stored_events where substr(originator_id, 1, 10) = "
            "'programme:'")]  # fmt: skip
    with LearningLoop(store) as loop:
        log = loop._store.readable_log()
        read = [row[0] for page in log.stream_rows(10**9, True) for row in page]
    assert sorted(read) == sorted(expected) and len(set(read)) == 4, read
    assert "programme:~" in read and "programme;" not in read
