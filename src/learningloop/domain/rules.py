"""Admissibility: may this event be appended to its stream, given the log before it?

One function decides, and both sides call it: the writer (`writing.Admission`) before an
event is stored, and the auditor (`audit.check_log`) when it re-reads the log. The per-event
rules themselves are methods of the write models in `aggregates` (`Programme.check`,
`Experiment.check`, `check_new_programme`, `check_new_experiment`); add a rule there.
"""

from __future__ import annotations

from collections.abc import Callable

from learningloop.domain import aggregates as agg
from learningloop.domain import events as ev
from learningloop.domain.errors import InvalidEventError
from learningloop.domain.recorded import Recorded

WriteModel = agg.Programme | agg.Experiment
ProgrammeLookup = Callable[[str], agg.Programme | None]


def check(event: ev.Event, stream: WriteModel | None, programme_of: ProgrammeLookup) -> None:
    """Raise InvalidEventError when `event` may not follow `stream` (None: not started yet).

    `programme_of(key)` gives a programme's write model, or None when it is not opened."""
    if isinstance(stream, agg.Programme):
        stream.check(event)
    elif isinstance(stream, agg.Experiment):
        programme = programme_of(stream.programme)
        if programme is None:  # only a forged log can lose an experiment's programme
            raise InvalidEventError("programme", f"programme {stream.programme!r} is not opened")
        stream.check(event, programme)
    elif ev.stream_kind_of(event) == "programme":
        agg.check_new_programme(event)  # type: ignore[arg-type]
    else:
        programme_key = getattr(event, "programme", None) or ""
        agg.check_new_experiment(event, programme_of(programme_key))  # type: ignore[arg-type]


def applied(stream: WriteModel | None, recorded: Recorded) -> WriteModel:
    """The write model with an admitted event applied (started by the stream's first event)."""
    model = stream if stream is not None else agg.new_stream(recorded)
    model.apply(recorded)
    return model


# What `check` enforces for each event type, in words, beyond its fields' types: the source of
# docs/events.md (docs/generate_events.py). tests/test_docs.py fails when a type has no entry.
PROPOSED = "the experiment is proposed (its stream exists)"
OPENED = "the programme is opened (its stream exists)"
RULES: dict[str, tuple[str, ...]] = {
    "ProgrammeOpened": (
        "opens the stream `programme:<programme>`: only once",
        "at least one function, no function key twice; `ends_on` not before `starts_on`",
    ),
    "PartnerJoined": (OPENED,),
    "PartnerLeft": (OPENED, "`partner` has joined the programme"),
    "GatheringHeld": (OPENED,),
    "ExperimentProposed": (
        "opens the stream `experiment:<experiment>`: only once",
        "its `programme` is opened; every carrier and partner has joined it",
    ),
    "ReviewSessionHeld": (PROPOSED,),
    "DecisionRecorded": (
        PROPOSED,
        "each `evidence` slug is a learning or a review recorded earlier in the experiment",
    ),
    "CommitmentMade": (PROPOSED, "`meetings_per_year_max` not below `meetings_per_year_min`"),
    "MeetingHeld": (PROPOSED, "each of `participants` has joined the programme"),
    "MilestonePlanned": (PROPOSED,),
    "MilestoneRescheduled": (PROPOSED, "the milestone was planned earlier in the experiment"),
    "MilestoneReached": (PROPOSED, "the milestone was planned earlier in the experiment"),
    "MilestoneAbandoned": (PROPOSED, "the milestone was planned earlier in the experiment"),
    "LearningRecorded": (PROPOSED,),
    "FunctionEvidenced": (PROPOSED, "`function` is a function of the programme's framework"),
    "FunctionAssessed": (PROPOSED, "`function` is a function of the programme's framework"),
    "ExperimentClosed": (PROPOSED,),
    "PredictionMade": (
        PROPOSED,
        "one prediction per key in the experiment; `resolves_on` not before `occurred_on`",
        "a `milestone`, when given, was planned earlier in the experiment",
    ),
    "PredictionResolved": (
        PROPOSED,
        "the prediction was made earlier; resolved once (unless that resolution is retracted)",
        "`occurred_on` not before the prediction was made",
    ),
    "EventRetracted": (
        "exactly one of `programme` / `experiment`: the stream it is appended to",
        "`retracts` is an earlier version of that stream, and not itself a retraction",
    ),
}
