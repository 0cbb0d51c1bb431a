"""The event log shared in PostgreSQL: eventsourcing's PostgreSQL recorder, by URL."""

from __future__ import annotations

from typing import Any, Self

from eventsourcing.persistence import StoredEvent

from learningloop import recorder_calls
from learningloop.errors import StoreError
from learningloop.eventlog import META_TABLE, SEAL_TABLE, EventLog
from learningloop.locations import PostgresURL, StoreLocation, connect_timeout


class PostgresEventLog(EventLog):
    """The log in a PostgreSQL database (optionally in a schema of its own)."""

    # eventsourcing names an application's tables after it: every backend keeps the name
    # stores were created with (`learningloop_events` in PostgreSQL).
    name = "learningloop"

    PARAMETER = "%s"

    @classmethod
    def open(cls, location: StoreLocation, cipher_key: str | None, *, create: bool) -> Self | None:
        # Creating eventsourcing's tables again from several processes at once races in
        # PostgreSQL's catalog: create them only when the log does not exist yet.
        # One direct connection first: a wrong password, user or database is named at once,
        # instead of after the pool's timeout with its cause hidden.
        cause = _server_cause(location.postgres)
        if cause is not None:
            raise StoreError(cls.cannot_open(location, cause))
        present = cls._server_has_log(location, cipher_key)
        if not present and not create:
            return None
        return cls._opened(location, cls._env(location, create_tables=not present), cipher_key)

    @classmethod
    def cannot_open(cls, location: StoreLocation, reason: str) -> str:
        url = location.postgres
        if url.password:
            reason = reason.replace(url.password, "***")
        return (
            f"cannot open the PostgreSQL store on host {url.host} port {url.port}, "
            f"database {url.database}: {reason}"
        )

    @classmethod
    def _env(cls, location: StoreLocation, *, create_tables: bool) -> dict[str, str]:
        return location.postgres.env() | {"CREATE_TABLE": "yes" if create_tables else "no"}

    @classmethod
    def _server_has_log(cls, location: StoreLocation, cipher_key: str | None) -> bool:
        """Whether the database already holds a learningloop log (a read creates nothing)."""
        probe = cls._env(location, create_tables=False) | {"CHECK_CIPHER": "no"}
        log = cls._opened(location, probe, cipher_key)
        try:
            return log._has_tables(log._table(SEAL_TABLE), log._table(META_TABLE))
        finally:
            log.close()

    def _insert(self, cursor: Any, stored: list[StoredEvent]) -> list[int]:
        return recorder_calls.postgres_insert(self.recorder, cursor, stored)

    def _events_table(self) -> tuple[str, str]:
        return self._table(recorder_calls.events_table(self.recorder)), "notification_id"

    def _table(self, name: str) -> str:
        schema = self.env.get("POSTGRES_SCHEMA")
        return f"{schema}.{name}" if schema else name

    def _has_table(self, cursor: Any, table: str) -> bool:
        cursor.execute("select to_regclass(%s) is not null as present", (table,))
        row = cursor.fetchone()
        return bool(row["present"] if isinstance(row, dict) else row[0])


def _server_cause(url: PostgresURL) -> str | None:
    """What the server says when we connect once more, directly: the connection pool only
    says it could not get a connection, which hides a wrong password or database."""
    import psycopg

    try:
        psycopg.connect(
            host=url.host, port=url.port, dbname=url.database, user=url.user,
            password=url.password, connect_timeout=connect_timeout(),
        ).close()  # fmt: skip
    except psycopg.Error as error:
        text = str(error).strip()
        # libpq: 'connection failed: connection to server at "h" (a), port p failed: FATAL: ...'
        cause = text.rpartition("FATAL:")[2] if "FATAL:" in text else text
        return " ".join(cause.split())[:200] or None
    return None
