"""Shared fixtures: real temporary stores, a minimal valid programme."""

from __future__ import annotations

import hashlib
import os
import shutil
import threading
import uuid
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

import duckdb
import pytest
from click.testing import CliRunner
from hypothesis import settings

from learningloop import LearningLoop, projector
from learningloop.duckdb_file import _private_files

# No hypothesis deadline anywhere: speed is measured by benchmarks/, never by a test, and on a
# loaded machine (or beside the other pytest-xdist workers) one example can take 250 ms.
settings.register_profile("learningloop", deadline=None)
settings.load_profile("learningloop")


@pytest.fixture(scope="session", autouse=True)
def projection_templates(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """A new projection file starts as a copy of one made by the real code once per session.

    Installing the schema (tables, ~70 macros and views) costs about a second a store and
    nearly every test opens one. The copy is taken only where catch-up would create that
    very file: same definitions (keyed by each SQL file's version and the constants, so a
    test that changes them gets its own template), empty tables, position 0. Subprocesses
    and rebuilds (which drop everything first) still install the schema themselves."""
    directory = tmp_path_factory.mktemp("projection-templates")
    made: dict[str, Path] = {}
    lock = threading.Lock()  # the audit catches up its rebuild in a thread
    original = projector.Projector.catch_up

    def template(of: projector.Projector) -> Path | None:
        definitions = repr(
            ([(f.name, f.version) for f in of.files], projector.CONSTANTS_VERSION,
             projector.CONSTANT_TABLES)
        )  # fmt: skip
        key = hashlib.sha256(definitions.encode()).hexdigest()[:16]
        with lock:
            if key not in made:
                path = directory / f"{key}.duckdb"
                maker = projector.Projector(path, None)
                maker.files = of.files
                try:
                    original(maker)
                except Exception:  # definitions a test broke: the real code meets them itself
                    path.unlink(missing_ok=True)
                    path.with_name(path.name + ".wal").unlink(missing_ok=True)
                    return None
                made[key] = path
        return made[key]

    def catch_up(
        self: projector.Projector,
        progress: projector.Progress | None = None,
        *,
        rebuild: bool = False,
        patient: bool = True,
    ) -> int:
        wal = self.database.with_name(self.database.name + ".wal")
        source = None
        if not rebuild and not self.database.exists() and not wal.exists():
            source = template(self)
        if source is not None:
            try:  # as DuckDB would make it: same directory creation, same file mode
                with _private_files(self.duckdb_file.private):
                    self.database.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copyfile(source, self.database)
            except OSError:  # an unwritable place: let the real code meet (and report) it
                self.database.unlink(missing_ok=True)
        return original(self, progress, rebuild=rebuild, patient=patient)

    patch = pytest.MonkeyPatch()
    patch.setattr(projector.Projector, "catch_up", catch_up)
    yield
    patch.undo()


def base_events() -> list[dict[str, Any]]:
    """A programme with two partners and one proposed experiment."""
    return [
        {"type": "ProgrammeOpened", "programme": "prog", "title": "Programme",
         "occurred_on": "2012-01-01"},
        {"type": "PartnerJoined", "programme": "prog", "partner": "acme", "name": "Acme",
         "kind": "company", "occurred_on": "2012-02-01"},
        {"type": "PartnerJoined", "programme": "prog", "partner": "city", "name": "City",
         "kind": "local_authority", "occurred_on": "2012-02-01"},
        {"type": "ExperimentProposed", "experiment": "exp", "programme": "prog",
         "title": "Experiment", "carriers": ["acme"], "scale": "company",
         "occurred_on": "2013-01-10"},
    ]  # fmt: skip


@pytest.fixture
def store_dir(tmp_path: Path) -> Path:
    return tmp_path / "store"


@pytest.fixture
def loop(store_dir: Path) -> Iterator[LearningLoop]:
    with LearningLoop(store_dir, recorded_by="tester") as opened:
        yield opened


@pytest.fixture
def seeded(loop: LearningLoop) -> LearningLoop:
    loop.import_events(base_events())
    return loop


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def store_bytes(store_dir: Path) -> dict[str, bytes]:
    """Every file of a store with its bytes, to prove nothing was written."""
    if not store_dir.exists():
        return {}
    return {
        str(path.relative_to(store_dir)): path.read_bytes()
        for path in sorted(store_dir.rglob("*"))
        if path.is_file() and not path.name.endswith(("-wal", "-shm"))
    }


def read_tables(
    loop: LearningLoop, queries: dict[str, str], as_of: date, known_at: datetime
) -> dict[str, list[tuple[Any, ...]]]:
    """Run several queries on ONE read-only DuckDB connection, as any analyst's client would."""
    loop.project()
    con = duckdb.connect(str(loop.location.projections_path), read_only=True)
    try:
        con.execute("set TimeZone = 'UTC'")
        con.execute("set variable as_of = ?::date", [as_of])
        con.execute("set variable known_at = ?::timestamptz", [known_at])
        return {name: con.execute(sql).fetchall() for name, sql in queries.items()}
    finally:
        con.close()


LATE = date(2030, 1, 1)


def rows_of(
    loop: LearningLoop,
    table: str,
    columns: str,
    as_of: date = LATE,
    known_at: datetime | None = None,
) -> list[tuple[Any, ...]]:
    """Some columns of one projection at (D, T), through `learningloop sql`, in a stable order."""
    return loop.sql(f"select {columns} from {table} order by all", as_of, known_at).rows


def event(event_type: str, day: str, **fields: Any) -> dict[str, Any]:
    """An event of the `exp` experiment of base_events()."""
    return {"type": event_type, "experiment": "exp", "occurred_on": day, **fields}


def recorded_times(loop: LearningLoop, stream: str = "experiment:exp") -> list[datetime]:
    return [recorded.recorded_at for recorded in loop._store.stream(stream)]


@pytest.fixture(scope="session")
def postgres_server() -> str:
    """The test server's URL (.ci/with-postgres starts one). Under CI a missing server fails."""
    url = os.environ.get("LEARNINGLOOP_TEST_POSTGRES")
    if not url:
        if os.environ.get("CI") == "true":
            pytest.fail(
                "LEARNINGLOOP_TEST_POSTGRES is not set: run the tests via .ci/with-postgres"
            )
        pytest.skip("no PostgreSQL server (run the tests via .ci/with-postgres)")
    return url


@pytest.fixture
def postgres_url(postgres_server: str) -> Iterator[str]:
    """A fresh schema of the test database for one test, dropped afterwards."""
    import psycopg

    schema = f"test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_server, autocommit=True) as con:
        con.execute(f"create schema {schema}")
    yield f"{postgres_server}?schema={schema}"
    with psycopg.connect(postgres_server, autocommit=True) as con:
        con.execute(f"drop schema {schema} cascade")


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, Path]:
    """A store target and its projection file, on each backend (store contract tests)."""
    if request.param == "sqlite":
        return str(tmp_path / "store"), tmp_path / "store" / "projections.duckdb"
    url = request.getfixturevalue("postgres_url")
    return url, tmp_path / "projections.duckdb"
