"""Ctrl-C and --timeout in a real process: exit 130 (or 1), one line, never a traceback."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from learningloop import LearningLoop
from tests.conftest import base_events, store_bytes

ROOT = Path(__file__).resolve().parent.parent
RUNAWAY = "select sum(a.range * b.range) from range(1000000000) a, range(1000) b"


def start(store: Path, *args: str) -> subprocess.Popen[str]:
    """The command line in a child process that takes Ctrl-C (SIGINT) as a terminal gives it."""
    return subprocess.Popen(
        [sys.executable, "-c", "from learningloop.cli.main import main; main()",
         "--store", str(store), *args],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # Background jobs of a non-interactive shell ignore SIGINT; a terminal's do not.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )  # fmt: skip


def interrupt_after(process: subprocess.Popen[str], cpu_seconds: float) -> tuple[str, str]:
    """Ctrl-C once the command has worked `cpu_seconds` of CPU (its start takes ~0.3 s):
    a wall-clock wait could land in Python's own start on a loaded machine."""
    deadline = time.monotonic() + 120
    while cpu_time(process.pid) < cpu_seconds and time.monotonic() < deadline:
        if process.poll() is not None:
            break
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    return process.communicate(timeout=60)


def cpu_time(pid: int) -> float:
    """The CPU seconds (user and system, every thread) a running process has used."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return 0.0
    # After the command name: state is field 3, utime and stime fields 14 and 15.
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def seeded_store(tmp_path: Path) -> Path:
    store = tmp_path / "store"
    with LearningLoop(store) as loop:
        loop.import_events(base_events())
        loop.project()
    return store


def test_ctrl_c_during_a_query_exits_130_with_one_line(tmp_path: Path) -> None:
    store = seeded_store(tmp_path)
    stdout, stderr = interrupt_after(start(store, "sql", RUNAWAY), 1.5)
    assert stderr == "Error: interrupted (Ctrl-C).\n" and stdout == ""
    with LearningLoop(store) as loop:  # the projections still answer
        assert loop.sql("select count(*) from log_events").rows == [(4,)]


def test_ctrl_c_during_an_import_exits_130_and_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LEARNINGLOOP_IMPORT_WORKERS", "2")  # and its workers stop too
    store = seeded_store(tmp_path)
    meeting = {"type": "MeetingHeld", "experiment": "exp", "kind": "local",
               "occurred_on": "2013-02-01"}  # fmt: skip
    big = tmp_path / "big.jsonl"
    big.write_text((json.dumps(meeting) + "\n") * 400_000)
    before = store_bytes(store)
    process = start(store, "import", str(big))
    _, stderr = interrupt_after(process, 1.0)
    assert process.returncode == 130, stderr
    assert stderr.endswith("Error: interrupted (Ctrl-C).\n") and "Traceback" not in stderr
    assert store_bytes(store) == before
    assert not running_with(str(big))


def running_with(argument: str) -> list[str]:
    """Processes whose command line holds `argument` (the import's forked workers do)."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            arguments = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if argument.encode() in arguments:
            found.append(entry.name)
    return found


def test_sql_timeout_at_the_command_line_exits_1_with_one_line(tmp_path: Path) -> None:
    store = seeded_store(tmp_path)
    process = start(store, "sql", RUNAWAY, "--timeout", "0.5")
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 1
    assert stderr == "Error: the query was stopped after 0.5 s (--timeout); nothing was changed\n"
