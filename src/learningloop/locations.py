"""Where a store lives: a directory (SQLite) or a PostgreSQL URL, and its projection file."""

from __future__ import annotations

import getpass
import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from learningloop.domain.basics import quote
from learningloop.errors import BadInputError

DEFAULT_STORE = "./learningloop-data"
EVENTS_FILE = "events.sqlite"
PROJECTIONS_FILE = "projections.duckdb"
# Seconds to wait for a PostgreSQL server before saying it cannot be reached (see below).
CONNECT_TIMEOUT_SETTING = "LEARNINGLOOP_CONNECT_TIMEOUT"
LOCK_TIMEOUT_SECONDS = 60


def connect_timeout() -> int:
    """LEARNINGLOOP_CONNECT_TIMEOUT: whole seconds (1 to 3,600; default 5). Anything else
    is one line, not a traceback where it is first used (`abc`, `1e999`) nor an error of
    eventsourcing's (`2.5`: it takes whole seconds)."""
    text = os.environ.get(CONNECT_TIMEOUT_SETTING, "").strip() or "5"
    if not (text.isascii() and text.isdigit() and 1 <= int(text[:5]) <= 3600):
        raise BadInputError(f"{CONNECT_TIMEOUT_SETTING} must be a whole number of seconds "
                            f"from 1 to 3600, not {quote(text)}")  # fmt: skip
    return int(text)


@dataclass(frozen=True)
class StoreLocation:
    """Where a store lives: a directory (SQLite log + DuckDB projections) or a PostgreSQL URL
    (the shared log) with the projections in a local DuckDB file."""

    target: str
    projections_override: Path | None = None

    @classmethod
    def resolve(
        cls, store: str | os.PathLike[str] | None, projections: str | os.PathLike[str] | None = None
    ) -> StoreLocation:
        value = store if store is not None else os.environ.get("LEARNINGLOOP_STORE")
        override = Path(projections) if projections is not None else None
        if override is not None and override.is_dir():
            raise BadInputError(f"--projections: {override} is a directory (give a DuckDB "
                                f"file, such as {override / PROJECTIONS_FILE})")  # fmt: skip
        return cls(str(value or DEFAULT_STORE), override)

    @property
    def is_postgres(self) -> bool:
        return self.target.startswith(("postgresql://", "postgres://"))

    @property
    def scheme(self) -> str:
        """Which backend serves this location: `sqlite` (a directory) or `postgresql`."""
        return "postgresql" if self.is_postgres else "sqlite"

    @property
    def directory(self) -> Path:
        """The SQLite store's directory (for PostgreSQL, the projections' directory)."""
        return self.projections_path.parent if self.is_postgres else Path(self.target)

    @property
    def events_path(self) -> Path:
        return self.directory / EVENTS_FILE

    @property
    def projections_path(self) -> Path:
        if self.projections_override is not None:
            return self.projections_override
        if not self.is_postgres:
            return Path(self.target) / PROJECTIONS_FILE
        # One read model per user and per shared log, keyed by the URL without its password.
        key = hashlib.sha256(self.postgres.public_url.encode()).hexdigest()[:16]
        home = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
        return home / "learningloop" / f"{key}.duckdb"

    @property
    def postgres(self) -> PostgresURL:
        return PostgresURL.parse(self.target)

    def describe(self) -> str:
        return self.postgres.public_url if self.is_postgres else str(self.target)


# A schema name used unquoted in SQL: nothing a server could read as anything else.
_SCHEMA = re.compile(r"[a-z_][a-z0-9_]{0,62}")
_PASSWORD = re.compile(r"^([a-z]+://[^:/@\[\]]*:)[^@]*@")


@dataclass(frozen=True)
class PostgresURL:
    """postgresql://USER[:PASSWORD]@HOST[:PORT]/DATABASE[?schema=NAME]"""

    user: str
    password: str
    host: str
    port: int
    database: str
    schema: str

    @classmethod
    def parse(cls, url: str) -> PostgresURL:
        try:
            parts = urlsplit(url)
            hostname = parts.hostname
        except ValueError as error:  # an unclosed [IPv6] bracket, for one
            raise BadInputError(
                f"--store: {cls._hidden(url)} is not a valid URL ({error})"
            ) from None
        database = parts.path.lstrip("/")
        try:
            port = parts.port or 5432
        except ValueError:
            raise BadInputError(
                f"--store: the port of {cls._hidden(url)} is not a number"
            ) from None
        if not hostname or not database:
            raise BadInputError(
                f"--store: {cls._hidden(url)} needs a host and a database "
                "(postgresql://USER@HOST:PORT/DATABASE)"
            )
        schema = parse_qs(parts.query).get("schema", [""])[0]
        if schema and not _SCHEMA.fullmatch(schema):
            raise BadInputError(
                f"--store: schema {quote(schema)} is not a plain PostgreSQL name (lowercase "
                "letters, digits and '_', not starting with a digit, at most 63)"
            )
        password = unquote(parts.password or "") or os.environ.get("PGPASSWORD", "")
        user = unquote(parts.username or "") or os.environ.get("PGUSER", getpass.getuser())
        return cls(user, password, hostname, port, database, schema)

    @staticmethod
    def _hidden(url: str) -> str:
        """The URL with its password masked, even when the URL does not parse."""
        return quote(_PASSWORD.sub(r"\1***@", url, count=1)).strip("'\"")

    @property
    def public_url(self) -> str:
        """The URL without its password, safe to print and to key a cache with."""
        query = f"?schema={self.schema}" if self.schema else ""
        return f"postgresql://{self.user}@{self.host}:{self.port}/{self.database}{query}"

    def env(self) -> dict[str, str]:
        timeout = str(connect_timeout())  # one reading of the setting, for both waits
        env = {
            "PERSISTENCE_MODULE": "eventsourcing.postgres",
            "POSTGRES_DBNAME": self.database,
            "POSTGRES_HOST": self.host,
            "POSTGRES_PORT": str(self.port),
            "POSTGRES_USER": self.user,
            "POSTGRES_PASSWORD": self.password,
            "POSTGRES_CONNECT_TIMEOUT": timeout,
            "POSTGRES_POOL_OPEN_TIMEOUT": timeout,
            "POSTGRES_LOCK_TIMEOUT": str(LOCK_TIMEOUT_SECONDS),
        }
        if self.schema:
            env["POSTGRES_SCHEMA"] = self.schema
        return env
