"""One self-contained HTML report for the chair, partners and funders: no network, prints well.

The same log, D and T always give the same bytes: T defaults to the last recording, charts are
SVG with fixed ids, and nothing depends on the clock but the default D (today).

A pure renderer: `render(data, lang)` of the `ReportData` that `QUERIES` fill, section by
section (`SECTIONS`: programme-level ones in `summary`, per-experiment ones in `detail`).
"""

from __future__ import annotations

from collections.abc import Callable

from learningloop.report import detail, summary
from learningloop.report.data import (
    BY_ACTIVITY,
    MILESTONE_CHART_ROWS,
    MONTHLY_BEYOND,
    QUERIES,
    SELECTED,
    ReportData,
    Row,
)
from learningloop.report.detail import summarise
from learningloop.report.markup import CSS, escape, moment_text
from learningloop.report.words import TEXT

__all__ = [
    "BY_ACTIVITY",
    "MILESTONE_CHART_ROWS",
    "MONTHLY_BEYOND",
    "QUERIES",
    "SECTIONS",
    "SELECTED",
    "TEXT",
    "ReportData",
    "Row",
    "render",
    "summarise",
]

# The report's sections in page order; each renders its part of the data in one language.
SECTIONS: tuple[Callable[[ReportData, str], str], ...] = (
    summary.programmes,
    summary.programme,
    summary.since,
    summary.overview,
    summary.coverage,
    detail.timelines,
    detail.cadence,
    detail.milestones,
    detail.latency,
    detail.predictions,
    summary.footer,
)


def render(data: ReportData, lang: str = "en") -> str:
    """The whole report as one HTML document: a pure function of the data and the language."""
    text = TEXT[lang]
    titles = [p["title"] for p in data.programme if p["title"]]
    if len(data.programme) > 1:  # a network: no one programme's name is the report's
        titles = [text["programmes_title"].format(n=len(data.programme))]
    title = f"{text['title']} — {titles[0]}" if titles else text["title"]
    body = [
        summary.framework_line(data, lang),
        f"<h1>{escape(title)}</h1>",
        f"<p>{escape(text['as_of'])} {data.as_of.isoformat()}, {escape(text['known_at'])} "
        f"{moment_text(data.known_at)}</p>",
        *(section(data, lang) for section in SECTIONS),
    ]
    return (
        f'<!DOCTYPE html>\n<html lang="{lang}"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title><style>{CSS}</style></head><body>\n"
        + "\n".join(body)
        + "\n</body></html>\n"
    )
