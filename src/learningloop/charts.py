"""Charts for the report: matplotlib drawn to inline SVG, deterministic byte for byte."""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import date
from typing import Any

import matplotlib

matplotlib.use("Agg")  # no display, no network: everything renders to SVG text

import matplotlib.dates as mdates
import matplotlib.pyplot as plt
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Rectangle

# Any: matplotlib types rc keys as a Literal union that a plain dict does not satisfy.
STYLE: Any = {
    "svg.hashsalt": "learningloop",  # stable ids, so the same log gives the same bytes
    "svg.fonttype": "none",  # text stays text: accents render with the reader's fonts
    "font.family": "sans-serif",
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
}
CYCLE_COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2")
# Coverage statuses (CONTRACT 6.4): covered shades by evidence count; the others one colour.
STATUS_COLOURS = {"absent": "#f4a582", "not_applicable": "#d9d9d9", "not_assessed": "#ffffff"}
COVERED_COLOURS = ("#d9f0d3", "#a6dba0", "#5aae61")
# Dense enough that the legend's small patch shows its hatching too, not one stray line.
NOT_APPLICABLE_HATCH = "////"


def _date_axis(axes: Any) -> None:
    """Month or quarter ticks that never overlap: at most 8 labels, concise (2013, Apr, Jul)."""
    locator = mdates.AutoDateLocator(minticks=3, maxticks=8)  # type: ignore[no-untyped-call]
    axes.xaxis.set_major_locator(locator)
    formatter = mdates.ConciseDateFormatter(locator)  # type: ignore[no-untyped-call]
    axes.xaxis.set_major_formatter(formatter)


def _svg(figure: Any) -> str:
    buffer = io.StringIO()
    # No date and no RDF metadata: the same data always gives the same bytes.
    metadata = {"Date": None, "Creator": None, "Format": None, "Type": None}
    figure.savefig(buffer, format="svg", bbox_inches="tight", metadata=metadata)
    plt.close(figure)
    text = buffer.getvalue()
    return text[text.index("<svg") :]  # drop the XML prologue and doctype: inline SVG


def partners_over_time(
    joins: Sequence[date], leaves: Sequence[date], title: str, stated: tuple[int, str] | None = None
) -> str:
    """Active partners, step by step, as they join and leave; a dashed line at the group size
    the sources state, when they state one."""
    with plt.rc_context(STYLE):
        figure, axes = plt.subplots(figsize=(7, 2.4))
        changes = sorted([(day, 1) for day in joins] + [(day, -1) for day in leaves])
        days: list[Any] = []
        counts: list[int] = []
        active = 0
        for day, step in changes:
            active += step
            days.append(day)
            counts.append(active)
        axes.step(days, counts, where="post", color="#1f77b4", label=title)
        if stated is not None:
            axes.axhline(stated[0], color="#777777", linestyle="--", label=stated[1])
            axes.legend(loc="upper left", bbox_to_anchor=(1.01, 1), frameon=False)
        axes.set_ylabel(title)
        axes.set_ylim(bottom=0)
        _date_axis(axes)
        return _svg(figure)


def coverage_heatmap(
    experiments: Sequence[str],
    functions: Sequence[str],
    cells: Sequence[Sequence[tuple[str, int]]],
    legend: dict[str, str],
) -> str:
    """Experiments × functions; each cell (status, evidence count): covered cells shaded by
    count, absent / not applicable / not assessed each their own colour and mark."""
    marks = {"absent": "✗", "not_applicable": "n/a", "not_assessed": "?"}
    with plt.rc_context(STYLE):
        height = 0.45 * max(len(experiments), 1) + 1.6
        figure, axes = plt.subplots(figsize=(7, height))
        for row, values in enumerate(cells):
            for column, (status, count) in enumerate(values):
                colour = (COVERED_COLOURS[min(count, 3) - 1] if status == "covered"
                          else STATUS_COLOURS[status])  # fmt: skip
                hatch = NOT_APPLICABLE_HATCH if status == "not_applicable" else None
                axes.add_patch(Rectangle((column - 0.5, row - 0.5), 1, 1, facecolor=colour,
                                         edgecolor="#bbbbbb", hatch=hatch))  # fmt: skip
                axes.text(column, row, str(count) if status == "covered" else marks[status],
                          ha="center", va="center", fontsize=8)  # fmt: skip
        axes.set_xlim(-0.5, len(functions) - 0.5)
        axes.set_ylim(len(experiments) - 0.5, -0.5)
        axes.set_xticks(range(len(functions)), functions, rotation=20, ha="right")
        axes.set_yticks(range(len(experiments)), experiments)
        fills = [(COVERED_COLOURS[1], None, "covered"), (STATUS_COLOURS["absent"], None, "absent"),
                 (STATUS_COLOURS["not_applicable"], NOT_APPLICABLE_HATCH, "not_applicable"),
                 ("#ffffff", None, "not_assessed")]  # fmt: skip
        handles = [Patch(facecolor=colour, edgecolor="#bbbbbb", hatch=hatch, label=legend[key])
                   for colour, hatch, key in fills]  # fmt: skip
        axes.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1), frameon=False)
        return _svg(figure)


def learning_timeline(
    points: Sequence[dict[str, Any]], categories: Sequence[str], legend: dict[str, str]
) -> str:
    """Events on a time axis, one row per kind, coloured by cycle. An event known only to a
    month, quarter, semester or year is a hatched bar over that period; retracted ones are x."""
    with plt.rc_context(STYLE):
        figure, axes = plt.subplots(figsize=(7, 0.35 * len(categories) + 1.2))
        cycles = sorted({point["cycle"] for point in points})
        # One artist per kind of mark, not one per event: a figure of a few hundred artists
        # took most of a report's time to draw (twice: the tight bounding box draws first).
        crossed = [p for p in points if p["retracted"]]
        periods = [p for p in points if not p["retracted"] and p["until"] > p["day"]]
        dots = [p for p in points if not p["retracted"] and p["until"] <= p["day"]]
        if crossed:
            axes.scatter([p["day"] for p in crossed], _rows(crossed, categories), marker="x",
                         color="#999999", s=30)  # fmt: skip
        if periods:
            widths = [(p["until"] - p["day"]).days + 1 for p in periods]
            axes.barh(_rows(periods, categories), widths, left=[p["day"] for p in periods],
                      height=0.4, color="none",
                      edgecolor=_cycle_colours(periods), hatch="////", linewidth=0.8)  # fmt: skip
        if dots:
            axes.scatter([p["day"] for p in dots], _rows(dots, categories),
                         color=_cycle_colours(dots), s=22)  # fmt: skip
        axes.set_yticks(range(len(categories)), categories)
        axes.set_ylim(-0.6, len(categories) - 0.4)
        _date_axis(axes)
        handles: list[Any] = [Patch(facecolor=CYCLE_COLOURS[(c - 1) % len(CYCLE_COLOURS)],
                                    label=f"{legend['cycle']} {c}") for c in cycles]  # fmt: skip
        handles.append(Patch(facecolor="none", edgecolor="#555555", hatch="////",
                             label=legend["period_only"]))  # fmt: skip
        handles.append(Line2D([], [], marker="x", color="#999999", linestyle="none",
                                  label=legend["retracted"]))  # fmt: skip
        axes.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1), frameon=False)
        return _svg(figure)


def _rows(points: Sequence[dict[str, Any]], categories: Sequence[str]) -> list[int]:
    return [categories.index(point["category"]) for point in points]


def _cycle_colours(points: Sequence[dict[str, Any]]) -> list[str]:
    return [CYCLE_COLOURS[(point["cycle"] - 1) % len(CYCLE_COLOURS)] for point in points]


def cadence_bands(periods: Sequence[dict[str, Any]], label: str, legend: dict[str, str]) -> str:
    """Meetings held per commitment period against the expected band."""
    with plt.rc_context(STYLE):
        figure, axes = plt.subplots(figsize=(7, 2.4))
        names = [f"{p['commitment']} #{p['period']}" for p in periods]
        for index, period in enumerate(periods):
            low, high = period["expected_min"], period["expected_max"]
            axes.bar(index, high - low, bottom=low, color="#dddddd", width=0.7)
            colour = "#d62728" if period["status"] == "below" else "#1f77b4"
            axes.plot(index, period["meetings_held"], "o", color=colour)
        axes.legend(handles=[Patch(facecolor="#dddddd", label=legend["expected"]),
                             Line2D([], [], marker="o", color="#1f77b4", linestyle="none",
                                        label=legend["held"]),
                             Line2D([], [], marker="o", color="#d62728", linestyle="none",
                                        label=legend["below"])],
                    loc="upper left", bbox_to_anchor=(1.01, 1), frameon=False)  # fmt: skip
        axes.set_xticks(range(len(names)), names, rotation=15, ha="right")
        axes.set_ylabel(label)
        return _svg(figure)


def milestone_lines(milestones: Sequence[dict[str, Any]], as_of: date) -> str:
    """Each milestone: its due date, when reached; overdue ones in red."""
    with plt.rc_context(STYLE):
        figure, axes = plt.subplots(figsize=(7, 0.35 * len(milestones) + 1.0))
        for row, milestone in enumerate(milestones):
            due, reached = milestone["due_on"], milestone["reached_on"]
            # Overdue with no record since its due date: grey, absence is not failure.
            colour = {"overdue": "#d62728", "unrecorded": "#999999"}.get(
                milestone["status"], "#1f77b4"
            )
            end = reached or (as_of if milestone["status"] in ("overdue", "unrecorded") else due)
            axes.plot([due, end], [row, row], color=colour, linewidth=2)
            axes.plot(due, row, "|", color="black", markersize=10)
            if reached:
                axes.plot(reached, row, "o", color="#2ca02c")
        axes.set_yticks(range(len(milestones)), [m["label"] for m in milestones])
        axes.set_ylim(-0.6, len(milestones) - 0.4)
        _date_axis(axes)
        return _svg(figure)


def latency_bars(rows: Sequence[dict[str, Any]], legend: dict[str, str]) -> str:
    """By experiment: median reporting delay and median cycle length in days, with the
    programme's median of each as a dashed line."""
    with plt.rc_context(STYLE):
        figure, axes = plt.subplots(figsize=(7, 0.5 * len(rows) + 1.2))
        series = (("reporting_delay_median_days", "#1f77b4", -0.2),
                  ("median_cycle_days", "#ff7f0e", 0.2))  # fmt: skip
        for column, colour, offset in series:
            values = [row[column] for row in rows]
            axes.barh([n + offset for n in range(len(rows))], [v or 0 for v in values],
                      height=0.4, color=colour, label=legend[column])  # fmt: skip
            known = sorted(v for v in values if v is not None)
            if known:
                axes.axvline(_median(known), color=colour, linestyle="--", linewidth=1)
        axes.set_yticks(range(len(rows)), [row["experiment"] for row in rows])
        axes.invert_yaxis()
        axes.set_xlabel(legend["days"])
        axes.legend(loc="upper left", bbox_to_anchor=(1.01, 1), frameon=False)
        return _svg(figure)


def calibration(pairs: Sequence[tuple[float, bool]], legend: dict[str, str]) -> str:
    """Predicted probability in five bins against the observed frequency of true outcomes;
    a perfectly calibrated forecaster lies on the diagonal."""
    bins: list[list[bool]] = [[] for _ in range(5)]
    for probability, outcome in pairs:
        bins[min(int(probability * 5), 4)].append(outcome)
    centres = [(n + 0.5) / 5 for n, found in enumerate(bins) if found]
    observed = [sum(found) / len(found) for found in bins if found]
    sizes = [30 * len(found) for found in bins if found]
    with plt.rc_context(STYLE):
        figure, axes = plt.subplots(figsize=(3.6, 3.6))
        axes.plot([0, 1], [0, 1], color="#999999", linestyle="--", linewidth=1)
        axes.scatter(centres, observed, s=sizes, color="#1f77b4")
        axes.set_xlim(0, 1)
        axes.set_ylim(-0.05, 1.05)
        axes.set_xlabel(legend["predicted"])
        axes.set_ylabel(legend["observed"])
        return _svg(figure)


def _median(values: Sequence[float]) -> float:
    middle = len(values) // 2
    return values[middle] if len(values) % 2 else (values[middle - 1] + values[middle]) / 2
