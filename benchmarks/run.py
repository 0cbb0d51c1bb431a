"""Measure learningloop against its targets and the per-event baseline; print a table, write JSON.

    python benchmarks/run.py --size small      # 10,000 events (what CI runs)
    python benchmarks/run.py --size medium     # 1,000,000 events
    python benchmarks/run.py --size large      # 10,000,000 events (long: generation + import)
    python benchmarks/run.py --size 250000 --json results.json

Figures are measured, never asserted: each is printed beside its target.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
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
from generate import write_jsonl

from learningloop import LearningLoop

SIZES = {"small": 10_000, "medium": 1_000_000, "large": 10_000_000}
BASELINE_EVENTS = 3_000


def timed(action: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = action()
    return time.perf_counter() - started, result


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


def peak_rebuild_memory(store: Path) -> int:
    """Peak resident memory (bytes) of a rebuild in a fresh process."""
    program = (
        "import sys; from learningloop import LearningLoop; "
        "LearningLoop(sys.argv[1]).project(rebuild=True)"
    )
    subprocess.run([sys.executable, "-c", program, str(store)], check=True)
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024


def help_time() -> float:
    command = [str(Path(sys.executable).parent / "learningloop"), "--help"]
    return median_time(lambda: subprocess.run(command, check=True, capture_output=True), 7)


def visible_after_record(loop: LearningLoop) -> float:
    """One event recorded, then visible to `sql` in the same process (catch-up included)."""

    def record_then_query() -> None:
        recorded = loop.record(
            {
                "type": "MeetingHeld",
                "experiment": "exp-00000",
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


def run(size: int, workdir: Path) -> dict[str, Any]:
    store, figures = workdir / "store", {}
    source = workdir / "events.jsonl"
    backlog_file = workdir / "backlog.jsonl"
    events = write_jsonl(source, size)
    write_jsonl(backlog_file, max(size // 10, 1_000), seed=7)
    with LearningLoop(store, recorded_by="benchmark") as loop:
        seconds, _ = timed(lambda: loop.import_files([source]))
        figures["import_rate"] = events / seconds
        seconds, _ = timed(lambda: loop.project(rebuild=True))
        figures["rebuild_rate"] = events / seconds
        read_seconds, _ = timed(lambda: read_everything(loop))
        figures["rebuild_over_read"] = seconds / read_seconds
        baseline = per_event_baseline(loop, min(events, BASELINE_EVENTS), workdir / "base.duckdb")
        figures["baseline_rate"] = baseline
        figures["rebuild_over_baseline"] = figures["rebuild_rate"] / baseline
        figures["replay_10000_ms"] = 1000 * median_time(lambda: loop.replay("exp-00000"), 5)
        figures["replay_events"] = len(loop._store.stream("experiment:exp-00000"))
        figures["indicators_ms"] = 1000 * median_time(loop.indicators, 3)
        figures["visible_to_sql_ms"] = 1000 * visible_after_record(loop)
        loop.project()
        _renamed_backlog(backlog_file)
        loop.import_files([backlog_file])
        seconds, added = timed(loop.project)
        figures["catch_up_rate"] = added / seconds
    figures["rebuild_peak_memory_mib"] = peak_rebuild_memory(store) / 2**20
    figures["help_ms"] = 1000 * help_time()
    figures["events"] = events
    return figures


def _renamed_backlog(path: Path) -> None:
    """The backlog is another programme: rename its keys so it does not clash."""
    text = path.read_text(encoding="utf-8")
    text = text.replace('"programme-', '"backlog-programme-').replace('"exp-', '"backlog-exp-')
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
    ("indicators_ms", "indicators query", "ms", "<= 1,000", lambda v: v <= 1_000),
    ("rebuild_peak_memory_mib", "peak memory of a rebuild", "MiB", "<= 1,536",
     lambda v: v <= 1536),
    ("help_ms", "learningloop --help, cold", "ms", "<= 150", lambda v: v <= 150),
]  # fmt: skip


def machine() -> dict[str, Any]:
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    return {"cores": os.cpu_count(), "memory_gib": round(memory / 2**30, 1),
            "python": platform.python_version(), "duckdb": duckdb.__version__,
            "platform": platform.platform()}  # fmt: skip


def report(figures: dict[str, Any], size_name: str) -> dict[str, Any]:
    rows = []
    for key, label, unit, target, meets in TARGETS:
        value = figures[key]
        verdict = "" if meets is None else ("met" if meets(value) else "NOT met")
        rows.append({"figure": key, "label": label, "value": round(value, 2), "unit": unit,
                     "target": target, "verdict": verdict})  # fmt: skip
    return {"size": size_name, "events": figures["events"], "machine": machine(), "figures": rows}


def print_table(document: dict[str, Any]) -> None:
    info = document["machine"]
    size = f"{document['events']:,} events, {info['cores']} cores, {info['memory_gib']} GiB"
    print(f"learningloop benchmark: {size}, Python {info['python']}, DuckDB {info['duckdb']}")
    print(f"{'figure':<40} {'value':>14} {'unit':<9} {'target':<11} verdict")
    for row in document["figures"]:
        print(f"{row['label']:<40} {row['value']:>14,.2f} {row['unit']:<9} {row['target']:<11} "
              f"{row['verdict']}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description="learningloop benchmarks")
    parser.add_argument("--size", default="small", help="small, medium, large or a number")
    parser.add_argument("--json", type=Path, help="where to write the figures as JSON")
    parser.add_argument("--workdir", type=Path, help="keep the generated store here")
    arguments = parser.parse_args()
    size = SIZES.get(arguments.size) or int(arguments.size)
    workdir = arguments.workdir or Path(tempfile.mkdtemp(prefix="learningloop-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        document = report(run(size, workdir), arguments.size)
    finally:
        if arguments.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)
    print_table(document)
    target = arguments.json or Path(__file__).parent / "results" / f"{arguments.size}.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
