"""Reading the projections: tables, indicators, streams, changes between two T, exports."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from learningloop.domain.basics import quote, stream_id
from learningloop.errors import BadInputError, NotFoundError
from learningloop.indicator_keys import INDICATOR_TABLES as INDICATOR_TABLES
from learningloop.indicator_keys import indicator_queries as _indicator_queries
from learningloop.loop_session import (
    TABLE_ORDER,
    PathLike,
    ProgressCallback,
    Session,
    moment,
    today,
    utc,
)

if TYPE_CHECKING:  # imported where used: `import` and `record` never load duckdb or pyarrow
    from learningloop.knowledge import Changes
    from learningloop.querying import QueryResult
    from learningloop.results import RowStream

EXPORT_FORMATS = ("parquet", "duckdb")


class Reading(Session):
    """What the projections answer at (D, T)."""

    def project(self, *, rebuild: bool = False, progress: ProgressCallback | None = None) -> int:
        """Catch the projections up with the log (or rebuild them); return events projected."""
        return self._projector().catch_up(progress, rebuild=rebuild)

    def moment_notes(self, as_of: date | None, known_at: datetime | None) -> list[str]:
        """One-line notes when a D given is after every recorded event, or a T given is before
        the first recording: the tables then extrapolate, or are empty, without error."""
        if as_of is None and known_at is None:
            return []
        bounds = self.sql("select max(occurred_until), min(recorded_at) from log_events").rows
        last_until, first_recorded = bounds[0] if bounds else (None, None)
        notes = []
        if as_of is not None and last_until is not None and as_of > last_until:
            notes.append(
                f"note: as of {as_of} is after the last recorded event (its period ends on "
                f"{last_until}); what follows extrapolates the record to that date."
            )
        if known_at is not None and first_recorded is not None and utc(known_at) < first_recorded:
            notes.append(
                f"note: known at {utc(known_at).isoformat()} is before the first recording "
                f"({first_recorded.isoformat(timespec='seconds')}); nothing was known yet."
            )
        return notes

    def table(
        self, name: str, as_of: date | None = None, known_at: datetime | None = None
    ) -> QueryResult:
        """A whole projection table at (D, T), in its natural order."""
        if name not in TABLE_ORDER:
            raise NotFoundError(f"no projection {quote(name)} (known: {', '.join(TABLE_ORDER)})")
        return self.sql(f"select * from {name} order by {TABLE_ORDER[name]}", as_of, known_at)

    def timeline(
        self, experiment: str, as_of: date | None = None, known_at: datetime | None = None
    ) -> QueryResult:
        """An experiment's learning timeline at (D, T), cycle by cycle."""
        log = self._store.log(create=False)
        if log is None or not log.has_stream(stream_id("experiment", experiment)):
            raise self._no_experiment(experiment)
        query = (
            "select cycle, occurred_on, version, type, summary, recorded_at, occurred_until, "
            "is_certain, precision, basis from timeline "
            "where experiment = ? order by occurred_on, version"
        )
        return self.sql(query, as_of, known_at, parameters=[experiment])

    @contextmanager
    def sql_stream(
        self,
        query: str,
        as_of: date | None = None,
        known_at: datetime | None = None,
        parameters: Sequence[Any] = (),
        *,
        framework: PathLike | None = None,
        timeout: float | None = None,
    ) -> Iterator[RowStream]:
        """`sql`, its rows streamed in batches while the block runs (memory stays flat);
        QueryTimeoutError when the block runs past `timeout` seconds."""
        moment = utc(known_at) if known_at else None
        with self._projector(framework).streams(
            {"query": query}, as_of, moment, parameters=parameters, timeout=timeout
        ) as found:
            yield found["query"]

    @contextmanager
    def indicator_streams(
        self,
        as_of: date | None = None,
        known_at: datetime | None = None,
        *,
        with_summary: bool = False,
        framework: PathLike | None = None,
    ) -> Iterator[dict[str, RowStream]]:
        """`indicators`, each table's rows streamed in batches while the block runs; with
        `with_summary`, first a `programme_summary` (one row per programme, then the total)."""
        moment = utc(known_at) if known_at else None
        queries = _indicator_queries()
        if with_summary:
            queries = {"programme_summary": PROGRAMME_SUMMARY, **queries}
            queries["milestones"] = MILESTONES_WITH_LAST_RECORD
        warm = not with_summary and framework is None  # the queries of `--format csv`
        with self._projector(framework).cached_streams(queries, as_of, moment, warm=warm) as found:
            yield found

    def indicators(
        self,
        as_of: date | None = None,
        known_at: datetime | None = None,
        *,
        framework: PathLike | None = None,
    ) -> dict[str, QueryResult]:
        """Coverage, cadence, reviews, milestones and learning loops at (D, T)."""
        from learningloop.querying import QueryResult

        with self.indicator_streams(as_of, known_at, framework=framework) as tables:
            return {name: QueryResult(table.columns, list(table.rows()))
                    for name, table in tables.items()}  # fmt: skip

    def changes(
        self,
        since: datetime,
        until: datetime | None = None,
        as_of: date | None = None,
        table: str | None = None,
    ) -> QueryResult:
        """What changed in what we know between T1 and T2 (default now) at D (CONTRACT 6.5):
        per table, the rows removed and added, each with the events recorded in between."""
        from learningloop.knowledge import CHANGE_COLUMNS
        from learningloop.querying import QueryResult

        found = self.changes_read(since, until, as_of, table)
        return QueryResult(list(CHANGE_COLUMNS), [tuple(row) for row in found])

    def changes_read(
        self,
        since: datetime,
        until: datetime | None = None,
        as_of: date | None = None,
        table: str | None = None,
    ) -> Changes:
        """`changes` read as they come (in the same order): each iteration runs the queries
        and reads their rows a batch at a time, whatever the window."""
        from learningloop.knowledge import SECTION_4_TABLES, Changes

        if table is not None and table not in TABLE_ORDER:
            raise NotFoundError(
                f"--table: no table {quote(table)} (known: {', '.join(TABLE_ORDER)})"
            )
        tables = [table] if table else list(SECTION_4_TABLES)
        moment_t2 = utc(until) if until else datetime.now(UTC)
        return Changes(self._projector(), tables, as_of or today(), utc(since), moment_t2)

    def export(
        self,
        directory: str | os.PathLike[str],
        as_of: date | None = None,
        known_at: datetime | None = None,
        file_format: str = "parquet",
    ) -> dict[str, Any]:
        """Write every projection at (D, T) into `directory` with a manifest.json; return the
        manifest. `parquet`: one file a table and load.sql; `duckdb`: one projections.duckdb
        that any DuckDB from 1.4 opens. Both have X_at macros answering for that D and T."""
        if file_format not in EXPORT_FORMATS:
            choices = ", ".join(EXPORT_FORMATS)
            raise BadInputError(f"--format: {quote(file_format)} is not one of {choices}")
        target = Path(directory)
        target.mkdir(parents=True, exist_ok=True)
        moment_d, moment_t = moment(as_of, known_at)
        projector = self._projector()
        written = projector.export(list(TABLE_ORDER), target, moment_d, moment_t, file_format)
        files = (
            {"tables": dict.fromkeys(TABLE_ORDER, "projections.duckdb")}
            if file_format == "duckdb"
            else {"tables": {name: f"{name}.parquet" for name in TABLE_ORDER}, "load": "load.sql"}
        )
        manifest = {
            "format": file_format,
            "log_position": written["log_position"],
            "as_of": moment_d.isoformat(),
            "known_at": moment_t.isoformat(),
            "projection_versions": written["projection_versions"],
            **files,
        }
        if projector.lag is not None:
            manifest["behind_the_log"] = projector.lag.describe()
        (target / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
        return manifest


# Every programme, then the whole network `(all)`: the rows `indicators` prints first.
PROGRAMME_SUMMARY = (
    "select * from programme_summary order by programme = '(all)' desc, experiments desc, programme"
)


# The milestones, each with its experiment's last counted record (date and precision), so that
# a person reads "overdue (no record since 2013-S1)" when nothing was recorded after the due date:
# an absence of records is not shown as a failure (issue 14).
MILESTONES_WITH_LAST_RECORD = """
with last_record as (
    select experiment, occurred_on as last_record_on, precision as last_record_precision
    from timeline
    qualify row_number() over (partition by experiment order by occurred_on desc, version desc) = 1
)
select milestones.*, last_record.last_record_on, last_record.last_record_precision
from milestones
left join last_record using (experiment)
order by milestones.experiment, milestones.due_on, milestones.milestone
"""
