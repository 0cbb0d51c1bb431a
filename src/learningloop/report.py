"""One self-contained HTML report for the chair, partners and funders: no network, prints well.

The same log, D and T always give the same bytes: T defaults to the last recording, charts are
SVG with fixed ids, and nothing depends on the clock but the default D (today).
"""

from __future__ import annotations

import html
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from learningloop import charts
from learningloop.domain.events import DEFAULT_FUNCTIONS
from learningloop.domain.values import BASES, format_at_precision

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
        "programme": "Programme",
        "axes": "Axes of work",
        "partners_count": "Partners recorded: {recorded} (the sources state {stated}).",
        "partners_count_only": "Partners recorded: {recorded}.",
        "sources": "Sources quoted ({n})",
        "facts": "Facts on record: {stated} stated, {inferred} inferred, {illustrative} "
                 "illustrative — inferred facts are the recorder's reading of the sources, "
                 "illustrative ones are examples.",
        "evidence_shares": "Evidence behind this table: {stated} stated, {inferred} inferred, "
                           "{illustrative} illustrative (of {total}).",
        "uncertain": "{n} events are not yet certain at this date: the sources date them only to "
                     "a month, quarter, semester or year that ends later (hatched); they count "
                     "from its first day.",
        "period_only": "known only to its period",
        "stated_size": "{n} partners, as the sources state",
        "inferred": "inferred",
        "illustrative": "illustrative",
        "covered": "covered (evidence count)",
        "absent": "assessed absent",
        "not_applicable": "not applicable",
        "not_assessed": "not assessed",
        "no_meeting": "no meeting recorded",
        "no_record": "no record since {day}",
        "below": "below the band",
        "legend_basis": "Marks: (inferred) the recorder's reading; (illustrative) an example.",
        "programmes": "Programmes",
        "programme_coverage": "Coverage by programme (% of experiments covering each function)",
        "selection": "Detail below for {shown} of {total} experiments: {how}.",
        "most_active": "the most active ones (choose others with --experiment or --programme)",
        "chosen": "those chosen with --experiment or --programme",
        "monthly": "{events} events, counted by month",
        "month": "month",
        "framework_own": "Framework: the programme's own functions.",
        "framework_file": "Framework: what if the functions were those of {name} ({keys}); "
                          "not the programme's own.",
        "since": "What changed since {t1}",
        "new_facts": "New facts",
        "backdated": "Back-dated corrections (occurred before T1, recorded after it)",
        "retractions": "Retractions",
        "moved": "Indicators that moved",
        "position": "position",
        "latency": "Learning latency",
        "reporting_delay_median_days": "median reporting delay",
        "median_cycle_days": "median cycle length",
        "days": "days (dashed: the programme's median)",
        "predictions": "Predictions: calibration and Brier score",
        "predicted": "predicted probability",
        "observed": "observed frequency",
        "brier": "mean Brier score",
        "resolved": "resolved",
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
        "programme": "Programme",
        "axes": "Axes de travail",
        "partners_count": "Partenaires enregistrés : {recorded} (les sources en annoncent "
                          "{stated}).",
        "partners_count_only": "Partenaires enregistrés : {recorded}.",
        "sources": "Sources citées ({n})",
        "facts": "Faits enregistrés : {stated} énoncés, {inferred} déduits, {illustrative} "
                 "illustratifs — un fait déduit est la lecture des sources par la personne qui "
                 "l'a saisi, un fait illustratif est un exemple.",
        "evidence_shares": "Éléments derrière ce tableau : {stated} énoncés, {inferred} déduits, "
                           "{illustrative} illustratifs (sur {total}).",
        "uncertain": "{n} événements ne sont pas encore certains à cette date : les sources ne "
                     "les datent qu'au mois, au trimestre, au semestre ou à l'année, qui finit "
                     "plus tard (hachuré) ; ils comptent dès le premier jour de cette période.",
        "period_only": "connu seulement à la période",
        "stated_size": "{n} partenaires, selon les sources",
        "inferred": "déduit",
        "illustrative": "illustratif",
        "covered": "couverte (nombre d'éléments)",
        "absent": "évaluée absente",
        "not_applicable": "sans objet",
        "not_assessed": "non évaluée",
        "no_meeting": "aucune rencontre enregistrée",
        "no_record": "rien d'enregistré depuis {day}",
        "below": "sous la fourchette",
        "legend_basis": "Marques : (déduit) lecture de la personne qui a saisi ; (illustratif) "
                        "un exemple.",
        "framework_own": "Référentiel : les fonctions du programme.",
        "framework_file": "Référentiel : et si les fonctions étaient celles de {name} ({keys}) ; "
                          "pas celles du programme.",
        "since": "Ce qui a changé depuis le {t1}",
        "new_facts": "Faits nouveaux",
        "backdated": "Corrections antidatées (survenues avant T1, enregistrées après)",
        "retractions": "Retraits",
        "moved": "Indicateurs qui ont bougé",
        "position": "position",
        "latency": "Latence de l'apprentissage",
        "reporting_delay_median_days": "délai médian d'enregistrement",
        "median_cycle_days": "durée médiane d'un cycle",
        "days": "jours (tirets : la médiane du programme)",
        "predictions": "Prédictions : calibrage et score de Brier",
        "predicted": "probabilité prédite",
        "observed": "fréquence observée",
        "brier": "score de Brier moyen",
        "resolved": "résolues",
        "programmes": "Programmes",
        "programme_coverage": "Couverture par programme (% des expérimentations couvrant "
        "chaque fonction)",
        "selection": "Détail ci-dessous pour {shown} des {total} expérimentations : {how}.",
        "most_active": "les plus actives (en choisir d'autres avec --experiment ou --programme)",
        "chosen": "celles choisies avec --experiment ou --programme",
        "monthly": "{events} événements, comptés par mois",
        "month": "mois",
    },
}  # fmt: skip
# Every value a reader sees, in each language (statuses, scales, event kinds).
VALUES = {
    "en": {
        "proposed": "proposed", "retained": "retained", "not_retained": "not retained",
        "paused": "paused", "closed": "closed", "above": "above the band", "met": "met",
        "in_progress": "in progress", "below": "below the band", "reached": "reached",
        "abandoned": "abandoned", "overdue": "overdue", "pending": "pending",
        "employment_basin": "employment basin", "company": "company",
        "neighbourhood": "neighbourhood", "region": "region", "network": "network",
        "other": "other", "retain": "retain", "reject": "reject", "adapt": "adapt",
        "continue": "continue", "pause": "pause", "close": "close", "stakeholder": "stakeholder",
        "local": "local", "steering": "steering",
    },
    "fr": {
        "proposed": "proposée", "retained": "retenue", "not_retained": "non retenue",
        "paused": "en pause", "closed": "close", "above": "au-dessus de la fourchette",
        "met": "respecté", "in_progress": "en cours", "below": "sous la fourchette",
        "reached": "atteint", "abandoned": "abandonné", "overdue": "en retard",
        "pending": "à venir", "employment_basin": "bassin d'emploi", "company": "entreprise",
        "neighbourhood": "quartier", "region": "région", "network": "réseau", "other": "autre",
        "retain": "retenir", "reject": "ne pas retenir", "adapt": "adapter",
        "continue": "poursuivre", "pause": "suspendre", "close": "clore",
        "stakeholder": "parties prenantes", "local": "locale", "steering": "pilotage",
    },
}  # fmt: skip
# One line per event, in each language, from its payload (the SQL summary is English only).
SUMMARIES = {
    "en": {
        "ExperimentProposed": "Proposed: {title} (carried by {carriers})",
        "ReviewSessionHeld": "Review {review}: session {session} of {sessions_planned}",
        "DecisionRecorded": "Decision {decision} ({kind}): {summary}",
        "CommitmentMade": "Commitment {commitment}: {meetings_per_year_min} to "
                          "{meetings_per_year_max} meetings a year for {months} months",
        "MeetingHeld": "Meeting ({kind}): {attendees}",
        "MilestonePlanned": "Milestone {milestone} planned: {title}, due {due_on}",
        "MilestoneRescheduled": "Milestone {milestone} rescheduled to {due_on}",
        "MilestoneReached": "Milestone {milestone} reached",
        "MilestoneAbandoned": "Milestone {milestone} abandoned",
        "LearningRecorded": "Learning {learning}: {observation}",
        "FunctionEvidenced": "Function {function} evidenced (strength {strength}): {evidence}",
        "FunctionAssessed": "Function {function} assessed: {result}",
        "ExperimentClosed": "Experiment closed",
        "PredictionMade": "Prediction {prediction} (resolves {resolves_on}): {statement}",
        "PredictionResolved": "Prediction {prediction} resolved: {outcome}",
        "attendees": "{n} attendees", "no_attendees": "attendees not recorded",
    },
    "fr": {
        "ExperimentProposed": "Proposée : {title} (portée par {carriers})",
        "ReviewSessionHeld": "Revue {review} : séance {session} sur {sessions_planned}",
        "DecisionRecorded": "Décision {decision} ({kind}) : {summary}",
        "CommitmentMade": "Engagement {commitment} : {meetings_per_year_min} à "
                          "{meetings_per_year_max} rencontres par an pendant {months} mois",
        "MeetingHeld": "Rencontre ({kind}) : {attendees}",
        "MilestonePlanned": "Jalon {milestone} prévu : {title}, échéance {due_on}",
        "MilestoneRescheduled": "Jalon {milestone} reporté au {due_on}",
        "MilestoneReached": "Jalon {milestone} atteint",
        "MilestoneAbandoned": "Jalon {milestone} abandonné",
        "LearningRecorded": "Apprentissage {learning} : {observation}",
        "FunctionEvidenced": "Fonction {function} étayée (force {strength}) : {evidence}",
        "FunctionAssessed": "Fonction {function} évaluée : {result}",
        "ExperimentClosed": "Expérimentation close",
        "PredictionMade": "Prédiction {prediction} (échéance {resolves_on}) : {statement}",
        "PredictionResolved": "Prédiction {prediction} résolue : {outcome}",
        "attendees": "{n} participants", "no_attendees": "participants non indiqués",
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
ENGLISH_LABELS = {f.key: f.label for f in DEFAULT_FUNCTIONS}
CSS = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 60rem; color: #222; }
h1 { font-size: 1.6rem; } h2 { margin-top: 2rem; border-bottom: 1px solid #ccc; }
table { border-collapse: collapse; margin: .5rem 0; font-size: .85rem; }
th, td { border: 1px solid #ddd; padding: .2rem .4rem; text-align: left; vertical-align: top; }
td.n { text-align: center; } td.c0 { background: #f7f7f7; } td.c1 { background: #d9f0d3; }
td.c2 { background: #a6dba0; } td.c3 { background: #5aae61; color: #fff; }
td.absent { background: #f4a582; } td.not_assessed { background: #fff; color: #888; }
td.not_applicable { background: repeating-linear-gradient(45deg, #eee, #eee 4px, #d9d9d9 4px,
  #d9d9d9 8px); }
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
    # what changed since T1 (knowledge.changes records) when the report was asked for it.
    framework: str = ""
    framework_keys: tuple[str, ...] = ()
    since: datetime | None = None
    changes: list[Row] = field(default_factory=list)


# An experiment's timeline beyond this many events is counted by month, not drawn event by
# event (a drawing of thousands of points is slow and weighs megabytes).
MONTHLY_BEYOND = 300
# Experiment-level queries read only the selected experiments when the variable is set.
SELECTED = (
    "(getvariable('report_experiments') is null "
    "or list_contains(getvariable('report_experiments'), experiment))"
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
    "partners": "select joined_on, left_on from partners order by partner",
    "experiments": f"select * from experiments where {SELECTED} order by experiment",
    "coverage": f"select * from function_coverage where {SELECTED} order by experiment, ordinal",
    "evidence": "select experiment, payload ->> '$.function' as function, "
    "payload ->> '$.evidence' as evidence, occurred_on, precision, basis from counted_events "
    f"where type = 'FunctionEvidenced' and {SELECTED} order by experiment, occurred_on, version",
    "timeline": "select e.experiment, e.version, e.type, e.occurred_on, e.is_retracted, "
    "e.precision, e.occurred_until, e.is_certain, e.basis, e.payload, "
    "t.cycle, t.summary from events e left join timeline t using (experiment, version) "
    "where e.experiment is not null and e.type <> 'EventRetracted' "
    f"and {SELECTED.replace('experiment)', 'e.experiment)')} "
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


def render(data: ReportData, lang: str = "en") -> str:
    """The whole report as one HTML document: a pure function of the data and the language."""
    text = TEXT[lang]
    titles = [p["title"] for p in data.programme if p["title"]]
    title = f"{text['title']} — {titles[0]}" if titles else text["title"]
    body = [
        _framework_line(data, lang),
        f"<h1>{_e(title)}</h1>",
        f"<p>{_e(text['as_of'])} {data.as_of.isoformat()}, {_e(text['known_at'])} "
        f"{_moment(data.known_at)}</p>",
        *(section(data, lang) for section in SECTIONS),
    ]
    return (
        f'<!DOCTYPE html>\n<html lang="{lang}"><head><meta charset="utf-8">'
        f"<title>{_e(title)}</title><style>{CSS}</style></head><body>\n"
        + "\n".join(body)
        + "\n</body></html>\n"
    )


def _moment(moment: datetime) -> str:
    """A transaction time to the second, in UTC: microseconds mean nothing to a reader."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _day(day: date, precision: str | None) -> str:
    return format_at_precision(day, precision or "day")


def _value(value: Any, lang: str) -> str:
    return VALUES[lang].get(str(value), str(value)) if value is not None else ""


def _basis_mark(basis: str | None, text: dict[str, str]) -> str:
    return f" <em>({_e(text[basis])})</em>" if basis in ("inferred", "illustrative") else ""


def _programme(data: ReportData, lang: str) -> str:
    """Title, axes, partners recorded against the size the sources state, and the sources."""
    text = TEXT[lang]
    parts = [f"<section><h2>{_e(text['programme'])}</h2>"]
    recorded = len(data.partners)
    for programme in data.programme:
        parts.append(f"<h3>{_e(programme['title'] or programme['programme'])}</h3>")
        axes = programme["axes"] or []
        if axes:
            items = "".join(f"<li>{_e(axis)}</li>" for axis in axes)
            parts.append(f"<h4>{_e(text['axes'])}</h4><ol>{items}</ol>")
        stated = programme["partners_stated"]
        line = text["partners_count"] if stated is not None else text["partners_count_only"]
        parts.append(f"<p>{_e(line.format(recorded=recorded, stated=stated))}</p>")
    shares = {basis: sum(s[basis] for s in data.sources) for basis in BASES}
    parts.append(f"<p>{_e(text['facts'].format(**shares))}</p>")
    quoted = [s for s in data.sources if s["source"]]
    items = "".join(f"<li>« {_e(s['source'])} » ({s['facts']})</li>" for s in quoted)
    parts.append(f"<details><summary>{_e(text['sources'].format(n=len(quoted)))}</summary>"
                 f"<ul>{items}</ul></details></section>")  # fmt: skip
    return "".join(parts)


def _overview(data: ReportData, lang: str) -> str:
    text, partners = TEXT[lang], data.partners
    joins = [p["joined_on"] for p in partners]
    leaves = [p["left_on"] for p in partners if p["left_on"]]
    sizes = [p["partners_stated"] for p in data.programme if p["partners_stated"] is not None]
    stated = (sizes[0], text["stated_size"].format(n=sizes[0])) if sizes else None
    chart = charts.partners_over_time(joins, leaves, text["active"], stated) if joins else ""
    experiments = data.experiments
    columns = ("experiment", "status", "scale", "territory", "carriers")
    table = _table(
        [text[c] for c in columns],
        [[e["experiment"], _value(e["status"], lang), _value(e["scale"], lang),
          e["territory"] or "", ", ".join(e["carriers"] or [])] for e in experiments],
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
    cells = {(c["experiment"], c["function"]): c for c in coverage}
    cited: dict[tuple[str, str], list[str]] = defaultdict(list)
    for item in evidence:
        cited[(item["experiment"], item["function"])].append(
            f"{_day(item['occurred_on'], item['precision'])} : {_e(item['evidence'])}"
            + _basis_mark(item["basis"], text)
        )
    matrix = [[_cell(cells.get((x, f))) for f in functions] for x in experiments]
    legend = {status: text[status] for status in STATUSES}
    chart = charts.coverage_heatmap(experiments, [labels[f] for f in functions], matrix, legend)
    header = "".join(f"<th>{_e(labels[f])}</th>" for f in functions)
    lines = []
    for experiment in experiments:
        row = []
        for function in functions:
            status, count = _cell(cells.get((experiment, function)))
            items = "".join(f"<li>{i}</li>" for i in cited[(experiment, function)])
            detail = (f"<details><summary>{count}</summary><ul>{items}</ul></details>"
                      if count else _e(text[status]))  # fmt: skip
            row.append(f'<td class="n {status} c{min(count, 3)}">{detail}</td>')
        lines.append(f"<tr><th>{_e(experiment)}</th>{''.join(row)}</tr>")
    table = f"<table><tr><th></th>{header}</tr>{''.join(lines)}</table>"
    shares = {basis: sum(1 for e in evidence if e["basis"] == basis) for basis in BASES}
    note = text["evidence_shares"].format(total=len(evidence), **shares)
    return (
        f"<section><h2>{_e(text['coverage'])}</h2><p>{_e(note)}</p><figure>{chart}</figure>"
        f"{table}<p><small>{_e(text['legend_basis'])}</small></p></section>"
    )


STATUSES = ("covered", "absent", "not_applicable", "not_assessed")


def _cell(row: Row | None) -> tuple[str, int]:
    if row is None:
        return "not_assessed", 0
    return row.get("status") or ("covered" if row["evidence_count"] else "not_assessed"), int(
        row["evidence_count"]
    )


def _programmes(data: ReportData, lang: str) -> str:
    """Only when the detail is a selection: every programme's summary, coverage by programme."""
    if data.selection is None:
        return ""
    text = TEXT[lang]
    shown, total, chosen = data.selection
    how = text["chosen"] if chosen else text["most_active"]
    note = text["selection"].format(shown=shown, total=total, how=how)
    columns = list(data.programmes[0]) if data.programmes else []
    table = _table(columns, [[row[c] for c in columns] for row in data.programmes])
    return (
        f"<section><h2>{_e(text['programmes'])}</h2><p>{_e(note)}</p>{table}"
        f"{_programme_coverage(data, lang)}</section>"
    )


def _programme_coverage(data: ReportData, lang: str) -> str:
    text = TEXT[lang]
    shares: dict[str, dict[str, int]] = defaultdict(dict)
    functions: list[str] = []
    for row in data.programme_coverage:
        if row["function"] not in functions:
            functions.append(row["function"])
        shares[row["programme"]][row["function"]] = round(
            100 * row["covering"] / max(row["experiments"], 1)
        )
    if not shares:
        return ""
    ordered = [row["programme"] for row in data.programmes if row["programme"] in shares]
    lines = []
    for programme in ordered:
        percents = [shares[programme].get(f, 0) for f in functions]
        cells = "".join(f'<td class="n c{_shade(n)}">{n}</td>' for n in percents)
        lines.append(f"<tr><th>{_e(programme)}</th>{cells}</tr>")
    header = "".join(f"<th>{_e(f)}</th>" for f in functions)
    table = f"<table><tr><th>{_e(text['programme'])}</th>{header}</tr>{''.join(lines)}</table>"
    return f"<h3>{_e(text['programme_coverage'])}</h3>{table}"


def _shade(percent: int) -> int:
    """The heatmap's four shades (c0..c3) for a share of experiments."""
    return 0 if percent == 0 else min(3, 1 + percent // 34)


def _monthly(items: Sequence[Row], text: dict[str, str]) -> str:
    """A long timeline as a table: events of each kind, month by month (retracted left out)."""
    counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for item in items:
        if not item["is_retracted"]:
            month = item["occurred_on"].isoformat()[:7]
            counts[month][CATEGORY.get(item["type"], "other")] += 1
    body = [[month, *(counts[month].get(c, 0) for c in CATEGORIES)] for month in sorted(counts)]
    note = text["monthly"].format(events=len(items))
    return f"<p>{_e(note)}</p>" + _table([text["month"], *(text[c] for c in CATEGORIES)], body)


def _timelines(data: ReportData, lang: str) -> str:
    text = TEXT[lang]
    by_experiment: dict[str, list[Row]] = defaultdict(list)
    for event in data.timeline:
        by_experiment[event["experiment"]].append(event)
    uncertain = sum(1 for e in data.timeline if not e["is_certain"] and not e["is_retracted"])
    sections = [f"<section><h2>{_e(text['timelines'])}</h2>"]
    if uncertain:
        sections.append(f"<p>{_e(text['uncertain'].format(n=uncertain))}</p>")
    sections.append(f"<p><small>{_e(text['legend_basis'])}</small></p>")
    labels = [text[c] for c in CATEGORIES]
    for experiment, items in sorted(by_experiment.items()):
        if len(items) > MONTHLY_BEYOND:
            sections.append(f'<section class="experiment"><h3>{_e(experiment)}</h3>'
                            f"{_monthly(items, text)}</section>")  # fmt: skip
            continue
        points = [
            {"day": i["occurred_on"], "until": i["occurred_until"] or i["occurred_on"],
             "cycle": i["cycle"] or 1, "retracted": i["is_retracted"],
             "category": text[CATEGORY.get(i["type"], "other")]}
            for i in items
        ]  # fmt: skip
        chart = charts.learning_timeline(points, labels, text)
        sections.append(
            f'<section class="experiment"><h3>{_e(experiment)}</h3><figure>{chart}</figure>'
            f"{_cycle_lists(items, lang)}</section>"
        )
    sections.append("</section>")
    return "".join(sections)


def summarise(item: Row, lang: str) -> str:
    """One line for an event in the reader's language, from its stored facts."""
    payload = item.get("payload") or {}
    words = SUMMARIES[lang]
    template = words.get(item["type"])
    if not isinstance(payload, dict) or template is None:
        return str(item.get("summary") or item["type"])
    facts = {key: _value(value, lang) if key in ("kind", "result") else value
             for key, value in payload.items()}  # fmt: skip
    facts["carriers"] = ", ".join(payload.get("carriers") or [])
    if "function" in payload:
        labels = FRENCH_LABELS if lang == "fr" else ENGLISH_LABELS
        facts["function"] = labels.get(payload["function"], payload["function"])
    attendees = payload.get("attendees")
    facts["attendees"] = (words["no_attendees"] if attendees is None
                          else words["attendees"].format(n=attendees))  # fmt: skip
    if isinstance(payload.get("outcome"), bool):  # a prediction's: true or false, in words
        facts["outcome"] = {"en": ("false", "true"), "fr": ("faux", "vrai")}[lang][
            payload["outcome"]
        ]
    if item["type"] == "FunctionAssessed":
        facts["result"] = TEXT[lang].get(str(payload.get("result")), payload.get("result"))
    try:
        return " ".join(template.format(**facts).split())
    except (KeyError, IndexError):
        return str(item.get("summary") or item["type"])


def _cycle_lists(items: Sequence[Row], lang: str) -> str:
    text = TEXT[lang]
    cycles: dict[int, list[str]] = defaultdict(list)
    last_cycle = 1
    for item in items:
        cycle = item["cycle"] or last_cycle
        last_cycle = cycle
        day = _day(item["occurred_on"], item["precision"])
        if not item["is_certain"]:
            day = f"≈ {day}"
        line = f"{day} — {_e(summarise(item, lang))}{_basis_mark(item['basis'], text)}"
        if item["is_retracted"]:
            line = f"<del>{day} — {_e(summarise(item, lang))}</del> ({_e(text['retracted'])})"
        cycles[cycle].append(f"<li>{line}</li>")
    return "".join(
        f"<h4>{_e(text['cycle'])} {cycle}</h4><ul>{''.join(lines)}</ul>"
        for cycle, lines in sorted(cycles.items())
    )


def _cadence(data: ReportData, lang: str) -> str:
    text, periods = TEXT[lang], data.cadence
    if not periods:
        return f"<section><h2>{_e(text['cadence'])}</h2><p>{_e(text['none'])}</p></section>"
    chart = charts.cadence_bands(periods, text["meetings"], text)
    table = _table(
        [text["experiment"], text["period"], text["held"], text["expected"], text["status"]],
        [[p["experiment"], f"{p['commitment']} #{p['period']} ({p['period_start']} → "
          f"{p['period_end']})", p["meetings_held"], f"{p['expected_min']}–{p['expected_max']}",
          _value(p["status"], lang)
          + (f" ({text['no_meeting']})" if p["status"] == "below" and not p["meetings_held"]
             else "")] for p in periods],
    )  # fmt: skip
    return f"<section><h2>{_e(text['cadence'])}</h2><figure>{chart}</figure>{table}</section>"


def _milestones(data: ReportData, lang: str) -> str:
    text = TEXT[lang]
    if not data.milestones:
        return f"<section><h2>{_e(text['milestones'])}</h2><p>{_e(text['none'])}</p></section>"
    latest: dict[str, Row] = {}
    for item in data.timeline:
        if not item["is_retracted"]:
            latest[item["experiment"]] = item  # in (occurred_on, version) order: the last
    milestones = [_milestone_label(m, latest.get(m["experiment"]), lang)
                  for m in data.milestones]  # fmt: skip
    chart = charts.milestone_lines(milestones, data.as_of)
    lines = []
    for m in milestones:
        css = ' class="overdue"' if m["status"] == "overdue" else ""
        lines.append(
            f"<tr{css}><td>{_e(m['label'])}</td><td>{m['due_on']}</td>"
            f"<td>{m['reached_on'] or ''}</td><td>{_e(m['shown'])}</td>"
            f"<td>{m['days_late']}</td></tr>"
        )
    header = "".join(f"<th>{_e(text[c])}</th>" for c in
                     ("milestone", "due", "reached", "status", "days_late"))  # fmt: skip
    return (
        f"<section><h2>{_e(text['milestones'])}</h2><figure>{chart}</figure>"
        f"<table><tr>{header}</tr>{''.join(lines)}</table></section>"
    )


def _milestone_label(milestone: Row, latest: Row | None, lang: str) -> Row:
    """A labelled copy; an overdue milestone with nothing recorded since its due date says so
    instead of reading as a failure (the renderer never changes the data it was given)."""
    shown = _value(milestone["status"], lang)
    status = milestone["status"]
    if status == "overdue" and latest and latest["occurred_on"] <= milestone["due_on"]:
        day = _day(latest["occurred_on"], latest["precision"])
        shown, status = f"{shown} ({TEXT[lang]['no_record'].format(day=day)})", "unrecorded"
    return milestone | {"label": f"{milestone['experiment']}: {milestone['title']}",
                        "shown": shown, "status": status}  # fmt: skip


def _footer(data: ReportData, lang: str) -> str:
    text = TEXT[lang]
    listed = ", ".join(f"{v['projection']} {v['version']}" for v in data.versions)
    return (
        f"<footer><p>{_e(text['digest'])}: {data.head_digest}</p>"
        f"<p>{_e(text['versions'])}: {listed}</p>"
        f"<p>D = {data.as_of.isoformat()}, T = {_moment(data.known_at)}</p></footer>"
    )


def _framework_line(data: ReportData, lang: str) -> str:
    """The report's first line: which function framework its coverage is computed against."""
    text = TEXT[lang]
    if not data.framework:
        return f"<p>{_e(text['framework_own'])}</p>"
    keys = ", ".join(data.framework_keys)
    return (
        f"<p><strong>{_e(text['framework_file'].format(name=data.framework, keys=keys))}"
        "</strong></p>"
    )


def _since(data: ReportData, lang: str) -> str:
    """New facts, back-dated corrections and retractions recorded after T1, and the
    indicator rows they moved (CONTRACT 6.5)."""
    text = TEXT[lang]
    if data.since is None:  # only a report asked for `--since T1` has this section
        return ""
    parts = [f"<section><h2>{_e(text['since'].format(t1=_moment(data.since)))}</h2>"]
    # rows of events recorded after T1 (a retracted event's row changes too: not a new fact)
    recorded = [c["row"] for c in data.changes if c["table"] == "events"
                and c["change"] == "added" and c["row"]["recorded_at"] > data.since]  # fmt: skip
    first_day = data.since.astimezone(UTC).date()
    groups = {
        "retractions": [e for e in recorded if e["type"] == "EventRetracted"],
        "backdated": [e for e in recorded
                      if e["type"] != "EventRetracted" and e["occurred_on"] < first_day],
        "new_facts": [e for e in recorded
                      if e["type"] != "EventRetracted" and e["occurred_on"] >= first_day],
    }  # fmt: skip
    for name, rows in groups.items():
        items = "".join(
            f"<li>{_e(text['position'])} {e['position']}: {_e(e['type'])} "
            f"({_e(e['experiment'] or e['programme'])}, {_day(e['occurred_on'], e['precision'])})"
            "</li>"
            for e in rows
        )
        parts.append(f"<h3>{_e(text[name])}</h3>" + (f"<ul>{items}</ul>" if rows else
                                                     f"<p>{_e(text['none'])}</p>"))  # fmt: skip
    moved = sorted({(c["table"], c["row"].get("experiment") or c["row"].get("programme") or "")
                    for c in data.changes if c["table"] not in ("events", "timeline")})  # fmt: skip
    items = "".join(f"<li>{_e(table)}: {_e(key)}</li>" for table, key in moved)
    parts.append(f"<h3>{_e(text['moved'])}</h3>"
                 + (f"<ul>{items}</ul>" if moved else f"<p>{_e(text['none'])}</p>"))  # fmt: skip
    return "".join(parts) + "</section>"


def _latency(data: ReportData, lang: str) -> str:
    """Reporting delay and cycle length by experiment, against the programme's median."""
    text, rows = TEXT[lang], data.latency
    if not rows:
        return f"<section><h2>{_e(text['latency'])}</h2><p>{_e(text['none'])}</p></section>"
    columns = ("reporting_delay_median_days", "median_cycle_days")
    table = _table([text["experiment"], *(text[c] for c in columns)],
                   [[r["experiment"], *(r[c] for c in columns)] for r in rows])  # fmt: skip
    chart = charts.latency_bars(rows, text)
    return f"<section><h2>{_e(text['latency'])}</h2><figure>{chart}</figure>{table}</section>"


def _predictions(data: ReportData, lang: str) -> str:
    """A calibration chart of every resolved prediction and the mean Brier score by
    experiment (0 is perfect; always saying 50 % scores 0.25)."""
    text = TEXT[lang]
    heading = f"<section><h2>{_e(text['predictions'])}</h2>"
    if not data.prediction_scores:
        return f"{heading}<p>{_e(text['none'])}</p></section>"
    resolved = [(p["probability"], p["outcome"]) for p in data.predictions
                if p["outcome"] is not None]  # fmt: skip
    chart = f"<figure>{charts.calibration(resolved, text)}</figure>" if resolved else ""
    table = _table([text["experiment"], text["predictions"].split(":")[0], text["resolved"],
                    text["brier"]],
                   [[s["experiment"], s["predictions"], s["resolved"], s["brier_mean"]]
                    for s in data.prediction_scores])  # fmt: skip
    return f"{heading}{chart}{table}</section>"


# The report's sections in page order; each renders its part of the data in one language.
SECTIONS: tuple[Callable[[ReportData, str], str], ...] = (
    _programmes,
    _programme,
    _since,
    _overview,
    _coverage,
    _timelines,
    _cadence,
    _milestones,
    _latency,
    _predictions,
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
