"""The audit's walks: memory that does not grow with the log's streams, and programmes
judged as the log stood at each experiment event (stream by stream, not in log order)."""

from __future__ import annotations

import sqlite3
import tracemalloc
from pathlib import Path
from typing import Any

import pytest

from learningloop import LearningLoop, audit_walk
from tests.conftest import base_events


def experiments(count: int) -> list[dict[str, Any]]:
    """`count` experiments of one programme, each with a learning and a milestone."""
    events = base_events()[:3]
    for n in range(count):
        key = {"experiment": f"exp-{n:05d}", "occurred_on": "2013-01-10"}
        events += [
            {"type": "ExperimentProposed", "programme": "prog", "title": f"Experiment {n}",
             "carriers": ["acme"], "scale": "company", **key},
            {"type": "LearningRecorded", "learning": f"learning-{n}", "observation": "Seen",
             **key},
            {"type": "MilestonePlanned", "milestone": f"milestone-{n}", "title": "Milestone",
             "due_on": "2014-01-01", **key},
        ]  # fmt: skip
    return events


def peak_walking(store: Path) -> int:
    """Peak traced memory of the log checks of the audit, above what was held before."""
    with LearningLoop(store) as loop:
        loop.audit_log_only()  # warm: imports and caches
        tracemalloc.start()
        try:
            before = tracemalloc.get_traced_memory()[0]
            report = loop.audit_log_only()
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    assert report.passed(), list(report.findings)
    return peak - before


def test_memory_of_the_log_checks_does_not_grow_with_streams(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Pages of events along positions are bounded (10,000): smaller pages here, so that the
    # smaller log is not read in one page and the larger in two.
    monkeypatch.setattr(audit_walk, "PAGE", 500)
    peaks = {}
    for count in (400, 4_000):
        store = tmp_path / f"store-{count}"
        with LearningLoop(store, recorded_by="auditor") as loop:
            loop.import_events(experiments(count))
        peaks[count] = peak_walking(store)
    # A walk in log order kept every stream's write model: about 1.7 KB a stream, so 6 MB
    # more for 3,600 more streams. Stream by stream, the difference is noise.
    assert peaks[4_000] - peaks[400] < 1_000_000, peaks


def test_an_experiment_is_judged_by_its_programme_as_the_log_stood_then(tmp_path: Path) -> None:
    """A meeting moved before its participant's join (each stream's chain intact) breaks
    a rule there, though the programme, walked first, ends with that partner joined."""
    late = {"type": "PartnerJoined", "programme": "prog", "partner": "late", "name": "Late",
            "kind": "company", "occurred_on": "2012-02-01"}  # fmt: skip
    meeting = {"type": "MeetingHeld", "experiment": "exp", "kind": "local", "attendees": 3,
               "participants": ["late"], "occurred_on": "2013-02-01"}  # fmt: skip
    store = tmp_path / "store"
    with LearningLoop(store, recorded_by="auditor") as loop:
        loop.import_events([*base_events(), late, meeting])
        assert loop.audit_log_only().passed()
    with sqlite3.connect(store / "events.sqlite") as con:
        for old, new in ((5, 100), (6, 5), (100, 6)):  # positions 5 and 6 swapped
            con.execute("update stored_events set rowid = ? where rowid = ?", (new, old))
    with LearningLoop(store) as loop:
        report = loop.audit_log_only()
    errors = [(f.check, f.position) for f in report.findings if f.severity == "error"]
    assert errors == [("rules", 5), ("time_order", 6), ("seal", 6)], errors
