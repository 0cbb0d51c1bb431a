"""The SQLite event log's own behaviour (the log contract runs in test_eventlog.py)."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from learningloop import LearningLoop, sqlite_log
from learningloop.sqlite_log import WalFlusher
from tests.conftest import base_events, event


def meetings(count: int) -> list[dict[str, Any]]:
    return [event("MeetingHeld", "2013-06-12", kind="stakeholder", attendees=1 + n % 30)
            for n in range(count)]  # fmt: skip


def test_a_long_append_syncs_its_wal_meanwhile_and_stops_when_it_ends(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    started: list[WalFlusher] = []
    syncs: list[int] = []
    start, sync = WalFlusher.__init__, os.fdatasync

    def counted_start(self: WalFlusher, wal: Path) -> None:
        started.append(self)
        start(self, wal)

    def counted_sync(descriptor: int) -> None:
        syncs.append(descriptor)
        sync(descriptor)

    monkeypatch.setattr(sqlite_log, "FLUSH_FROM_EVENTS", 1_000)
    monkeypatch.setattr(WalFlusher, "EVERY_SECONDS", 0.001)
    monkeypatch.setattr(WalFlusher, "__init__", counted_start)
    monkeypatch.setattr(os, "fdatasync", counted_sync)
    with LearningLoop(tmp_path / "store") as loop:
        loop.import_events(base_events() + meetings(3_000))
        assert started, "an append of 3,004 events starts the flusher from 1,000 on"
        flusher = started[0]
        deadline = time.monotonic() + 5
        while flusher._thread.is_alive() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert not flusher._thread.is_alive()
        syncs_after_the_import = len(syncs)
        loop.import_events(meetings(10))  # a short append starts no thread
        assert len(started) == 1
        assert len(loop._store.stream("experiment:exp")) == 3_011
    assert syncs_after_the_import >= 1


def test_the_flusher_does_nothing_without_a_wal_and_stops(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(WalFlusher, "EVERY_SECONDS", 0.001)
    flusher = WalFlusher(tmp_path / "missing-wal")
    time.sleep(0.02)
    flusher.stop()
    thread = flusher._thread
    assert isinstance(thread, threading.Thread)
    thread.join(timeout=5)
    assert not thread.is_alive()
