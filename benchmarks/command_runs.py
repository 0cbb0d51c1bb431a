"""The benchmark's commands, run as the user runs them: each one's time, CPU and own peak memory.

Every command is recorded (`figures["commands"]`), so the JSON and the printout say which
command took the memory, not only the largest figure, and flag any over the issue's 1.5 GiB.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb

from learningloop.duckdb_file import machine_memory
from learningloop.results import memory_limit

COMMAND_TIMEOUT = 900  # seconds; a command that takes longer is killed and reported as failed
MEMORY_BOUND_MIB = 1536  # issue 13: every command under 1.5 GiB
SKIPPED: set[str] = set()  # commands left out with --skip (printed as skipped)
_LAUNCHER = Path(__file__).resolve().parent / "own_peak.py"


def timed(action: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = action()
    return time.perf_counter() - started, result


def own_peak(program: list[str], stdout: Path, workdir: Path) -> dict[str, Any]:
    """Run `program` (stdout to a file) through own_peak.py: exit, seconds, cpu_s, peak_mib."""
    result = workdir / "own_peak.json"
    result.unlink(missing_ok=True)
    launcher = [sys.executable, str(_LAUNCHER), str(result), str(COMMAND_TIMEOUT), "--"]
    with stdout.open("wb") as out:
        subprocess.run([*launcher, *program], stdout=out, stderr=subprocess.DEVNULL, check=True)
    run: dict[str, Any] = json.loads(result.read_text(encoding="utf-8"))
    return run


def command(store: Path, arguments: list[str], stdout: Path) -> dict[str, Any]:
    """Run `learningloop --store STORE ...` as the user does."""
    program = [str(Path(sys.executable).parent / "learningloop"), "--store", str(store)]
    return own_peak([*program, *arguments], stdout, stdout.parent)


def record(figures: dict[str, Any], name: str, shown: str, run: dict[str, Any]) -> None:
    """Keep one command's run, whatever it did."""
    entry = {"figure": name, "command": shown, **run}
    entry["over_bound"] = run["peak_mib"] > MEMORY_BOUND_MIB
    figures.setdefault("commands", []).append(entry)
    if run["exit"] != 0:
        figures.setdefault("failed", []).append(f"{name} (exit {run['exit']})")


def measured(figures: dict[str, Any], name: str, store: Path, arguments: list[str],
             stdout: Path, note: str = "") -> None:  # fmt: skip
    if arguments[0] in SKIPPED:
        figures[f"{name}_s"] = figures[f"{name}_peak_mib"] = None
        return
    run = command(store, arguments, stdout)
    figures[f"{name}_s"] = run["seconds"] if run["exit"] == 0 else float("nan")
    figures[f"{name}_peak_mib"] = run["peak_mib"]
    record(figures, name, " ".join(["learningloop", *arguments, note]).strip(), run)


def one_event(store: Path, out: Path) -> None:
    """Record one more meeting of an experiment (on the day of its latest: a valid date),
    then bring the projections up to date."""
    with duckdb.connect(str(store / "projections.duckdb"), read_only=True) as con:
        found = con.sql("select experiment, max(occurred_on)::varchar from stg_meetings "
                        "group by experiment order by experiment limit 1").fetchall()  # fmt: skip
    if not found:
        raise RuntimeError("no experiment has a meeting to record another one after")
    meeting = ["record", "MeetingHeld", "--experiment", found[0][0], "--occurred-on",
               found[0][1], "--kind", "local", "--attendees", "3"]  # fmt: skip
    for arguments in (meeting, ["project"]):
        if command(store, arguments, out)["exit"] != 0:
            raise RuntimeError(f"learningloop {' '.join(arguments)} failed")


def peak_rebuild_memory(store: Path, figures: dict[str, Any], workdir: Path) -> float:
    """Peak resident memory (MiB) of a rebuild through the library, in a fresh process."""
    program = (
        "import sys; from learningloop import LearningLoop; "
        "LearningLoop(sys.argv[1]).project(rebuild=True)"
    )
    run = own_peak([sys.executable, "-c", program, str(store)], workdir / "out", workdir)
    record(figures, "rebuild_in_process", "LearningLoop(store).project(rebuild=True)", run)
    return float(run["peak_mib"])


def command_figures(store: Path, workdir: Path, source: Path | None,
                    figures: dict[str, Any]) -> None:  # fmt: skip
    """Every command of the issue at this size, run as the user runs it."""
    out = workdir / "out"
    # Cold: the first call after the projections are current (no cached result); warm: the
    # same call again, nothing recorded in between (served from the store's result cache).
    shutil.rmtree(store / "cache", ignore_errors=True)
    csv = ["indicators", "--format", "csv"]
    measured(figures, "indicators_csv_cold", store, csv, out, "(cold)")
    measured(figures, "indicators_csv", store, csv, out, "(warm, cached)")
    measured(figures, "indicators_json", store, ["indicators", "--format", "json"], out,
             "(warm, cached)")  # fmt: skip
    # the first call after one recorded event (projections current): the cached answer of
    # the position before gives the rows and lines of every experiment the event left alone
    one_event(store, out)
    measured(figures, "indicators_csv_after_event", store, csv, out, "(after one event)")
    measured(figures, "indicators_table", store, ["indicators", "--format", "table"], out,
             "(cold)")  # fmt: skip
    timeline = workdir / "timeline.csv"
    measured(figures, "sql_csv", store, ["sql", "select * from timeline", "--format", "csv"],
             timeline)  # fmt: skip
    figures["sql_rows"] = max(0, sum(1 for _ in timeline.open("rb")) - 1)
    figures["duckdb_copy_s"] = duckdb_copy_seconds(store, workdir / "copy.csv")
    figures["sql_csv_over_copy"] = figures["sql_csv_s"] / figures["duckdb_copy_s"]
    # The same COPY under the memory limit `sql` runs with. DuckDB's own default is 80 % of
    # the machine: a process running only this COPY peaked at 12.7 GB at 10M events, where
    # `sql` stays near 1.2 GB and the window sort of `timeline` spills to disk.
    limit = memory_limit(None, machine_memory())
    figures["duckdb_copy_same_memory_s"] = duckdb_copy_seconds(store, workdir / "copy.csv", limit)
    figures["sql_csv_over_copy_same_memory"] = (
        figures["sql_csv_s"] / figures["duckdb_copy_same_memory_s"]
    )
    (workdir / "copy.csv").unlink(missing_ok=True)
    figures["read_json_s"] = (
        read_json_seconds(source, workdir / "read_json.duckdb") if source else None
    )
    if "rebuild_s" not in figures:
        measured(figures, "rebuild", store, ["project", "--rebuild"], out)
    figures["rebuild_over_read_json"] = _ratio(figures["rebuild_s"], figures["read_json_s"])
    measured(figures, "audit", store, ["audit"], out)
    figures["audit_over_rebuild"] = _ratio(figures["audit_s"], figures["rebuild_s"])
    report = workdir / "report.html"
    measured(figures, "report", store, ["report", "--out", str(report)], out)
    figures["report_mib"] = report.stat().st_size / 2**20 if report.exists() else None
    figures["report_over_rebuild"] = _ratio(figures["report_s"], figures["rebuild_s"])
    figures["peak_command_mib"] = max(
        value for key, value in figures.items() if key.endswith("_peak_mib") and value
    )


def _ratio(value: float | None, base: float | None) -> float | None:
    return None if value is None or not base else value / base


def duckdb_copy_seconds(store: Path, target: Path, limit: str | None = None) -> float:
    """DuckDB writing the same result itself (COPY ... TO), the floor for `sql` CSV output;
    in DuckDB's default memory, or under `limit`."""
    con = duckdb.connect(str(store / "projections.duckdb"), read_only=True)
    con.execute("set TimeZone = 'UTC'")
    if limit is not None:
        con.execute(f"set memory_limit = '{limit}'")
    seconds, _ = timed(
        lambda: con.execute(f"copy (select * from timeline) to '{target}' (header, delimiter ',')")
    )
    con.close()
    return seconds


def read_json_seconds(source: Path, database: Path) -> float:
    """DuckDB parsing the same events from a JSON file (read_json), the ceiling of a rebuild."""
    con = duckdb.connect(str(database))
    seconds, _ = timed(
        lambda: con.execute(
            f"create table events as select * from read_json('{source}', "
            "format = 'newline_delimited', sample_size = -1)"
        )
    )
    con.close()
    return seconds


def print_commands(commands: list[dict[str, Any]]) -> None:
    """Each command's own wall time, CPU and peak memory, flagged over the 1.5 GiB bound."""
    if not commands:
        return
    print(f"each command (own peak memory from wait4; bound {MEMORY_BOUND_MIB:,} MiB):")
    print(f"{'command':<52} {'wall s':>9} {'CPU s':>9} {'peak MiB':>9} exit")
    for run in commands:
        flag = "  OVER 1.5 GiB" if run["over_bound"] else ""
        print(f"{run['command'][:52]:<52} {run['seconds']:>9,.2f} {run['cpu_s']:>9,.2f} "
              f"{run['peak_mib']:>9,.0f} {run['exit']}{flag}")  # fmt: skip
    top = max(commands, key=lambda run: run["peak_mib"])
    print(f"highest peak memory: {top['command']} ({top['peak_mib']:,.0f} MiB)")
