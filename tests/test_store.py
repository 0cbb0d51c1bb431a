"""The SQLite event store: encryption at rest, key errors, isolation from the environment."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path

import pytest
from click.testing import CliRunner

from learningloop import LearningLoop
from learningloop.cli.main import main
from learningloop.errors import BadInputError, StoreError
from learningloop.store import Clock, new_cipher_key
from tests.conftest import base_events, event

SECRET = "Confidential stakeholder notes"


@pytest.fixture
def key() -> str:
    return new_cipher_key()


@pytest.fixture
def encrypted(store_dir: Path, key: str) -> Path:
    with LearningLoop(store_dir, cipher_key=key) as loop:
        loop.import_events([*base_events(), event("MeetingHeld", "2013-04-18", kind="local",
                                                  notes=SECRET)])  # fmt: skip
    return store_dir


def test_payloads_are_encrypted_but_ids_types_and_positions_stay_clear(encrypted: Path) -> None:
    raw = (encrypted / "events.sqlite").read_bytes()
    assert SECRET.encode() not in raw and b"Acme" not in raw
    assert b"learningloop:MeetingHeld" in raw and b"experiment:exp" in raw


def test_an_encrypted_store_replays_projects_and_audits_with_its_key(
    encrypted: Path, key: str
) -> None:
    with LearningLoop(encrypted, cipher_key=key) as loop:
        assert loop.replay("exp").timeline[-1].type == "MeetingHeld"
        assert loop.sql(
            "select payload ->> '$.notes' from events where type = 'MeetingHeld'"
        ).rows == [(SECRET,)]
        assert loop.audit().passed()
        loop.record(event("MeetingHeld", "2013-05-01", kind="local"))


@pytest.mark.parametrize(
    ("given", "message"),
    [
        (None, "the store is encrypted: give its key"),
        ("wrong", "the cipher key given does not open this store"),
    ],
)
def test_a_missing_or_wrong_key_is_refused(
    encrypted: Path, given: str | None, message: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("LEARNINGLOOP_CIPHER_KEY", raising=False)
    with LearningLoop(encrypted, cipher_key=new_cipher_key() if given else None) as loop:
        with pytest.raises(StoreError, match=message):
            loop.replay("exp")
        with pytest.raises(StoreError, match=message):
            loop.record(event("MeetingHeld", "2013-05-01", kind="local"))


def test_a_key_for_a_plain_store_and_a_malformed_key_are_refused(seeded: LearningLoop) -> None:
    with (
        LearningLoop(seeded.location.directory, cipher_key=new_cipher_key()) as other,
        pytest.raises(StoreError, match="not encrypted"),
    ):
        other.replay("exp")
    with pytest.raises(BadInputError, match="not base64 of 16, 24 or 32 bytes"):
        LearningLoop(seeded.location.directory, cipher_key="c2hvcnQ=")


def test_the_key_can_come_from_the_environment(
    encrypted: Path, key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LEARNINGLOOP_CIPHER_KEY", key)
    with LearningLoop(encrypted) as loop:
        assert loop.replay("exp").is_proposed


def test_eventsourcing_settings_in_the_environment_do_not_leak_into_a_store(
    seeded: LearningLoop, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CIPHER_KEY", new_cipher_key())
    monkeypatch.setenv("PERSISTENCE_MODULE", "eventsourcing.popo")
    with LearningLoop(seeded.location.directory) as loop:
        assert loop.replay("exp").is_proposed
        loop.record(event("MeetingHeld", "2013-05-01", kind="local"))
    assert (seeded.location.directory / "events.sqlite").exists()


def test_cli_key_errors_exit_1_and_a_bad_key_file_exits_2(
    encrypted: Path, key: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("LEARNINGLOOP_CIPHER_KEY", raising=False)
    runner = CliRunner()
    missing = runner.invoke(main, ["--store", str(encrypted), "replay", "exp"])
    assert missing.exit_code == 1
    assert missing.stderr.startswith("Error: ") and "encrypted" in missing.stderr
    key_file = tmp_path / "store.key"
    key_file.write_text(key + "\n")
    good = runner.invoke(main, ["--store", str(encrypted), "--cipher-key-file", str(key_file),
                                "replay", "exp", "--format", "csv"])  # fmt: skip
    assert good.exit_code == 0, good.output
    key_file.write_text("not a key")
    bad = runner.invoke(main, ["--store", str(encrypted), "--cipher-key-file", str(key_file),
                               "replay", "exp"])  # fmt: skip
    assert bad.exit_code == 2 and "Traceback" not in bad.stderr
    assert len(runner.invoke(main, ["keygen"]).stdout.strip()) == 44


def test_the_projections_of_an_encrypted_store_are_readable_by_their_owner_only(
    encrypted: Path, key: str
) -> None:
    (encrypted / "projections.duckdb").unlink(missing_ok=True)
    with LearningLoop(encrypted, cipher_key=key) as loop:
        loop.project()
    created = [path for path in encrypted.iterdir() if path.name.startswith("projections")]
    assert created and all(path.stat().st_mode & 0o077 == 0 for path in created), [
        (path.name, oct(path.stat().st_mode)) for path in created
    ]


def test_an_older_world_readable_projection_file_is_made_private(encrypted: Path, key: str) -> None:
    with LearningLoop(encrypted, cipher_key=key) as loop:
        loop.project()
    projections = encrypted / "projections.duckdb"
    projections.chmod(0o644)
    with LearningLoop(encrypted, cipher_key=key) as loop:
        loop.project()
    assert projections.stat().st_mode & 0o077 == 0


def test_every_file_created_respects_the_umask(tmp_path: Path) -> None:
    previous = os.umask(0o027)
    try:
        with LearningLoop(tmp_path / "store") as loop:
            loop.import_events(base_events())
            loop.project()
            loop.export(tmp_path / "export")
        files = [p for p in tmp_path.rglob("*") if p.is_file() or p.is_dir()]
    finally:
        os.umask(previous)
    assert files
    too_open = [(p.name, oct(p.stat().st_mode)) for p in files if p.stat().st_mode & 0o027]
    assert too_open == []


def test_clock_stamps_follow_now_one_microsecond_apart() -> None:
    clock = Clock()
    before = clock.now()
    called_at = datetime.now(UTC)
    stamps = clock.stamps(1_000)
    after = clock.now()
    assert len(stamps) == 1_000
    assert before < stamps[0] and called_at <= stamps[0]
    assert all(b - a == timedelta(microseconds=1) for a, b in pairwise(stamps))
    assert stamps[-1] < after
    assert clock.stamps(0) == []
    assert clock.stamps(1)[0] > after


def test_clock_stamps_stay_after_a_last_stamp_in_the_future() -> None:
    clock = Clock()
    ahead = datetime.now(UTC) + timedelta(seconds=5)
    clock._last = ahead
    stamps = clock.stamps(3)
    tick = timedelta(microseconds=1)
    assert stamps == [ahead + tick, ahead + 2 * tick, ahead + 3 * tick]
    assert clock.now() == ahead + 4 * tick
