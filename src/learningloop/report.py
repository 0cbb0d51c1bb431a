"""One self-contained HTML report for the chair, partners and funders: no network, prints well.

The same log, D and T always give the same bytes: T defaults to the last recording, charts are
SVG with fixed ids, and nothing depends on the clock but the default D (today).
"""

from __future__ import annotations

import html
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from learningloop import charts
from learningloop.domain.events import DEFAULT_FUNCTIONS

Row = dict[str, Any]

TEXT = {
    "en": {
        "title": "Learning report",
        "overview": "Programme overview",
        "partners": "Partners over time",
        "active": "active partners",
        "experiments": "Experiments and their status",
        "coverage": "Coverage of the five key functions",
        "timelines": "Learning timelines",
        "cycle": "cycle",
        "open": "open",
        "cadence": "Cadence against commitments",
        "meetings": "meetings",
        "milestones": "Milestones: planned and reached",
        "evidence": "evidence",
        "retracted": "retracted",
        "as_of": "As of",
        "known_at": "as known at",
        "digest": "Log head digest",
        "versions": "Projection versions",
        "none": "None yet.",
        "experiment": "experiment",
        "status": "status",
        "scale": "scale",
        "territory": "territory",
        "carriers": "carriers",
        "due": "due",
        "reached": "reached",
        "days_late": "days late",
        "review": "review",
        "decision": "decision",
        "meeting": "meeting",
        "milestone": "milestone",
        "learning": "learning",
        "other": "other",
        "period": "period",
        "held": "held",
        "expected": "expected",
    },
    "fr": {
        "title": "Rapport d'apprentissage",
        "overview": "Vue d'ensemble du programme",
        "partners": "Partenaires au fil du temps",
        "active": "partenaires actifs",
        "experiments": "Expérimentations et leur statut",
        "coverage": "Couverture des cinq fonctions clés",
        "timelines": "Chronologies d'apprentissage",
        "cycle": "cycle",
        "open": "ouvert",
        "cadence": "Rythme au regard des engagements",
        "meetings": "rencontres",
        "milestones": "Jalons : prévus et atteints",
        "evidence": "éléments",
        "retracted": "retiré",
        "as_of": "Au",
        "known_at": "tel que connu le",
        "digest": "Empreinte de tête du journal",
        "versions": "Versions des projections",
        "none": "Aucun pour l'instant.",
        "experiment": "expérimentation",
        "status": "statut",
        "scale": "échelle",
        "territory": "territoire",
        "carriers": "porteurs",
        "due": "échéance",
        "reached": "atteint",
        "days_late": "jours de retard",
        "review": "revue",
        "decision": "décision",
        "meeting": "rencontre",
        "milestone": "jalon",
        "learning": "apprentissage",
        "other": "autre",
        "period": "période",
        "held": "tenues",
        "expected": "attendues",
    },
}  # fmt: skip
CATEGORY = {
    "ReviewSessionHeld": "review", "DecisionRecorded": "decision", "MeetingHeld": "meeting",
    "MilestonePlanned": "milestone", "MilestoneRescheduled": "milestone",
    "MilestoneReached": "milestone", "MilestoneAbandoned": "milestone",
    "LearningRecorded": "learning",
}  # fmt: skip
CATEGORIES = ("review", "decision", "meeting", "milestone", "learning", "other")
FRENCH_LABELS = {f.key: f.label_fr for f in DEFAULT_FUNCTIONS}
CSS = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 60rem; color: #222; }
h1 { font-size: 1.6rem; } h2 { margin-top: 2rem; border-bottom: 1px solid #ccc; }
table { border-collapse: collapse; margin: .5rem 0; font-size: .85rem; }
th, td { border: 1px solid #ddd; padding: .2rem .4rem; text-align: left; vertical-align: top; }
td.n { text-align: center; } td.c0 { background: #f7f7f7; } td.c1 { background: #d9f0d3; }
td.c2 { background: #a6dba0; } td.c3 { background: #5aae61; color: #fff; }
del { color: #999; } .overdue { color: #b00; font-weight: bold; } figure { margin: .5rem 0; }
footer { margin-top: 3rem; font-size: .75rem; color: #555; word-break: break-all; }
@media print { section.experiment { page-break-inside: avoid; } body { margin: 0; } }
"""


@dataclass(frozen=True)
class ReportData:
    """Everything the report shows, gathered by `LearningLoop.report_data`: one `query_many`
    at (D, T) plus the seal's digest. Each list field is the records of the query of the same
    name in `QUERIES`."""

    as_of: date
    known_at: datetime
    head_digest: str
    partners: list[Row]
    experiments: list[Row]
    coverage: list[Row]
    evidence: list[Row]
    timeline: list[Row]
    cadence: list[Row]
    milestones: list[Row]
    versions: list[Row]


# One read-only query per ReportData list field, all run on one connection at (D, T).
QUERIES = {
    "partners": "select joined_on, left_on from partners order by partner",
    "experiments": "select * from experiments order by experiment",
    "coverage": "select * from function_coverage order by experiment, ordinal",
    "evidence": "select experiment, payload ->> '$.function' as function, "
    "payload ->> '$.evidence' as evidence, occurred_on from counted_events "
    "where type = 'FunctionEvidenced' order by experiment, occurred_on, version",
    "timeline": "select e.experiment, e.version, e.type, e.occurred_on, e.is_retracted, "
    "t.cycle, t.summary from events e left join timeline t using (experiment, version) "
    "where e.experiment is not null and e.type <> 'EventRetracted' "
    "order by e.experiment, e.occurred_on, e.version",
    "cadence": "select * from commitment_cadence order by experiment, commitment, period",
    "milestones": "select * from milestones order by experiment, due_on, milestone",
    "versions": "select projection, version from projection_versions order by 1",
}


def render(data: ReportData, lang: str = "en") -> str:
    """The whole report as one HTML document: a pure function of the data and the language."""
    text = TEXT[lang]
    body = [
        f"<h1>{_e(text['title'])}</h1>",
        f"<p>{_e(text['as_of'])} {data.as_of.isoformat()}, {_e(text['known_at'])} "
        f"{data.known_at.isoformat()}</p>",
        *(section(data, lang) for section in SECTIONS),
    ]
    return (
        f'<!DOCTYPE html>\n<html lang="{lang}"><head><meta charset="utf-8">'
        f"<title>{_e(text['title'])}</title><style>{CSS}</style></head><body>\n"
        + "\n".join(body)
        + "\n</body></html>\n"
    )


def _overview(data: ReportData, lang: str) -> str:
    text, partners = TEXT[lang], data.partners
    joins = [p["joined_on"] for p in partners]
    leaves = [p["left_on"] for p in partners if p["left_on"]]
    chart = charts.partners_over_time(joins, leaves, text["active"]) if joins else ""
    experiments = data.experiments
    columns = ("experiment", "status", "scale", "territory", "carriers")
    table = _table(
        [text[c] for c in columns],
        [[e["experiment"], e["status"], e["scale"], e["territory"] or "",
          ", ".join(e["carriers"] or [])] for e in experiments],
    )  # fmt: skip
    return (
        f"<section><h2>{_e(text['overview'])}</h2><h3>{_e(text['partners'])}</h3>"
        f"<figure>{chart}</figure><h3>{_e(text['experiments'])}</h3>{table}</section>"
    )


def _coverage(data: ReportData, lang: str) -> str:
    text, coverage, evidence = TEXT[lang], data.coverage, data.evidence
    if not coverage:
        return f"<section><h2>{_e(text['coverage'])}</h2><p>{_e(text['none'])}</p></section>"
    experiments = sorted({c["experiment"] for c in coverage})
    functions = [c["function"] for c in coverage if c["experiment"] == experiments[0]]
    labels = {c["function"]: c["label"] for c in coverage}
    if lang == "fr":
        labels = {key: FRENCH_LABELS.get(key) or label for key, label in labels.items()}
    counts = {(c["experiment"], c["function"]): c["evidence_count"] for c in coverage}
    cited: dict[tuple[str, str], list[str]] = defaultdict(list)
    for item in evidence:
        cited[(item["experiment"], item["function"])].append(
            f"{item['occurred_on'].isoformat()}: {item['evidence']}"
        )
    matrix = [[counts.get((x, f), 0) for f in functions] for x in experiments]
    chart = charts.coverage_heatmap(experiments, [labels[f] for f in functions], matrix)
    header = "".join(f"<th>{_e(labels[f])}</th>" for f in functions)
    lines = []
    for experiment in experiments:
        cells = []
        for function in functions:
            count = counts.get((experiment, function), 0)
            items = "".join(f"<li>{_e(i)}</li>" for i in cited[(experiment, function)])
            detail = (f"<details><summary>{count}</summary><ul>{items}</ul></details>"
                      if count else "0")  # fmt: skip
            cells.append(f'<td class="n c{min(count, 3)}">{detail}</td>')
        lines.append(f"<tr><th>{_e(experiment)}</th>{''.join(cells)}</tr>")
    table = f"<table><tr><th></th>{header}</tr>{''.join(lines)}</table>"
    return f"<section><h2>{_e(text['coverage'])}</h2><figure>{chart}</figure>{table}</section>"


def _timelines(data: ReportData, lang: str) -> str:
    text = TEXT[lang]
    by_experiment: dict[str, list[Row]] = defaultdict(list)
    for event in data.timeline:
        by_experiment[event["experiment"]].append(event)
    sections = [f"<section><h2>{_e(text['timelines'])}</h2>"]
    labels = [text[c] for c in CATEGORIES]
    for experiment, items in sorted(by_experiment.items()):
        points = [
            {"day": i["occurred_on"], "cycle": i["cycle"] or 1, "retracted": i["is_retracted"],
             "category": text[CATEGORY.get(i["type"], "other")]}
            for i in items
        ]  # fmt: skip
        chart = charts.learning_timeline(points, labels)
        sections.append(
            f'<section class="experiment"><h3>{_e(experiment)}</h3><figure>{chart}</figure>'
            f"{_cycle_lists(items, text)}</section>"
        )
    sections.append("</section>")
    return "".join(sections)


def _cycle_lists(items: Sequence[Row], text: dict[str, str]) -> str:
    cycles: dict[int, list[str]] = defaultdict(list)
    last_cycle = 1
    for item in items:
        cycle = item["cycle"] or last_cycle
        last_cycle = cycle
        line = f"{item['occurred_on'].isoformat()} — {_e(item['summary'] or item['type'])}"
        if item["is_retracted"]:
            line = f"<del>{item['occurred_on'].isoformat()} — {_e(item['type'])}</del> " \
                   f"({_e(text['retracted'])})"  # fmt: skip
        cycles[cycle].append(f"<li>{line}</li>")
    return "".join(
        f"<h4>{_e(text['cycle'])} {cycle}</h4><ul>{''.join(lines)}</ul>"
        for cycle, lines in sorted(cycles.items())
    )


def _cadence(data: ReportData, lang: str) -> str:
    text, periods = TEXT[lang], data.cadence
    if not periods:
        return f"<section><h2>{_e(text['cadence'])}</h2><p>{_e(text['none'])}</p></section>"
    chart = charts.cadence_bands(periods, text["meetings"])
    table = _table(
        [text["experiment"], text["period"], text["held"], text["expected"], text["status"]],
        [[p["experiment"], f"{p['commitment']} #{p['period']} ({p['period_start']} → "
          f"{p['period_end']})", p["meetings_held"], f"{p['expected_min']}–{p['expected_max']}",
          p["status"]] for p in periods],
    )  # fmt: skip
    return f"<section><h2>{_e(text['cadence'])}</h2><figure>{chart}</figure>{table}</section>"


def _milestones(data: ReportData, lang: str) -> str:
    text = TEXT[lang]
    if not data.milestones:
        return f"<section><h2>{_e(text['milestones'])}</h2><p>{_e(text['none'])}</p></section>"
    # Labelled copies: the renderer never changes the data it was given.
    milestones = [m | {"label": f"{m['experiment']}: {m['title']}"} for m in data.milestones]
    chart = charts.milestone_lines(milestones, data.as_of)
    lines = []
    for m in milestones:
        css = ' class="overdue"' if m["status"] == "overdue" else ""
        lines.append(
            f"<tr{css}><td>{_e(m['label'])}</td><td>{m['due_on']}</td>"
            f"<td>{m['reached_on'] or ''}</td><td>{_e(m['status'])}</td>"
            f"<td>{m['days_late']}</td></tr>"
        )
    header = "".join(f"<th>{_e(text[c])}</th>" for c in
                     ("milestone", "due", "reached", "status", "days_late"))  # fmt: skip
    return (
        f"<section><h2>{_e(text['milestones'])}</h2><figure>{chart}</figure>"
        f"<table><tr>{header}</tr>{''.join(lines)}</table></section>"
    )


def _footer(data: ReportData, lang: str) -> str:
    text = TEXT[lang]
    listed = ", ".join(f"{v['projection']} {v['version']}" for v in data.versions)
    return (
        f"<footer><p>{_e(text['digest'])}: {data.head_digest}</p>"
        f"<p>{_e(text['versions'])}: {listed}</p>"
        f"<p>D = {data.as_of.isoformat()}, T = {data.known_at.isoformat()}</p></footer>"
    )


# The report's sections in page order; each renders its part of the data in one language.
SECTIONS: tuple[Callable[[ReportData, str], str], ...] = (
    _overview,
    _coverage,
    _timelines,
    _cadence,
    _milestones,
    _footer,
)


def _table(header: Sequence[str], body: Sequence[Sequence[Any]]) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in header)
    lines = "".join(
        "<tr>" + "".join(f"<td>{_e('' if v is None else v)}</td>" for v in row) + "</tr>"
        for row in body
    )
    return f"<table><tr>{head}</tr>{lines}</table>"


def _e(value: Any) -> str:
    return html.escape(str(value))
