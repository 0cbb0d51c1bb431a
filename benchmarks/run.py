"""Measure learningloop against its targets and the per-event baseline; print a table, write JSON.

    python benchmarks/run.py --size small      # 10,000 events (what CI runs)
    python benchmarks/run.py --size medium     # 1,000,000 events
    python benchmarks/run.py --size large      # 10,000,000 events (long: generation + import)
    python benchmarks/run.py --size 250000 --json results.json
    python benchmarks/run.py --size medium --shape network   # ~1,000 programmes, 50,000 experiments
    python benchmarks/run.py --reuse-store /data/prog10m --source /data/prog10m.jsonl

`--reuse-store DIR` takes the figures that need no fresh import on a copy of an existing store
(importing 10M events again takes hours on a shared machine): rebuild, replay, indicators,
visible-to-sql, the commands; import and catch-up print as skipped.

Figures are measured, never asserted: each is printed beside its target. Commands are run as
the user runs them (a `learningloop` subprocess started through own_peak.py), and after the
table every command is listed with its wall time, CPU time and its own peak memory, flagged
when over the issue's 1.5 GiB.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb

sys.path.insert(0, str(Path(__file__).resolve().parent))
from command_runs import (
    SKIPPED,
    command_figures,
    measured,
    peak_rebuild_memory,
    print_commands,
    timed,
)
from generate import write_jsonl

from learningloop import LearningLoop

SIZES = {"small": 10_000, "medium": 1_000_000, "large": 10_000_000}
BASELINE_EVENTS = 3_000


def median_time(action: Callable[[], Any], runs: int) -> float:
    return statistics.median(timed(action)[0] for _ in range(runs))


def read_everything(loop: LearningLoop) -> int:
    """Merely read every stored event (the floor any rebuild stands on)."""
    log = loop._store.readable_log()
    return sum(len(page) for page in log.raw_pages(0, 100_000))


def per_event_baseline(loop: LearningLoop, limit: int, database: Path) -> float:
    """An eventsourcing-style projection: decode each event, one handler call, one insert."""
    log = loop._store.readable_log()
    con = duckdb.connect(str(database))
    con.execute(
        "create table log_events (position bigint, stream varchar, version integer, "
        "type varchar, occurred_on date, recorded_at timestamptz, payload json)"
    )

    def handle(position: int, recorded: Any) -> None:
        event = recorded.event
        con.execute(
            "insert into log_events values (?, ?, ?, ?, ?, ?, ?)",
            [position, recorded.stream, recorded.version, event.type, event.occurred_on,
             recorded.recorded_at, event.model_dump_json()],
        )  # fmt: skip

    started, handled = time.perf_counter(), 0
    for notification in log.read_notifications(0, limit):
        handle(notification.id, log.mapper.to_domain_event(notification))
        handled += 1
    con.close()
    return handled / (time.perf_counter() - started)


def help_times(figures: dict[str, Any]) -> None:
    """`learningloop --help` as this environment runs it (help_ms: with PYTHONDONTWRITEBYTECODE
    set, as in the sandbox, every learningloop module is compiled on each run), and beside it,
    runs alternated, with bytecode cached as an installed package has it (help_bytecode_ms:
    written once to a scratch PYTHONPYCACHEPREFIX, then read). Both pay an editable install's
    import finder when the venv has one (~20 ms: it imports pathlib, re, urllib.parse...)."""
    command = [str(Path(sys.executable).parent / "learningloop"), "--help"]
    with tempfile.TemporaryDirectory(prefix="learningloop-pyc-") as cache:
        cached = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        cached["PYTHONPYCACHEPREFIX"] = cache
        subprocess.run(command, check=True, capture_output=True, env=cached)
        runs: dict[str, list[float]] = {"help_ms": [], "help_bytecode_ms": []}
        for _ in range(7):
            for name, env in (("help_ms", None), ("help_bytecode_ms", cached)):
                started = time.perf_counter()
                subprocess.run(command, check=True, capture_output=True, env=env)
                runs[name].append(time.perf_counter() - started)
    figures.update({name: 1000 * statistics.median(times) for name, times in runs.items()})


def visible_after_record(loop: LearningLoop, experiment: str) -> float:
    """One event recorded, then visible to `sql` in the same process (catch-up included)."""

    def record_then_query() -> None:
        recorded = loop.record(
            {
                "type": "MeetingHeld",
                "experiment": experiment,
                "kind": "local",
                "occurred_on": "2013-06-01",
                "attendees": 3,
            }
        )
        found = loop.sql(
            "select version from log_events where stream = ? and version = ?",
            parameters=[recorded.stream, recorded.version],
        )
        assert found.rows, "the recorded event is not visible"

    record_then_query()
    return median_time(record_then_query, 15)


def run(size: int, workdir: Path, shape: str = "programme") -> dict[str, Any]:
    store, figures = workdir / "store", {}
    source = workdir / "events.jsonl"
    backlog_file = workdir / "backlog.jsonl"
    events = write_jsonl(source, size, shape=shape)
    write_jsonl(backlog_file, max(size // 10, 1_000), seed=7, shape=shape)
    with LearningLoop(store, recorded_by="benchmark") as loop:
        seconds, _ = timed(lambda: loop.import_files([source]))
        figures["import_rate"] = events / seconds
        seconds, _ = timed(lambda: loop.project(rebuild=True))
        figures["rebuild_rate"] = events / seconds
        read_seconds, _ = timed(lambda: read_everything(loop))
        figures["rebuild_over_read"] = seconds / read_seconds
        queries_in_process(loop, events, workdir, figures)
        _renamed_backlog(backlog_file)
        loop.import_files([backlog_file])
        seconds, added = timed(loop.project)
        figures["catch_up_rate"] = added / seconds
    figures["rebuild_peak_memory_mib"] = peak_rebuild_memory(store, figures, workdir)
    help_times(figures)
    command_figures(store, workdir, source, figures)
    figures["events"] = events
    return figures


def queries_in_process(loop: LearningLoop, events: int, workdir: Path,
                       figures: dict[str, Any]) -> None:  # fmt: skip
    """Baseline, replay, indicators and visible-to-sql in this process."""
    baseline = per_event_baseline(loop, min(events, BASELINE_EVENTS), workdir / "base.duckdb")
    figures["baseline_rate"] = baseline
    figures["rebuild_over_baseline"] = figures["rebuild_rate"] / baseline
    longest = _longest_experiment(loop)
    wall, cpu = replay_times(loop, longest, 5)
    figures["replay_10000_ms"], figures["replay_10000_cpu_ms"] = 1000 * wall, 1000 * cpu
    figures["replay_events"] = len(loop._store.stream(f"experiment:{longest}"))
    figures["indicators_ms"] = 1000 * median_time(lambda: uncached_indicators(loop), 3)
    figures["visible_to_sql_ms"] = 1000 * visible_after_record(loop, longest)
    loop.project()


def replayed(loop: LearningLoop, experiment: str) -> int:
    """A replay as an evaluator reads it: the state and every timeline entry. The timeline is
    built when first read, so timing `replay` alone would leave that work out."""
    return sum(1 for _ in loop.replay(experiment).timeline)


def replay_times(loop: LearningLoop, experiment: str, runs: int) -> tuple[float, float]:
    """The median wall time and the median CPU time of a replay. On a shared machine the wall
    time also counts the moments other processes hold the core (at a load of 10 on 2 cores,
    about twice the CPU time): the CPU time says what the replay itself costs."""
    walls, cpus = [], []
    for _ in range(runs):
        started = time.thread_time()
        wall, _ = timed(lambda: replayed(loop, experiment))
        cpus.append(time.thread_time() - started)
        walls.append(wall)
    return statistics.median(walls), statistics.median(cpus)


def uncached_indicators(loop: LearningLoop) -> Any:
    """The indicators computed, not read from the result cache (deleted first)."""
    shutil.rmtree(loop.location.projections_path.parent / "cache", ignore_errors=True)
    return loop.indicators()


def run_on_store(existing: Path, workdir: Path, source: Path | None) -> dict[str, Any]:
    """The figures that need no fresh import, on a copy of an existing store's event log.

    The copy is rebuilt first (a subprocess, as the user runs it: its time and peak memory
    are the rebuild figures), so projections written by another version never count.
    """
    store, out = workdir / "store", workdir / "out"
    store.mkdir(parents=True, exist_ok=False)
    for part in sorted(existing.glob("events.sqlite*")):
        shutil.copy2(part, store / part.name)
    figures: dict[str, Any] = {"import_rate": None, "catch_up_rate": None}
    measured(figures, "rebuild", store, ["project", "--rebuild"], out)
    with LearningLoop(store, recorded_by="benchmark") as loop:
        events = loop.event_count()
        figures["rebuild_rate"] = events / figures["rebuild_s"]
        figures["rebuild_peak_memory_mib"] = figures["rebuild_peak_mib"]
        read_seconds, _ = timed(lambda: read_everything(loop))
        figures["rebuild_over_read"] = figures["rebuild_s"] / read_seconds
        queries_in_process(loop, events, workdir, figures)
    help_times(figures)
    command_figures(store, workdir, source, figures)
    figures["events"] = events
    return figures


def _longest_experiment(loop: LearningLoop) -> str:
    found = loop.sql("select experiment from log_events where experiment is not null "
                     "group by experiment order by count(*) desc, experiment limit 1")  # fmt: skip
    return str(found.rows[0][0])


def _renamed_backlog(path: Path) -> None:
    """The backlog is another programme: rename its keys so it does not clash."""
    text = path.read_text(encoding="utf-8")
    for prefix in ("programme-", "exp-", "net-", "nexp-"):
        text = text.replace(f'"{prefix}', f'"backlog-{prefix}')
    path.write_text(text, encoding="utf-8")


TARGETS = [
    ("import_rate", "import into the SQLite store", "events/s", ">= 30,000", lambda v: v >= 30_000),
    ("rebuild_rate", "full projection rebuild", "events/s", ">= 500,000", lambda v: v >= 500_000),
    ("baseline_rate", "per-event handler baseline", "events/s", "(print)", None),
    ("rebuild_over_baseline", "rebuild / baseline", "x", ">= 10", lambda v: v >= 10),
    ("rebuild_over_read", "rebuild time / read time", "x", "<= 2", lambda v: v <= 2),
    ("visible_to_sql_ms", "recorded event visible to sql", "ms", "<= 50", lambda v: v <= 50),
    ("catch_up_rate", "sustained catch-up", "events/s", ">= 100,000", lambda v: v >= 100_000),
    ("replay_10000_ms", "replay of a 10,000-event experiment", "ms", "<= 20", lambda v: v <= 20),
    ("replay_10000_cpu_ms", "the same replay's CPU time", "ms", "(print)", None),
    ("indicators_ms", "indicators query (computed)", "ms", "<= 1,000", lambda v: v <= 1_000),
    ("rebuild_peak_memory_mib", "peak memory of a rebuild", "MiB", "<= 1,536",
     lambda v: v <= 1536),
    ("help_ms", "learningloop --help, cold", "ms", "<= 150", lambda v: v <= 150),
    ("help_bytecode_ms", "the same, bytecode cached", "ms", "(print)", None),
    ("indicators_csv_cold_s", "indicators --format csv, COLD (command)", "s", "(print)", None),
    ("indicators_csv_s", "indicators --format csv, WARM (command)", "s", "<= 2 / <= 1 *",
     lambda v: v <= 2),
    ("indicators_json_s", "indicators --format json, warm (command)", "s", "(print)", None),
    ("indicators_csv_after_event_s", "indicators --format csv, after 1 event", "s",
     "<= 2 / <= 1 *", lambda v: v <= 2),
    ("indicators_table_s", "indicators table, cold (command)", "s", "(print)", None),
    ("sql_rows", "rows of sql 'select * from timeline'", "rows", "(print)", None),
    ("sql_csv_s", "sql ... --format csv (command)", "s", "(print)", None),
    ("duckdb_copy_s", "DuckDB COPY TO of the same result", "s", "(print)", None),
    ("sql_csv_over_copy", "sql CSV / DuckDB COPY", "x", "<= 2", lambda v: v <= 2),
    ("duckdb_copy_same_memory_s", "the same COPY in sql's memory limit", "s", "(print)", None),
    ("sql_csv_over_copy_same_memory", "sql CSV / COPY, same memory", "x", "<= 2",
     lambda v: v <= 2),
    ("rebuild_s", "project --rebuild (command)", "s", "(print)", None),
    ("read_json_s", "DuckDB read_json of the same events", "s", "(print)", None),
    ("rebuild_over_read_json", "rebuild / read_json (ceiling)", "x", "(print)", None),
    ("audit_s", "audit (command)", "s", "(print)", None),
    ("audit_over_rebuild", "audit / rebuild", "x", "<= 3", lambda v: v <= 3),
    ("report_s", "report (command)", "s", "(print)", None),
    ("report_over_rebuild", "report / rebuild", "x", "<= 1", lambda v: v <= 1),
    ("report_mib", "report size", "MiB", "< 3", lambda v: v < 3),
    ("peak_command_mib", "peak memory of any command above", "MiB", "<= 1,536",
     lambda v: v <= 1536),
]  # fmt: skip
# (*) indicators --format csv: <= 2 s on the network shape at 1M, <= 1 s on the programme
# shape at 10M (the interactive targets). COLD is the first call after the projections
# are current (computed); WARM the same call again with nothing recorded in between, served
# from the store's exact result cache; "after 1 event" the first call once one more event is
# recorded and projected (the cached answer gives the experiments the event did not touch).
# json reuses the rows csv cached; table has queries of its own, so it is a first (cold) call.
# The verdict follows the shape the figures were taken on (BY_SHAPE): the stricter 1 s bound
# is the programme shape's, so a programme-shape 1.15 s is "NOT met", not "met" under 2 s.
_INDICATOR_BOUNDS = {"network": lambda v: v <= 2, "programme": lambda v: v <= 1}
BY_SHAPE = {"indicators_csv_s": _INDICATOR_BOUNDS,
            "indicators_csv_after_event_s": _INDICATOR_BOUNDS}  # fmt: skip


def machine() -> dict[str, Any]:
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    return {"cores": os.cpu_count(), "memory_gib": round(memory / 2**30, 1),
            "python": platform.python_version(), "duckdb": duckdb.__version__,
            "platform": platform.platform(),
            "load_average": [round(load, 2) for load in os.getloadavg()]}  # fmt: skip


def report(figures: dict[str, Any], size_name: str, shape: str = "programme") -> dict[str, Any]:
    rows = []
    for key, label, unit, target, meets in TARGETS:
        value = figures[key]
        if value is None:
            rows.append({"figure": key, "label": label, "value": None, "unit": unit,
                         "target": target, "verdict": "skipped"})  # fmt: skip
            continue
        if value != value:  # NaN: the command failed or timed out
            rows.append({"figure": key, "label": label, "value": None, "unit": unit,
                         "target": target, "verdict": "failed"})  # fmt: skip
            continue
        if key in BY_SHAPE:
            meets = BY_SHAPE[key][shape]
        verdict = "" if meets is None else ("met" if meets(value) else "NOT met")
        rows.append({"figure": key, "label": label, "value": round(value, 2), "unit": unit,
                     "target": target, "verdict": verdict})  # fmt: skip
    return {"size": size_name, "shape": shape, "events": figures["events"],
            "machine": machine(), "figures": rows, "failed": figures.get("failed", []),
            "commands": figures.get("commands", [])}  # fmt: skip


def print_table(document: dict[str, Any]) -> None:
    info = document["machine"]
    size = (
        f"{document['events']:,} events ({document['shape']} shape), {info['cores']} cores, "
        f"{info['memory_gib']} GiB"
    )
    load = ", ".join(map(str, info.get("load_average", ["?"])))  # older documents have none
    print(f"learningloop benchmark: {size}, Python {info['python']}, DuckDB {info['duckdb']}, "
          f"load average at the end {load}")  # fmt: skip
    print(f"{'figure':<40} {'value':>14} {'unit':<9} {'target':<11} verdict")
    for row in document["figures"]:
        value = "-" if row["value"] is None else f"{row['value']:,.2f}"
        print(f"{row['label']:<40} {value:>14} {row['unit']:<9} {row['target']:<11} "
              f"{row['verdict']}")  # fmt: skip
    for failure in document["failed"]:
        print(f"FAILED: {failure}")
    print_commands(document["commands"])


def main() -> None:
    parser = argparse.ArgumentParser(description="learningloop benchmarks")
    parser.add_argument("--size", default="small", help="small, medium, large or a number")
    parser.add_argument("--shape", choices=("programme", "network"), default="programme",
                        help="programme: few long experiments; network: ~1 programme per "
                        "1,000 events, ~1 experiment per 20")  # fmt: skip
    parser.add_argument("--json", type=Path, help="where to write the figures as JSON")
    parser.add_argument("--skip", action="append", default=[], choices=("audit", "report"),
                        help="leave a slow command out (its figures print as skipped)")  # fmt: skip
    parser.add_argument("--workdir", type=Path, help="keep the generated store here")
    parser.add_argument(
        "--reuse-store",
        type=Path,
        metavar="DIR",
        help="no generation nor import: figures on a copy of this store's log",
    )
    parser.add_argument("--source", type=Path, metavar="FILE",
                        help="with --reuse-store: the JSON Lines it was imported from (for "
                        "the read_json ceiling; without it that figure is skipped)")  # fmt: skip
    arguments = parser.parse_args()
    if arguments.reuse_store and not (arguments.reuse_store / "events.sqlite").is_file():
        parser.error(f"--reuse-store: no events.sqlite in {arguments.reuse_store}")
    SKIPPED.update(arguments.skip)
    workdir = arguments.workdir or Path(tempfile.mkdtemp(prefix="learningloop-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        if arguments.reuse_store:
            figures = run_on_store(arguments.reuse_store, workdir, arguments.source)
        else:
            size = SIZES.get(arguments.size) or int(arguments.size)
            figures = run(size, workdir, arguments.shape)
        size_name = (
            f"reused-{arguments.reuse_store.name}" if arguments.reuse_store else arguments.size
        )
        document = report(figures, size_name, arguments.shape)
    finally:
        if arguments.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)
    print_table(document)
    name = size_name if arguments.shape == "programme" else f"{size_name}-network"
    target = arguments.json or Path(__file__).parent / "results" / f"{name}.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
