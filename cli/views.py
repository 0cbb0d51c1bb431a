"""How an experiment's replay is printed: sections as tables, one JSON object, or CSV rows."""

from __future__ import annotations

import csv
import sys
from collections.abc import Iterator
from dataclasses import asdict
from itertools import islice
from typing import TYPE_CHECKING, Any

import click

from learningloop.domain.basics import format_at_precision

if TYPE_CHECKING:  # types only: `indicators` and `timeline` never load the event models
    from learningloop.audit import AuditReport
    from learningloop.domain.provenance import Provenance
    from learningloop.domain.replay import ExperimentView
    from learningloop.results import RowStream

from .output import emit, message
from .rendering import (
    csv_header,
    dumps,
    more_rows,
    print_table,
    record_text,
    screen_rows,
    take_rows,
    text_value,
    write_json_rows,
)

# Rows of function_coverage read per experiment shown (a programme has five functions; a
# framework may have more: the matrix then shows fewer experiments, never a wrong row).
FUNCTION_SLOTS = range(8)
TIMELINE_COLUMNS = ["cycle", "occurred_on", "version", "type", "summary", "recorded_at",
                    "occurred_until", "is_certain", "precision", "basis"]  # fmt: skip
# What a person reads: dates at their precision, a mark for what is not certain or not stated.
HUMAN_TIMELINE_COLUMNS = ["cycle", "occurred_on", "version", "type", "summary", "basis",
                          "recorded_at"]  # fmt: skip
UNCERTAIN_MARK = "~"
BASIS_MARKS = {"stated": "", "inferred": "inferred", "illustrative": "illustrative"}
HEADER_FIELDS = [
    "experiment",
    "programme",
    "title",
    "status",
    "scale",
    "territory",
    "carriers",
    "partners",
    "aim",
    "proposed_on",
    "as_of",
    "known_at",
]


def replay_document(view: ExperimentView) -> dict[str, Any]:
    """The whole replay as plain data, sections in reading order."""
    return {
        **{name: getattr(view, name) for name in HEADER_FIELDS},
        "is_proposed": view.is_proposed,
        "commitments": [asdict(period) for period in view.commitments],
        "milestones": [asdict(milestone) for milestone in view.milestones],
        "reviews": [
            {
                **asdict(review),
                "sessions_held": review.sessions_held,
                "is_complete": review.is_complete,
            }
            for review in view.reviews
        ],
        "decisions": [asdict(decision) for decision in view.decisions],
        "learnings": [
            {**asdict(learning), "days_to_action": learning.days_to_action}
            for learning in view.learnings
        ],
        "functions": [
            {**asdict(function), "is_covered": function.is_covered} for function in view.functions
        ],
        "timeline": [entry.as_row() for entry in view.timeline],
    }


def emit_replay(view: ExperimentView, output_format: str) -> None:
    document = replay_document(view)
    if output_format == "json":
        click.echo(replay_json(document))
        return
    if output_format == "csv":
        emit(document["timeline"], TIMELINE_COLUMNS, "csv")
        return
    if not view.is_proposed:
        click.echo(
            f"{view.experiment}: not proposed as of {view.as_of} (as known at "
            f"{view.known_at.isoformat()})"
        )
        return
    print_table(
        [{"field": name, "value": document[name]} for name in HEADER_FIELDS],
        ["field", "value"],
        title=f"Experiment {view.experiment}",
    )
    sections = ("commitments", "milestones", "reviews", "decisions", "learnings", "functions")
    for section in sections:
        rows = document[section]
        if section == "functions":
            rows = [{**row, "status": function.status}
                    for row, function in zip(rows, view.functions, strict=True)]  # fmt: skip
        if rows:
            print_table(human_notes(section, rows, view), list(rows[0]),
                        title=section.capitalize())  # fmt: skip
    print_table(human_timeline(document["timeline"]), HUMAN_TIMELINE_COLUMNS, title="Timeline")
    note_uncertain(document["timeline"], view.as_of)


def replay_json(document: dict[str, Any]) -> str:
    """dumps(document), its timeline (the last section, one row per counted event: 10,000 in a
    long experiment) written row by row by record_text rather than by json's pure-Python
    indent encoder."""
    timeline = document["timeline"]
    head = dumps({**document, "timeline": []})
    if not timeline:
        return head
    rows = ",\n".join("    " + record_text(row).replace("\n", "\n    ") for row in timeline)
    return head.removesuffix("[]\n}") + "[\n" + rows + "\n  ]\n}"


def human_notes(section: str, rows: list[dict[str, Any]], view: ExperimentView) -> list[Any]:
    """Say when a status rests on no record at all, rather than only "below" or "overdue"."""
    if section == "commitments":
        return [{**row, "status": f"{row['status']} (no meeting recorded)"}
                if row["status"] == "below" and row["meetings_held"] == 0 else row
                for row in rows]  # fmt: skip
    if section == "milestones" and view.timeline:
        last = view.timeline[-1]
        known = {"last_record_on": last.occurred_on, "last_record_precision": last.precision}
        return [overdue_without_record({**row, **known}) for row in rows]
    return rows


def human_timeline(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Dates at their precision, `~` after one whose period is not over at D, basis marks."""
    return [
        {
            **row,
            "occurred_on": format_at_precision(row["occurred_on"], row["precision"])
            + ("" if row["is_certain"] else f" {UNCERTAIN_MARK}"),
            "basis": BASIS_MARKS.get(row["basis"], row["basis"]),
            "recorded_at": row["recorded_at"].replace(microsecond=0),
        }
        for row in rows
    ]


def note_uncertain(rows: list[dict[str, Any]], as_of: object) -> None:
    """One stderr line saying how many events are not yet certain at D."""
    uncertain = sum(1 for row in rows if not row["is_certain"])
    if uncertain:
        events = "event is" if uncertain == 1 else "events are"
        message(f"{UNCERTAIN_MARK} {uncertain} {events} not yet certain as of {as_of}: their "
                "period (month, quarter, semester or year) ends later; they count from its "
                "first day.")  # fmt: skip


def emit_indicators(
    tables: dict[str, RowStream], output_format: str, limit: int | None = None
) -> None:
    """Tables: a programme-level summary, the coverage matrix, then each indicator (at most
    `limit` rows each). CSV, JSON and JSON Lines: one list of rows streamed table by table,
    each naming its `indicator` (the projection it comes from) before that table's columns."""
    if output_format == "table":
        emit_indicator_tables(tables, limit)
        return
    if output_format in ("json", "jsonl"):  # each object keeps its own table's columns
        write_json_rows(_indicator_records(tables), lines=output_format == "jsonl")
        return
    columns = ["indicator"]
    for table in tables.values():
        columns += [column for column in table.columns if column not in columns]
    # DuckDB renders each table's lines in the shared layout: no row goes through Python.
    out = sys.stdout.buffer
    sys.stdout.flush()
    out.write(csv_header(columns))
    for name, table in tables.items():
        table.write_csv(out, layout=columns, constants={"indicator": name})
    out.flush()


def _indicator_records(tables: dict[str, RowStream]) -> Iterator[dict[str, Any]]:
    for name, table in tables.items():
        for row in table.rows():
            yield {"indicator": name, **dict(zip(table.columns, row, strict=True))}


def emit_indicator_tables(tables: dict[str, RowStream], limit: int | None) -> None:
    """The programme summary, then each table cut to `limit` rows (a screenful)."""
    rows, screenful = screen_rows(limit), limit is None
    summary = tables["programme_summary"]
    shown = take_rows(summary, rows)
    printed = print_table(shown, summary.columns, title="Programmes", screenful=screenful)
    more_rows(summary.count() + len(shown) - printed)
    coverage = take_rows(tables["function_coverage"], rows * len(FUNCTION_SLOTS))
    tables["function_coverage"].close()
    matrix, functions = coverage_matrix(coverage)
    if len(coverage) == rows * len(FUNCTION_SLOTS):  # the last experiment may be cut short
        matrix = matrix[: min(rows, len(matrix) - 1)]
    printed = print_table(matrix[:rows], ["experiment", *functions, "covered"],
                          title="Function coverage", screenful=screenful)  # fmt: skip
    more_rows(tables["experiment_coverage"].count() - printed)
    message(COVERAGE_LEGEND)
    for name, table in tables.items():
        if name not in ("programme_summary", "function_coverage", "experiment_coverage"):
            shown = take_rows(table, rows)
            columns = table.columns
            if name == "commitment_cadence":
                shown = [{**row, "status": f"{row['status']} (no meeting recorded)"}
                         if row["status"] == "below" and row["meetings_held"] == 0 else row
                         for row in shown]  # fmt: skip
            if name == "milestones":
                shown = [overdue_without_record(row) for row in shown]
                columns = [column for column in columns if column not in LAST_RECORD_COLUMNS]
            title = name.replace("_", " ").capitalize()
            printed = print_table(shown, columns, title=title, screenful=screenful)
            more_rows(table.count() + len(shown) - printed)


LAST_RECORD_COLUMNS = ("last_record_on", "last_record_precision")


def overdue_without_record(row: dict[str, Any]) -> dict[str, Any]:
    """An overdue milestone whose experiment has no record after its due date says so."""
    last_on, precision = row.get("last_record_on"), row.get("last_record_precision")
    if row["status"] != "overdue" or last_on is None or last_on > row["due_on"]:
        return row
    since = format_at_precision(last_on, precision or "day")
    return {**row, "status": f"overdue (no record since {since})"}


# Each function's cell: absent is not the same as not assessed (CONTRACT 6.4).
COVERAGE_MARKS = {"absent": "absent", "not_applicable": "n/a", "not_assessed": "·"}
COVERAGE_LEGEND = (
    "Function coverage: a number is the evidence count (covered); absent and n/a were "
    "assessed so; · was never assessed."
)


def coverage_matrix(rows: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[str]]:
    """Experiments × functions: the evidence count, or how the function was assessed."""
    functions: list[str] = []
    matrix: dict[str, dict[str, Any]] = {}
    # Counted apart from the cells: a function may be keyed `n` or `a` (any slug).
    counts: dict[str, list[int]] = {}  # experiment: [covered, assessed, functions]
    for row in rows:
        column = _function_column(row["function"])
        if column not in functions:
            functions.append(column)
        line = matrix.setdefault(row["experiment"], {"experiment": row["experiment"]})
        count = counts.setdefault(row["experiment"], [0, 0, 0])
        status = row.get("status", "covered" if row["is_covered"] else "not_assessed")
        line[column] = row["evidence_count"] or COVERAGE_MARKS[status]
        count[0] += 1 if row["is_covered"] else 0
        count[1] += 0 if status == "not_assessed" else 1
        count[2] += 1
    for experiment, line in matrix.items():
        covered, assessed, total = counts[experiment]
        line["covered"] = f"{covered}/{total} ({assessed} assessed)"
    return list(matrix.values()), functions


def _function_column(function: str) -> str:
    """A function's column: a function keyed like one of the matrix's own columns is named
    apart (a key is a slug, with no space: no other function can be named so)."""
    return f"{function} (function)" if function in ("experiment", "covered") else function


def emit_timeline(
    experiment: str,
    rows: list[dict[str, Any]],
    columns: list[str],
    output_format: str,
    as_of: object,
) -> None:
    if output_format != "table":
        emit(rows, columns, output_format)
        return
    cycles = sorted({row["cycle"] for row in rows})
    human = human_timeline(rows)
    for cycle in cycles:
        in_cycle = [row for row in human if row["cycle"] == cycle]
        closed = in_cycle[-1]["type"] == "DecisionRecorded"
        title = f"{experiment} — cycle {cycle}" + ("" if closed else " (open)")
        print_table(in_cycle, [c for c in HUMAN_TIMELINE_COLUMNS if c != "cycle"], title=title)
    if rows:
        note_uncertain(rows, as_of)


def emit_audit(
    report: AuditReport, output_format: str, *, strict: bool, limit: int | None = None
) -> None:
    """JSON and CSV carry every finding; the table shows the first `limit` (a screenful by
    default; errors come first) and says how many more: a million-event log can have
    hundreds of thousands of warnings, more than anyone reads in a terminal."""
    columns = ["check", "severity", "stream", "version", "position", "message"]
    if output_format == "json":
        _write_audit_json(report, strict)
        return
    if output_format == "csv":
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(columns)
        for f in report.findings:  # fields read directly: asdict copies each value deeply
            writer.writerow([_cell(v) for v in (f.check, f.severity, f.stream, f.version,
                                                 f.position, f.message)])  # fmt: skip
        return
    checks = [{"check": c, "status": report.status(c)} for c in report.checks_run]
    print_table(checks, ["check", "status"], title="Audit checks")
    shown = [asdict(finding) for finding in islice(report.findings, screen_rows(limit))]
    printed = print_table(shown, columns, title="Findings", screenful=limit is None) if shown else 0
    if len(report.findings) > printed:
        message(f"{len(report.findings) - printed:,} more findings: use --limit N or "
                "--format csv|json to see them")  # fmt: skip
    verdict = "integrity holds" if report.passed(strict=strict) else "AUDIT FAILED"
    message(f"{verdict}: {report.events} events in {report.streams} streams, "
            f"head {report.head_digest}")  # fmt: skip


def _cell(value: Any) -> str:
    """text_value(value, for_csv=True), the common cases first (a finding's cells)."""
    if value is None:
        return ""
    kind = type(value)
    return value if kind is str else str(value) if kind is int else text_value(value, for_csv=True)


def _write_audit_json(report: AuditReport, strict: bool) -> None:
    """The same text as dumps(report.as_document()), its findings written one at a time."""
    head = dumps(report.as_document(strict=strict, findings=False))
    write = sys.stdout.write
    write(head.removesuffix("\n}") + ',\n  "findings": [')
    first = True
    for finding in report.findings:
        fields = {
            "check": finding.check,
            "severity": finding.severity,
            "message": finding.message,
            "stream": finding.stream,
            "version": finding.version,
            "position": finding.position,
        }  # asdict's order, without its deep copies
        write(("\n    " if first else ",\n    ") + dumps(fields).replace("\n", "\n    "))
        first = False
    write("]\n}\n" if first else "\n  ]\n}\n")


def emit_provenance(provenance: Provenance, output_format: str) -> None:
    document = provenance.as_document()
    columns = ["stream", "version", "type", "occurred_on", "recorded_at", "recorded_by",
               "source", "summary"]  # fmt: skip
    if output_format == "json":
        click.echo(dumps(document))
        return
    if output_format == "csv":
        emit(document["evidence"], ["cites", *columns], "csv")
        return
    decision = document["decision"]
    print_table([{"field": k, "value": v} for k, v in decision.items()], ["field", "value"],
                title=f"Decision {provenance.decision.summary}")  # fmt: skip
    print_table(document["evidence"], ["cites", *columns], title="Evidence it cites")
    if provenance.uncounted_evidence:
        message(
            f"cited but not counted at this D and T: {', '.join(provenance.uncounted_evidence)}"
        )
    print_table(document["cycle"]["events"], columns, title=f"Cycle {provenance.cycle} it closed")
    if document["revised_evidence"]:
        print_table(document["revised_evidence"], ["evidence", "revision", "revised_at"],
                    title="Evidence revised after the decision was recorded")  # fmt: skip


def emit_prediction_provenance(document: dict[str, Any], output_format: str) -> None:
    """A prediction's row, the stored events that made and decided it, and what they prove."""
    if output_format == "json":
        click.echo(dumps(document))
        return
    stored = [{"role": role} | document[role] for role in ("made", "decided_by") if document[role]]
    columns = ["role", "position", "stream", "version", "type", "occurred_on", "recorded_at",
               "recorded_by", "source", "chain"]  # fmt: skip
    if output_format == "csv":
        emit(stored, columns, "csv")
        return
    row = document["prediction"]
    print_table([{"field": k, "value": v} for k, v in row.items()], ["field", "value"],
                title=f"Prediction {row['prediction']}")  # fmt: skip
    print_table(stored, columns, title="Stored events")
    click.echo(document["proof"])
