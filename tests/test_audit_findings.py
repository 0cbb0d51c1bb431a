"""Findings kept on disk: read back in report order, counted without being read."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import astuple
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from learningloop import LearningLoop
from learningloop.audit_findings import (
    BACKFILL,
    EVENTS,
    LOG,
    QUALITY,
    AuditHold,
    Finding,
    FindingLog,
    fields_of,
)

CHECKS = ("versions", "time_order", "chain", "decode", "rules")
findings = st.builds(
    Finding,
    check=st.sampled_from(CHECKS),
    severity=st.sampled_from(("error", "warning", "info")),
    message=st.text(max_size=20),
    stream=st.none() | st.text(max_size=10),
    version=st.none() | st.integers(1, 10),
    position=st.integers(1, 50),
)


@given(st.lists(findings, max_size=40), st.lists(findings, max_size=5))
def test_event_findings_come_by_position_then_check_and_the_rest_in_their_order(
    events: list[Finding], others: list[Finding]
) -> None:
    log = FindingLog()
    log.add(events[::2])  # two walks, each in its own order
    log.add(events[1::2])
    log.add(others, QUALITY)
    log.add(others, BACKFILL)
    log.add(others, LOG)
    by_place = sorted(events, key=lambda f: (f.position, CHECKS.index(f.check)))
    assert [(f.position, f.check) for f in list(log)[: len(events)]] == [
        (f.position, f.check) for f in by_place
    ]
    assert list(log)[len(events) :] == others * 3
    assert len(log) == len(events) + 3 * len(others)
    everything = [*events, *others]
    assert log.severities() == {f.severity for f in everything}
    assert log.severities("rules") == {f.severity for f in everything if f.check == "rules"}
    assert EVENTS < LOG < BACKFILL < QUALITY
    log.close()


def test_more_findings_than_a_batch_are_all_read_back() -> None:
    log = FindingLog(Finding("rules", "error", f"n{n}", position=n) for n in range(2_500))
    assert [f.message for f in log] == [f"n{n}" for n in range(2_500)]


@given(findings)
def test_fields_of_a_finding_are_its_fields_in_order(finding: Finding) -> None:
    """What FindingLog stores and the workers send: the dataclass's own fields, in order."""
    assert fields_of(finding) == astuple(finding)


@given(st.lists(findings, max_size=30), st.lists(findings, max_size=30))
def test_attached_findings_come_after_every_added_one_and_are_counted(
    added: list[Finding], attached: list[Finding]
) -> None:
    """Warnings attached as a file of rows (as the projector writes them) read back as
    findings of the given severity, in their order, after the rest; counted as told."""
    import json
    import tempfile
    from collections import Counter
    from pathlib import Path

    rows = [[f.check, f.message, f.stream, f.version, f.position] for f in attached]

    def write(path: Path) -> bool:
        path.write_text("\n".join(json.dumps(row) for row in rows))
        return bool(rows)

    def read(path: Path) -> Iterator[tuple[Any, ...]]:
        return (tuple(json.loads(line)) for line in path.read_text().splitlines())

    with tempfile.TemporaryDirectory() as directory:
        log = FindingLog()
        log.add(added, QUALITY)
        counts = Counter(f.check for f in attached)
        log.attach(write, read, counts, "warning", Path(directory))
        expected = [Finding(f.check, "warning", f.message, f.stream, f.version, f.position)
                    for f in attached]  # fmt: skip
        assert list(log) == added + expected
        assert len(log) == len(added) + len(attached)
        warned = {"warning"} if attached else set()
        assert log.severities() == {f.severity for f in added} | warned
        log.close()
        assert list(Path(directory).iterdir()) == []  # the private directory went with it


def _leftovers(directory: Path) -> list[Path]:
    """Directories as a killed audit leaves them (findings, rebuild), and look-alikes."""
    made = []
    for name in (".audit-findings-k3_x9q2a", ".audit-0ab_cd9z", ".audit-keep", "audit-x1y2z3w4"):
        (directory / name).mkdir()
        (directory / name / "attached-0").write_bytes(b"rows")
        made.append(directory / name)
    return made


def test_an_audit_start_removes_what_a_killed_audit_left_and_nothing_else(tmp_path: Path) -> None:
    import subprocess
    import sys

    # a process that takes the hold, leaves a private directory and is killed (no clean-up)
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, pathlib, time; "
         "from learningloop.audit_findings import AuditHold; "
         "AuditHold(pathlib.Path(sys.argv[1])); "
         "(pathlib.Path(sys.argv[1]) / '.audit-findings-live0001').mkdir(); "
         "print('held', flush=True); time.sleep(60)", str(tmp_path)],
        stdout=subprocess.PIPE,
    )  # fmt: skip
    assert holder.stdout is not None and holder.stdout.readline() == b"held\n"
    _leftovers(tmp_path)
    AuditHold(tmp_path).close()  # the holder is live: nothing of its may go
    assert (tmp_path / ".audit-findings-live0001").is_dir()
    holder.kill()
    holder.wait()
    hold = AuditHold(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == [".audit-keep", "audit-x1y2z3w4"]
    hold.close()


def test_a_held_directory_is_left_alone_until_its_findings_go(tmp_path: Path) -> None:
    log = FindingLog()
    log.hold(AuditHold(tmp_path))  # as the audit hands its hold to its report's findings
    stale = tmp_path / ".audit-findings-abcdefgh"
    stale.mkdir()
    AuditHold(tmp_path).close()
    assert stale.is_dir()
    log.close()
    AuditHold(tmp_path).close()
    assert not stale.exists()


def test_an_audit_leaves_nothing_beside_the_projections(seeded: LearningLoop) -> None:
    beside = seeded.location.projections_path.parent
    seeded.project()
    stale = _leftovers(beside)
    before = {p.name for p in beside.iterdir()} - {p.name for p in stale[:2]}
    report = seeded.audit()
    assert report.passed()
    list(report.findings)
    report.findings.close()
    assert {p.name for p in beside.iterdir()} == before


def test_a_file_system_without_locks_holds_nothing_and_removes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import errno
    import fcntl

    def no_locks(fd: int, operation: int) -> None:
        raise OSError(errno.ENOLCK, "No locks available")

    _leftovers(tmp_path)
    monkeypatch.setattr(fcntl, "flock", no_locks)
    hold = AuditHold(tmp_path)  # the audit goes on, as before there was a hold
    hold.close()
    assert len(list(tmp_path.iterdir())) == 4
