"""Charts for the report: matplotlib drawn to inline SVG, deterministic byte for byte."""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import date
from typing import Any

import matplotlib

matplotlib.use("Agg")  # no display, no network: everything renders to SVG text

import matplotlib.pyplot as plt

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


def _svg(figure: Any) -> str:
    buffer = io.StringIO()
    # No date and no RDF metadata: the same data always gives the same bytes.
    metadata = {"Date": None, "Creator": None, "Format": None, "Type": None}
    figure.savefig(buffer, format="svg", bbox_inches="tight", metadata=metadata)
    plt.close(figure)
    text = buffer.getvalue()
    return text[text.index("<svg") :]  # drop the XML prologue and doctype: inline SVG


def partners_over_time(joins: Sequence[date], leaves: Sequence[date], title: str) -> str:
    """Active partners, step by step, as they join and leave."""
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
        axes.step(days, counts, where="post", color="#1f77b4")
        axes.set_ylabel(title)
        axes.set_ylim(bottom=0)
        return _svg(figure)


def coverage_heatmap(
    experiments: Sequence[str], functions: Sequence[str], counts: Sequence[Sequence[int]]
) -> str:
    """Experiments × functions, each cell its evidence count."""
    with plt.rc_context(STYLE):
        height = 0.45 * max(len(experiments), 1) + 1.2
        figure, axes = plt.subplots(figsize=(7, height))
        highest = max((value for values in counts for value in values), default=0)
        axes.imshow(counts, cmap="Greens", aspect="auto", vmin=0, vmax=max(3, highest) * 1.5)
        axes.set_xticks(range(len(functions)), functions, rotation=20, ha="right")
        axes.set_yticks(range(len(experiments)), experiments)
        for row, values in enumerate(counts):
            for column, value in enumerate(values):
                axes.text(column, row, str(value), ha="center", va="center", fontsize=8)
        return _svg(figure)


def learning_timeline(points: Sequence[dict[str, Any]], categories: Sequence[str]) -> str:
    """Events on a time axis, one row per kind, coloured by cycle; retracted ones hollow."""
    with plt.rc_context(STYLE):
        figure, axes = plt.subplots(figsize=(7, 0.35 * len(categories) + 1.0))
        for point in points:
            colour = CYCLE_COLOURS[(point["cycle"] - 1) % len(CYCLE_COLOURS)]
            row = categories.index(point["category"])
            if point["retracted"]:
                axes.scatter(point["day"], row, marker="x", color="#999999", s=30)
            else:
                axes.scatter(point["day"], row, color=colour, s=22)
        axes.set_yticks(range(len(categories)), categories)
        axes.set_ylim(-0.6, len(categories) - 0.4)
        return _svg(figure)


def cadence_bands(periods: Sequence[dict[str, Any]], label: str) -> str:
    """Meetings held per commitment period against the expected band."""
    with plt.rc_context(STYLE):
        figure, axes = plt.subplots(figsize=(7, 2.4))
        names = [f"{p['commitment']} #{p['period']}" for p in periods]
        for index, period in enumerate(periods):
            low, high = period["expected_min"], period["expected_max"]
            axes.bar(index, high - low, bottom=low, color="#dddddd", width=0.7)
            colour = "#d62728" if period["status"] == "below" else "#1f77b4"
            axes.plot(index, period["meetings_held"], "o", color=colour)
        axes.set_xticks(range(len(names)), names, rotation=15, ha="right")
        axes.set_ylabel(label)
        return _svg(figure)


def milestone_lines(milestones: Sequence[dict[str, Any]], as_of: date) -> str:
    """Each milestone: its due date, when reached; overdue ones in red."""
    with plt.rc_context(STYLE):
        figure, axes = plt.subplots(figsize=(7, 0.35 * len(milestones) + 1.0))
        for row, milestone in enumerate(milestones):
            due, reached = milestone["due_on"], milestone["reached_on"]
            colour = "#d62728" if milestone["status"] == "overdue" else "#1f77b4"
            end = reached or (as_of if milestone["status"] == "overdue" else due)
            axes.plot([due, end], [row, row], color=colour, linewidth=2)
            axes.plot(due, row, "|", color="black", markersize=10)
            if reached:
                axes.plot(reached, row, "o", color="#2ca02c")
        axes.set_yticks(range(len(milestones)), [m["label"] for m in milestones])
        axes.set_ylim(-0.6, len(milestones) - 0.4)
        return _svg(figure)
