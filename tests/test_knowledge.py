"""`changes` (CONTRACT 6.5) and what-if frameworks (6.9) through the Python API."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from learningloop import LearningLoop
from learningloop.errors import BadInputError
from learningloop.knowledge import SECTION_4_TABLES, change_digest
from tests.conftest import event, recorded_times
from tests.strategies import programme_histories


def canonical(row: dict[str, Any]) -> str:
    return json.dumps(row, sort_keys=True, default=str)


def table_at(loop: LearningLoop, table: str, as_of: date, known_at: datetime) -> set[str]:
    return {canonical(row) for row in loop.sql(f"select * from {table}", as_of, known_at).records()}


def two_moments_and_a_day(
    loop: LearningLoop, data: st.DataObject
) -> tuple[datetime, datetime, date]:
    """T1 <= T2 drawn among the experiments' recording times, and a D."""
    stamps = sorted({r.timestamp for key in loop.list_experiments()
                     for r in loop._store.stream(f"experiment:{key}")})  # fmt: skip
    t1, t2 = sorted(data.draw(st.lists(st.sampled_from(stamps), min_size=2, max_size=2)))
    return t1, t2, data.draw(st.dates(date(2010, 6, 1), date(2018, 1, 1)))


@settings(max_examples=15, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip
@given(raws=programme_histories(max_events=25), data=st.data())
def test_changes_are_the_set_difference_of_two_moments_table_by_table(
    tmp_path_factory: pytest.TempPathFactory, raws: list[dict[str, Any]], data: st.DataObject
) -> None:
    with LearningLoop(tmp_path_factory.mktemp("changes") / "s", recorded_by="p") as loop:
        loop.import_events(raws)
        t1, t2, as_of = two_moments_and_a_day(loop, data)
        found = loop.changes(t1, t2, as_of).rows
        query = ("select stream, position from log_events where recorded_at > ? "
                 "and recorded_at <= ? order by position")  # fmt: skip
        between = loop.sql(query, parameters=[t1, t2]).rows
        for table in SECTION_4_TABLES:
            before, after = table_at(loop, table, as_of, t1), table_at(loop, table, as_of, t2)
            rows = [r for r in found if r[0] == table]
            assert {canonical(r[2]) for r in rows if r[1] == "removed"} == before - after, table
            assert {canonical(r[2]) for r in rows if r[1] == "added"} == after - before, table
            for _, _, row, caused_by in rows:
                stream = (f"experiment:{row['experiment']}" if row.get("experiment")
                          else f"programme:{row.get('programme')}")  # fmt: skip
                assert caused_by == [position for s, position in between if s == stream]


@settings(max_examples=15, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip
@given(raws=programme_histories(max_events=25), data=st.data())
def test_the_change_digest_counts_and_cuts_what_changes_finds(
    tmp_path_factory: pytest.TempPathFactory, raws: list[dict[str, Any]], data: st.DataObject
) -> None:
    with LearningLoop(tmp_path_factory.mktemp("digest") / "s", recorded_by="p") as loop:
        loop.import_events(raws)
        t1, t2, as_of = two_moments_and_a_day(loop, data)
        listed = data.draw(st.integers(1, 4))
        found = loop.changes(t1, t2, as_of).records()
        digest = change_digest(loop._projector(), as_of, t1, t2, listed)
    # what the report listed when it grouped every row of `changes` in Python
    recorded = sorted((c["row"] for c in found if c["table"] == "events" and c["change"] == "added"
                       and c["row"]["recorded_at"] > t1), key=lambda e: e["position"])  # fmt: skip
    first_day = t1.astimezone(UTC).date()
    kinds = {
        "retractions": [e for e in recorded if e["type"] == "EventRetracted"],
        "backdated": [e for e in recorded
                      if e["type"] != "EventRetracted" and e["occurred_on"] < first_day],
        "new_facts": [e for e in recorded
                      if e["type"] != "EventRetracted" and e["occurred_on"] >= first_day],
    }  # fmt: skip
    shown = ("position", "type", "experiment", "programme", "occurred_on", "precision")
    for kind, rows in kinds.items():
        cut, count = digest.recorded.get(kind, ([], 0))
        assert count == len(rows), kind
        assert [{k: r[k] for k in shown} for r in cut] == [
            {k: r[k] for k in shown} for r in rows[:listed]
        ], kind
    moved = sorted({(c["table"], c["row"].get("experiment") or c["row"].get("programme") or "")
                    for c in found if c["table"] not in ("events", "timeline")})  # fmt: skip
    assert digest.moved == (moved[:listed], len(moved))


def test_a_back_dated_correction_shows_as_removed_and_added(seeded: LearningLoop) -> None:
    seeded.import_events([
        event("DecisionRecorded", "2013-03-01", decision="d1", kind="retain", summary="Go"),
    ])  # fmt: skip
    t1 = recorded_times(seeded)[-1]
    seeded.record(event("DecisionRecorded", "2013-02-01", decision="d0", kind="pause",
                        summary="Wait"))  # fmt: skip
    found = seeded.changes(t1, None, date(2014, 1, 1), "decisions").rows
    assert [(change, row["decision"], row["occurred_on"], caused)
            for _, change, row, caused in found] == [
        ("added", "d0", date(2013, 2, 1), [6]),
    ]  # fmt: skip
    assert seeded.changes(t1, None, date(2013, 1, 31), "decisions").rows == []


def test_a_framework_maps_evidence_onto_new_functions(seeded: LearningLoop, tmp_path: Path) -> None:
    seeded.import_events([
        event("FunctionEvidenced", "2013-03-01", function="training", evidence="T", strength=2),
        event("FunctionEvidenced", "2013-03-02", function="employer", evidence="E"),
        event("FunctionAssessed", "2013-03-03", function="support", result="absent"),
    ])  # fmt: skip
    framework = tmp_path / "f.json"
    framework.write_text(json.dumps([
        {"key": "people", "label": "People", "from": ["training", "support"]},
        {"key": "jobs", "label": "Jobs", "from": ["employer", "training"]},
        {"key": "place", "label": "Place", "from": ["local_development"]},
    ]))  # fmt: skip
    rows = seeded.sql(
        "select function, label, evidence_count, max_strength, status "
        "from function_coverage order by ordinal",
        framework=framework,
    ).rows
    assert rows == [
        ("people", "People", 1, 2, "covered"),
        ("jobs", "Jobs", 2, 2, "covered"),
        ("place", "Place", 0, None, "not_assessed"),
    ]
    assert seeded.indicators(framework=framework)["experiment_coverage"].rows == [
        ("exp", 2, 3, 0.667, 2)
    ]
    assert seeded.sql("select count(*) from function_coverage").rows == [(5,)]


@pytest.mark.parametrize(
    ("document", "words"),
    [
        ('[{"key": "a", "label": "A", "from": []}]', "from"),
        ('[{"key": "a", "label": "A", "from": ["training"], "colour": 1}]', "colour"),
        ('[{"key": "a", "label": "A", "from": ["training"]}, '
         '{"key": "a", "label": "B", "from": ["support"]}]', "appears twice"),
        ("[]", "at least one function"),
    ],
)  # fmt: skip
def test_a_bad_framework_is_bad_input_naming_the_item(
    seeded: LearningLoop, tmp_path: Path, document: str, words: str
) -> None:
    framework = tmp_path / "f.json"
    framework.write_text(document)
    with pytest.raises(BadInputError, match=words):
        seeded.sql("select 1", framework=framework)


@given(count=st.integers(1, 30))
def test_a_key_shared_by_many_experiments_names_a_few_and_counts_them(count: int) -> None:
    from learningloop.knowledge import NAMED_AT_MOST, experiments_named

    names = [f"nexp-{n:06d}" for n in range(count)]
    text = experiments_named(names)
    assert text.count("nexp-") == min(count, NAMED_AT_MOST)
    assert (f"{count:,} experiments" in text) == (count > NAMED_AT_MOST)
    assert text.startswith("nexp-000000" if count <= NAMED_AT_MOST else f"{count} experiments")
