"""The connection a long-lived LearningLoop keeps between `sql` calls: kept only briefly,
as read-only for the user's statement as a read-only file, let go for anyone who needs the
file (another process, another connection of this one), and nothing lost when killed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import duckdb
import pytest

from learningloop import LearningLoop, duckdb_file, duckdb_lease
from learningloop.errors import BadInputError, ProjectionsBehindWarning

MEETING = {"type": "MeetingHeld", "experiment": "exp", "occurred_on": "2013-02-01",
           "kind": "local", "attendees": 3}  # fmt: skip
COUNT = "select count(*) from log_events"
LEARNINGLOOP = str(Path(sys.executable).parent / "learningloop")


@pytest.fixture
def opened(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[bool]]:
    """Every open of a projection file (read_only of each), in order."""
    found: list[bool] = []
    real_open = duckdb_file.DuckDBFile.open

    def counted(self: duckdb_file.DuckDBFile, read_only: bool, *args: bool, **kw: bool) -> object:
        found.append(read_only)
        return real_open(self, read_only, *args, **kw)

    monkeypatch.setattr(duckdb_file.DuckDBFile, "open", counted)
    yield found


@pytest.fixture
def slow_idle(monkeypatch: pytest.MonkeyPatch) -> None:
    """Calls of a test count as close together however loaded the machine is."""
    monkeypatch.setattr(duckdb_lease, "IDLE_SECONDS", 60.0)
    monkeypatch.setattr(duckdb_lease, "LONGEST_SECONDS", 600.0)


def keep(loop: LearningLoop) -> int:
    """A `record` then a `sql`, until one keeps the connection (the second, unless the
    machine is too loaded for two calls within IDLE_SECONDS); returns the count."""
    for _ in range(5):
        loop.record(MEETING)
        count = int(loop.sql(COUNT).rows[0][0])
        if duckdb_lease._HELD:
            return count
    raise AssertionError("no call kept the connection")


def held(database: Path) -> bool:
    """Whether the file is locked by this process (another process cannot open it at all)."""
    probe = "import duckdb, sys\ntry:\n duckdb.connect(sys.argv[1], read_only=True).close()\n" \
            "except duckdb.Error:\n sys.exit(3)\n"  # fmt: skip
    return subprocess.run([sys.executable, "-c", probe, str(database)]).returncode == 3


def test_a_second_call_keeps_one_connection_for_catch_up_and_reading(
    seeded: LearningLoop, opened: list[bool], slow_idle: None
) -> None:
    seeded.project()
    seeded.record(MEETING)
    assert seeded.sql(COUNT).rows == [(5,)]  # a first call keeps nothing
    opened.clear()
    for count in (6, 7, 8):
        seeded.record(MEETING)
        assert seeded.sql(COUNT).rows == [(count,)]
        assert seeded.sql("select count(*) from timeline").rows == [(count - 3,)]
    assert opened == [False]  # opened once for writing, then kept
    assert held(seeded.location.projections_path)
    seeded.close()
    assert not held(seeded.location.projections_path)


def test_reading_alone_never_takes_the_write_lock(
    seeded: LearningLoop, opened: list[bool], slow_idle: None
) -> None:
    seeded.project()
    for _ in range(3):
        assert seeded.sql(COUNT).rows == [(4,)]
    assert opened == [False, True, True, True] and not duckdb_lease._HELD  # project, 3 reads


def test_a_kept_connection_answers_each_call_at_its_own_moment(
    seeded: LearningLoop, slow_idle: None
) -> None:
    keep(seeded)
    query = "select getvariable('as_of'), getvariable('known_at'), count(*) from experiments"
    first = seeded.sql(query).rows
    at_d = seeded.sql(query, as_of=date(2012, 6, 1)).rows
    assert at_d[0][0] == date(2012, 6, 1) and at_d[0][2] == 0  # before the experiment
    assert seeded.sql(query).rows == first == [(None, None, 1)]  # D given once is forgotten
    assert duckdb_lease._HELD  # it was the kept connection that answered


@pytest.mark.parametrize(
    "statement",
    [
        "delete from log_events",
        "create table x as select 1",
        "explain analyze delete from log_events",
        "attach '/tmp/other.duckdb'",
        "set memory_limit = '1GB'",
        "checkpoint",
        "commit",
        "select 1; select 2",
    ],
)
def test_a_kept_connection_refuses_what_a_first_call_refuses_with_the_same_words(
    seeded: LearningLoop, statement: str, slow_idle: None
) -> None:
    with pytest.raises(BadInputError) as first:
        seeded.sql(statement)
    count = keep(seeded)
    with pytest.raises(BadInputError) as kept:
        seeded.sql(statement)
    assert str(kept.value) == str(first.value)
    assert duckdb_lease._HELD and seeded.sql(COUNT).rows == [(count,)]


def test_a_kept_connection_reads_no_file_and_changes_no_setting(
    seeded: LearningLoop, tmp_path: Path, slow_idle: None
) -> None:
    (tmp_path / "secret.csv").write_text("a\n1\n")
    keep(seeded)
    with pytest.raises(BadInputError, match="SQL error"):
        seeded.sql(f"select * from read_csv('{tmp_path / 'secret.csv'}')")
    rows = seeded.sql("select current_setting('enable_external_access')").rows
    assert rows == [(False,)] and duckdb_lease._HELD


def test_a_write_past_the_parser_fails_in_the_read_only_transaction(tmp_path: Path) -> None:
    # the parser refuses writes first; DuckDB's read-only transaction is the second guard
    con = duckdb.connect(str(tmp_path / "p.duckdb"))
    con.execute("create table t as select 1 as x")
    from learningloop.querying import read_only

    with pytest.raises(duckdb.TransactionException, match="read-only"), read_only(con):
        con.execute("insert into t values (2)")
    assert con.execute("select count(*) from t").fetchall() == [(1,)]
    con.close()


def test_another_process_gets_its_answer_while_the_keeper_is_alive(
    seeded: LearningLoop, store_dir: Path
) -> None:
    assert keep(seeded) == 6
    started = time.monotonic()
    other = subprocess.run(
        [LEARNINGLOOP, "--store", str(store_dir), "sql", COUNT, "--format", "csv"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert (other.returncode, other.stdout) == (0, "count_star()\n6\n"), other.stderr
    # it waited for the idle lease, never for its whole patience
    assert time.monotonic() - started < duckdb_file.LOCK_WAIT_SECONDS + 30
    seeded.record(MEETING)
    assert seeded.sql(COUNT).rows == [(7,)]  # the keeper goes on


def test_another_connection_of_this_process_is_let_in(
    seeded: LearningLoop, store_dir: Path, slow_idle: None
) -> None:
    keep(seeded)
    assert seeded.project() == 0  # its own usual path opens the file: the lease lets go first
    assert not duckdb_lease._HELD
    keep(seeded)
    with LearningLoop(store_dir) as other:  # another object of this process
        other.record(MEETING)
        assert other.sql(COUNT).rows == [(9,)]
        assert not duckdb_lease._HELD
    assert seeded.sql(COUNT).rows == [(9,)]


def test_a_long_hold_is_let_go_for_a_while(
    seeded: LearningLoop, monkeypatch: pytest.MonkeyPatch, opened: list[bool]
) -> None:
    monkeypatch.setattr(duckdb_lease, "IDLE_SECONDS", 60.0)
    monkeypatch.setattr(duckdb_lease, "LONGEST_SECONDS", 0.0)
    monkeypatch.setattr(duckdb_lease, "COOL_DOWN_SECONDS", 60.0)
    keep(seeded)  # kept, then held longer than LONGEST_SECONDS
    opened.clear()
    seeded.record(MEETING)
    seeded.sql(COUNT)
    assert opened == [False, True] and not duckdb_lease._HELD  # let go, then the usual path


KEEPER = """
import sys, time
from learningloop import LearningLoop
from learningloop import duckdb_lease
duckdb_lease.IDLE_SECONDS = 600.0
duckdb_lease.LONGEST_SECONDS = 6000.0
meeting = {"type": "MeetingHeld", "experiment": "exp", "occurred_on": "2013-02-01",
           "kind": "local", "attendees": 3}
loop = LearningLoop(sys.argv[1])
for _ in range(5):
    recorded = loop.record(meeting)
    loop.sql("select count(*) from log_events")
print("held", flush=True)
while True:
    time.sleep(1)
"""


def test_a_keeper_killed_while_holding_loses_nothing(seeded: LearningLoop, store_dir: Path) -> None:
    seeded.project()
    seeded.close()
    keeper = subprocess.Popen(
        [sys.executable, "-c", KEEPER, str(store_dir)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert keeper.stdout is not None and keeper.stdout.readline() == "held\n"
        assert held(seeded.location.projections_path)
    finally:
        os.kill(keeper.pid, signal.SIGKILL)
        keeper.wait(30)
    with LearningLoop(store_dir) as after:
        assert after.sql(COUNT).rows == [(9,)]
        assert after.sql("select count(*) from timeline where type = 'MeetingHeld'").rows == [(5,)]


def test_a_file_another_process_holds_is_not_tried_again_at_each_call(
    seeded: LearningLoop, monkeypatch: pytest.MonkeyPatch, slow_idle: None
) -> None:
    seeded.project()
    tries: list[bool] = []  # the lease's opens: it alone does not wait
    real_open = duckdb_file.DuckDBFile.open

    def counted(self: duckdb_file.DuckDBFile, read_only: bool, *args: bool, **kw: bool) -> object:
        if kw.get("wait") is False:
            tries.append(read_only)
        return real_open(self, read_only, *args, **kw)

    monkeypatch.setattr(duckdb_file.DuckDBFile, "open", counted)
    script = "import duckdb, sys\ncon = duckdb.connect(sys.argv[1], read_only=True)\n" \
             "print('held', flush=True)\nsys.stdin.read()\n"  # fmt: skip
    holder = subprocess.Popen(
        [sys.executable, "-c", script, str(seeded.location.projections_path)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        with pytest.warns(ProjectionsBehindWarning):
            for _ in range(4):
                seeded.record(MEETING)
                assert seeded.sql(COUNT).rows == [(4,)]  # what is projected, with a warning
    finally:
        assert holder.stdin is not None and holder.stdout is not None
        holder.stdin.close()
        holder.stdout.close()
        holder.wait(30)
    assert tries == [False] and not duckdb_lease._HELD  # tried once, then left alone
