"""Who may open the projection file when: readers never wait on a read-only holder, writers to
the log never touch DuckDB, a caller's own DuckDB connection is never altered."""

from __future__ import annotations

import subprocess
import sys
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner

from learningloop import LearningLoop, duckdb_file
from learningloop.cli.main import main
from learningloop.duckdb_file import NEWEST_STORAGE_NUMBER
from learningloop.errors import ProjectionsBehindWarning, StoreError

MEETING = {"type": "MeetingHeld", "experiment": "exp", "occurred_on": "2013-02-01",
           "kind": "local", "attendees": 3}  # fmt: skip


@contextmanager
def held(database: Path, *, read_only: bool) -> Iterator[int]:
    """Another process holding the file, as harlequin or a notebook would; yields its PID."""
    script = (
        "import duckdb, sys\n"
        f"con = duckdb.connect(sys.argv[1], read_only={read_only})\n"
        "print('held', flush=True)\n"
        "sys.stdin.read()\n"
    )
    holder = subprocess.Popen(
        [sys.executable, "-c", script, str(database)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        yield holder.pid
    finally:
        assert holder.stdin is not None
        holder.stdin.close()
        holder.wait(30)


def storage_number(database: Path) -> int:
    return int.from_bytes(database.read_bytes()[12:20], "little")


def test_a_read_only_holder_gets_answers_from_what_is_projected_with_one_warning(
    seeded: LearningLoop, store_dir: Path, runner: CliRunner
) -> None:
    seeded.project()
    database = seeded.location.projections_path
    with held(database, read_only=True):
        seeded.record(MEETING)  # the log is written while DuckDB is held
        with pytest.warns(ProjectionsBehindWarning, match=r"position 4 of 5, 1 event not"):
            assert seeded.sql("select count(*) from log_events").rows == [(4,)]
        result = runner.invoke(
            main,
            [
                "--store",
                str(store_dir),
                "sql",
                "select count(*) as n from log_events",
                "--format",
                "csv",
            ],
        )
        assert (result.exit_code, result.stdout) == (0, "n\n4\n")
        warning_lines = [line for line in result.stderr.splitlines() if "warning:" in line]
        assert len(warning_lines) == 1 and "1 event not projected" in warning_lines[0]
        fresh = runner.invoke(main, ["--store", str(store_dir), "--fresh", "sql", "select 1"])
        assert fresh.exit_code == 1 and "--fresh" in fresh.stderr
        assert "Traceback" not in fresh.stderr + result.stderr
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # caught up once the holder is gone: no warning
        assert seeded.sql("select count(*) from log_events").rows == [(5,)]


def test_every_reading_command_exits_0_while_a_read_only_session_is_open(
    seeded: LearningLoop, store_dir: Path, runner: CliRunner, tmp_path: Path
) -> None:
    seeded.project()
    with held(seeded.location.projections_path, read_only=True):
        seeded.record(MEETING)
        for arguments in (["indicators"], ["timeline", "exp"], ["audit"],
                          ["export", str(tmp_path / "out")], ["sql", "select 1"]):  # fmt: skip
            result = runner.invoke(main, ["--store", str(store_dir), *arguments])
            assert result.exit_code == 0, (arguments, result.stderr)
            assert "behind the log" in result.stderr, arguments


def test_current_projections_are_read_without_the_write_lock(seeded: LearningLoop) -> None:
    seeded.project()
    with held(seeded.location.projections_path, read_only=True), warnings.catch_warnings():
        warnings.simplefilter("error")
        assert seeded.sql("select count(*) from experiments").rows == [(1,)]


def test_current_projections_are_read_on_the_connection_that_found_them_current(
    seeded: LearningLoop, store_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A DuckDB instance costs ~30 ms of CPU: a read of current projections opens one."""
    seeded.project()
    opened: list[bool] = []
    real_open = duckdb_file.DuckDBFile.open

    def counted(self: duckdb_file.DuckDBFile, read_only: bool, *args: bool, **kw: bool) -> object:
        opened.append(read_only)
        return real_open(self, read_only, *args, **kw)

    monkeypatch.setattr(duckdb_file.DuckDBFile, "open", counted)
    with LearningLoop(store_dir) as fresh:
        assert fresh.sql("select count(*) from log_events").rows == [(4,)]
        assert opened == [True]
        fresh.record(MEETING)
        fresh.close()  # a call long after the last one: nothing kept (see test_duckdb_lease)
        opened.clear()
        assert fresh.sql("select count(*) from log_events").rows == [(5,)]
        assert opened == [False, True]  # caught up without asking first, then read


def test_project_with_a_read_only_holder_fails_naming_it(
    seeded: LearningLoop, monkeypatch: pytest.MonkeyPatch
) -> None:
    seeded.project()
    monkeypatch.setattr(duckdb_file, "LOCK_WAIT_SECONDS", 0.3)
    with held(seeded.location.projections_path, read_only=True) as pid:
        seeded.record(MEETING)
        with pytest.raises(StoreError, match=rf"process {pid} \(.*\) holds .* read-only"):
            seeded.project()


def test_a_read_write_holder_fails_the_read_naming_its_pid_and_true_advice(
    seeded: LearningLoop, monkeypatch: pytest.MonkeyPatch
) -> None:
    seeded.project()
    monkeypatch.setattr(duckdb_file, "LOCK_WAIT_SECONDS", 0.3)
    with held(seeded.location.projections_path, read_only=False) as pid:
        with pytest.raises(StoreError, match=rf"process {pid} .* open for writing.*read-only"):
            seeded.sql("select 1")
        seeded.record(MEETING)  # writing the log never waits on DuckDB
    assert seeded.sql("select count(*) from log_events").rows == [(5,)]


@pytest.mark.parametrize("read_only", [True, False])
def test_a_connection_of_the_callers_own_is_never_altered(
    seeded: LearningLoop, read_only: bool
) -> None:
    seeded.project()
    database = str(seeded.location.projections_path)
    mine = duckdb.connect(database, read_only=read_only)
    settings = "select current_setting('enable_external_access'), current_setting('memory_limit')"
    before = mine.execute(settings).fetchall()
    with pytest.raises(StoreError, match=r"already has .* open in DuckDB.*experiments_at"):
        seeded.sql("select 1")
    assert mine.execute(settings).fetchall() == before
    assert mine.execute("select count(*) from experiments_at(null, null)").fetchall() == [(1,)]
    mine.close()


def test_a_file_in_a_newer_storage_format_is_rebuilt_in_the_old_one(
    seeded: LearningLoop,
) -> None:
    database = seeded.location.projections_path
    database.parent.mkdir(parents=True, exist_ok=True)
    duckdb.connect(str(database)).execute("create table leftover as select 1 as x").close()
    assert storage_number(database) > NEWEST_STORAGE_NUMBER
    assert seeded.sql("select count(*) from experiments").rows == [(1,)]
    assert storage_number(database) <= NEWEST_STORAGE_NUMBER


def test_the_storage_format_is_kept_through_catch_up_and_rebuild(seeded: LearningLoop) -> None:
    database = seeded.location.projections_path
    seeded.project()
    assert storage_number(database) <= NEWEST_STORAGE_NUMBER
    seeded.record(MEETING)
    seeded.project()
    seeded.project(rebuild=True)
    assert storage_number(database) <= NEWEST_STORAGE_NUMBER


def test_interrupt_stops_the_statement_an_open_connection_runs(tmp_path: Path) -> None:
    # An audit whose walk ends (Ctrl-C) stops its rebuild's statement at once this way.
    file = duckdb_file.DuckDBFile(tmp_path / "p.duckdb", "200MB", private=False)
    outcome: list[BaseException | int] = []
    started = threading.Event()

    def endless() -> None:
        with file.connection(read_only=False) as con:
            started.set()
            try:  # hours of work unless interrupted
                outcome.append(
                    con.execute("select count(*) from range(10000000000000)").fetchall()[0][0]
                )
            except duckdb.Error as error:
                outcome.append(error)

    worker = threading.Thread(target=endless, daemon=True)
    worker.start()
    started.wait(10)
    for _ in range(200):  # again until the statement has started and takes it
        file.interrupt()
        worker.join(0.05)
        if outcome:
            break
    worker.join(30)
    assert not worker.is_alive()
    assert isinstance(outcome[0], duckdb.InterruptException)
    file.interrupt()  # nothing open: nothing to stop, no error


def test_a_new_file_is_in_place_only_once_duckdb_has_written_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A process killed while DuckDB creates the file left one no later open took."""
    database = tmp_path / "p.duckdb"
    file = duckdb_file.DuckDBFile(database, "200MB", private=False)

    def killed(*_: object) -> None:
        raise SystemExit("killed before the file is in place")

    with monkeypatch.context() as patch:
        patch.setattr(duckdb_file.os, "link", killed)
        with pytest.raises(SystemExit):
            file.open(read_only=False, locked_down=False)
    assert not database.exists()
    con = file.open(read_only=False, locked_down=False)
    try:
        assert con.execute("select 42").fetchall() == [(42,)]
    finally:
        con.close()
    assert sorted(path.name for path in tmp_path.iterdir()) == ["p.duckdb"]


def test_a_file_duckdb_does_not_take_says_what_to_do_and_doing_it_works(
    seeded: LearningLoop,
) -> None:
    projections = seeded.location.projections_path
    projections.write_bytes(b"not a database, e.g. a copy cut short" * 200)
    with pytest.raises(StoreError, match=r"not a valid DuckDB.* delete it: the projections are "
                       r"rebuilt from the event log"):  # fmt: skip
        seeded.sql("select count(*) from log_events")
    projections.unlink()
    assert seeded.sql("select count(*) from log_events").rows == [(4,)]
