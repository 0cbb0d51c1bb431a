"""Projection `timeline`: counted experiment events with a summary line and a learning cycle."""

from __future__ import annotations

from learningloop import LearningLoop
from tests.conftest import event, rows_of


def test_cycles_close_at_each_decision_and_retractions_never_appear(seeded: LearningLoop) -> None:
    seeded.import_events([
        event("LearningRecorded", "2013-02-01", learning="l1", observation="It works\n  well"),
        event("DecisionRecorded", "2013-03-01", decision="d1", kind="adapt", summary="Adjust"),
        event("MeetingHeld", "2013-04-01", kind="steering", attendees=1, meeting="m1"),
        event("EventRetracted", "2013-04-02", retracts=4, reason="wrong meeting"),
        event("ExperimentClosed", "2013-05-01", outcome=""),
    ])  # fmt: skip
    assert rows_of(seeded, "timeline", "version, type, summary, cycle") == [
        (1, "ExperimentProposed", "Proposed: Experiment (carried by acme)", 1),
        (2, "LearningRecorded", "Learning l1: It works well", 1),
        (3, "DecisionRecorded", "Decision d1 (adapt): Adjust", 1),
        (6, "ExperimentClosed", "Experiment closed", 2),
    ]


def test_a_retracted_decision_merges_two_cycles(seeded: LearningLoop) -> None:
    seeded.import_events([
        event("DecisionRecorded", "2013-03-01", decision="d1", kind="retain", summary="Go"),
        event("MeetingHeld", "2013-04-01", kind="local"),
    ])  # fmt: skip
    assert rows_of(seeded, "timeline", "version, cycle") == [(1, 1), (2, 1), (3, 2)]
    seeded.record(event("EventRetracted", "2013-05-01", retracts=2, reason="not taken"))
    assert rows_of(seeded, "timeline", "version, cycle") == [(1, 1), (3, 1)]


def test_summaries_of_every_experiment_event_type(seeded: LearningLoop) -> None:
    seeded.import_events([
        event("ReviewSessionHeld", "2013-02-01", review="r1", session=1),
        event("CommitmentMade", "2013-02-02", commitment="c", description="d",
              meetings_per_year_min=3, meetings_per_year_max=4, starts_on="2013-04-18",
              months=24),
        event("MilestonePlanned", "2013-02-03", milestone="m", title="Open", due_on="2015-12-31"),
        event("MilestoneRescheduled", "2013-02-04", milestone="m", due_on="2016-06-30"),
        event("MilestoneReached", "2013-02-05", milestone="m"),
        event("MilestoneAbandoned", "2013-02-06", milestone="m"),
        event("FunctionEvidenced", "2013-02-07", function="employer", evidence="Shares",
              strength=2),
        event("MeetingHeld", "2013-02-08", kind="local"),
    ])  # fmt: skip
    summaries = [row[0] for row in rows_of(seeded, "timeline", "summary")]
    assert sorted(summaries) == sorted([
        "Proposed: Experiment (carried by acme)",
        "Review r1: session 1 of 2",
        "Commitment c: 3-4 meetings a year for 24 months from 2013-04-18",
        "Milestone m planned: Open, due 2015-12-31",
        "Milestone m rescheduled to 2016-06-30",
        "Milestone m reached",
        "Milestone m abandoned",
        "Function employer evidenced (strength 2): Shares",
        "Meeting (local): attendees not recorded",
    ])  # fmt: skip
