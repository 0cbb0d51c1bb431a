"""The public Python API: open a store, import, record, replay.

Everything the command line does goes through `LearningLoop`, so a notebook needs no
subprocess.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

from learningloop.domain.basics import BASES
from learningloop.errors import BadInputError
from learningloop.loop_auditing import Auditing
from learningloop.loop_experiments import Experiments
from learningloop.loop_reading import Reading
from learningloop.loop_recording import ImportSummary, Recording
from learningloop.loop_reporting import Reporting
from learningloop.loop_session import TABLE_ORDER, today

if TYPE_CHECKING:  # imported where used: reading commands never load the event models
    from learningloop.domain.replay import ExperimentView

__all__ = [
    "TABLE_ORDER",
    "DemoRun",
    "ImportSummary",
    "LearningLoop",
    "basis_counts",
    "experiment_summary",
    "run_demo",
]


class LearningLoop(Recording, Reading, Experiments, Reporting, Auditing):
    """An evaluation store: an append-only event log and the views built from it.

    Each part is its own module: `loop_session` (the store and `sql`), `loop_recording`,
    `loop_reading`, `loop_experiments`, `loop_reporting` and `loop_auditing`."""


def experiment_summary(view: ExperimentView) -> dict[str, Any]:
    """One row per experiment: status, coverage, reviews, meetings and next milestone."""
    from learningloop.domain.indicators import ratio

    next_milestone = view.next_milestone
    total = len(view.functions)
    meetings = [e for e in view.timeline if e.type == "MeetingHeld"]
    return {
        "experiment": view.experiment,
        "status": view.status,
        "functions_covered": view.functions_covered,
        "functions_total": total,
        "coverage_ratio": ratio(view.functions_covered, total),
        "reviews_complete": sum(1 for review in view.reviews if review.is_complete),
        "reviews_total": len(view.reviews),
        "meetings_held": len(meetings),
        "next_milestone": next_milestone.milestone if next_milestone else None,
        "next_milestone_due_on": next_milestone.due_on if next_milestone else None,
        "next_milestone_status": next_milestone.status if next_milestone else None,
        "facts": basis_counts(entry.basis for entry in view.timeline),
    }


def basis_counts(bases: Iterable[str]) -> str:
    """How many facts rest on each basis, e.g. "2 stated, 6 inferred"."""
    counts: dict[str, int] = dict.fromkeys(BASES, 0)
    for basis in bases:
        counts[basis] += 1
    return ", ".join(f"{n} {basis}" for basis, n in counts.items() if n)


@dataclass(frozen=True)
class DemoRun:
    """What `demo` loaded and what it prints: each experiment's view at the programme's end."""

    views: list[ExperimentView]
    as_of: date
    title: str
    partners_recorded: int
    partners_stated: int | None


DEMO_PROGRAMME = "chaire-2012-2014"


def run_demo(store: str | os.PathLike[str], recorded_by: str | None = None) -> DemoRun:
    """Load the bundled 2012–2014 programme into a fresh store; view it as of its end."""
    from learningloop.demo import demo_path
    from learningloop.domain import events as ev

    with LearningLoop(store, recorded_by=recorded_by or "learningloop-demo") as loop:
        if loop.event_count():
            raise BadInputError(
                f"store {loop.location.describe()} already holds events; demo needs a fresh store"
            )
        loop.import_files([demo_path()])
        programme = loop._cache.events(ev.stream_id("programme", DEMO_PROGRAMME))
        opened = programme[0].event
        assert isinstance(opened, ev.ProgrammeOpened)
        # The programme is over: its indicators are read as of its last day, not today.
        as_of = opened.ends_on or today()
        joined = {r.event.partner for r in programme if isinstance(r.event, ev.PartnerJoined)}
        views = [view for view in loop.list_views(as_of) if view.is_proposed]
        return DemoRun(views, as_of, opened.title, len(joined), opened.partners_stated)
