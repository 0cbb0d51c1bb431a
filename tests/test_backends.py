"""The store contract, written once and run on SQLite and on a real PostgreSQL server."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from learningloop import LearningLoop
from learningloop.cli.main import main
from learningloop.errors import BadInputError, StoreError
from tests.conftest import base_events, event

Backend = tuple[str, Path]
MEETING = event("MeetingHeld", "2013-04-18", kind="stakeholder", attendees=30)


def opened(backend: Backend) -> LearningLoop:
    store, projections = backend
    return LearningLoop(store, recorded_by="contract", projections=projections)


def test_import_record_and_replay(backend: Backend) -> None:
    with opened(backend) as loop:
        assert loop.import_events(base_events()).events == 4
        recorded = loop.record(MEETING)
        assert (recorded.stream, recorded.version) == ("experiment:exp", 2)
        view = loop.replay("exp")
        assert [e.type for e in view.timeline] == ["ExperimentProposed", "MeetingHeld"]
        assert loop.list_experiments() == ["exp"]


def test_a_bad_import_writes_nothing(backend: Backend) -> None:
    with opened(backend) as loop:
        loop.import_events(base_events())
        with pytest.raises(BadInputError, match="item 2: field kind"):
            loop.import_events([MEETING, event("MeetingHeld", "2013-05-01", kind="party")])
        assert loop.event_count() == 4


def test_projections_answer_the_same_on_both_backends(backend: Backend) -> None:
    with opened(backend) as loop:
        loop.import_events([*base_events(), MEETING,
                            event("DecisionRecorded", "2013-05-01", decision="d1",
                                  kind="retain", summary="Go")])  # fmt: skip
        assert loop.sql("select experiment, status from experiments").rows == [("exp", "retained")]
        assert loop.sql("select count(*) from timeline").rows == [(3,)]
        assert loop.project() == 0


def test_audit_is_clean_and_finds_a_tampered_event(backend: Backend) -> None:
    with opened(backend) as loop:
        loop.import_events([*base_events(), MEETING])
        report = loop.audit()
        assert report.passed(), report.findings
        digest = report.head_digest
    _tamper(backend)
    with opened(backend) as loop:
        report = loop.audit(verify=digest)
        assert not report.passed()
        assert 5 in {f.position for f in report.findings if f.severity == "error"}


def _tamper(backend: Backend) -> None:
    """Change the meeting's attendees straight in the database, as an intruder would."""
    store, _ = backend
    if store.startswith("postgresql://"):
        import psycopg

        base, _, query = store.partition("?")
        schema = query.removeprefix("schema=")
        with psycopg.connect(base, autocommit=True) as con:
            row = con.execute(
                f"select state from {schema}.learningloop_events where notification_id = 5"
            ).fetchone()
            assert row is not None
            changed = bytes(row[0]).replace(b'"attendees":30', b'"attendees":31')
            con.execute(
                f"update {schema}.learningloop_events set state = %s where notification_id = 5",
                (changed,),
            )
        return
    import sqlite3

    with sqlite3.connect(Path(store) / "events.sqlite") as con:
        (state,) = con.execute("select state from stored_events where rowid = 5").fetchone()
        changed = state.replace(b'"attendees":30', b'"attendees":31')
        con.execute("update stored_events set state = ? where rowid = 5", (changed,))


def test_copy_keeps_versions_recorded_at_chains_and_digest(
    backend: Backend, tmp_path: Path
) -> None:
    source = LearningLoop(tmp_path / "source", recorded_by="copy")
    source.import_events([*base_events(), MEETING])
    source_report = source.audit()
    with opened(backend) as target:
        assert source.copy_to(target) == 5
        assert target.audit(verify=source_report.head_digest).passed()
        assert target._store.stream("experiment:exp") == source._store.stream("experiment:exp")
        with pytest.raises(BadInputError, match="not empty"):
            source.copy_to(target)
    source.close()


def test_copy_from_the_command_line(backend: Backend, tmp_path: Path) -> None:
    with LearningLoop(tmp_path / "origin") as origin:
        origin.import_events(base_events())
    store, projections = backend
    result = CliRunner().invoke(main, ["copy", "--from", str(tmp_path / "origin"), "--to", store])
    assert result.exit_code == 0, result.output
    assert result.stderr.startswith("Copied 4 events from ")
    replay = CliRunner().invoke(
        main, ["--store", store, "--projections", str(projections), "replay", "exp",
               "--format", "json"],
    )  # fmt: skip
    assert json.loads(replay.stdout)["carriers"] == ["acme"]


def test_reading_a_store_that_does_not_exist_creates_nothing(backend: Backend) -> None:
    with opened(backend) as loop:
        assert loop.list_experiments() == []
        with pytest.raises(BadInputError, match="no store at"):
            loop.sql("select 1")
    if not backend[0].startswith("postgresql://"):
        assert not Path(backend[0]).exists()


@pytest.mark.parametrize(
    ("url", "fragment"),
    [
        ("postgresql://postgres@127.0.0.1:1/learningloop_test", "host 127.0.0.1 port 1"),
        ("postgresql://nobody:s3cr3t-pass@127.0.0.1:{port}/learningloop_test",
         'role "nobody" does not exist'),
        ("postgresql://postgres@127.0.0.1:{port}/no_such_database",
         'database "no_such_database" does not exist'),
    ],
)  # fmt: skip
def test_connection_failures_name_host_and_database_never_the_password(
    postgres_server: str, url: str, fragment: str, tmp_path: Path
) -> None:
    port = postgres_server.rsplit(":", 1)[1].split("/")[0]
    url = url.format(port=port)
    with (
        LearningLoop(url, projections=tmp_path / "p.duckdb") as loop,
        pytest.raises(StoreError) as caught,
    ):
        loop.record(MEETING)
    message = str(caught.value)
    assert fragment in message and "s3cr3t" not in message, message
    result = CliRunner().invoke(main, ["--store", url, "--projections", str(tmp_path / "p"),
                                       "replay", "exp"])  # fmt: skip
    assert result.exit_code in (1, 2) and "Traceback" not in result.output
    assert "s3cr3t" not in result.output
    assert len(result.stderr.strip().splitlines()) == 1


def test_a_url_without_a_database_is_bad_input() -> None:
    with pytest.raises(BadInputError, match="needs a host and a database"):
        LearningLoop("postgresql://me@localhost").record(MEETING)


@pytest.mark.parametrize(
    ("url", "fragment"),
    [
        ("postgresql://u:pw@[::1:55499/ll", "is not a valid URL"),
        ("postgresql://u@localhost/ll?schema=bad-name", "schema 'bad-name' is not a plain"),
        ("postgresql://u@localhost/ll?schema=x;drop", "is not a plain PostgreSQL name"),
        ("postgresql://u@localhost:port/ll", "is not a number"),
    ],
)
def test_a_bad_url_or_schema_is_one_line_exit_2_without_the_password(
    url: str, fragment: str, tmp_path: Path
) -> None:
    result = CliRunner().invoke(main, ["--store", url, "--projections", str(tmp_path / "p"),
                                       "replay", "exp"])  # fmt: skip
    assert result.exit_code == 2 and isinstance(result.exception, SystemExit), result.output
    assert fragment in result.stderr and ":pw@" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_a_binary_key_file_is_bad_input(tmp_path: Path) -> None:
    key = tmp_path / "store.key"
    key.write_bytes(bytes(range(256)))
    result = CliRunner().invoke(main, ["--store", str(tmp_path / "s"), "--cipher-key-file",
                                       str(key), "replay", "exp"])  # fmt: skip
    assert result.exit_code == 2 and "not a readable text key" in result.stderr
