"""The public Python API: open a store, import, record, replay.

Everything the command line does goes through `LearningLoop`, so a notebook needs no
subprocess.
"""

from __future__ import annotations

import getpass
import json
import os
import random
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from itertools import chain
from pathlib import Path
from typing import TYPE_CHECKING, Any

from learningloop.audit import (
    QUALITY_CHECKS,
    QUALITY_QUERY,
    AuditReport,
    Finding,
    check_log,
    projection_findings,
    quality_findings,
)
from learningloop.domain import events as ev
from learningloop.domain.indicators import ratio
from learningloop.domain.provenance import Provenance, trace_decision
from learningloop.domain.recorded import Recorded
from learningloop.domain.replay import ExperimentView, replay_experiment
from learningloop.domain.values import BASES, did_you_mean
from learningloop.errors import (
    BadInputError,
    ConcurrentWriteError,
    NotFoundError,
)
from learningloop.locations import StoreLocation
from learningloop.sources import RawEvent, check_sources, read_events
from learningloop.store import Clock, EventLog, Store
from learningloop.writing import Admission, StreamCache, batches, copied_pages, take, tap

if TYPE_CHECKING:  # imported where used: `import` and `record` never load duckdb or pyarrow
    from learningloop.knowledge import Framework
    from learningloop.projector import Projector
    from learningloop.querying import QueryResult
    from learningloop.report import ReportData
    from learningloop.results import RowStream

# Each contract table and the order its rows are listed in.
TABLE_ORDER = {
    "events": "position",
    "experiments": "experiment",
    "timeline": "experiment, occurred_on, version",
    "function_coverage": "experiment, ordinal",
    "experiment_coverage": "experiment",
    "commitment_cadence": "experiment, commitment, period",
    "review_completion": "experiment, review",
    "milestones": "experiment, due_on, milestone",
    "decisions": "experiment, occurred_on, version",
    "learning_loops": "experiment",
    "partners": "programme, partner",
    "decision_revisions": "experiment, decision, evidence",
    "learning_latency": "experiment",
    "predictions": "experiment, made_on, prediction",
    "prediction_scores": "experiment",
}
EXPORT_FORMATS = ("parquet", "duckdb")
INDICATOR_TABLES = (
    "experiment_coverage",
    "function_coverage",
    "commitment_cadence",
    "review_completion",
    "milestones",
    "learning_loops",
)
# The report details every experiment of a store this small; beyond, the most active ones.
REPORT_WHOLE_UP_TO = 30
REPORT_MOST_ACTIVE = 12
BATCH_SIZE = 1000  # events a batch, also when copying a log
# Events held in memory before the first write: a bad event in a file smaller than this
# never opens the store for writing at all.
BUFFERED_EVENTS = 50_000
# A write that lost a race for a stream version is validated again and retried this often.
WRITE_ATTEMPTS = 8
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)  # T of a report on an empty log

ProgressCallback = Callable[[int], None]
PathLike = str | os.PathLike[str]


@dataclass(frozen=True)
class ImportSummary:
    """What an import wrote."""

    events: int
    streams: int


class LearningLoop:
    """An evaluation store: an append-only event log and the views built from it."""

    def __init__(
        self,
        store: str | os.PathLike[str] | None = None,
        *,
        recorded_by: str | None = None,
        cipher_key: str | None = None,
        projections: str | os.PathLike[str] | None = None,
        memory_limit: str | None = None,
        fresh: bool = False,
    ) -> None:
        """Open a store (nothing is created before the first write).

        `store` is a directory or a postgresql:// URL; `projections` a DuckDB file (default: in
        the directory, or a per-user file keyed by the URL). `cipher_key` (or
        LEARNINGLOOP_CIPHER_KEY) encrypts event payloads at rest. `memory_limit` (or
        LEARNINGLOOP_MEMORY_LIMIT), such as "2GB", bounds DuckDB's memory (default: a share of
        the machine's). Reads catch the projections
        up with the log; when another process holds them read-only they answer from what is
        projected with a ProjectionsBehindWarning, or, with `fresh`, raise StoreError.
        """
        self.memory_limit = memory_limit or os.environ.get("LEARNINGLOOP_MEMORY_LIMIT") or None
        self.location = StoreLocation.resolve(store, projections)
        self.fresh = fresh
        self.recorded_by = recorded_by or _os_user()
        key = cipher_key or os.environ.get("LEARNINGLOOP_CIPHER_KEY") or None
        self._store = Store(self.location, key)
        self._cache = StreamCache(self._store)
        self._clock = Clock()

    def __enter__(self) -> LearningLoop:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self._store.close()

    # --- commands -----------------------------------------------------------------------

    def import_files(
        self, paths: Sequence[str | os.PathLike[str]], progress: ProgressCallback | None = None
    ) -> ImportSummary:
        """Import JSON Lines, JSON and YAML files: every event of every file, or none."""
        files = [Path(path) for path in paths]
        check_sources(files)
        return self._write(lambda: chain.from_iterable(read_events(f) for f in files), progress)

    def import_events(
        self, raw_events: Iterable[Any], progress: ProgressCallback | None = None
    ) -> ImportSummary:
        """Import raw event mappings (as in a JSON file): all of them, or none."""
        items = list(raw_events)
        return self._write(
            lambda: (RawEvent(f"item {n}", raw) for n, raw in enumerate(items, 1)), progress
        )

    def record(self, raw_event: dict[str, Any]) -> Recorded:
        """Record one event, with the same validation as an import."""
        recorded: list[Recorded] = []
        self._write(lambda: iter([RawEvent("event", raw_event)]), None, recorded.append)
        # Each attempt admits the event again; only the last one (the one stored) counts: an
        # attempt that lost a race had the version another writer took.
        return recorded[-1]

    # --- queries ------------------------------------------------------------------------

    def replay(
        self,
        experiment: str,
        as_of: date | None = None,
        known_at: datetime | None = None,
    ) -> ExperimentView:
        """An experiment's state and timeline as of D (default today), as known at T (now)."""
        experiment_events = self._cache.events(ev.stream_id("experiment", experiment))
        if not experiment_events:
            raise self._no_experiment(experiment)
        programme_key = experiment_events[0].event.programme  # type: ignore[attr-defined]
        programme_events = self._cache.events(ev.stream_id("programme", programme_key))
        return replay_experiment(
            experiment,
            experiment_events,
            programme_events,
            as_of or _today(),
            _utc(known_at) if known_at else datetime.now(UTC),
        )

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
        if known_at is not None and first_recorded is not None and _utc(known_at) < first_recorded:
            notes.append(
                f"note: known at {_utc(known_at).isoformat()} is before the first recording "
                f"({first_recorded.isoformat(timespec='seconds')}); nothing was known yet."
            )
        return notes

    def _no_experiment(self, experiment: str) -> NotFoundError:
        hint = did_you_mean(experiment, self.list_experiments())
        return NotFoundError(
            f"no experiment {experiment!r} in store {self.location.describe()}{hint}"
        )

    def list_experiments(self) -> list[str]:
        """The slugs of every experiment stream in the log, in the order they were proposed."""
        return self._cache.keys("experiment")

    def list_views(
        self, as_of: date | None = None, known_at: datetime | None = None
    ) -> list[ExperimentView]:
        """Every experiment's view at (D, T), in the order they were proposed."""
        return [self.replay(key, as_of, known_at) for key in self.list_experiments()]

    # --- projections (DuckDB) -----------------------------------------------------------

    def project(self, *, rebuild: bool = False, progress: ProgressCallback | None = None) -> int:
        """Catch the projections up with the log (or rebuild them); return events projected."""
        return self._projector().catch_up(progress, rebuild=rebuild)

    def sql(
        self,
        query: str,
        as_of: date | None = None,
        known_at: datetime | None = None,
        parameters: Sequence[Any] = (),
        *,
        framework: PathLike | None = None,
        timeout: float | None = None,
    ) -> QueryResult:
        """One read-only SQL statement over current projections, at (D, T); with `framework`
        (a file, CONTRACT 6.9) as if the programmes' functions were that file's; stopped with
        QueryTimeoutError after `timeout` seconds."""
        moment = _utc(known_at) if known_at else None
        return self._projector(framework).query(query, parameters, as_of, moment, timeout)

    def table(
        self, name: str, as_of: date | None = None, known_at: datetime | None = None
    ) -> QueryResult:
        """A whole projection table at (D, T), in its natural order."""
        if name not in TABLE_ORDER:
            raise NotFoundError(f"no projection {name!r} (known: {', '.join(TABLE_ORDER)})")
        return self.sql(f"select * from {name} order by {TABLE_ORDER[name]}", as_of, known_at)

    def timeline(
        self, experiment: str, as_of: date | None = None, known_at: datetime | None = None
    ) -> QueryResult:
        """An experiment's learning timeline at (D, T), cycle by cycle."""
        log = self._store.log(create=False)
        if log is None or not log.has_stream(ev.stream_id("experiment", experiment)):
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
        moment = _utc(known_at) if known_at else None
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
        moment = _utc(known_at) if known_at else None
        queries = _indicator_queries()
        if with_summary:
            queries = {"programme_summary": PROGRAMME_SUMMARY, **queries}
            queries["milestones"] = MILESTONES_WITH_LAST_RECORD
        with self._projector(framework).streams(queries, as_of, moment) as found:
            yield found

    def indicators(
        self,
        as_of: date | None = None,
        known_at: datetime | None = None,
        *,
        framework: PathLike | None = None,
    ) -> dict[str, QueryResult]:
        """Coverage, cadence, reviews, milestones and learning loops at (D, T)."""
        moment = _utc(known_at) if known_at else None
        return self._projector(framework).query_many(_indicator_queries(), as_of, moment)

    def changes(
        self,
        since: datetime,
        until: datetime | None = None,
        as_of: date | None = None,
        table: str | None = None,
    ) -> QueryResult:
        """What changed in what we know between T1 and T2 (default now) at D (CONTRACT 6.5):
        per table, the rows removed and added, each with the events recorded in between."""
        from learningloop.knowledge import SECTION_4_TABLES, changes

        if table is not None and table not in TABLE_ORDER:
            raise NotFoundError(f"--table: no table {table!r} (known: {', '.join(TABLE_ORDER)})")
        tables = [table] if table else list(SECTION_4_TABLES)
        moment_t2 = _utc(until) if until else datetime.now(UTC)
        return changes(self._projector(), tables, as_of or _today(), _utc(since), moment_t2)

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
            raise BadInputError(f"--format: {file_format!r} is not one of {choices}")
        target = Path(directory)
        target.mkdir(parents=True, exist_ok=True)
        moment_d, moment_t = as_of or _today(), _utc(known_at) if known_at else datetime.now(UTC)
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

    def why(
        self,
        decision: str,
        experiment: str | None = None,
        as_of: date | None = None,
        known_at: datetime | None = None,
    ) -> Provenance:
        """A decision's provenance: its event and source, what it cites, the cycle it closed."""
        experiment = experiment or self._experiment_of_decision(decision)
        recorded = self._store.stream(ev.stream_id("experiment", experiment))
        moment_d, moment_t = as_of or _today(), _utc(known_at) if known_at else datetime.now(UTC)
        provenance = trace_decision(experiment, decision, recorded, moment_d, moment_t)
        if provenance is None:
            raise NotFoundError(
                f"no decision {decision!r} in experiment {experiment!r} as of {moment_d} "
                f"(as known at {moment_t.isoformat()})"
            )
        revised = self.sql(
            "select evidence, revision, revised_at from decision_revisions "
            "where experiment = ? and decision = ? order by revised_at, evidence",
            moment_d, moment_t, parameters=[experiment, decision],
        )  # fmt: skip
        return replace(provenance, revisions=[tuple(row) for row in revised.rows])

    def why_prediction(
        self,
        prediction: str,
        experiment: str | None = None,
        as_of: date | None = None,
        known_at: datetime | None = None,
    ) -> dict[str, Any]:
        """A prediction's provenance: its row in `predictions`, and the stored events that made
        and decided it with their log positions and chain hashes (the log is the proof)."""
        from learningloop.knowledge import trace_prediction

        moment_d, moment_t = as_of or _today(), _utc(known_at) if known_at else datetime.now(UTC)
        return trace_prediction(self._projector(), prediction, experiment, moment_d, moment_t)

    def _experiment_of_decision(self, decision: str) -> str:
        found = self.sql(
            "select distinct experiment from log_events "
            "where type = 'DecisionRecorded' and subject = ? order by experiment",
            parameters=[decision],
        )
        experiments = [row[0] for row in found.rows]
        if not experiments:
            raise NotFoundError(f"no decision {decision!r} in store {self.location.describe()}")
        if len(experiments) > 1:
            raise BadInputError(
                f"decision {decision!r} exists in {', '.join(experiments)}: give --experiment"
            )
        return str(experiments[0])

    def report(
        self,
        out: str | os.PathLike[str],
        as_of: date | None = None,
        known_at: datetime | None = None,
        lang: str = "en",
        *,
        framework: PathLike | None = None,
        since: datetime | None = None,
        experiments: Sequence[str] = (),
        programmes: Sequence[str] = (),
    ) -> Path:
        """Write the self-contained HTML report; the same log, D and T give the same bytes.
        With `experiments` or `programmes`, the detail covers those experiments only;
        `framework`: a what-if framework file; `since`: list what changed since that T1."""
        if lang not in ("en", "fr"):
            raise BadInputError(f"--lang: {lang!r} is not en or fr")
        target = Path(out)
        from learningloop.report import render

        data = self.report_data(as_of, known_at, framework=framework, since=since,
                                experiments=experiments, programmes=programmes)  # fmt: skip
        document = render(data, lang)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(document, encoding="utf-8")
        return target

    def report_data(
        self,
        as_of: date | None = None,
        known_at: datetime | None = None,
        *,
        framework: PathLike | None = None,
        since: datetime | None = None,
        experiments: Sequence[str] = (),
        programmes: Sequence[str] = (),
    ) -> ReportData:
        """What the report shows at D (default today), as known at T (default: the last
        recording, so the same log gives the same report): one query_many and the seal; with
        `since`, what changed between T1 and T (CONTRACT 6.5).

        A network of more than REPORT_WHOLE_UP_TO experiments is detailed for its
        REPORT_MOST_ACTIVE most active ones (or those chosen), after a programme summary."""
        from learningloop.knowledge import SECTION_4_TABLES, changes
        from learningloop.report import QUERIES, ReportData

        log = self._store.readable_log()
        seal = log.seal()  # before catching up: the projections hold at least this much
        moment_t = _utc(known_at) if known_at else log.last_recorded_at() or EPOCH
        moment_d = as_of or _today()
        selected, selection = self._report_selection(experiments, programmes, moment_d, moment_t)
        variables = {} if selected is None else {"report_experiments": selected}
        projector = self._projector(framework)
        results = projector.query_many(QUERIES, moment_d, moment_t, variables=variables)
        tables = {name: result.records() for name, result in results.items()}
        what_if = projector.what_if
        found = (
            []
            if since is None
            else changes(projector, SECTION_4_TABLES, moment_d, _utc(since), moment_t).records()
        )
        return ReportData(
            moment_d, moment_t, seal.head_digest, **tables,
            selection=selection,
            framework=Path(framework).name if framework else "",
            framework_keys=tuple(f[0] for f in what_if.functions) if what_if else (),
            since=_utc(since) if since else None,
            changes=found,
        )  # fmt: skip

    def _report_selection(
        self, experiments: Sequence[str], programmes: Sequence[str], as_of: date, known_at: datetime
    ) -> tuple[list[str] | None, tuple[int, int, bool] | None]:
        """The experiments the report details (None: all) and (shown, total, chosen)."""
        from learningloop.report import BY_ACTIVITY

        found = self.sql(BY_ACTIVITY, as_of, known_at)
        rows = [(str(row[0]), str(row[1])) for row in found.rows]
        if experiments or programmes:
            _check_known("experiment", experiments, {row[0] for row in rows}, as_of)
            _check_known("programme", programmes, {row[1] for row in rows}, as_of)
            chosen = sorted(r[0] for r in rows if r[0] in experiments or r[1] in programmes)
            return chosen, (len(chosen), len(rows), True)
        if len(rows) <= REPORT_WHOLE_UP_TO:
            return None, None
        return [r[0] for r in rows[:REPORT_MOST_ACTIVE]], (REPORT_MOST_ACTIVE, len(rows), False)

    # --- moving a log ---------------------------------------------------------------------

    def copy_to(self, target: LearningLoop, progress: ProgressCallback | None = None) -> int:
        """Copy this whole log into an empty store: same streams, versions, recorded_at and
        stored JSON, so every hash chain (and, from an empty store, the digest) is kept."""
        source = self._store.readable_log()
        if target.event_count():
            raise BadInputError(f"store {target.location.describe()} is not empty: copy needs an "
                                "empty target")  # fmt: skip
        return target._store.writable_log().append(copied_pages(source, BATCH_SIZE), progress)

    # --- audit --------------------------------------------------------------------------

    def audit(
        self,
        *,
        verify: str | None = None,
        backfill_days: int = 365,
        as_of: date | None = None,
        progress: ProgressCallback | None = None,
    ) -> AuditReport:
        """Check the log (decoding, versions, chains, rules, seal, digest), the projections
        against a fresh rebuild, and data quality (warnings) as of D (default today).
        `progress` hears of the events walked in the log checks."""
        log = self._store.readable_log()
        report = check_log(log, verify, progress)
        as_of, known_at = as_of or _today(), datetime.now(UTC)
        # The projections are compared on the audited snapshot alone: as known at its last
        # event, log_events up to its head, whatever others record meanwhile.
        snapshot_t = report.head_recorded_at or known_at
        report.findings.extend(
            self._projection_agreement(log, as_of, snapshot_t, report.head_position)
        )
        report.checks_run.append("projections")
        if report.passed():
            quality = self.sql(QUALITY_QUERY, as_of, known_at, parameters=[backfill_days])
            report.findings.extend(quality_findings(quality.records()))
            report.checks_run.extend(QUALITY_CHECKS)
        return report

    def audit_log_only(self, verify: str | None = None) -> AuditReport:
        """The log checks alone (no projections, no data quality): fast, for --digest."""
        return check_log(self._store.readable_log(), verify)

    def _projection_agreement(
        self, log: EventLog, as_of: date, known_at: datetime, head: int
    ) -> list[Finding]:
        from learningloop.projector import ProjectionError, Projector

        tables = ["log_events", *TABLE_ORDER]
        # The rebuild (and what DuckDB spills) goes beside the projections, on the store's
        # disk rather than a /tmp that may be memory.
        beside = self.location.projections_path.parent
        beside.mkdir(parents=True, exist_ok=True)
        try:
            position, live = self._projector().checksums(tables, as_of, known_at, head)
            with tempfile.TemporaryDirectory(prefix=".audit-", dir=beside) as scratch:
                # a live file held behind the log (a read-only holder) compares up to where
                # it stands
                until = position if position < head else None
                fresh = Projector(
                    Path(scratch) / "projections.duckdb", log, self.memory_limit, until=until
                )
                rebuilt = fresh.checksums(tables, as_of, known_at, head)[1]
        except ProjectionError as error:
            return [Finding("projections", "error", str(error))]
        return projection_findings(live, rebuilt)

    def _projector(self, framework: PathLike | None = None) -> Projector:
        from learningloop.projection_reading import WhatIf
        from learningloop.projector import Projector

        log = self._store.readable_log()
        projector = Projector(
            self.location.projections_path, log, self.memory_limit, fresh=self.fresh
        )
        if framework is None:
            return projector
        what_if = self.read_framework(framework)
        projector.what_if = WhatIf(what_if.function_rows(), what_if.mapping_rows())
        return projector

    def read_framework(self, path: PathLike) -> Framework:
        """A what-if framework file, checked against the programmes' function keys."""
        from learningloop.knowledge import read_framework

        found = self.sql("select distinct function from programme_functions")
        known = {str(row[0]) for row in found.rows} or {f.key for f in ev.DEFAULT_FUNCTIONS}
        return read_framework(path, known)

    def event_count(self) -> int:
        """How many events the log holds (from its seal)."""
        log = self._store.log(create=False)
        return 0 if log is None else log.seal().events

    def head_position(self) -> int:
        """The log position of the last event (PostgreSQL positions may skip numbers)."""
        log = self._store.log(create=False)
        return 0 if log is None else log.head_position()

    # --- writing ------------------------------------------------------------------------

    def _write(
        self,
        raw_events: Callable[[], Iterator[RawEvent]],
        progress: ProgressCallback | None,
        on_recorded: Callable[[Recorded], None] | None = None,
    ) -> ImportSummary:
        """Validate and append; on a concurrent write to the same stream, start again."""
        try:
            summary = self._write_attempts(raw_events, progress, on_recorded)
        except BaseException:
            self._store.discard_created()
            raise
        self._store.kept()
        return summary

    def _write_attempts(
        self,
        raw_events: Callable[[], Iterator[RawEvent]],
        progress: ProgressCallback | None,
        on_recorded: Callable[[Recorded], None] | None,
    ) -> ImportSummary:
        for attempt in range(1, WRITE_ATTEMPTS + 1):
            admission = Admission(self._cache, self._clock)
            recorded: Iterator[Recorded] = (
                admission.admit(raw, self.recorded_by) for raw in raw_events()
            )
            if on_recorded is not None:
                recorded = tap(recorded, on_recorded)
            try:
                count = self._append(recorded, progress)
            except ConcurrentWriteError:
                if attempt == WRITE_ATTEMPTS:
                    raise
                time.sleep(random.uniform(0, 0.01 * attempt))  # let the other writer finish
                continue
            admission.commit()
            return ImportSummary(events=count, streams=len(admission.touched))
        raise AssertionError("unreachable")

    def _append(self, recorded: Iterator[Recorded], progress: ProgressCallback | None) -> int:
        buffered = take(recorded, BUFFERED_EVENTS)  # validation errors surface here first
        if not buffered:
            return 0
        pages = batches(chain(buffered, recorded), BATCH_SIZE, progress)
        return self._store.writable_log().append(pages)


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


def _check_known(name: str, given: Sequence[str], known: set[str], as_of: date) -> None:
    missing = [key for key in given if key not in known]
    if missing:
        raise NotFoundError(
            f"--{name}: no {name} {', '.join(map(repr, missing))} with experiments as of {as_of}"
        )


def _indicator_queries() -> dict[str, str]:
    return {name: f"select * from {name} order by {TABLE_ORDER[name]}" for name in INDICATOR_TABLES}


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _today() -> date:
    """Today in UTC, as the projections' current_date."""
    return datetime.now(UTC).date()


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def experiment_summary(view: ExperimentView) -> dict[str, Any]:
    """One row per experiment: status, coverage, reviews, meetings and next milestone."""
    next_milestone = view.next_milestone
    total = len(view.functions)
    meetings = [e for e in view.timeline if e.type == "MeetingHeld"]
    return {
        "experiment": view.experiment,
        "status": view.status,
        "functions_covered": view.functions_covered,
        "functions_total": total,
        "coverage_ratio": ratio(view.functions_covered, total),
        "reviews_complete": sum(1 for review in view.reviews if review.is_complete),
        "reviews_total": len(view.reviews),
        "meetings_held": len(meetings),
        "next_milestone": next_milestone.milestone if next_milestone else None,
        "next_milestone_due_on": next_milestone.due_on if next_milestone else None,
        "next_milestone_status": next_milestone.status if next_milestone else None,
        "facts": basis_counts(entry.basis for entry in view.timeline),
    }


def basis_counts(bases: Iterable[str]) -> str:
    """How many facts rest on each basis, e.g. "2 stated, 6 inferred"."""
    counts: dict[str, int] = dict.fromkeys(BASES, 0)
    for basis in bases:
        counts[basis] += 1
    return ", ".join(f"{n} {basis}" for basis, n in counts.items() if n)


@dataclass(frozen=True)
class DemoRun:
    """What `demo` loaded and what it prints: each experiment's view at the programme's end."""

    views: list[ExperimentView]
    as_of: date
    title: str
    partners_recorded: int
    partners_stated: int | None


DEMO_PROGRAMME = "chaire-2012-2014"


def run_demo(store: str | os.PathLike[str], recorded_by: str | None = None) -> DemoRun:
    """Load the bundled 2012–2014 programme into a fresh store; view it as of its end."""
    from learningloop.demo import demo_path

    with LearningLoop(store, recorded_by=recorded_by or "learningloop-demo") as loop:
        if loop.event_count():
            raise BadInputError(
                f"store {loop.location.describe()} already holds events; demo needs a fresh store"
            )
        loop.import_files([demo_path()])
        programme = loop._cache.events(ev.stream_id("programme", DEMO_PROGRAMME))
        opened = programme[0].event
        assert isinstance(opened, ev.ProgrammeOpened)
        # The programme is over: its indicators are read as of its last day, not today.
        as_of = opened.ends_on or _today()
        joined = {r.event.partner for r in programme if isinstance(r.event, ev.PartnerJoined)}
        views = [view for view in loop.list_views(as_of) if view.is_proposed]
        return DemoRun(views, as_of, opened.title, len(joined), opened.partners_stated)
