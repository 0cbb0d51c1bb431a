"""Indicators after new events: the cached answer of an earlier position, merged with the
experiments touched since, is always the answer computed afresh."""

from __future__ import annotations

import io
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from learningloop import LearningLoop, indicator_delta, indicator_renditions
from learningloop.loop_reading import INDICATOR_TABLES, _indicator_queries
from learningloop.loop_session import TABLE_ORDER
from learningloop.results import RowStream
from tests.conftest import base_events, event
from tests.strategies import programme_histories

PROPERTY = settings(
    max_examples=5, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
DATES = st.dates(date(2011, 6, 1), date(2017, 1, 1))
Answer = dict[str, tuple[list[str], list[tuple[Any, ...]]]]


def fresh(loop: LearningLoop, as_of: date | None = None) -> Answer:
    """The indicators computed without any cache."""
    found = loop._projector().query_many(_indicator_queries(), as_of, None)
    return {name: (result.columns, result.rows) for name, result in found.items()}


def cached(loop: LearningLoop, as_of: date | None = None) -> Answer:
    return {name: (r.columns, r.rows) for name, r in loop.indicators(as_of).items()}


def csv_lines(tables: dict[str, RowStream]) -> bytes:
    """The rows as `indicators --format csv` writes them (one layout for every table)."""
    columns = ["indicator"]
    for table in tables.values():
        columns += [column for column in table.columns if column not in columns]
    out = io.BytesIO()
    for name, table in tables.items():
        table.write_csv(out, layout=columns, constants={"indicator": name})
    return out.getvalue()


def cached_csv(loop: LearningLoop, as_of: date | None = None) -> bytes:
    with loop.indicator_streams(as_of) as tables:
        return csv_lines(tables)


def fresh_csv(loop: LearningLoop, as_of: date | None = None) -> bytes:
    with loop._projector().streams(_indicator_queries(), as_of, None) as tables:
        return csv_lines(tables)


@pytest.fixture
def splices(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The tables whose CSV lines were spliced from an earlier answer's."""
    seen: list[str] = []
    original = indicator_renditions.Renditions.spliced

    Rendition = indicator_renditions.Rendition

    def spy(self: indicator_renditions.Renditions, spec: str, name: str,
            fresh: Rendition) -> Rendition | None:  # fmt: skip
        found = original(self, spec, name, fresh)
        if found is not None:
            seen.append(name)
        return found

    monkeypatch.setattr(indicator_renditions.Renditions, "spliced", spy)
    return seen


@pytest.fixture
def merges(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str | None, ...]]:
    """The experiments computed again by each merge that took place."""
    seen: list[tuple[str | None, ...]] = []
    last: list[indicator_delta.Touched | None] = [None]
    changed, plan = indicator_delta.changed_experiments, indicator_delta.plan

    def changed_spy(*arguments: Any) -> indicator_delta.Touched | None:
        last[0] = changed(*arguments)
        return last[0]

    def plan_spy(*arguments: Any) -> indicator_delta.Merge | None:
        last[0] = None
        merge = plan(*arguments)
        if merge is not None:
            assert last[0] is not None
            seen.append(last[0].experiments)
        return merge

    monkeypatch.setattr(indicator_delta, "changed_experiments", changed_spy)
    monkeypatch.setattr(indicator_delta, "plan", plan_spy)
    return seen


def _renamed(history: list[dict[str, Any]], prefix: str) -> list[dict[str, Any]]:
    """The same history in programme `{prefix}prog`, its experiments `{prefix}<key>`."""
    renamed = []
    for raw in history:
        copy = dict(raw)
        for field in ("programme", "experiment"):
            if field in copy:
                copy[field] = f"{prefix}{copy[field]}"
        renamed.append(copy)
    return renamed


@st.composite
def two_programmes(draw: st.DrawFn) -> list[dict[str, Any]]:
    """Two programmes' histories, interleaved at random (each in its own order)."""
    first = draw(programme_histories(max_events=15))
    second = _renamed(draw(programme_histories(max_events=15)), "b-")
    picks = draw(st.permutations([0] * len(first) + [1] * len(second)))
    queues = [iter(first), iter(second)]
    return [next(queues[pick]) for pick in picks]


@PROPERTY
@given(history=two_programmes(), data=st.data())
def test_a_merged_answer_equals_a_fresh_one_whatever_was_recorded_in_between(
    tmp_path_factory: pytest.TempPathFactory,
    history: list[dict[str, Any]],
    data: st.DataObject,
    merges: list[tuple[str | None, ...]],
    splices: list[str],
) -> None:
    store = tmp_path_factory.mktemp("delta") / "s"
    cuts = sorted(data.draw(st.sets(st.integers(1, len(history)), max_size=4), label="cuts"))
    as_of = data.draw(st.one_of(st.none(), DATES), label="D")
    merges.clear()
    splices.clear()
    with LearningLoop(store, recorded_by="p") as loop:
        for start, end in zip([0, *cuts], [*cuts, len(history)], strict=True):
            if end > start:
                loop.import_events(history[start:end])
                assert cached_csv(loop, as_of) == fresh_csv(loop, as_of)  # merged, spliced
                assert cached(loop, as_of) == fresh(loop, as_of)  # merged again, the same
    merged = len([cut for cut in cuts if cut < len(history)])
    assert len(merges) == 2 * merged  # a merged answer's rows are not written: merged again
    assert len(splices) == merged * len(INDICATOR_TABLES)


def test_only_the_experiments_touched_are_computed_again(
    seeded: LearningLoop, merges: list[tuple[str | None, ...]]
) -> None:
    seeded.import_events([
        {"type": "ExperimentProposed", "experiment": "other", "programme": "prog",
         "title": "Other", "carriers": ["acme"], "scale": "company", "occurred_on": "2012-05-01"},
    ])  # fmt: skip
    cached(seeded)
    seeded.import_events([event("LearningRecorded", "2013-03-01", learning="l1", observation="o")])
    assert cached(seeded) == fresh(seeded)
    assert merges == [("exp",)]
    retraction = {"type": "EventRetracted", "experiment": "exp", "reason": "wrong"}
    seeded.import_events([retraction | {"retracts": 2, "occurred_on": "2013-03-02"}])
    assert cached(seeded) == fresh(seeded)
    assert merges[-1] == ("exp",)


def test_a_programme_event_computes_its_experiments_again(
    loop: LearningLoop, merges: list[tuple[str | None, ...]], splices: list[str]
) -> None:
    functions = [{"key": "people", "label": "People"}]
    loop.import_events([base_events()[0] | {"functions": functions}, *base_events()[1:]])
    seeded = loop
    before = cached(seeded)
    assert cached_csv(seeded) == fresh_csv(seeded)
    seeded.import_events([
        {"type": "EventRetracted", "programme": "prog", "retracts": 1, "reason": "wrong",
         "occurred_on": "2013-01-01"},
    ])  # fmt: skip
    assert cached_csv(seeded) == fresh_csv(seeded)  # merged, its lines spliced
    after = cached(seeded)
    assert after == fresh(seeded) != before  # the five default functions now
    assert merges == [("exp",), ("exp",)]  # the rows merged again: a merge writes no rows
    assert splices == list(INDICATOR_TABLES)


def test_an_answer_at_another_date_is_not_merged(
    seeded: LearningLoop, merges: list[tuple[str | None, ...]]
) -> None:
    cached(seeded, date(2013, 1, 1))
    seeded.import_events([event("LearningRecorded", "2012-06-01", learning="l1", observation="o")])
    assert cached(seeded, date(2014, 1, 1)) == fresh(seeded, date(2014, 1, 1))
    assert merges == []
    assert cached(seeded, date(2013, 1, 1)) == fresh(seeded, date(2013, 1, 1))
    assert merges == [("exp",)]


def test_too_many_experiments_touched_means_computing_everything(
    seeded: LearningLoop, merges: list[tuple[str | None, ...]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(indicator_delta, "MAX_TOUCHED", 0)
    cached(seeded)
    seeded.import_events([event("LearningRecorded", "2013-03-01", learning="l1", observation="o")])
    assert cached(seeded) == fresh(seeded)
    assert merges == []


def test_the_indicator_tables_are_per_experiment_and_read_only_staging() -> None:
    assert set(INDICATOR_TABLES) == indicator_delta.PER_EXPERIMENT
    assert indicator_delta.mergeable(_indicator_queries())
    for name in INDICATOR_TABLES:
        assert TABLE_ORDER[name].split(", ")[0] == "experiment"
    assert not indicator_delta.reads_only_staging(frozenset({"timeline"}))  # log_events
    assert not indicator_delta.mergeable({"programme_summary": "select * from programme_summary"})


def test_the_earlier_answer_is_the_latest_of_the_same_key() -> None:
    def key(position: int, as_of: str = "2014-01-01") -> str:
        return f'{{"as_of": "{as_of}", "position": {position}}}'

    keys = {Path("a"): key(3), Path("b"): key(5), Path("c"): key(9), Path("d"): key(6, "x")}
    found = indicator_delta.earlier(key(7), keys)
    assert found == indicator_delta.Earlier(Path("b"), 5)
    assert indicator_delta.earlier(key(3), keys) is None


def test_experiment_keys_are_quoted_in_the_query_of_the_experiments_touched() -> None:
    touched = indicator_delta.Touched(("it's", None), frozenset({"stg_milestones"}))
    sql = indicator_delta.fresh_query(
        "select * from milestones order by experiment, due_on, milestone", touched
    )
    assert "'it''s'" in sql and "experiment is null" in sql
    assert "stg_milestones as (select * from main.stg_milestones where" in sql


def test_a_query_that_does_not_fit_the_file_means_computing_everything(
    seeded: LearningLoop, merges: list[tuple[str | None, ...]], monkeypatch: pytest.MonkeyPatch
) -> None:
    cached(seeded)
    seeded.import_events([event("LearningRecorded", "2013-03-01", learning="l1", observation="o")])
    monkeypatch.setattr(
        indicator_delta, "fresh_query", lambda *arguments, **options: "select * from nothing"
    )
    assert cached(seeded) == fresh(seeded)
    assert merges == []


@settings(max_examples=50, deadline=None)
@given(
    cells=st.lists(
        st.one_of(
            st.none(),
            st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00")),
        ),
        max_size=30,
    )
)
def test_duckdb_orders_text_in_byte_order_nulls_last(cells: list[str | None]) -> None:
    """What a merge relies on: the cached rows, sorted by DuckDB, are in this order."""
    with duckdb.connect() as con:
        con.execute("create table cells (cell varchar)")
        if cells:
            con.executemany("insert into cells values (?)", [[cell] for cell in cells])
        found = [row[0] for row in con.sql("select cell from cells order by cell").fetchall()]
    assert found == sorted(cells, key=lambda c: (c is None, (c or "").encode()))
    assert indicator_delta.ordered(found)


def test_a_joint_out_of_order_is_refused() -> None:
    base = pa.table({"experiment": ["a", "c", None]})
    fresh = pa.table({"experiment": ["b"]})
    sources = {False: base, True: fresh}
    assert indicator_delta._in_order(sources, [(False, 0, 1), (True, 0, 1), (False, 1, 3)])
    assert not indicator_delta._in_order(sources, [(False, 0, 2), (True, 0, 1), (False, 2, 3)])
    assert not indicator_delta._in_order(sources, [(False, 0, 3), (True, 0, 1)])  # after null
    unsorted = {False: base, True: pa.table({"experiment": ["b", "a"]})}
    assert not indicator_delta._in_order(unsorted, [(False, 0, 1), (True, 0, 2)])
