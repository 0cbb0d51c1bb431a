"""What the report shows: `ReportData`, gathered by `LearningLoop.report_data` from one
`query_many` over `QUERIES` at (D, T)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # a type only: the report's data is computed in learningloop.knowledge
    from learningloop.knowledge import ChangeDigest

Row = dict[str, Any]


@dataclass(frozen=True)
class ReportData:
    """Everything the report shows, gathered by `LearningLoop.report_data`: one `query_many`
    at (D, T) plus the seal's digest. Each list field is the records of the query of the same
    name in `QUERIES`."""

    as_of: date
    known_at: datetime
    head_digest: str
    programme: list[Row]
    sources: list[Row]
    partners: list[Row]
    experiments: list[Row]
    coverage: list[Row]
    evidence: list[Row]
    timeline: list[Row]
    cadence: list[Row]
    milestones: list[Row]
    versions: list[Row]
    programmes: list[Row] = field(default_factory=list)
    programme_coverage: list[Row] = field(default_factory=list)
    # Set when the detail covers only some experiments: (shown, total, chosen by the user?)
    selection: tuple[int, int, bool] | None = None
    latency: list[Row] = field(default_factory=list)
    predictions: list[Row] = field(default_factory=list)
    prediction_scores: list[Row] = field(default_factory=list)
    # Beyond QUERIES: the what-if framework's name and keys (empty: the programme's own), and
    # what changed since T1 (knowledge.change_digest) when the report was asked for it.
    framework: str = ""
    framework_keys: tuple[str, ...] = ()
    since: datetime | None = None
    changes: ChangeDigest | None = None


# An experiment's timeline beyond this many events is counted by month, not drawn event by
# event (a drawing of thousands of points is slow and weighs megabytes).
MONTHLY_BEYOND = 300
# The milestone chart draws at most this many rows; its table lists every milestone.
MILESTONE_CHART_ROWS = 40


# Experiment-level queries read only the selected experiments when the variable is set.
SELECTED = (
    "(getvariable('report_experiments') is null "
    "or list_contains(getvariable('report_experiments'), experiment))"
)


# Every experiment with its programme, the most active (counted events) first: the report
# details these when the user chooses none. One grouping, not a count per experiment.
BY_ACTIVITY = (
    "with counted as (select experiment, count(*) as events from counted_events "
    "where experiment is not null group by experiment) "
    "select x.experiment, x.programme, coalesce(counted.events, 0) as events "
    "from experiments as x left join counted using (experiment) "
    "order by events desc, x.experiment"
)


# One read-only query per ReportData list field, all run on one connection at (D, T).
QUERIES = {
    "programme": "select programme, payload ->> '$.title' as title, "
    "payload -> '$.axes' as axes, (payload ->> '$.partners_stated')::integer as partners_stated "
    "from known_events where type = 'ProgrammeOpened' order by position",
    "sources": "select source, count(*) as facts, "
    "count(*) filter (where basis = 'stated') as stated, "
    "count(*) filter (where basis = 'inferred') as inferred, "
    "count(*) filter (where basis = 'illustrative') as illustrative "
    "from counted_events group by source order by min(position)",
    "partners": "select programme, joined_on, left_on from partners order by partner",
    "experiments": f"select * from experiments where {SELECTED} order by experiment",
    "coverage": f"select * from function_coverage where {SELECTED} order by experiment, ordinal",
    "evidence": "select experiment, payload ->> '$.function' as function, "
    "payload ->> '$.evidence' as evidence, occurred_on, precision, basis from counted_events "
    f"where type = 'FunctionEvidenced' and {SELECTED} order by experiment, occurred_on, version",
    # Each side filtered to the selection and materialised before the join: joining the two
    # views directly recomputed them for the whole log (26 s of a 1M-event report, now 3 s).
    "timeline": "with e as materialized (select * from events where experiment is not null "
    f"and type <> 'EventRetracted' and {SELECTED}), "
    "t as materialized (select experiment, version, cycle, summary from timeline "
    f"where {SELECTED}) "
    "select e.experiment, e.version, e.type, e.occurred_on, e.is_retracted, "
    "e.precision, e.occurred_until, e.is_certain, e.basis, e.payload, "
    "t.cycle, t.summary from e left join t using (experiment, version) "
    "order by e.experiment, e.occurred_on, e.version",
    "cadence": f"select * from commitment_cadence where {SELECTED} "
    "order by experiment, commitment, period",
    "milestones": f"select * from milestones where {SELECTED} "
    "order by experiment, due_on, milestone",
    "versions": "select projection, version from projection_versions order by 1",
    "programmes": "select * from programme_summary "
    "order by programme = '(all)' desc, experiments desc, programme",
    "programme_coverage": "select x.programme, f.function, min(f.ordinal) as ordinal, "
    "count(*) as experiments, count(*) filter (where f.is_covered) as covering "
    "from function_coverage as f join experiments as x using (experiment) "
    "group by x.programme, f.function order by x.programme, ordinal",
    "latency": f"select * from learning_latency where {SELECTED} order by experiment",
    "predictions": "select experiment, prediction, probability, outcome from predictions "
    f"where {SELECTED} order by experiment, prediction",
    "prediction_scores": f"select * from prediction_scores where {SELECTED} order by experiment",
}
