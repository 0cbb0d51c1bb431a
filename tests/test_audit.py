"""Audit on real SQLite stores: any tampering is found and named; projections are checked."""

from __future__ import annotations

import json
import shutil
import sqlite3
from dataclasses import asdict
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from learningloop import LearningLoop
from learningloop.audit import AuditReport
from learningloop.domain.chain import GENESIS, chain_hash, digest_step
from learningloop.errors import BadInputError
from tests.conftest import base_events, event

FIXTURES = Path(__file__).parent / "fixtures"
EVENTS = [
    *base_events(),
    event("LearningRecorded", "2013-02-01", learning="l1", observation="Slow start"),
    event("DecisionRecorded", "2013-03-01", decision="d1", kind="adapt", summary="Meet more",
          evidence=["l1"], rationale="l1 shows it"),
    event("MeetingHeld", "2013-04-18", kind="stakeholder", attendees=30),
    event("ReviewSessionHeld", "2013-05-01", review="r1", session=1),
]  # fmt: skip


def build_store(path: Path) -> Path:
    with LearningLoop(path, recorded_by="auditor") as loop:
        loop.import_events(EVENTS)
    return path


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_store(tmp_path_factory.mktemp("pristine") / "store")


def copy_of(pristine: Path, tmp_path: Path) -> Path:
    target = tmp_path / "store"
    shutil.copytree(pristine, target)
    return target


def audit(store: Path, verify: str | None = None) -> AuditReport:
    with LearningLoop(store) as loop:
        return loop.audit(verify=verify)


def tamper(store: Path, sql: str, parameters: tuple[Any, ...] = ()) -> None:
    with sqlite3.connect(store / "events.sqlite") as con:
        con.execute(sql, parameters)


def stored_rows(store: Path) -> list[tuple[int, str, int, str, bytes]]:
    with sqlite3.connect(store / "events.sqlite") as con:
        return con.execute(
            "select rowid, originator_id, originator_version, topic, state from stored_events "
            "order by rowid"
        ).fetchall()


def failing_positions(report: AuditReport) -> set[int | None]:
    return {finding.position for finding in report.findings if finding.severity == "error"}


def test_an_untouched_store_passes_and_its_digest_verifies(pristine: Path, tmp_path: Path) -> None:
    store = copy_of(pristine, tmp_path)
    report = audit(store)
    assert report.passed(), report.findings
    assert report.events == len(EVENTS) and report.streams == 2
    assert audit(store, verify=report.head_digest).passed()
    document = report.as_document()
    assert list(document) == ["ok", "strict", "head", "events", "streams", "checks", "findings"]
    assert [c["check"] for c in document["checks"]][:7] == [
        "decode", "versions", "chain", "rules", "time_order", "seal", "projections",
    ]  # fmt: skip
    assert {c["status"] for c in document["checks"][:7]} == {"pass"}


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_flipping_any_byte_of_any_stored_event_is_found_at_that_event(
    pristine: Path, tmp_path_factory: pytest.TempPathFactory, data: st.DataObject
) -> None:
    store = copy_of(pristine, tmp_path_factory.mktemp("flip"))
    position, _, _, _, state = data.draw(st.sampled_from(stored_rows(store)))
    index = data.draw(st.integers(0, len(state) - 1))
    flipped = bytearray(state)
    flipped[index] ^= data.draw(st.integers(1, 255))
    tamper(store, "update stored_events set state = ? where rowid = ?", (bytes(flipped), position))
    report = audit(store)
    assert not report.passed()
    assert position in failing_positions(report)


def test_a_changed_topic_or_stream_is_found(pristine: Path, tmp_path: Path) -> None:
    store = copy_of(pristine, tmp_path)
    tamper(store, "update stored_events set topic = 'learningloop:MeetingHeld' where rowid = 5")
    assert 5 in failing_positions(audit(store))
    store = copy_of(pristine, tmp_path / "again")
    tamper(store, "update stored_events set originator_id = 'experiment:exq' where rowid = 6")
    assert 6 in failing_positions(audit(store))


@pytest.mark.parametrize("position", range(1, len(EVENTS) + 1))
def test_deleting_any_row_is_found(pristine: Path, tmp_path: Path, position: int) -> None:
    store = copy_of(pristine, tmp_path)
    tamper(store, "delete from stored_events where rowid = ?", (position,))
    assert not audit(store).passed()


def test_swapping_two_payloads_is_found_at_both(pristine: Path, tmp_path: Path) -> None:
    store = copy_of(pristine, tmp_path)
    rows = {row[0]: row[4] for row in stored_rows(store)}
    tamper(store, "update stored_events set state = ? where rowid = 7", (rows[8],))
    tamper(store, "update stored_events set state = ? where rowid = 8", (rows[7],))
    assert {7, 8} <= failing_positions(audit(store))


def rewrite_history(store: Path, position: int, change: dict[str, Any]) -> None:
    """A forger's rewrite: edit one event, recompute every chain and the seal."""
    chains: dict[str, str] = {}
    digest = GENESIS
    with sqlite3.connect(store / "events.sqlite") as con:
        for rowid, stream, version, _, state_bytes in stored_rows(store):
            state = json.loads(state_bytes)
            state.pop("chain")
            if rowid == position:
                state.update(change)
            chain = chain_hash(chains.get(stream, GENESIS), stream, version, state)
            chains[stream] = chain
            digest = digest_step(digest, rowid, stream, version, chain)
            stored = json.dumps(state | {"chain": chain}, ensure_ascii=False,
                                separators=(",", ":")).encode()  # fmt: skip
            con.execute("update stored_events set state = ? where rowid = ?", (stored, rowid))
        con.execute("update learningloop_seal set digest = ?", (digest,))
    # the projections still hold the truth: a careful forger removes them too
    (store / "projections.duckdb").unlink(missing_ok=True)


def test_a_rewrite_that_recomputes_every_chain_is_caught_by_an_earlier_digest(
    pristine: Path, tmp_path: Path
) -> None:
    store = copy_of(pristine, tmp_path)
    kept_outside = audit(store).head_digest
    rewrite_history(store, 7, {"attendees": 3})
    assert audit(store).passed(), "the forgery is self-consistent"
    report = audit(store, verify=kept_outside)
    assert not report.passed()
    assert [f.check for f in report.findings if f.severity == "error"] == ["verify"]


def test_verify_an_earlier_position_and_reject_a_malformed_digest(
    pristine: Path, tmp_path: Path
) -> None:
    store = copy_of(pristine, tmp_path)
    early = audit(store).head_digest
    with LearningLoop(store) as loop:
        loop.record(event("MeetingHeld", "2013-06-01", kind="local"))
    assert audit(store, verify=early).passed()
    with pytest.raises(BadInputError, match="not a digest"):
        audit(store, verify="12:abc")


def test_a_row_changed_in_the_projections_is_reported_by_table(
    pristine: Path, tmp_path: Path
) -> None:
    store = copy_of(pristine, tmp_path)
    with LearningLoop(store) as loop:
        loop.project()
    con = duckdb.connect(str(store / "projections.duckdb"))
    con.execute("update log_events set attendees = 31 where type = 'MeetingHeld'")
    con.close()
    report = audit(store)
    assert not report.passed()
    messages = [f.message for f in report.findings if f.check == "projections"]
    assert any(m.startswith("projection log_events disagrees") for m in messages)
    assert any(m.startswith("projection timeline disagrees") for m in messages)


def test_data_quality_warnings_fail_only_when_strict(pristine: Path, tmp_path: Path) -> None:
    report = audit(copy_of(pristine, tmp_path))
    warnings = {f.check for f in report.findings if f.severity == "warning"}
    assert "review_sessions_missing" in warnings
    assert report.passed() and not report.passed(strict=True)
    missing = next(f for f in report.findings if f.check == "review_sessions_missing")
    assert (missing.stream, missing.version, missing.position) == ("experiment:exp", 5, 8)


def test_a_store_of_version_1_meetings_loads_replays_projects_and_audits(tmp_path: Path) -> None:
    store = tmp_path / "store"
    store.mkdir()
    shutil.copy(FIXTURES / "meeting-held-v1.sqlite", store / "events.sqlite")
    with LearningLoop(store) as loop:
        meetings = [
            r for r in loop._store.stream("experiment:exp") if r.event.type == "MeetingHeld"
        ]
        assert [m.event.participants for m in meetings] == [(), ()]  # type: ignore[attr-defined]
        assert [e.summary for e in loop.replay("exp").timeline][1:] == [
            "Meeting (stakeholder, m1): 30 attendees",
            "Meeting (local): attendees not recorded",
        ]
        assert loop.sql("select count(*) from timeline where type = 'MeetingHeld'").rows == [(2,)]
        assert loop.audit().passed()
        loop.record(event("MeetingHeld", "2013-07-01", kind="local", participants=["city"]))
        assert loop.audit().passed()
        stored = json.loads(stored_rows(store)[-1][4])
        assert stored["class_version"] == 2 and stored["participants"] == ["city"]


def test_participants_must_have_joined_the_programme(seeded: LearningLoop) -> None:
    with pytest.raises(BadInputError, match="participants: partner 'stranger' has not joined"):
        seeded.record(event("MeetingHeld", "2013-07-01", kind="local", participants=["stranger"]))


def test_why_traces_a_decision_to_its_evidence_and_cycle(pristine: Path, tmp_path: Path) -> None:
    with LearningLoop(copy_of(pristine, tmp_path)) as loop:
        provenance = loop.why("d1")
    assert provenance.experiment == "exp"
    assert (provenance.decision.version, provenance.kind, provenance.rationale) == (
        3, "adapt", "l1 shows it",
    )  # fmt: skip
    assert [(key, e.type, e.version) for key, e in provenance.evidence] == [
        ("l1", "LearningRecorded", 2)
    ]
    assert provenance.cycle == 1
    assert [e.version for e in provenance.cycle_events] == [1, 2, 3]


def test_backfill_is_noted_once_per_recording_batch_and_never_fails_strict(
    seeded: LearningLoop,
) -> None:
    seeded.import_events([event("MeetingHeld", f"2013-0{m}-01", kind="local") for m in (2, 3)]
                         + [event("MeetingHeld", "2012-12-01", kind="local")])  # fmt: skip
    backfills = [f for f in seeded.audit().findings if f.check == "backfill"]
    today = datetime.now(UTC).date()
    assert [(f.severity, f.position) for f in backfills] == [("info", 1)]
    (note,) = backfills
    assert note.message.startswith(f"7 events recorded on {today} by tester for 2012–2013 (")
    assert seeded.audit().passed(strict=True)


def test_audit_as_of_reads_data_quality_at_that_date(seeded: LearningLoop) -> None:
    seeded.import_events([event("MilestonePlanned", "2013-02-01", milestone="m", title="M",
                                due_on="2014-06-30")])  # fmt: skip
    overdue = {f.check for f in seeded.audit().findings}
    assert "milestone_overdue" in overdue
    assert "milestone_overdue" not in {
        f.check for f in seeded.audit(as_of=date(2014, 6, 30)).findings
    }


def test_a_back_dated_last_event_with_valid_chains_and_seal_is_found(
    pristine: Path, tmp_path: Path
) -> None:
    store = copy_of(pristine, tmp_path)
    kept_outside = audit(store).head_digest
    with LearningLoop(store) as loop:  # an append by someone with write access ...
        loop.record(event("MeetingHeld", "2013-06-01", kind="local", attendees=4))
    appended = len(EVENTS) + 1
    # ... back-dated, every chain and the seal recomputed
    rewrite_history(store, appended, {"recorded_at": "2013-06-02T00:00:00+00:00"})
    for report in (audit(store), audit(store, verify=kept_outside)):
        errors = [(f.check, f.position) for f in report.findings if f.severity == "error"]
        assert errors == [("time_order", appended)], report.findings


@pytest.mark.parametrize(
    ("sql", "fragment"),
    [
        ("delete from learningloop_seal", "the seal is missing"),
        ("drop table learningloop_seal", "does not match its seal"),  # reopening re-creates it
        ("update learningloop_seal set position = 'x'", "the seal holds garbage"),
    ],
)
def test_a_missing_or_corrupt_seal_is_a_finding_not_a_crash(
    pristine: Path, tmp_path: Path, sql: str, fragment: str
) -> None:
    store = copy_of(pristine, tmp_path)
    tamper(store, sql)
    with LearningLoop(store) as loop:
        report = loop.audit_log_only()
    seal = [f.message for f in report.findings if f.check == "seal" and f.severity == "error"]
    assert seal and fragment in seal[0], report.findings
    # the command line too: its progress total does not read the seal
    from click.testing import CliRunner

    from learningloop.cli.main import main

    result = CliRunner().invoke(main, ["--store", str(store), "audit", "--format", "json"])
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit), result.output
    assert fragment in result.stdout and "Traceback" not in result.stderr


def test_the_checksums_hold_no_table_whole(pristine: Path, tmp_path: Path) -> None:
    """Per-row hashes summed: equal tables agree whatever the order, a changed row does not."""
    store = copy_of(pristine, tmp_path)
    with LearningLoop(store) as loop:
        loop.project()
        projector = loop._projector()
        moment = datetime.now(UTC)
        before = projector.checksums(["log_events", "events"], date(2014, 1, 1), moment)[1]
    con = duckdb.connect(str(store / "projections.duckdb"))
    con.execute("update log_events set source = 'forged' where position = 3")
    con.close()
    with LearningLoop(store) as loop:
        after = loop._projector().checksums(["log_events", "events"], date(2014, 1, 1), moment)[1]
    assert before["log_events"] != after["log_events"]


def test_a_view_or_table_added_or_replaced_in_the_projection_file_is_named(
    pristine: Path, tmp_path: Path
) -> None:
    """The fingerprint compares definitions too: a forged view whose rows agree today, or
    an extra table, is still a finding; the contract table it changes is named as well."""
    store = copy_of(pristine, tmp_path)
    with LearningLoop(store) as loop:
        loop.project()
    con = duckdb.connect(str(store / "projections.duckdb"))
    con.execute(
        "create or replace view experiments as select * from experiments_at("
        "getvariable('as_of'), getvariable('known_at')) where experiment <> 'exp'"
    )
    con.execute("create table notes as select 1 as n")
    con.close()
    report = audit(store)
    messages = [f.message for f in report.findings if f.check == "projections"]
    assert not report.passed()
    assert any(m.startswith("projection view main.experiments differs") for m in messages)
    assert any(m.startswith("projection table notes is not one of") for m in messages)
    assert any(m.startswith("projection experiments disagrees") for m in messages)
    assert not any("log_events" in m for m in messages)


def test_the_audit_table_shows_a_limited_number_of_findings(pristine: Path, tmp_path: Path) -> None:
    from click.testing import CliRunner

    from learningloop.cli.main import main

    store = copy_of(pristine, tmp_path)
    everything = list(audit(store).findings)
    assert len(everything) > 1
    result = CliRunner().invoke(main, ["--store", str(store), "audit", "--limit", "1"])
    assert result.exit_code == 0, result.output
    assert everything[0].message[:40] in result.stdout
    assert everything[1].message[:40] not in result.stdout
    assert f"{len(everything) - 1:,} more findings: use --limit N" in result.stderr


@pytest.mark.parametrize("tampered", [False, True])
def test_audit_json_and_csv_are_written_as_they_stream_and_say_the_same(
    pristine: Path, tmp_path: Path, tampered: bool
) -> None:
    """The command line writes findings one at a time: the same JSON text as the report's
    whole document, and a CSV row for each of them."""
    from click.testing import CliRunner

    from learningloop.cli.main import main
    from learningloop.cli.rendering import dumps

    store = copy_of(pristine, tmp_path)
    if tampered:  # errors before the data-quality warnings
        tamper(store, "update stored_events set topic = 'learningloop:MeetingHeld' where rowid = 5")
    report = audit(store)
    as_json = CliRunner().invoke(main, ["--store", str(store), "audit", "--format", "json"])
    assert as_json.stdout == dumps(report.as_document()) + "\n"
    assert json.loads(as_json.stdout)["findings"] == [asdict(f) for f in report.findings]
    as_csv = CliRunner().invoke(main, ["--store", str(store), "audit", "--format", "csv"])
    lines = as_csv.stdout.splitlines()
    assert lines[0] == "check,severity,stream,version,position,message"
    assert len(lines) == 1 + len(report.findings) and len(report.findings) > 0
