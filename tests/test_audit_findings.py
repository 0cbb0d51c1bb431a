"""Findings kept on disk: read back in report order, counted without being read."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import astuple
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from learningloop.audit_findings import (
    BACKFILL,
    EVENTS,
    LOG,
    QUALITY,
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
