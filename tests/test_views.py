"""How a replay is printed: its JSON is the text json.dumps writes for the whole document."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from learningloop.cli.rendering import dumps
from learningloop.cli.views import coverage_matrix, replay_document, replay_json
from tests.test_replay import decision, experiment, learning, retraction, view

WORDS = {"type": "LearningRecorded", "experiment": "exp", "learning": "l9",
         "observation": 'Partenaires réunis\n"souvent"\t\u2028', "occurred_on": "2013-03-01",
         "precision": "month"}  # fmt: skip


@pytest.mark.parametrize(
    ("raws", "as_of"),
    [
        ([], date(2030, 1, 1)),  # the proposal alone
        ([], date(2012, 1, 1)),  # not proposed yet: an empty timeline
        ([learning("l1", "2013-02-01"), decision("d1", "adapt", "2013-03-01", evidence=["l1"]),
          WORDS, learning("l2", "2013-04-01"), retraction(2)], date(2030, 1, 1)),
        ([WORDS, decision("d1", "retain", "2013-05-01")], date(2013, 3, 15)),
    ],
)  # fmt: skip
def test_a_replay_as_json_is_the_document_as_dumps_writes_it(
    raws: list[dict[str, Any]], as_of: date
) -> None:
    document = replay_document(view(experiment(*raws), as_of=as_of))
    assert replay_json(document) == dumps(document)


def test_the_coverage_matrix_counts_functions_of_any_key() -> None:
    # A function may be keyed `n` or `a`: the counts were kept under those keys (TypeError)
    rows = [
        {"experiment": "x", "function": key, "evidence_count": count, "is_covered": bool(count),
         "status": "covered" if count else "not_assessed"}
        for key, count in [("n", 2), ("a", 0), ("training", 1)]
    ]  # fmt: skip
    matrix, functions = coverage_matrix(rows)
    assert functions == ["n", "a", "training"]
    assert matrix == [{"experiment": "x", "n": 2, "a": "·", "training": 1,
                       "covered": "2/3 (2 assessed)"}]  # fmt: skip


def test_a_function_keyed_like_a_matrix_column_has_a_column_of_its_own() -> None:
    rows = [
        {"experiment": "x", "function": key, "evidence_count": count, "is_covered": bool(count),
         "status": "covered" if count else "absent"}
        for key, count in [("experiment", 3), ("covered", 0)]
    ]  # fmt: skip
    matrix, functions = coverage_matrix(rows)
    assert functions == ["experiment (function)", "covered (function)"]
    assert matrix == [{"experiment": "x", "experiment (function)": 3,
                       "covered (function)": "absent", "covered": "1/2 (2 assessed)"}]  # fmt: skip
