"""Write models: what a stream must remember to accept or refuse its next event.

A `Programme` or `Experiment` aggregate is folded from its stream's events. `check()` says
whether an event may be appended (CONTRACT section 3 rules) and `apply()` records it. They
remember the log order, not the valid time: "never planned" means no plan in the stream.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any, Self

from learningloop.domain import events as ev
from learningloop.domain.chain import GENESIS
from learningloop.domain.errors import InvalidEventError
from learningloop.domain.recorded import Recorded


@dataclass
class Stream:
    """What every stream remembers: its id, its version and which versions a retraction
    may name."""

    id: str
    key: str
    version: int = 0
    # What a retraction must know of earlier versions, in memory that does not grow with the
    # stream: which versions are retractions, and the runs of versions never applied (in a
    # log that is audited, a refused event has a version but is not here).
    retractions: set[int] = field(default_factory=set)
    skipped: list[tuple[int, int]] = field(default_factory=list)
    created_on: datetime | None = None
    modified_on: datetime | None = None
    chain: str = GENESIS

    def clone(self) -> Self:
        """An independent copy, so a failed write never corrupts a cached write model."""
        copy = replace(self)
        for name, value in vars(self).items():
            if isinstance(value, list | set):
                setattr(copy, name, value.copy())
            elif isinstance(value, dict):
                # A C-speed copy, then fresh lists and sets where the values hold some.
                copied = value.copy()
                copied.update({k: v.copy() for k, v in value.items() if isinstance(v, list | set)})
                setattr(copy, name, copied)
        return copy

    def has_version(self, version: int) -> bool:
        """Whether `version` of this stream was applied."""
        if not 1 <= version <= self.version:
            return False
        return not any(low <= version <= high for low, high in self.skipped)

    def check_retraction(self, event: ev.EventRetracted) -> None:
        if not self.has_version(event.retracts):
            raise InvalidEventError(
                "retracts", f"version {event.retracts} does not exist in {self.id}"
            )
        if event.retracts in self.retractions:
            raise InvalidEventError(
                "retracts", f"version {event.retracts} of {self.id} is itself a retraction"
            )

    def advance(self, recorded: Recorded) -> None:
        version = recorded.originator_version
        if version > self.version + 1:
            self.skipped.append((self.version + 1, version - 1))
        if type(recorded.event) is ev.EventRetracted:
            self.retractions.add(version)
        self.version = version
        self.chain = recorded.chain
        self.created_on = self.created_on or recorded.timestamp
        self.modified_on = recorded.timestamp


@dataclass
class Programme(Stream):
    """A programme's write model: joined partners and the keys of its functions."""

    partners: set[str] = field(default_factory=set)
    function_keys: tuple[str, ...] = ()

    def check(self, event: ev.Event) -> None:
        if type(event) is ev.ProgrammeOpened:
            raise InvalidEventError("programme", f"programme {self.key!r} is already opened")
        if type(event) is ev.PartnerLeft:
            self.check_partners("partner", [event.partner])
        elif type(event) is ev.EventRetracted:
            self.check_retraction(event)

    def check_partners(self, field_name: str, partners: Iterable[str]) -> None:
        for partner in partners:
            if partner not in self.partners:
                raise InvalidEventError(
                    field_name, f"partner {partner!r} has not joined programme {self.key!r}"
                )

    def check_function(self, function: str) -> None:
        if function not in self.function_keys:
            known = ", ".join(self.function_keys)
            raise InvalidEventError(
                "function",
                f"{function!r} is not a function of programme {self.key!r} (known: {known})",
            )

    def apply(self, recorded: Recorded) -> None:
        event = recorded.event
        if type(event) is ev.ProgrammeOpened:
            self.function_keys = tuple(f.key for f in event.functions)
        elif type(event) is ev.PartnerJoined:
            self.partners.add(event.partner)
        self.advance(recorded)


MILESTONE_CHANGES = (ev.MilestoneRescheduled, ev.MilestoneReached, ev.MilestoneAbandoned)


@dataclass
class Experiment(Stream):
    """An experiment's write model: its programme and what evidence may cite."""

    programme: str = ""
    milestones: set[str] = field(default_factory=set)
    learnings: set[str] = field(default_factory=set)
    reviews: set[str] = field(default_factory=set)
    # prediction key -> its occurred_on; key -> versions of its resolutions; retracted versions
    predictions: dict[str, date] = field(default_factory=dict)
    resolutions: dict[str, list[int]] = field(default_factory=dict)
    retracted: set[int] = field(default_factory=set)

    def check(self, event: ev.Event, programme: Programme) -> None:
        # One dict lookup by the exact class: isinstance on a pydantic class goes through
        # ABCMeta (~250 ns each; an import made ~12 of them an event in these chains).
        rule = _EXPERIMENT_RULES.get(type(event))
        if rule is not None:
            rule(self, event, programme)

    def _check_proposed(self, event: ev.ExperimentProposed, programme: Programme) -> None:
        raise InvalidEventError("experiment", f"experiment {self.key!r} is already proposed")

    def _check_milestone(self, event: ev.MilestoneRescheduled | ev.MilestoneReached
                         | ev.MilestoneAbandoned, programme: Programme) -> None:  # fmt: skip
        if event.milestone not in self.milestones:
            raise InvalidEventError(
                "milestone", f"milestone {event.milestone!r} was never planned in {self.key!r}"
            )

    def _check_evidence(self, event: ev.DecisionRecorded, programme: Programme) -> None:
        for cited in event.evidence:
            if cited not in self.learnings and cited not in self.reviews:
                raise InvalidEventError(
                    "evidence",
                    f"{cited!r} is neither a learning nor a review recorded in {self.key!r}",
                )

    def check_prediction(self, event: ev.PredictionMade | ev.PredictionResolved) -> None:
        """CONTRACT 6.8/6.11: one prediction per key, resolved once unless retracted, in order."""
        made_on = self.predictions.get(event.prediction)
        if type(event) is ev.PredictionMade:
            if made_on is not None:
                raise InvalidEventError(
                    "prediction", f"prediction {event.prediction!r} is already made in {self.key!r}"
                )
            if event.milestone is not None and event.milestone not in self.milestones:
                raise InvalidEventError(
                    "milestone", f"milestone {event.milestone!r} was never planned in {self.key!r}"
                )
            return
        if made_on is None:
            raise InvalidEventError(
                "prediction", f"prediction {event.prediction!r} was never made in {self.key!r}"
            )
        standing = [
            v for v in self.resolutions.get(event.prediction, []) if v not in self.retracted
        ]
        if standing:
            raise InvalidEventError(
                "prediction",
                f"prediction {event.prediction!r} is already resolved (version {standing[0]} of "
                f"{self.id}); retract that resolution first",
            )
        if event.occurred_on < made_on:
            raise InvalidEventError(
                "occurred_on",
                f"{event.occurred_on} is before prediction {event.prediction!r} was made "
                f"({made_on})",
            )

    def apply(self, recorded: Recorded) -> None:
        event = recorded.event
        if type(event) is ev.PredictionMade:
            self.predictions[event.prediction] = event.occurred_on
        elif type(event) is ev.PredictionResolved:
            self.resolutions.setdefault(event.prediction, []).append(recorded.originator_version)
        elif type(event) is ev.EventRetracted:
            self.retracted.add(event.retracts)
        elif type(event) is ev.ExperimentProposed:
            self.programme = event.programme
        elif type(event) is ev.MilestonePlanned:
            self.milestones.add(event.milestone)
        elif type(event) is ev.LearningRecorded:
            self.learnings.add(event.learning)
        elif type(event) is ev.ReviewSessionHeld:
            self.reviews.add(event.review)
        self.advance(recorded)


# Experiment.check's rule for each event class (by the exact class: the catalogue's classes
# have no subclasses); a class not here has no rule beyond its stream existing.
_EXPERIMENT_RULES: dict[type[ev.Event], Callable[[Experiment, Any, Programme], None]] = {
    ev.ExperimentProposed: Experiment._check_proposed,
    ev.FunctionEvidenced: lambda _, event, programme: programme.check_function(event.function),
    ev.FunctionAssessed: lambda _, event, programme: programme.check_function(event.function),
    ev.MeetingHeld: lambda _, event, programme: programme.check_partners(
        "participants", event.participants
    ),
    ev.MilestoneRescheduled: Experiment._check_milestone,
    ev.MilestoneReached: Experiment._check_milestone,
    ev.MilestoneAbandoned: Experiment._check_milestone,
    ev.DecisionRecorded: Experiment._check_evidence,
    ev.PredictionMade: lambda model, event, _: model.check_prediction(event),
    ev.PredictionResolved: lambda model, event, _: model.check_prediction(event),
    ev.EventRetracted: lambda model, event, _: model.check_retraction(event),
}


def check_new_programme(event: ev.ProgrammeEvent | ev.EventRetracted) -> None:
    """An event for a programme stream that does not exist yet: only ProgrammeOpened opens it."""
    if type(event) is not ev.ProgrammeOpened:
        raise InvalidEventError(
            "programme", f"programme {event.stream_key!r} is not opened (no ProgrammeOpened yet)"
        )


def check_new_experiment(
    event: ev.ExperimentEvent | ev.EventRetracted, programme: Programme | None
) -> None:
    """An event for an experiment stream that does not exist yet: only a valid proposal."""
    if type(event) is not ev.ExperimentProposed:
        raise InvalidEventError(
            "experiment",
            f"experiment {event.stream_key!r} is not proposed (no ExperimentProposed yet)",
        )
    if programme is None:
        raise InvalidEventError(
            "programme", f"programme {event.programme!r} does not exist (no ProgrammeOpened yet)"
        )
    programme.check_partners("carriers", event.carriers)
    programme.check_partners("partners", event.partners)


def new_stream(recorded: Recorded) -> Programme | Experiment:
    """The write model started by a stream's first event."""
    kind, _, key = recorded.originator_id.partition(":")
    if kind == "programme":
        return Programme(id=recorded.originator_id, key=key)
    return Experiment(id=recorded.originator_id, key=key)


def project_stream(
    aggregate: Programme | Experiment | None, recorded_events: Iterable[Any]
) -> Programme | Experiment | None:
    """Fold recorded events into a write model (eventsourcing's projector function)."""
    for recorded in recorded_events:
        if aggregate is None:
            aggregate = new_stream(recorded)
        aggregate.apply(recorded)
    return aggregate
