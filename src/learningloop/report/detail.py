"""The report's per-experiment sections: learning timelines (counted by month when long),
cadence, milestones, latency and predictions."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from learningloop import charts
from learningloop.report.data import MILESTONE_CHART_ROWS, MONTHLY_BEYOND, ReportData, Row
from learningloop.report.markup import basis_mark, day_text, escape, html_table, value_text
from learningloop.report.words import (
    CATEGORIES,
    CATEGORY,
    ENGLISH_LABELS,
    FRENCH_LABELS,
    SUMMARIES,
    TEXT,
)


def timelines(data: ReportData, lang: str) -> str:
    text = TEXT[lang]
    by_experiment: dict[str, list[Row]] = defaultdict(list)
    for event in data.timeline:
        by_experiment[event["experiment"]].append(event)
    uncertain = sum(1 for e in data.timeline if not e["is_certain"] and not e["is_retracted"])
    sections = [f"<section><h2>{escape(text['timelines'])}</h2>"]
    if uncertain:
        sections.append(f"<p>{escape(text['uncertain'].format(n=uncertain))}</p>")
    sections.append(f"<p><small>{escape(text['legend_basis'])}</small></p>")
    labels = [text[c] for c in CATEGORIES]
    for experiment, items in sorted(by_experiment.items()):
        if len(items) > MONTHLY_BEYOND:
            sections.append(f'<section class="experiment"><h3>{escape(experiment)}</h3>'
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
            f'<section class="experiment"><h3>{escape(experiment)}</h3><figure>{chart}</figure>'
            f"{_cycle_lists(items, lang)}</section>"
        )
    sections.append("</section>")
    return "".join(sections)


def _monthly(items: Sequence[Row], text: dict[str, str]) -> str:
    """A long timeline as a table: events of each kind, month by month (retracted left out)."""
    counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for item in items:
        if not item["is_retracted"]:
            month = item["occurred_on"].isoformat()[:7]
            counts[month][CATEGORY.get(item["type"], "other")] += 1
    body = [[month, *(counts[month].get(c, 0) for c in CATEGORIES)] for month in sorted(counts)]
    note = text["monthly"].format(events=len(items))
    return f"<p>{escape(note)}</p>" + html_table(
        [text["month"], *(text[c] for c in CATEGORIES)], body
    )


def summarise(item: Row, lang: str) -> str:
    """One line for an event in the reader's language, from its stored facts."""
    payload = item.get("payload") or {}
    words = SUMMARIES[lang]
    template = words.get(item["type"])
    if not isinstance(payload, dict) or template is None:
        return str(item.get("summary") or item["type"])
    facts = {key: value_text(value, lang) if key in ("kind", "result") else value
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
        day = day_text(item["occurred_on"], item["precision"])
        if not item["is_certain"]:
            day = f"≈ {day}"
        line = f"{day} — {escape(summarise(item, lang))}{basis_mark(item['basis'], text)}"
        if item["is_retracted"]:
            line = (
                f"<del>{day} — {escape(summarise(item, lang))}</del> ({escape(text['retracted'])})"
            )
        cycles[cycle].append(f"<li>{line}</li>")
    return "".join(
        f"<h4>{escape(text['cycle'])} {cycle}</h4><ul>{''.join(lines)}</ul>"
        for cycle, lines in sorted(cycles.items())
    )


def cadence(data: ReportData, lang: str) -> str:
    text, periods = TEXT[lang], data.cadence
    if not periods:
        return f"<section><h2>{escape(text['cadence'])}</h2><p>{escape(text['none'])}</p></section>"
    chart = charts.cadence_bands(periods, text["meetings"], text)
    table = html_table(
        [text["experiment"], text["period"], text["held"], text["expected"], text["status"]],
        [[p["experiment"], f"{p['commitment']} #{p['period']} ({p['period_start']} → "
          f"{p['period_end']})", p["meetings_held"], f"{p['expected_min']}–{p['expected_max']}",
          value_text(p["status"], lang)
          + (f" ({text['no_meeting']})" if p["status"] == "below" and not p["meetings_held"]
             else "")] for p in periods],
    )  # fmt: skip
    return f"<section><h2>{escape(text['cadence'])}</h2><figure>{chart}</figure>{table}</section>"


OPEN = ("overdue", "unrecorded", "pending")  # milestone statuses still awaiting an outcome


def milestones(data: ReportData, lang: str) -> str:
    text = TEXT[lang]
    if not data.milestones:
        return (
            f"<section><h2>{escape(text['milestones'])}</h2><p>{escape(text['none'])}</p></section>"
        )
    latest: dict[str, Row] = {}
    for item in data.timeline:
        if not item["is_retracted"]:
            latest[item["experiment"]] = item  # in (occurred_on, version) order: the last
    milestones = [_milestone_label(m, latest.get(m["experiment"]), lang)
                  for m in data.milestones]  # fmt: skip
    drawn = _charted(milestones)
    chart = charts.milestone_lines(drawn, data.as_of)
    if len(drawn) < len(milestones):
        note = text["milestones_charted"].format(shown=len(drawn), total=len(milestones))
        chart += f"<figcaption>{escape(note)}</figcaption>"
    lines = []
    for m in milestones:
        css = ' class="overdue"' if m["status"] == "overdue" else ""
        lines.append(
            f"<tr{css}><td>{escape(m['label'])}</td><td>{m['due_on']}</td>"
            f"<td>{m['reached_on'] or ''}</td><td>{escape(m['shown'])}</td>"
            f"<td>{m['days_late']}</td></tr>"
        )
    header = "".join(f"<th>{escape(text[c])}</th>" for c in
                     ("milestone", "due", "reached", "status", "days_late"))  # fmt: skip
    return (
        f"<section><h2>{escape(text['milestones'])}</h2><figure>{chart}</figure>"
        f"<table><tr>{header}</tr>{''.join(lines)}</table></section>"
    )


def _charted(milestones: list[Row]) -> list[Row]:
    """At most MILESTONE_CHART_ROWS milestones to draw, in table order: the open ones first,
    then the latest due (a chart of hundreds of rows is metres tall and slow to draw)."""
    if len(milestones) <= MILESTONE_CHART_ROWS:
        return milestones
    ranked = sorted(range(len(milestones)), key=lambda n: (
        milestones[n]["status"] not in OPEN, -milestones[n]["due_on"].toordinal(), n))  # fmt: skip
    return [milestones[n] for n in sorted(ranked[:MILESTONE_CHART_ROWS])]


def _milestone_label(milestone: Row, latest: Row | None, lang: str) -> Row:
    """A labelled copy; an overdue milestone with nothing recorded since its due date says so
    instead of reading as a failure (the renderer never changes the data it was given)."""
    shown = value_text(milestone["status"], lang)
    status = milestone["status"]
    if status == "overdue" and latest and latest["occurred_on"] <= milestone["due_on"]:
        day = day_text(latest["occurred_on"], latest["precision"])
        shown, status = f"{shown} ({TEXT[lang]['no_record'].format(day=day)})", "unrecorded"
    return milestone | {"label": f"{milestone['experiment']}: {milestone['title']}",
                        "shown": shown, "status": status}  # fmt: skip


def latency(data: ReportData, lang: str) -> str:
    """Reporting delay and cycle length by experiment, against the programme's median."""
    text, rows = TEXT[lang], data.latency
    if not rows:
        return f"<section><h2>{escape(text['latency'])}</h2><p>{escape(text['none'])}</p></section>"
    columns = ("reporting_delay_median_days", "median_cycle_days")
    table = html_table([text["experiment"], *(text[c] for c in columns)],
                   [[r["experiment"], *(r[c] for c in columns)] for r in rows])  # fmt: skip
    chart = charts.latency_bars(rows, text)
    return f"<section><h2>{escape(text['latency'])}</h2><figure>{chart}</figure>{table}</section>"


def predictions(data: ReportData, lang: str) -> str:
    """A calibration chart of every resolved prediction and the mean Brier score by
    experiment (0 is perfect; always saying 50 % scores 0.25)."""
    text = TEXT[lang]
    heading = f"<section><h2>{escape(text['predictions'])}</h2>"
    if not data.prediction_scores:
        return f"{heading}<p>{escape(text['none'])}</p></section>"
    resolved = [(p["probability"], p["outcome"]) for p in data.predictions
                if p["outcome"] is not None]  # fmt: skip
    chart = f"<figure>{charts.calibration(resolved, text)}</figure>" if resolved else ""
    table = html_table([text["experiment"], text["predictions"].split(":")[0], text["resolved"],
                    text["brier"]],
                   [[s["experiment"], s["predictions"], s["resolved"], s["brier_mean"]]
                    for s in data.prediction_scores])  # fmt: skip
    return f"{heading}{chart}{table}</section>"
