"""Projection `data_quality`: findings an auditor reads (here: learnings never actioned)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from learningloop import LearningLoop
from learningloop.domain.values import format_at_precision
from tests.conftest import event
from tests.strategies import programme_histories


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


# Each check's last event, as first written: over every counted event.
_LAST_EVENT_OF = """
    with last_event_of as (
        select experiment, type, subject, max(version) as version, max(position) as position
        from counted_events where experiment is not null group by all
    )
"""

# The checks as first written, straight from their definitions (every decision's evidence
# searched, the experiments view, every counted event): the view's faster forms (staging
# rows) must give exactly these rows at any (D, T).
DEFINITIONS = {
    "review_sessions_missing": f"""{_LAST_EVENT_OF}
        select 'experiment:' || r.experiment, e.version, e.position,
            concat('review ', r.review, ': ', r.sessions_held, ' of ', r.sessions_planned,
                ' sessions held')
        from review_completion as r join last_event_of as e
            on e.experiment = r.experiment and e.type = 'ReviewSessionHeld'
            and e.subject = r.review
        where not r.is_complete
    """,
    "commitment_below_cadence": f"""{_LAST_EVENT_OF}
        select 'experiment:' || c.experiment, e.version, e.position,
            concat('commitment ', c.commitment, ', period ', c.period, ' (', c.period_start,
                ' to ', c.period_end, '): ',
                case c.meetings_held when 0 then 'no meeting recorded'
                    when 1 then '1 meeting recorded'
                    else c.meetings_held || ' meetings recorded'
                end, ', at least ', c.expected_min, ' expected')
        from commitment_cadence as c join last_event_of as e
            on e.experiment = c.experiment and e.type = 'CommitmentMade'
            and e.subject = c.commitment
        where c.status = 'below'
    """,
    "milestone_overdue": f"""{_LAST_EVENT_OF}, latest_of as (
            select experiment, max(occurred_on) as occurred_on
            from counted_events where experiment is not null group by experiment
        )
        select 'experiment:' || m.experiment, e.version, e.position,
            concat('milestone ', m.milestone, ' was due on ', m.due_on, ': ', m.days_late,
                ' days late')
        from milestones as m join last_event_of as e
            on e.experiment = m.experiment and e.type = 'MilestonePlanned'
            and e.subject = m.milestone
        join latest_of as latest on latest.experiment = m.experiment
        where m.status = 'overdue'
    """,
    "decision_without_evidence": """
        select stream, version, position,
            concat('decision ', subject, ' (', kind, ') cites no learning or review')
        from counted_events
        where type = 'DecisionRecorded' and len(coalesce(evidence_keys, [])) = 0
    """,
    "learning_never_actioned": """
        with first_learnings as (
            select * from counted_events where type = 'LearningRecorded'
            qualify row_number() over (
                partition by experiment, subject order by occurred_on, version) = 1
        )
        select learning.stream, learning.version, learning.position,
            concat('learning ', learning.subject, ' is cited by no later decision')
        from first_learnings as learning
        where not exists (
            select 1 from counted_events as decision
            where decision.type = 'DecisionRecorded'
                and decision.experiment = learning.experiment
                and decision.occurred_on >= learning.occurred_on
                and list_contains(decision.evidence_keys, learning.subject))
    """,
    "date_out_of_programme_range": """
        with programme_ranges as (
            select programme, (payload ->> '$.starts_on')::date as starts_on,
                (payload ->> '$.ends_on')::date as ends_on
            from counted_events where type = 'ProgrammeOpened'
        )
        select e.stream, e.version, e.position,
            concat(e.type, ' occurred on ', e.occurred_on, ', outside programme ', r.programme,
                ' (', coalesce(r.starts_on::varchar, '…'), ' to ',
                coalesce(r.ends_on::varchar, '…'), ')')
        from counted_events as e
        left join experiments as x on x.experiment = e.experiment
        join programme_ranges as r on r.programme = coalesce(e.programme, x.programme)
        where e.occurred_on < r.starts_on or e.occurred_on > r.ends_on
    """,
    "decision_on_revised_evidence": """
        select decision.stream, decision.version, decision.position,
            concat('decision ', r.decision, ' stands on ', r.evidence, ', ', r.revision, ' on ',
                timezone('UTC', r.revised_at)::date, ', after the decision was recorded')
        from decision_revisions as r
        join counted_events as decision
            on decision.type = 'DecisionRecorded' and decision.experiment = r.experiment
            and decision.subject = r.decision
    """,
}


@settings(max_examples=15, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip
@given(raws=programme_histories(max_events=30), data=st.data())
def test_the_checks_give_the_rows_of_their_definitions_at_any_d_and_t(
    tmp_path_factory: pytest.TempPathFactory, raws: list[dict[str, Any]], data: st.DataObject
) -> None:
    with LearningLoop(tmp_path_factory.mktemp("dq") / "s", recorded_by="p") as loop:
        loop.import_events(raws)
        stamps = sorted(r.timestamp for key in loop.list_experiments()
                        for r in loop._store.stream(f"experiment:{key}"))  # fmt: skip
        known_at = data.draw(st.sampled_from([*stamps, datetime(2100, 1, 1, tzinfo=UTC)]))
        as_of = data.draw(st.dates(date(2010, 6, 1), date(2019, 1, 1)))
        for check, definition in DEFINITIONS.items():
            # an overdue milestone's message up to its tail (the last record, printed at its
            # precision, which test_the_last_record_... checks)
            found = loop.sql(
                "select stream, version, position, regexp_replace(message, ' \\(no record.*', '') "
                f"from data_quality where \"check\" = '{check}'",
                as_of,
                known_at,
            ).rows
            expected = loop.sql(definition, as_of, known_at).rows
            assert sorted(map(tuple, found), key=repr) == sorted(map(tuple, expected), key=repr)
