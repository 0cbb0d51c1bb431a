"""The report's programme-level sections: the framework line, every programme's summary, the
programme, what changed since T1, the overview, the coverage heatmap and the footer."""

from __future__ import annotations

from collections import Counter, defaultdict

from learningloop import charts
from learningloop.domain.values import BASES
from learningloop.report.data import ReportData, Row
from learningloop.report.markup import (
    basis_mark,
    day_text,
    escape,
    html_table,
    moment_text,
    value_text,
)
from learningloop.report.words import FRENCH_LABELS, TEXT


def framework_line(data: ReportData, lang: str) -> str:
    """The report's first line: which function framework its coverage is computed against."""
    text = TEXT[lang]
    if not data.framework:
        return f"<p>{escape(text['framework_own'])}</p>"
    keys = ", ".join(data.framework_keys)
    return (
        f"<p><strong>{escape(text['framework_file'].format(name=data.framework, keys=keys))}"
        "</strong></p>"
    )


def programmes(data: ReportData, lang: str) -> str:
    """Only when the detail is a selection: every programme's summary, coverage by programme."""
    if data.selection is None:
        return ""
    text = TEXT[lang]
    shown, total, chosen = data.selection
    how = text["chosen"] if chosen else text["most_active"]
    note = text["selection"].format(shown=shown, total=total, how=how)
    columns = list(data.programmes[0]) if data.programmes else []
    table = html_table(columns, [[row[c] for c in columns] for row in data.programmes], wide=True)
    return (
        f"<section><h2>{escape(text['programmes'])}</h2><p>{escape(note)}</p>{table}"
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
        lines.append(f"<tr><th>{escape(programme)}</th>{cells}</tr>")
    header = "".join(f"<th>{escape(f)}</th>" for f in functions)
    table = f"<table><tr><th>{escape(text['programme'])}</th>{header}</tr>{''.join(lines)}</table>"
    return f"<h3>{escape(text['programme_coverage'])}</h3>{table}"


def _shade(percent: int) -> int:
    """The heatmap's four shades (c0..c3) for a share of experiments."""
    return 0 if percent == 0 else min(3, 1 + percent // 34)


def _described(data: ReportData) -> list[Row]:
    """Every programme, or, when the detail is a selection, those of its experiments: a
    network's thousand programmes are in the summary table above."""
    if data.selection is None:
        return data.programme
    chosen = {experiment["programme"] for experiment in data.experiments}
    return [programme for programme in data.programme if programme["programme"] in chosen]


def programme(data: ReportData, lang: str) -> str:
    """Title, axes, partners recorded against the size the sources state, and the sources."""
    text = TEXT[lang]
    parts = [f"<section><h2>{escape(text['programme'])}</h2>"]
    recorded = Counter(partner["programme"] for partner in data.partners)
    for programme in _described(data):
        parts.append(f"<h3>{escape(programme['title'] or programme['programme'])}</h3>")
        axes = programme["axes"] or []
        if axes:
            items = "".join(f"<li>{escape(axis)}</li>" for axis in axes)
            parts.append(f"<h4>{escape(text['axes'])}</h4><ol>{items}</ol>")
        stated = programme["partners_stated"]
        line = text["partners_count"] if stated is not None else text["partners_count_only"]
        count = recorded[programme["programme"]]
        parts.append(f"<p>{escape(line.format(recorded=count, stated=stated))}</p>")
    shares = {basis: sum(s[basis] for s in data.sources) for basis in BASES}
    parts.append(f"<p>{escape(text['facts'].format(**shares))}</p>")
    quoted = [s for s in data.sources if s["source"]]
    items = "".join(f"<li>« {escape(s['source'])} » ({s['facts']})</li>" for s in quoted)
    parts.append(f"<details><summary>{escape(text['sources'].format(n=len(quoted)))}</summary>"
                 f"<ul>{items}</ul></details></section>")  # fmt: skip
    return "".join(parts)


# Each list of what changed since T1 stops here (a minute of a network's recording moved
# 100,000 rows: 8.7 MB of list items); `learningloop changes` gives every row.
LISTED_AT_MOST = 200


def _listed(items: list[str], count: int, text: dict[str, str]) -> str:
    """A list of at most LISTED_AT_MOST items, and how many more there are."""
    if not count:
        return f"<p>{escape(text['none'])}</p>"
    left = count - len(items)
    more = f"<p>{escape(text['more_changes'].format(n=left))}</p>" if left > 0 else ""
    return f"<ul>{''.join(items)}</ul>{more}"


def since(data: ReportData, lang: str) -> str:
    """New facts, back-dated corrections and retractions recorded after T1, and the
    indicator rows they moved (CONTRACT 6.5): lists cut and counted by knowledge.change_digest."""
    text = TEXT[lang]
    if data.since is None or data.changes is None:  # only a report asked for `--since T1`
        return ""
    parts = [f"<section><h2>{escape(text['since'].format(t1=moment_text(data.since)))}</h2>"]
    for name in ("retractions", "backdated", "new_facts"):
        rows, count = data.changes.recorded.get(name, ([], 0))
        items = [
            f"<li>{escape(text['position'])} {e['position']}: {escape(e['type'])} "
            f"({escape(e['experiment'] or e['programme'])}, "
            f"{day_text(e['occurred_on'], e['precision'])})</li>"
            for e in rows[:LISTED_AT_MOST]
        ]
        parts.append(f"<h3>{escape(text[name])}</h3>{_listed(items, count, text)}")
    moved, count = data.changes.moved
    items = [f"<li>{escape(table)}: {escape(key)}</li>" for table, key in moved[:LISTED_AT_MOST]]
    parts.append(f"<h3>{escape(text['moved'])}</h3>{_listed(items, count, text)}")
    return "".join(parts) + "</section>"


def overview(data: ReportData, lang: str) -> str:
    text, partners = TEXT[lang], data.partners
    joins = [p["joined_on"] for p in partners]
    leaves = [p["left_on"] for p in partners if p["left_on"]]
    sizes = [p["partners_stated"] for p in data.programme if p["partners_stated"] is not None]
    stated = (sizes[0], text["stated_size"].format(n=sizes[0])) if sizes else None
    chart = charts.partners_over_time(joins, leaves, text["active"], stated) if joins else ""
    experiments = data.experiments
    columns = ("experiment", "status", "scale", "territory", "carriers")
    table = html_table(
        [text[c] for c in columns],
        [[e["experiment"], value_text(e["status"], lang), value_text(e["scale"], lang),
          e["territory"] or "", ", ".join(e["carriers"] or [])] for e in experiments],
    )  # fmt: skip
    return (
        f"<section><h2>{escape(text['overview'])}</h2><h3>{escape(text['partners'])}</h3>"
        f"<figure>{chart}</figure><h3>{escape(text['experiments'])}</h3>{table}</section>"
    )


def coverage(data: ReportData, lang: str) -> str:
    text, coverage, evidence = TEXT[lang], data.coverage, data.evidence
    if not coverage:
        return (
            f"<section><h2>{escape(text['coverage'])}</h2><p>{escape(text['none'])}</p></section>"
        )
    experiments = sorted({c["experiment"] for c in coverage})
    functions = [c["function"] for c in coverage if c["experiment"] == experiments[0]]
    labels = {c["function"]: c["label"] for c in coverage}
    if lang == "fr":
        labels = {key: FRENCH_LABELS.get(key) or label for key, label in labels.items()}
    cells = {(c["experiment"], c["function"]): c for c in coverage}
    cited: dict[tuple[str, str], list[str]] = defaultdict(list)
    for item in evidence:
        cited[(item["experiment"], item["function"])].append(
            f"{day_text(item['occurred_on'], item['precision'])} : {escape(item['evidence'])}"
            + basis_mark(item["basis"], text)
        )
    matrix = [[_cell(cells.get((x, f))) for f in functions] for x in experiments]
    legend = {status: text[status] for status in STATUSES}
    chart = charts.coverage_heatmap(experiments, [labels[f] for f in functions], matrix, legend)
    header = "".join(f"<th>{escape(labels[f])}</th>" for f in functions)
    lines = []
    for experiment in experiments:
        row = []
        for function in functions:
            status, count = _cell(cells.get((experiment, function)))
            items = "".join(f"<li>{i}</li>" for i in cited[(experiment, function)])
            detail = (f"<details><summary>{count}</summary><ul>{items}</ul></details>"
                      if count else escape(text[status]))  # fmt: skip
            row.append(f'<td class="n {status} c{min(count, 3)}">{detail}</td>')
        lines.append(f"<tr><th>{escape(experiment)}</th>{''.join(row)}</tr>")
    table = f"<table><tr><th></th>{header}</tr>{''.join(lines)}</table>"
    shares = {basis: sum(1 for e in evidence if e["basis"] == basis) for basis in BASES}
    note = text["evidence_shares"].format(total=len(evidence), **shares)
    return (
        f"<section><h2>{escape(text['coverage'])}</h2><p>{escape(note)}</p><figure>{chart}</figure>"
        f"{table}<p><small>{escape(text['legend_basis'])}</small></p></section>"
    )


STATUSES = ("covered", "absent", "not_applicable", "not_assessed")


def _cell(row: Row | None) -> tuple[str, int]:
    if row is None:
        return "not_assessed", 0
    return row.get("status") or ("covered" if row["evidence_count"] else "not_assessed"), int(
        row["evidence_count"]
    )


def footer(data: ReportData, lang: str) -> str:
    text = TEXT[lang]
    listed = ", ".join(f"{v['projection']} {v['version']}" for v in data.versions)
    return (
        f"<footer><p>{escape(text['digest'])}: {data.head_digest}</p>"
        f"<p>{escape(text['versions'])}: {listed}</p>"
        f"<p>D = {data.as_of.isoformat()}, T = {moment_text(data.known_at)}</p></footer>"
    )
