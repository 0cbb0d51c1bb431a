"""Projection `data_quality`: findings an auditor reads (here: learnings never actioned)."""

from __future__ import annotations

from datetime import date

from learningloop import LearningLoop
from learningloop.domain.values import format_at_precision
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


def test_the_last_record_an_overdue_milestone_names_is_printed_as_python_prints_its_date(
    seeded: LearningLoop,
) -> None:
    """The SQL prints a date at its precision with the suffixes Python's format_at_precision
    gives (the table period_suffixes): one source, the same text at every precision."""
    meetings = {"day": "2013-05-20", "month": "2013-08-20", "quarter": "2013-11-20",
                "semester": "2013-08-20", "year": "2013-05-20"}  # fmt: skip
    events: list[dict[str, object]] = []
    for precision, day in meetings.items():
        key = f"exp-{precision}"
        events += [
            {"type": "ExperimentProposed", "experiment": key, "programme": "prog", "title": key,
             "carriers": ["acme"], "scale": "company", "occurred_on": "2012-03-01"},
            {"type": "MilestonePlanned", "experiment": key, "occurred_on": "2012-03-01",
             "milestone": "m", "title": "M", "due_on": "2014-06-30"},
            {"type": "MeetingHeld", "experiment": key, "occurred_on": day,
             "precision": precision, "kind": "local", "attendees": 3},
        ]  # fmt: skip
    seeded.import_events(events)
    stored = seeded.sql(
        "select experiment, occurred_on, precision from events where type = 'MeetingHeld'"
    ).rows
    found = dict(seeded.sql(
        "select stream, message from data_quality where \"check\" = 'milestone_overdue'",
        as_of=date(2015, 1, 1),
    ).rows)  # fmt: skip
    assert {row[2] for row in stored} == set(meetings)
    for experiment, occurred_on, precision in stored:
        printed = format_at_precision(occurred_on, precision)
        assert found[f"experiment:{experiment}"].endswith(
            f"(no record of the experiment since {printed})"
        ), precision
