"""Real processes writing and projecting at once, on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from learningloop import LearningLoop
from learningloop.errors import BadInputError
from tests.conftest import base_events

ROOT = Path(__file__).resolve().parent.parent
WRITERS, RECORDS = 4, 30

WRITER = """
import sys
from learningloop import LearningLoop
from learningloop.errors import ConcurrentWriteError
store, projections, name, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
own = f"exp-{name}"
with LearningLoop(store, projections=projections, recorded_by=name) as loop:
    loop.record({"type": "ExperimentProposed", "experiment": own, "programme": "prog",
                 "title": own, "carriers": ["acme"], "scale": "company",
                 "occurred_on": "2013-01-01"})
    for n in range(count):
        meeting = {"type": "MeetingHeld", "experiment": "exp" if n % 2 else own,
                   "kind": "local", "attendees": n, "notes": f"{name}-{n}",
                   "occurred_on": "2013-02-01"}
        try:
            loop.record(meeting)
        except ConcurrentWriteError as error:  # reported, never lost silently
            print(f"reported {name}-{n}: {error}", file=sys.stderr)
"""

PROJECTOR = """
import sys, time
from pathlib import Path
from learningloop import LearningLoop, projector
projector.PAGE_SIZE = 7
store, projections, stop = sys.argv[1], sys.argv[2], Path(sys.argv[3])
with LearningLoop(store, projections=projections) as loop:
    while not stop.exists():
        loop.project()
        time.sleep(0.01)
"""


def spawn(program: str, *arguments: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", program, *arguments],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stderr=subprocess.PIPE,
        text=True,
    )


def test_writers_and_a_projector_at_once_lose_and_skip_nothing(
    backend: tuple[str, Path], tmp_path: Path
) -> None:
    store, projections = backend
    with LearningLoop(store, projections=projections) as loop:
        loop.import_events(base_events())
        loop.project()
    stop = tmp_path / "stop"
    projector_process = spawn(PROJECTOR, store, str(projections), str(stop))
    writers = [spawn(WRITER, store, str(projections), f"w{n}", str(RECORDS))
               for n in range(WRITERS)]  # fmt: skip
    errors = [writer.communicate(timeout=240)[1] for writer in writers]
    assert all(writer.returncode == 0 for writer in writers), errors
    time.sleep(0.2)
    stop.touch()
    projector_process.communicate(timeout=120)
    reported = sum(e.count("reported ") for e in errors)

    with LearningLoop(store, projections=projections) as loop:
        notes = loop.sql("select payload ->> '$.notes' from events where type = 'MeetingHeld'")
        recorded = sorted(row[0] for row in notes.rows)
        assert len(recorded) == len(set(recorded)), "an event was doubled"
        assert len(recorded) + reported == WRITERS * RECORDS, "an event was lost"
        versions = [r.version for r in loop._store.stream("experiment:exp")]
        assert versions == list(range(1, len(versions) + 1))
        count = loop.event_count()
        assert loop.audit_log_only().passed()
    con = duckdb.connect(str(projections), read_only=True)
    projected = [
        row[0] for row in con.execute("select position from log_events order by 1").fetchall()
    ]
    con.close()
    log = LearningLoop(store, projections=projections)._store.readable_log()
    stored = [n.id for n in log.read_notifications(0, 100_000)]
    missing = sorted(set(stored) - set(projected))
    assert projected == stored, f"the projector skipped or doubled an event: {missing}"
    assert len(stored) == count


RECORDER = """
import sys
from learningloop.cli.main import main
store, projections, note = sys.argv[1], sys.argv[2], sys.argv[3]
main(["--store", store, "--projections", projections, "record", "MeetingHeld",
      "--experiment", "exp", "--kind", "local", "--occurred-on", "2013-02-01",
      "--notes", note])
"""


def test_parallel_record_prints_the_version_it_stored(
    backend: tuple[str, Path],
) -> None:
    """Processes racing for one stream: each printed version holds that process's own event
    (the version of an attempt that lost the race belongs to someone else's event)."""
    store, projections = backend
    with LearningLoop(store, projections=projections) as loop:
        loop.import_events(base_events())
    notes = [f"racer-{n}" for n in range(8)]
    racers = [spawn(RECORDER, store, str(projections), note) for note in notes]
    printed = {
        note: racer.communicate(timeout=240)[1] for note, racer in zip(notes, racers, strict=True)
    }
    assert all(racer.returncode == 0 for racer in racers), printed
    with LearningLoop(store, projections=projections) as loop:
        stored = {r.version: r.event for r in loop._store.stream("experiment:exp")}
    for note, stderr in printed.items():
        version = int(stderr.split(" as version ")[1].split()[0])
        assert getattr(stored[version], "notes", None) == note, (note, stderr)


def test_audit_while_others_record_finds_nothing_false(backend: tuple[str, Path]) -> None:
    """The audit judges a snapshot: events committed meanwhile are neither missing from the
    seal nor a disagreement of the projections; and recorded_at never decreases."""
    store, projections = backend
    with LearningLoop(store, projections=projections) as loop:
        loop.import_events(base_events())
        loop.project()
    writers = [spawn(WRITER, store, str(projections), f"a{n}", "25") for n in range(2)]
    reports = []
    with LearningLoop(store, projections=projections) as loop:
        while any(writer.poll() is None for writer in writers) or not reports:
            reports.append(loop.audit())
    errors = [writer.communicate(timeout=240)[1] for writer in writers]
    assert all(writer.returncode == 0 for writer in writers), errors
    for report in reports:
        assert report.passed(), [f for f in report.findings if f.severity == "error"]
    with LearningLoop(store, projections=projections) as loop:
        assert loop.audit().passed()


def test_a_writer_that_found_the_log_empty_and_lost_the_race_reads_the_streams_again(
    store_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # An import into an empty log reads no stream; another writer that appends in between
    # makes its versions collide, and the attempt after that reads what it wrote.
    first, second = LearningLoop(store_dir), LearningLoop(store_dir)
    heads: list[int] = []
    real_head = LearningLoop.head_position

    def head_then_the_other_writer(loop: LearningLoop) -> int:
        head = real_head(loop)
        heads.append(head)
        if len(heads) == 1:
            second.import_events(base_events()[:1])  # opens programme:prog meanwhile
        return head

    monkeypatch.setattr(first, "head_position", lambda: head_then_the_other_writer(first))
    with first, second, pytest.raises(BadInputError, match="'prog' is already opened"):
        first.import_events(base_events())
    assert heads == [0, 1]
    with LearningLoop(store_dir) as loop:
        assert loop.event_count() == 1
