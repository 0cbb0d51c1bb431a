"""Hypothesis strategies: random programmes whose every event is valid under CONTRACT rules."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any

from hypothesis import strategies as st

slugs = st.from_regex(r"[a-z0-9][a-z0-9-]{0,8}", fullmatch=True)
# Required texts: not empty (CONTRACT 6.10); spaces alone are allowed.
texts = st.text(alphabet="abcdefgh éèàç-'", min_size=1, max_size=20)
dates = st.dates(min_value=date(2011, 1, 1), max_value=date(2016, 12, 31))
probabilities = st.one_of(
    st.sampled_from([0.1, 0.25, 0.5, 0.75, 0.9, 0.05]), st.floats(min_value=0.001, max_value=0.999)
)
precisions = st.sampled_from(["day", "day", "day", "month", "quarter", "semester", "year"])
bases = st.sampled_from(["stated", "stated", "inferred", "illustrative", None])
FUNCTIONS = ["training", "support", "production", "local_development", "employer"]
EXPERIMENT_TYPES = [
    "ReviewSessionHeld",
    "DecisionRecorded",
    "CommitmentMade",
    "MeetingHeld",
    "MilestonePlanned",
    "MilestoneRescheduled",
    "MilestoneReached",
    "MilestoneAbandoned",
    "LearningRecorded",
    "FunctionEvidenced",
    "FunctionAssessed",
    "ExperimentClosed",
    "PredictionMade",
    "PredictionResolved",
    "EventRetracted",
]


MILESTONE_CHANGES = ("MilestoneRescheduled", "MilestoneReached", "MilestoneAbandoned")


class _Experiment:
    """What the generator must remember to keep every event valid."""

    def __init__(self, key: str) -> None:
        self.key = key
        self.types = ["ExperimentProposed"]
        self.learnings: list[str] = []
        self.reviews: list[str] = []
        self.milestones: list[str] = []
        # prediction key -> (the day it was made, versions of its resolutions)
        self.predictions: dict[str, tuple[date, list[int]]] = {}
        self.retracted: set[int] = set()

    def resolvable(self) -> list[str]:
        """Predictions with no standing resolution (every earlier one retracted)."""
        return [key for key, (_, resolutions) in self.predictions.items()
                if not set(resolutions) - self.retracted]  # fmt: skip


@st.composite
def programme_histories(
    draw: st.DrawFn, max_events: int = 30, types: Sequence[str] = EXPERIMENT_TYPES
) -> list[dict[str, Any]]:
    """A programme, its partners, 1-3 experiments and a random valid mix of their events (of
    `types`, each as likely as it is frequent there)."""
    programme = "prog"
    events: list[dict[str, Any]] = [
        {
            "type": "ProgrammeOpened",
            "programme": programme,
            "title": "P",
            "occurred_on": "2011-01-01",
        }
    ]
    partners = draw(st.lists(slugs, min_size=1, max_size=3, unique=True))
    for partner in partners:
        events.append(_common(draw) | {
            "type": "PartnerJoined", "programme": programme, "partner": partner,
            "name": partner.upper(), "kind": "company",
        })  # fmt: skip
    keys = draw(st.lists(slugs, min_size=1, max_size=3, unique=True))
    experiments = [_Experiment(key) for key in keys]
    for experiment in experiments:
        events.append(_common(draw) | {
            "type": "ExperimentProposed", "experiment": experiment.key, "programme": programme,
            "title": f"Experiment {experiment.key}", "scale": "company",
            "carriers": draw(st.lists(st.sampled_from(partners), min_size=1, max_size=2)),
        })  # fmt: skip
    for _ in range(draw(st.integers(0, max_events))):
        experiment = draw(st.sampled_from(experiments))
        event_type = draw(st.sampled_from(types))
        event = _experiment_event(draw, experiment, event_type)
        experiment.types.append(event["type"])
        events.append(event)
    return events


def _common(draw: st.DrawFn) -> dict[str, Any]:
    common: dict[str, Any] = {"occurred_on": draw(dates).isoformat()}
    precision = draw(precisions)
    if precision != "day":
        common["precision"] = precision
    basis = draw(bases)
    if basis is not None:
        common["basis"] = basis
    return common


def _experiment_event(draw: st.DrawFn, experiment: _Experiment, event_type: str) -> dict[str, Any]:
    base = _common(draw) | {"experiment": experiment.key}
    if event_type in MILESTONE_CHANGES and not experiment.milestones:
        event_type = "MilestonePlanned"
    if event_type == "PredictionResolved" and not experiment.resolvable():
        event_type = "PredictionMade"
    if event_type == "EventRetracted":
        retractable = [v for v, t in enumerate(experiment.types, 1) if t != "EventRetracted"]
        retracts = draw(st.sampled_from(retractable))
        experiment.retracted.add(retracts)
        return base | {"type": event_type, "retracts": retracts, "reason": "wrong"}
    if event_type in ("PredictionMade", "PredictionResolved"):
        return {"experiment": experiment.key, "type": event_type} | _prediction(
            draw, experiment, event_type
        )
    return base | {"type": event_type} | _facts(draw, experiment, event_type)


def _facts(draw: st.DrawFn, experiment: _Experiment, event_type: str) -> dict[str, Any]:
    small = st.integers(0, 5)
    if event_type == "ReviewSessionHeld":
        review = draw(st.sampled_from(["r1", "r2"]))
        experiment.reviews.append(review)
        return {"review": review, "session": draw(st.integers(1, 3)),
                "sessions_planned": draw(st.integers(1, 3))}  # fmt: skip
    if event_type == "DecisionRecorded":
        citable = experiment.learnings + experiment.reviews
        evidence = draw(st.lists(st.sampled_from(citable), max_size=2)) if citable else []
        return {"decision": draw(slugs),
                "kind": draw(st.sampled_from(["retain", "reject", "adapt", "continue", "pause",
                                              "close"])),
                "summary": draw(texts), "evidence": evidence}  # fmt: skip
    if event_type == "CommitmentMade":
        low = draw(small)
        return {"commitment": draw(st.sampled_from(["c1", "c2"])), "description": "meet",
                "meetings_per_year_min": low, "meetings_per_year_max": low + draw(small),
                "starts_on": draw(dates).isoformat(),
                "months": draw(st.integers(1, 40))}  # fmt: skip
    if event_type == "MeetingHeld":
        return {"kind": draw(st.sampled_from(["stakeholder", "local", "steering", "other"])),
                "attendees": draw(st.integers(0, 40))}  # fmt: skip
    if event_type == "MilestonePlanned":
        milestone = draw(st.sampled_from(["m1", "m2", "m3"]))
        experiment.milestones.append(milestone)
        return {"milestone": milestone, "title": "M", "due_on": draw(dates).isoformat()}
    if event_type == "MilestoneRescheduled":
        return {"milestone": draw(st.sampled_from(experiment.milestones)),
                "due_on": draw(dates).isoformat()}  # fmt: skip
    if event_type in ("MilestoneReached", "MilestoneAbandoned"):
        return {"milestone": draw(st.sampled_from(experiment.milestones))}
    if event_type == "LearningRecorded":
        learning = draw(st.sampled_from(["l1", "l2", "l3"]))
        experiment.learnings.append(learning)
        return {"learning": learning, "observation": draw(texts)}
    if event_type == "FunctionEvidenced":
        return {"function": draw(st.sampled_from(FUNCTIONS)), "evidence": draw(texts),
                "strength": draw(st.integers(1, 3))}  # fmt: skip
    if event_type == "FunctionAssessed":
        return {"function": draw(st.sampled_from(FUNCTIONS)),
                "result": draw(st.sampled_from(["absent", "not_applicable"]))}  # fmt: skip
    return {}  # ExperimentClosed


def _prediction(draw: st.DrawFn, experiment: _Experiment, event_type: str) -> dict[str, Any]:
    """A prediction at day precision (so its dates stay in order), or the resolution of one."""
    later = st.integers(0, 400).map(lambda days: timedelta(days=days))
    if event_type == "PredictionResolved":
        key = draw(st.sampled_from(experiment.resolvable()))
        made_on, resolutions = experiment.predictions[key]
        resolutions.append(len(experiment.types) + 1)
        return {"prediction": key, "outcome": draw(st.booleans()),
                "occurred_on": (made_on + draw(later)).isoformat()}  # fmt: skip
    key = f"p{len(experiment.predictions) + 1}"
    made_on = draw(dates)
    experiment.predictions[key] = (made_on, [])
    about = draw(st.sampled_from([None, *experiment.milestones]))
    return {"prediction": key, "statement": "it works", "occurred_on": made_on.isoformat(),
            "probability": draw(probabilities),
            "resolves_on": (made_on + draw(later)).isoformat()} | (
        {"milestone": about} if about else {})  # fmt: skip
