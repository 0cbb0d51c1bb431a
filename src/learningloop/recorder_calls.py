"""The only calls into eventsourcing's recorders beyond their public API, in one place.

Why: a write appends many batches of events AND updates the seal in ONE database transaction,
so a crash never leaves events without their seal, nor a seal without its events. The public
`insert_events` commits a transaction of its own per call; these run the recorder's own
insert on a cursor of the transaction we hold. eventsourcing is pinned to 9.5.x in
pyproject.toml: check these on every upgrade (the contract tests in
tests/test_eventlog.py exercise each of them on both backends).
"""

from __future__ import annotations

from typing import Any

from eventsourcing.persistence import StoredEvent


def datastore(recorder: Any) -> Any:
    """The recorder's datastore, whose `transaction()` hands out the cursor we write with."""
    return recorder.datastore


def sqlite_insert_many(recorder: Any, cursor: Any, stored: list[StoredEvent]) -> None:
    """Insert on our cursor with the recorder's own statement, in one executemany (its
    `_insert_events` runs a statement per row to read each rowid)."""
    rows = [(s.originator_id, s.originator_version, s.topic, s.state) for s in stored]
    sqlite_insert_rows(recorder, cursor, rows)  # type: ignore[arg-type]


def sqlite_insert_rows(recorder: Any, cursor: Any, rows: list[tuple[str, int, str, bytes]]) -> None:
    """As sqlite_insert_many, from (originator_id, originator_version, topic, state) rows."""
    cursor.executemany(recorder.insert_events_statement, rows)


def postgres_insert(recorder: Any, cursor: Any, stored: list[StoredEvent]) -> list[int]:
    """Insert on our cursor; the new rows' notification ids (log positions), in order.

    The recorder locks the events table first, so positions commit in order: a reader
    catching up while others write never skips an event that commits late."""
    recorder._insert_stored_events(cursor, stored)
    return list(recorder._fetch_ids_after_insert_events(cursor, stored))


def events_table(recorder: Any) -> str:
    """The PostgreSQL recorder's events table, without its schema (eventsourcing names it
    after the application: learningloop_events)."""
    return str(recorder.events_table_name)
