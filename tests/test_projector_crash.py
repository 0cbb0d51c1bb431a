"""Crash safety with real processes: kill -9 the projector mid catch-up, nothing lost or doubled."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from learningloop import LearningLoop
from learningloop.application import TABLE_ORDER
from learningloop.errors import StoreError
from learningloop.projector import Projector, load_sql_files
from learningloop.sqlfiles import is_table
from tests.conftest import base_events

CATCH_UP = """
import sys
from learningloop import LearningLoop, projector
projector.PAGE_SIZE = 400
with LearningLoop(sys.argv[1]) as loop:
    loop.project()
"""


def many_events(count: int) -> list[dict[str, object]]:
    meetings = [
        {"type": "MeetingHeld", "experiment": "exp", "kind": "local", "attendees": n % 50,
         "occurred_on": f"2013-{1 + n % 12:02d}-{1 + n % 28:02d}"}
        for n in range(count)
    ]  # fmt: skip
    return [*base_events(), *meetings]


def table_contents(database: Path) -> dict[str, list[tuple[object, ...]]]:
    con = duckdb.connect(str(database), read_only=True)
    try:
        con.execute("set variable as_of = date '2030-01-01'")
        tables = [*TABLE_ORDER, *(f.name for f in load_sql_files() if is_table(f.name))]
        queries = {name: f"select * from {name} order by all" for name in tables}
        queries["log_events"] = "select * exclude (payload) from log_events order by all"
        return {name: con.execute(sql).fetchall() for name, sql in queries.items()}
    finally:
        con.close()


def test_killing_the_projector_at_random_moments_loses_and_doubles_nothing(
    store_dir: Path, tmp_path: Path
) -> None:
    with LearningLoop(store_dir) as loop:
        loop.import_events(many_events(30_000))
        head = loop.head_position()
    rng = random.Random(20130418)
    kills = 0
    for _ in range(5):
        child = subprocess.Popen(
            [sys.executable, "-c", CATCH_UP, str(store_dir)],
            env={**os.environ, "PYTHONPATH": str(Path(__file__).parent.parent)},
        )
        time.sleep(rng.uniform(0.3, 1.5))
        if child.poll() is None:
            os.kill(child.pid, signal.SIGKILL)
            kills += 1
        child.wait()
    with LearningLoop(store_dir) as loop:
        loop.project()
        assert loop.sql("select count(*), count(distinct position) from log_events").rows == [
            (head, head)
        ]
        assert loop.sql("select position from projection_tracking").rows == [(head,)]
        fresh = Projector(tmp_path / "fresh.duckdb", loop._store.readable_log())
        fresh.catch_up()
    assert kills >= 1, "no catch-up was interrupted: the test proved nothing"
    assert table_contents(store_dir / "projections.duckdb") == table_contents(
        tmp_path / "fresh.duckdb"
    )


KILLED_DURING_INSTALL = """
import os, signal, sys
from learningloop import LearningLoop, projector
recorded = []
original = projector.Projector._record_version

def record_then_die(con, sql_file):
    original(con, sql_file)
    recorded.append(sql_file.name)
    if len(recorded) == int(sys.argv[2]):  # mid-way through the views
        os.kill(os.getpid(), signal.SIGKILL)

projector.Projector._record_version = staticmethod(record_then_die)
with LearningLoop(sys.argv[1]) as loop:
    loop.project(rebuild=sys.argv[3] == "rebuild")
"""


@pytest.mark.parametrize("rebuild", ["catch-up", "rebuild"])
def test_a_kill_while_the_views_are_installed_leaves_a_file_the_next_command_completes(
    store_dir: Path, tmp_path: Path, rebuild: str
) -> None:
    with LearningLoop(store_dir) as loop:
        loop.import_events(many_events(50))
        if rebuild == "rebuild":  # else the killed command is the first to make the file
            loop.project()
    tables = sum(1 for f in load_sql_files() if is_table(f.name))
    killed = subprocess.run(
        [sys.executable, "-c", KILLED_DURING_INSTALL, str(store_dir), str(tables + 20), rebuild],
        env={**os.environ, "PYTHONPATH": str(Path(__file__).parent.parent)}, check=False,
    )  # fmt: skip
    assert killed.returncode == -signal.SIGKILL, "the install was not interrupted"
    with LearningLoop(store_dir) as loop:
        loop.import_events(many_events(3)[-3:])
        assert loop.sql("select count(*) from events where type = 'MeetingHeld'").rows == [(53,)]
        fresh = Projector(tmp_path / "fresh.duckdb", loop._store.readable_log())
        fresh.catch_up()
    assert table_contents(store_dir / "projections.duckdb") == table_contents(
        tmp_path / "fresh.duckdb"
    )


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 1 MiB tmpfs: a real full disk (needs the right to mount, as root in a container)."""
    disk = tmp_path / "disk"
    disk.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(disk)],
                             capture_output=True, check=False)  # fmt: skip
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        yield disk
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)


def test_a_full_disk_during_catch_up_rolls_back_says_so_and_the_next_command_recovers(
    tmp_path: Path, small_disk: Path
) -> None:
    projections = small_disk / "projections.duckdb"
    with LearningLoop(tmp_path / "store", projections=projections) as loop:
        loop.import_events(many_events(20_000))
        with pytest.raises(StoreError, match="the disk holding the projections is full"):
            loop.project()
        with pytest.raises(StoreError, match="is full"):  # the file is left usable
            loop.sql("select count(*) from log_events")
        subprocess.run(["mount", "-o", "remount,size=64m", str(small_disk)], check=True)
        assert loop.sql("select count(*) from log_events").rows == [(loop.event_count(),)]
