"""The projector: SQL agrees with the Python reference; incremental equals rebuild; read-only."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from unittest import mock

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from learningloop import LearningLoop, projector, sqlfiles
from learningloop.application import TABLE_ORDER
from learningloop.domain.indicators import ratio
from learningloop.domain.replay import ExperimentView, counted_events
from learningloop.errors import BadInputError, QueryTimeoutError
from learningloop.projector import load_sql_files
from tests.conftest import base_events, event, read_tables
from tests.reference import partner_views
from tests.strategies import programme_histories

FAR = datetime(2100, 1, 1, tzinfo=UTC)
PROPERTY = settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def reference_rows(
    loop: LearningLoop, as_of: date, known_at: datetime
) -> dict[str, list[tuple[Any, ...]]]:
    queries = {
        table: f"select {', '.join(columns)} from {table}"
        for table, columns in REFERENCE_COLUMNS.items()
    }
    tables = read_tables(loop, queries, as_of, known_at)
    return {table: sorted(rows, key=repr) for table, rows in tables.items()}


REFERENCE_COLUMNS = {
    "experiments": ["experiment", "programme", "title", "scale", "territory", "carriers",
                    "status"],
    "timeline": ["experiment", "version", "occurred_on", "recorded_at", "type", "summary",
                 "cycle", "occurred_until", "is_certain", "basis"],
    "function_coverage": ["experiment", "function", "label", "evidence_count", "max_strength",
                          "first_evidenced_on", "last_evidenced_on", "is_covered", "status"],
    "experiment_coverage": ["experiment", "functions_covered", "functions_total",
                            "coverage_ratio", "functions_assessed"],
    "commitment_cadence": ["experiment", "commitment", "period", "period_start", "period_end",
                           "meetings_held", "expected_min", "expected_max", "status"],
    "review_completion": ["experiment", "review", "sessions_held", "sessions_planned",
                          "is_complete"],
    "milestones": ["experiment", "milestone", "title", "due_on", "reached_on", "status",
                   "days_late"],
    "decisions": ["experiment", "decision", "kind", "occurred_on", "evidence_count",
                  "cites_learning"],
    "learning_loops": ["experiment", "cycles", "learnings", "learnings_actioned", "open_loops",
                       "median_days_to_action"],
    "partners": ["programme", "partner", "name", "kind", "joined_on", "left_on", "is_active"],
}  # fmt: skip


def expected_rows(view: ExperimentView) -> dict[str, list[tuple[Any, ...]]]:
    """What each projection must hold for one experiment, from the pure replay."""
    key = view.experiment
    expected: dict[str, list[tuple[Any, ...]]] = {
        "timeline": [(key, e.version, e.occurred_on, e.recorded_at, e.type, e.summary, e.cycle,
                      e.occurred_until, e.is_certain, e.basis)
                     for e in view.timeline],
        "commitment_cadence": [(key, p.commitment, p.period, p.period_start, p.period_end,
                                p.meetings_held, p.expected_min, p.expected_max, p.status)
                               for p in view.commitments],
        "review_completion": [(key, r.review, r.sessions_held, r.sessions_planned, r.is_complete)
                              for r in view.reviews],
        "milestones": [(key, m.milestone, m.title, m.due_on, m.reached_on, m.status, m.days_late)
                       for m in view.milestones],
        "decisions": [(key, d.decision, d.kind, d.occurred_on, d.evidence_count, d.cites_learning)
                      for d in view.decisions],
    }  # fmt: skip
    if not view.is_proposed:
        return expected
    total = len(view.functions)
    actioned = [lr for lr in view.learnings if lr.actioned_on is not None]
    return expected | {
        "experiments": [(key, view.programme, view.title, view.scale, view.territory,
                         list(view.carriers), view.status)],
        "function_coverage": [(key, f.function, f.label, f.evidence_count, f.max_strength,
                               f.first_evidenced_on, f.last_evidenced_on, f.is_covered,
                               f.status)
                              for f in view.functions],
        "experiment_coverage": [(key, view.functions_covered, total,
                                 ratio(view.functions_covered, total),
                                 sum(f.status != "not_assessed" for f in view.functions))],
        "learning_loops": [(key, view.cycles, len(view.learnings), len(actioned),
                            len(view.learnings) - len(actioned), view.median_days_to_action)],
    }  # fmt: skip


@PROPERTY
@given(raws=programme_histories(max_events=40), data=st.data())
def test_every_projection_agrees_with_the_python_replay_at_any_d_and_t(
    tmp_path_factory: pytest.TempPathFactory, raws: list[dict[str, Any]], data: st.DataObject
) -> None:
    with LearningLoop(tmp_path_factory.mktemp("ref") / "s", recorded_by="p") as loop:
        loop.import_events(raws)
        programme = loop._store.stream("programme:prog")
        streams = {key: loop._store.stream(f"experiment:{key}") for key in loop.list_experiments()}
        stamps = sorted(r.recorded_at for events in streams.values() for r in events)
        known_at = data.draw(st.sampled_from([*stamps, FAR]))
        as_of = data.draw(st.dates(date(2010, 6, 1), date(2018, 1, 1)))
        expected: dict[str, list[tuple[Any, ...]]] = {table: [] for table in REFERENCE_COLUMNS}
        for key in streams:
            for table, table_rows in expected_rows(loop.replay(key, as_of, known_at)).items():
                expected[table].extend(table_rows)
        expected["partners"] = [
            (p.programme, p.partner, p.name, p.kind, p.joined_on, p.left_on, p.is_active)
            for p in partner_views(counted_events(programme, as_of, known_at))
        ]
        actual = reference_rows(loop, as_of, known_at)
        for table, table_rows in expected.items():
            assert actual[table] == sorted(table_rows, key=repr), table


@settings(PROPERTY, max_examples=12)
@given(raws=programme_histories(max_events=30), data=st.data())
def test_catching_up_in_any_batches_equals_one_full_rebuild(
    tmp_path_factory: pytest.TempPathFactory, raws: list[dict[str, Any]], data: st.DataObject
) -> None:
    cuts = sorted(data.draw(st.lists(st.integers(1, len(raws)), max_size=4)))
    page_size = data.draw(st.integers(2, 25))  # every DuckDB commit syncs: keep pages few
    with (
        LearningLoop(tmp_path_factory.mktemp("inc") / "s", recorded_by="p") as loop,
        mock.patch.object(projector, "PAGE_SIZE", page_size),
    ):
        for start, stop in zip([0, *cuts], [*cuts, len(raws)], strict=True):
            if start < stop:
                loop.import_events(raws[start:stop])
                loop.project()
        incremental = snapshot(loop)
        assert loop.project() == 0  # catching up twice changes nothing
        assert snapshot(loop) == incremental
        loop.project(rebuild=True)
        assert snapshot(loop) == incremental


def snapshot(loop: LearningLoop) -> dict[str, list[tuple[Any, ...]]]:
    """Every table at a fixed (D, T), rows in a stable order."""
    staging = [f.name for f in load_sql_files() if f.name.startswith(sqlfiles.STAGING_PREFIX)]
    queries = {name: f"select * from {name} order by all" for name in [*TABLE_ORDER, *staging]}
    queries["log_events"] = "select * exclude (payload) from log_events order by all"
    return read_tables(loop, queries, date(2030, 1, 1), FAR)


def test_sql_files_are_ordered_after_what_they_read() -> None:
    names = [sql_file.name for sql_file in load_sql_files()]
    for sql_file in load_sql_files():
        for dependency in sql_file.reads:
            assert names.index(dependency) < names.index(sql_file.name)
    assert set(TABLE_ORDER) <= set(names)


@pytest.mark.parametrize(
    "statement",
    [
        "delete from log_events",
        "insert into projection_tracking values (0)",
        "drop view events",
        "create table x as select 1",
        "copy events to '/tmp/leak.csv'",
        "attach '/tmp/other.duckdb'",
        "select 1; delete from log_events",
        "explain analyze delete from log_events",
        "explain analyze update projection_tracking set position = 999999",
        "explain analyze create or replace view experiments as select 'forged' as experiment",
        "EXPLAIN ANALYSE insert into log_events select * from log_events",
        "/* c */ explain (format json) delete from log_events",
        "-- c\n explain analyze drop table log_events",
    ],
)
def test_sql_refuses_any_statement_that_could_change_something(
    seeded: LearningLoop, statement: str
) -> None:
    seeded.project()
    with pytest.raises(BadInputError):
        seeded.sql(statement)
    assert seeded.sql("select count(*) from log_events").rows == [(4,)]


@pytest.mark.parametrize(
    "statement", ["explain select * from events", "explain analyze select * from experiments"]
)
def test_explaining_a_select_is_allowed(seeded: LearningLoop, statement: str) -> None:
    assert seeded.sql(statement).rows


def test_nothing_an_analyst_did_survives_a_rebuild(seeded: LearningLoop) -> None:
    seeded.project()
    database = str(seeded.location.projections_path)
    con = duckdb.connect(database)
    con.execute("create or replace view experiments as select 'forged' as experiment")
    con.execute("update projection_tracking set position = 999999")
    con.execute("create table mine as select 1 as x")
    con.execute("create schema theirs")
    con.execute("create macro forged_macro() as 1")
    con.close()
    assert seeded.sql("select experiment from experiments").rows == [("forged",)]
    seeded.project(rebuild=True)
    assert seeded.sql("select experiment from experiments").rows == [("exp",)]
    assert seeded.sql("select position from projection_tracking").rows == [(4,)]
    con = duckdb.connect(database, read_only=True)
    names = {row[0] for row in con.execute("select table_name from duckdb_tables()").fetchall()}
    schemas = {row[0] for row in con.execute("select schema_name from duckdb_schemas()").fetchall()}
    macros = con.execute(
        "select count(*) from duckdb_functions() where function_name = 'forged_macro'"
    ).fetchall()
    con.close()
    assert "mine" not in names and "theirs" not in schemas and macros == [(0,)]


def test_a_query_past_its_timeout_is_stopped_and_changes_nothing(seeded: LearningLoop) -> None:
    seeded.project()
    runaway = "select sum(a.range * b.range) from range(1000000000) a, range(1000) b"
    started = time.monotonic()
    with pytest.raises(QueryTimeoutError, match=r"stopped after 0\.3 s"):
        seeded.sql(runaway, timeout=0.3)
    assert time.monotonic() - started < 10
    assert seeded.sql("select count(*) from log_events", timeout=30).rows == [(4,)]


def test_a_select_cannot_read_or_write_files_either(seeded: LearningLoop, tmp_path: Path) -> None:
    (tmp_path / "secret.csv").write_text("a\n1\n")
    with pytest.raises(BadInputError, match="SQL error"):
        seeded.sql(f"select * from read_csv('{tmp_path / 'secret.csv'}')")


def test_a_bad_query_is_bad_input_naming_the_problem(seeded: LearningLoop) -> None:
    with pytest.raises(BadInputError, match=r"SQL error: .*no_such_table"):
        seeded.sql("select * from no_such_table")


def test_a_changed_sql_file_is_replaced_on_next_use_and_its_version_is_queryable(
    seeded: LearningLoop, monkeypatch: pytest.MonkeyPatch
) -> None:
    seeded.project()
    before = dict(seeded.sql("select projection, version from projection_versions").rows)
    files = load_sql_files()
    changed = [
        f if f.name != "experiments" else projector.SqlFile(f.name, f.sql + "\n-- v2\n", f.reads)
        for f in files
    ]
    monkeypatch.setattr(projector, "load_sql_files", lambda: changed)
    after = dict(seeded.sql("select projection, version from projection_versions").rows)
    assert after["experiments"] != before["experiments"]
    assert after["log_events"] == before["log_events"]


def test_a_changed_mapping_rebuilds_log_events(
    seeded: LearningLoop, monkeypatch: pytest.MonkeyPatch
) -> None:
    seeded.project()
    monkeypatch.setattr(sqlfiles, "MAPPING_VERSION", "test-2")
    rebuilt = seeded.project()
    assert rebuilt == len(base_events())
    assert seeded.sql("select count(*) from log_events").rows == [(4,)]


@settings(PROPERTY, max_examples=10)
@given(raws=programme_histories(max_events=30), data=st.data())
def test_indicators_computed_together_equal_each_table_alone(
    tmp_path_factory: pytest.TempPathFactory, raws: list[dict[str, Any]], data: st.DataObject
) -> None:
    with LearningLoop(tmp_path_factory.mktemp("ind") / "s", recorded_by="p") as loop:
        loop.import_events(raws)
        as_of = data.draw(st.dates(date(2010, 6, 1), date(2018, 1, 1)))
        together = loop.indicators(as_of, FAR)
        for name, result in together.items():
            alone = loop.table(name, as_of, FAR)
            assert (result.columns, result.rows) == (alone.columns, alone.rows), name


def test_the_sql_reads_the_domain_constants_from_tables_made_from_python(
    seeded: LearningLoop, monkeypatch: pytest.MonkeyPatch
) -> None:
    from learningloop.domain.events import DEFAULT_FUNCTIONS
    from learningloop.domain.replay import STATUS_BY_DECISION

    functions = seeded.sql(
        "select function, label, label_fr from default_functions order by ordinal"
    )
    assert functions.rows == [(f.key, f.label, f.label_fr) for f in DEFAULT_FUNCTIONS]
    statuses = seeded.sql("select kind, status from decision_statuses")
    assert dict(statuses.rows) == STATUS_BY_DECISION
    # A changed constant reaches the SQL on the next use, with no SQL file changed.
    changed = dict(projector.CONSTANT_TABLES)
    changed["decision_statuses"] = ("kind varchar, status varchar", [("retain", "kept")])
    monkeypatch.setattr(projector, "CONSTANT_TABLES", changed)
    monkeypatch.setattr(projector, "CONSTANTS_VERSION", "changed")
    seeded.record(event("DecisionRecorded", "2013-03-01", decision="d9", kind="retain",
                        summary="Keep") | {"experiment": "exp"})  # fmt: skip
    assert seeded.sql("select status from experiments").rows == [("kept",)]
