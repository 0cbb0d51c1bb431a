"""Projections `function_coverage` and `experiment_coverage`: every function, covered or not."""

from __future__ import annotations

from datetime import date

import pytest

from learningloop import LearningLoop
from learningloop.errors import BadInputError
from tests.conftest import base_events, event, rows_of


def evidence(function: str, day: str, strength: int | None = None) -> dict[str, object]:
    extra = {} if strength is None else {"strength": strength}
    return event("FunctionEvidenced", day, function=function, evidence="seen", **extra)


def test_every_function_has_a_row_and_missing_strength_is_one(seeded: LearningLoop) -> None:
    seeded.import_events([
        evidence("employer", "2013-05-01"),
        evidence("employer", "2013-02-01", strength=3),
        evidence("training", "2013-03-01"),
    ])  # fmt: skip
    rows = seeded.sql("select function, label, evidence_count, max_strength, first_evidenced_on, "
                      "last_evidenced_on, is_covered from function_coverage "
                      "order by ordinal").rows  # fmt: skip
    assert rows == [
        ("training", "training", 1, 1, date(2013, 3, 1), date(2013, 3, 1), True),
        ("support", "social and professional support", 0, None, None, None, False),
        ("production", "production", 0, None, None, None, False),
        ("local_development", "local and partnership development", 0, None, None, None, False),
        ("employer", "employer function", 2, 3, date(2013, 2, 1), date(2013, 5, 1), True),
    ]
    assert rows_of(seeded, "experiment_coverage", "*") == [("exp", 2, 5, 0.4, 2)]
    assert rows_of(seeded, "experiment_coverage", "*", as_of=date(2013, 2, 15)) == [
        ("exp", 1, 5, 0.2, 1)
    ]


def test_a_custom_framework_and_a_ratio_to_three_decimals(loop: LearningLoop) -> None:
    functions = [{"key": "listening", "label": "Listening"}, {"key": "acting", "label": "Acting"},
                 {"key": "sharing", "label": "Sharing"}]  # fmt: skip
    opened = base_events()[0] | {"functions": functions}
    loop.import_events([opened, *base_events()[1:], evidence("acting", "2013-02-01"),
                        evidence("sharing", "2013-02-01")])  # fmt: skip
    assert rows_of(loop, "function_coverage", "function, evidence_count") == [
        ("acting", 1), ("listening", 0), ("sharing", 1),
    ]  # fmt: skip
    assert rows_of(loop, "experiment_coverage", "*") == [("exp", 2, 3, 0.667, 2)]


def test_no_experiment_no_coverage_rows(seeded: LearningLoop) -> None:
    assert rows_of(seeded, "function_coverage", "*", as_of=date(2013, 1, 1)) == []
    assert rows_of(seeded, "experiment_coverage", "*", as_of=date(2013, 1, 1)) == []


def assessed(function: str, day: str, result: str, **more: object) -> dict[str, object]:
    return event("FunctionAssessed", day, function=function, result=result, **more)


def test_status_tells_covered_absent_not_applicable_and_never_assessed(
    seeded: LearningLoop,
) -> None:
    seeded.import_events([
        assessed("training", "2013-06-01", "absent"),
        evidence("training", "2013-09-01"),  # evidence wins over an earlier assessment
        assessed("support", "2013-04-01", "not_applicable"),
        assessed("support", "2013-03-01", "absent", note="recorded later, dated earlier"),
        assessed("employer", "2013-03-01", "absent"),
        evidence("employer", "2013-02-01"),  # ... and over a later one
    ])  # fmt: skip
    query = "select function, is_covered, status from function_coverage order by ordinal"
    assert seeded.sql(query).rows == [
        ("training", True, "covered"),
        ("support", False, "not_applicable"),  # the latest by occurred_on, not by recording
        ("production", False, "not_assessed"),
        ("local_development", False, "not_assessed"),
        ("employer", True, "covered"),
    ]
    assert rows_of(seeded, "experiment_coverage", "*") == [("exp", 2, 5, 0.4, 3)]
    assert seeded.sql(query, date(2013, 6, 15)).rows[0] == ("training", False, "absent")
    assert rows_of(seeded, "experiment_coverage", "*", as_of=date(2013, 1, 31)) == [
        ("exp", 0, 5, 0.0, 0)
    ]


def test_an_assessment_of_an_unknown_function_is_refused(seeded: LearningLoop) -> None:
    with pytest.raises(BadInputError, match="function"):
        seeded.record(assessed("dancing", "2013-06-01", "absent"))
    with pytest.raises(BadInputError, match="result"):
        seeded.record(assessed("training", "2013-06-01", "covered"))
