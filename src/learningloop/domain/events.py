"""The event catalogue (CONTRACT section 3): one frozen pydantic model per event type.

Each model validates one event on its own (types, enums, ranges, dates). Rules that need
the history of a stream (has the programme been opened? has the partner joined?) live in
the write models of `aggregates.py`, called through `rules.check`.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from learningloop.domain.basics import DEFAULT_FUNCTION_LABELS
from learningloop.domain.basics import StreamKind as StreamKind
from learningloop.domain.basics import stream_id as stream_id
from learningloop.domain.values import (
    Basis,
    FunctionKey,
    IsoDate,
    Months,
    NonNegativeInt,
    PositiveInt,
    Precision,
    Probability,
    RequiredText,
    Slug,
    Strength,
    StrictBool,
    Text,
    _as_iso_date,
    start_of_period,
)

TOPIC_PREFIX = "learningloop:"


class Event(BaseModel):
    """Fields every event carries; subclasses add their stream key and facts."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # Stored topic of the class; fixed here so renaming a module never orphans stored events.
    TOPIC: ClassVar[str] = ""
    # Which stream the event belongs to; EventRetracted goes to either.
    STREAM: ClassVar[StreamKind | None] = None
    # Bumped when the stored shape changes; old shapes are upcast on load.
    class_version: ClassVar[int] = 1

    type: str
    occurred_on: IsoDate
    precision: Precision = "day"
    recorded_by: Text | None = None
    source: Text | None = None
    # CONTRACT 6.3; `basis_note` says what an inference rests on (an addition of ours).
    basis: Basis = "stated"
    basis_note: Text | None = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.TOPIC = TOPIC_PREFIX + cls.__name__

    @model_validator(mode="before")
    @classmethod
    def _start_of_period(cls, data: Any) -> Any:
        """With a precision coarser than a day, `occurred_on` is the first day of that period."""
        if isinstance(data, dict) and data.get("precision") not in (None, "day"):
            try:
                day = _as_iso_date(data.get("occurred_on"))
                return {**data, "occurred_on": start_of_period(day, data["precision"])}
            except (ValueError, KeyError):
                return data  # the field validators report what is wrong
        return data

    @property
    def stream_key(self) -> str:
        """The slug of the stream this event belongs to."""
        raise NotImplementedError


class ProgrammeEvent(Event):
    STREAM: ClassVar[StreamKind | None] = "programme"
    programme: Slug

    @property
    def stream_key(self) -> str:
        return self.programme


class ExperimentEvent(Event):
    STREAM: ClassVar[StreamKind | None] = "experiment"
    experiment: Slug

    @property
    def stream_key(self) -> str:
        return self.experiment


class FunctionDefinition(BaseModel):
    """One key function of a programme's evaluation framework."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    key: FunctionKey
    label: RequiredText
    label_fr: Text | None = None


DEFAULT_FUNCTIONS: tuple[FunctionDefinition, ...] = tuple(
    FunctionDefinition(key=key, label=label, label_fr=label_fr)
    for key, label, label_fr in DEFAULT_FUNCTION_LABELS
)

# --- programme stream -------------------------------------------------------------------


class ProgrammeOpened(ProgrammeEvent):
    type: Literal["ProgrammeOpened"] = "ProgrammeOpened"
    title: RequiredText
    starts_on: IsoDate | None = None
    ends_on: IsoDate | None = None
    functions: tuple[FunctionDefinition, ...] = DEFAULT_FUNCTIONS
    axes: tuple[Text, ...] = ()
    # How many partners the sources say form the group, whether or not each is recorded.
    partners_stated: NonNegativeInt | None = None

    @model_validator(mode="after")
    def _check_functions_and_dates(self) -> ProgrammeOpened:
        keys = [function.key for function in self.functions]
        if not keys:
            raise ValueError("functions: a programme needs at least one function")
        if len(set(keys)) != len(keys):
            raise ValueError("functions: a function key appears twice")
        if self.starts_on and self.ends_on and self.ends_on < self.starts_on:
            raise ValueError("ends_on: the programme ends before it starts")
        return self


PartnerKind = Literal[
    "company",
    "public_body",
    "network",
    "university",
    "local_authority",
    "association",
    "employment_service",
    "other",
]


class PartnerJoined(ProgrammeEvent):
    type: Literal["PartnerJoined"] = "PartnerJoined"
    partner: Slug
    name: RequiredText
    kind: PartnerKind


class PartnerLeft(ProgrammeEvent):
    type: Literal["PartnerLeft"] = "PartnerLeft"
    partner: Slug
    reason: Text | None = None


class GatheringHeld(ProgrammeEvent):
    type: Literal["GatheringHeld"] = "GatheringHeld"
    gathering: Slug
    kind: Literal["seminar", "citizen_debate", "other"]
    participants: NonNegativeInt
    title: Text | None = None


# --- experiment stream ------------------------------------------------------------------

Scale = Literal["employment_basin", "company", "neighbourhood", "region", "network", "other"]


class ExperimentProposed(ExperimentEvent):
    type: Literal["ExperimentProposed"] = "ExperimentProposed"
    programme: Slug
    title: RequiredText
    carriers: tuple[Slug, ...] = Field(min_length=1)
    partners: tuple[Slug, ...] = ()
    scale: Scale
    territory: Text | None = None
    aim: Text | None = None


class ReviewSessionHeld(ExperimentEvent):
    type: Literal["ReviewSessionHeld"] = "ReviewSessionHeld"
    review: Slug
    session: PositiveInt
    sessions_planned: PositiveInt = 2
    reviewers: tuple[Text, ...] = ()
    findings: tuple[Text, ...] = ()


DecisionKind = Literal["retain", "reject", "adapt", "continue", "pause", "close"]


class DecisionRecorded(ExperimentEvent):
    type: Literal["DecisionRecorded"] = "DecisionRecorded"
    decision: Slug
    kind: DecisionKind
    summary: RequiredText
    rationale: Text | None = None
    evidence: tuple[Slug, ...] = ()
    decided_by: Text | None = None


class CommitmentMade(ExperimentEvent):
    type: Literal["CommitmentMade"] = "CommitmentMade"
    commitment: Slug
    description: RequiredText
    stakeholders: NonNegativeInt | None = None
    meetings_per_year_min: NonNegativeInt
    meetings_per_year_max: NonNegativeInt
    starts_on: IsoDate
    months: Months

    @model_validator(mode="after")
    def _check_band(self) -> CommitmentMade:
        if self.meetings_per_year_max < self.meetings_per_year_min:
            raise ValueError(
                f"meetings_per_year_max: {self.meetings_per_year_max} is below "
                f"meetings_per_year_min {self.meetings_per_year_min}"
            )
        return self


class MeetingHeld(ExperimentEvent):
    """Version 2 adds `participants`, the partners who took part (version 1 had none)."""

    class_version: ClassVar[int] = 2

    type: Literal["MeetingHeld"] = "MeetingHeld"
    kind: Literal["stakeholder", "local", "steering", "other"]
    # Optional beyond the contract: historical records often give no head count.
    attendees: NonNegativeInt | None = None
    meeting: Slug | None = None
    notes: Text | None = None
    participants: tuple[Slug, ...] = ()

    @staticmethod
    def upcast_v1_v2(state: dict[str, Any]) -> None:
        """A version 1 meeting names no participating partners."""
        state.setdefault("participants", [])


class MilestonePlanned(ExperimentEvent):
    type: Literal["MilestonePlanned"] = "MilestonePlanned"
    milestone: Slug
    title: RequiredText
    due_on: IsoDate


class MilestoneRescheduled(ExperimentEvent):
    type: Literal["MilestoneRescheduled"] = "MilestoneRescheduled"
    milestone: Slug
    due_on: IsoDate
    reason: Text | None = None


class MilestoneReached(ExperimentEvent):
    type: Literal["MilestoneReached"] = "MilestoneReached"
    milestone: Slug


class MilestoneAbandoned(ExperimentEvent):
    type: Literal["MilestoneAbandoned"] = "MilestoneAbandoned"
    milestone: Slug
    reason: Text | None = None


class LearningRecorded(ExperimentEvent):
    type: Literal["LearningRecorded"] = "LearningRecorded"
    learning: Slug
    observation: RequiredText
    insight: Text | None = None


class FunctionEvidenced(ExperimentEvent):
    type: Literal["FunctionEvidenced"] = "FunctionEvidenced"
    function: FunctionKey
    evidence: RequiredText
    strength: Strength = 1


class FunctionAssessed(ExperimentEvent):
    """An evaluator looked for a function and found it absent or not applicable (CONTRACT 6.4)."""

    type: Literal["FunctionAssessed"] = "FunctionAssessed"
    function: FunctionKey
    result: Literal["absent", "not_applicable"]
    note: Text | None = None


class ExperimentClosed(ExperimentEvent):
    type: Literal["ExperimentClosed"] = "ExperimentClosed"
    outcome: Text | None = None


class PredictionMade(ExperimentEvent):
    """A forecast, made before its outcome is known: the log itself proves when (CONTRACT 6.8)."""

    type: Literal["PredictionMade"] = "PredictionMade"
    prediction: Slug
    statement: RequiredText
    probability: Probability
    resolves_on: IsoDate
    milestone: Slug | None = None

    @model_validator(mode="after")
    def _check_resolves_on(self) -> PredictionMade:
        if self.resolves_on < self.occurred_on:
            raise ValueError(
                f"resolves_on: {self.resolves_on} is before the prediction's occurred_on "
                f"{self.occurred_on}"
            )
        return self


class PredictionResolved(ExperimentEvent):
    type: Literal["PredictionResolved"] = "PredictionResolved"
    prediction: Slug
    outcome: StrictBool
    note: Text | None = None


# --- either stream ----------------------------------------------------------------------


class EventRetracted(Event):
    type: Literal["EventRetracted"] = "EventRetracted"
    programme: Slug | None = None
    experiment: Slug | None = None
    retracts: PositiveInt
    reason: RequiredText

    @model_validator(mode="after")
    def _one_stream(self) -> EventRetracted:
        if (self.programme is None) == (self.experiment is None):
            raise ValueError("programme/experiment: give exactly one of the two stream keys")
        return self

    @property
    def stream_kind(self) -> StreamKind:
        return "programme" if self.programme is not None else "experiment"

    @property
    def stream_key(self) -> str:
        return self.programme if self.programme is not None else str(self.experiment)


CATALOGUE: dict[str, type[Event]] = {cls.__name__: cls for cls in (
    ProgrammeOpened, PartnerJoined, PartnerLeft, GatheringHeld,
    ExperimentProposed, ReviewSessionHeld, DecisionRecorded, CommitmentMade, MeetingHeld,
    MilestonePlanned, MilestoneRescheduled, MilestoneReached, MilestoneAbandoned,
    LearningRecorded, FunctionEvidenced, FunctionAssessed, ExperimentClosed,
    PredictionMade, PredictionResolved,
    EventRetracted,
)}  # fmt: skip
TOPICS: dict[str, type[Event]] = {cls.TOPIC: cls for cls in CATALOGUE.values()}


def stream_kind_of(event: Event) -> StreamKind:
    """Which kind of stream an event is appended to."""
    # The class constant first: isinstance on a pydantic class costs more than the lookup.
    if event.STREAM is not None:
        return event.STREAM
    assert isinstance(event, EventRetracted)
    return event.stream_kind
