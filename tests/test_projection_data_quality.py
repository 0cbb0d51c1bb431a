"""Projection `data_quality`: findings an auditor reads (here: learnings never actioned)."""

from __future__ import annotations

from learningloop import LearningLoop
from tests.conftest import event


def never_actioned(loop: LearningLoop) -> list[tuple[object, ...]]:
    found = loop.sql(
        "select version, message from data_quality "
        "where \"check\" = 'learning_never_actioned' order by version",
        as_of=None,
    )
    return [tuple(row) for row in found.rows]


def test_a_restated_learning_is_one_finding_dated_by_its_first_recording(
    seeded: LearningLoop,
) -> None:
    seeded.import_events([
        event("LearningRecorded", "2013-02-01", learning="l1", observation="first"),
        event("LearningRecorded", "2013-05-01", learning="l1", observation="restated"),
    ])  # fmt: skip
    assert never_actioned(seeded) == [(2, "learning l1 is cited by no later decision")]


def test_a_learning_cited_after_its_first_recording_is_actioned(seeded: LearningLoop) -> None:
    seeded.import_events([
        event("LearningRecorded", "2013-02-01", learning="l1", observation="first"),
        event("DecisionRecorded", "2013-03-01", decision="d1", kind="adapt", summary="s",
              evidence=["l1"]),
        event("LearningRecorded", "2013-05-01", learning="l1", observation="restated"),
        event("LearningRecorded", "2013-06-01", learning="l2", observation="other"),
    ])  # fmt: skip
    assert never_actioned(seeded) == [(5, "learning l2 is cited by no later decision")]
