"""The `learningloop` command: parse, call one library function, print.

Library imports happen inside commands so that `learningloop --help` starts fast.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

import click

from .output import (
    emit,
    emit_stream,
    format_option,
    limit_option,
    message,
    stream_format_option,
)
from .progress import lines_in, progress, working

if TYPE_CHECKING:
    from learningloop.application import DemoRun, LearningLoop


class BadInput(click.ClickException):
    """Bad input or usage: one line on stderr, exit 2 (click's UsageError without the usage)."""

    exit_code = 2


class LearningLoopGroup(click.Group):
    """Turns library errors into click errors in one place: 2 for bad input, 1 for failures."""

    def invoke(self, ctx: click.Context) -> Any:
        from learningloop.errors import ExitCode, LearningLoopError

        try:
            with warnings.catch_warnings():
                _warnings_to_stderr()
                return super().invoke(ctx)
        except LearningLoopError as error:
            if error.exit_code == ExitCode.BAD_INPUT:
                raise BadInput(str(error)) from None
            raise click.ClickException(str(error)) from None
        except KeyboardInterrupt:
            _interrupted()
        except RuntimeError as error:
            # DuckDB reports a Ctrl-C inside a statement as RuntimeError("Query interrupted").
            if "interrupted" not in str(error).lower():
                raise
            _interrupted()


def _interrupted() -> None:
    """Ctrl-C: one line and exit 130, never a traceback (writes are all or nothing)."""
    from learningloop.errors import ExitCode

    click.echo("Error: interrupted (Ctrl-C).", err=True)
    raise click.exceptions.Exit(ExitCode.INTERRUPTED)


def _warnings_to_stderr() -> None:
    """A warning of the library (projections behind the log) is one line on stderr, once."""
    from learningloop.errors import ProjectionsBehindWarning

    shown: set[str] = set()
    original, say = warnings.showwarning, message

    def show(
        message: Warning | str,
        category: type[Warning],
        filename: str,
        lineno: int,
        file: TextIO | None = None,
        line: str | None = None,
    ) -> None:
        if not issubclass(category, ProjectionsBehindWarning):
            original(message, category, filename, lineno, file, line)
        elif str(message) not in shown:
            shown.add(str(message))
            say(f"warning: {message}")

    warnings.simplefilter("always", ProjectionsBehindWarning)
    warnings.showwarning = show


def _read_key(path: str | None) -> str | None:
    """An AES key file's text (checked when the store is opened)."""
    if not path:
        return None
    try:
        return Path(path).read_text(encoding="utf-8").strip()
    except (UnicodeDecodeError, OSError):
        raise BadInput(
            f"--cipher-key-file: {path} is not a readable text key (make one: learningloop keygen)"
        ) from None


def _parse_date(value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise BadInput(f"--as-of: {value!r} is not a date (expected YYYY-MM-DD)") from None


def _parse_moment(value: str | None, option: str = "--known-at") -> datetime | None:
    """ISO 8601 date-time; UTC when it has no offset."""
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise BadInput(
            f"{option}: {value!r} is not an ISO 8601 date-time (e.g. 2013-06-30T12:00:00Z)"
        ) from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def as_of_options(command: Callable[..., Any]) -> Callable[..., Any]:
    command = click.option(
        "--known-at",
        metavar="T",
        help="As known at this transaction time (ISO 8601, UTC without offset). Default: now.",
    )(command)
    return click.option(
        "--as-of", metavar="D", help="As of this valid date (YYYY-MM-DD). Default: today."
    )(command)


framework_option = click.option(
    "--framework",
    metavar="FILE",
    type=click.Path(dir_okay=False),
    help="What if the programme's functions were these: a YAML or JSON list of "
    "{key, label, from: [function keys]}. Nothing is written.",
)


def _open_at(
    ctx: click.Context, as_of: str | None, known_at: str | None
) -> tuple[LearningLoop, date | None, datetime | None]:
    """The store, with D and T parsed; a note on stderr when they lie outside the record."""
    loop = _open(ctx)
    day, moment = _parse_date(as_of), _parse_moment(known_at)
    for note in loop.moment_notes(day, moment):
        message(note)
    return loop, day, moment


def _open(ctx: click.Context) -> LearningLoop:
    from learningloop.application import LearningLoop

    loop = LearningLoop(
        ctx.obj["store"],
        recorded_by=ctx.obj["by"],
        cipher_key=ctx.obj["cipher_key"],
        projections=ctx.obj["projections"],
        memory_limit=ctx.obj["memory_limit"],
        fresh=ctx.obj["fresh"],
    )
    ctx.call_on_close(loop.close)
    return loop


@click.group(cls=LearningLoopGroup)
@click.version_option(package_name="learningloop")
@click.option(
    "--store",
    envvar="LEARNINGLOOP_STORE",
    metavar="PATH",
    help="Store directory (SQLite log + DuckDB projections). Default: ./learningloop-data.",
)
@click.option("--by", metavar="NAME", help="Who records (recorded_by). Default: the OS user.")
@click.option(
    "--projections",
    metavar="PATH",
    envvar="LEARNINGLOOP_PROJECTIONS",
    help="DuckDB projection file. Default: in the store directory, or per user for a URL.",
)
@click.option(
    "--cipher-key-file",
    type=click.Path(exists=True, dir_okay=False),
    help="File holding the store's AES key (else LEARNINGLOOP_CIPHER_KEY). See keygen.",
)
@click.option(
    "--memory-limit",
    metavar="SIZE",
    envvar="LEARNINGLOOP_MEMORY_LIMIT",
    help="Memory DuckDB may use before spilling to disk, e.g. 2GB. Default: 4% of the "
    "machine's memory, at least 512MiB.",
)
@click.option(
    "--fresh",
    is_flag=True,
    help="Fail (exit 1) rather than answer from projections behind the log (another process "
    "holding them read-only keeps them from catching up).",
)
@click.pass_context
def main(
    ctx: click.Context,
    store: str | None,
    by: str | None,
    projections: str | None,
    cipher_key_file: str | None,
    memory_limit: str | None,
    fresh: bool,
) -> None:
    """An event-sourced evaluation engine for iterative learning.

    Record what happens in a programme's experiments as immutable events, replay any
    experiment as of any date and as known at any moment.

    Example: learningloop --store ./eval import events.jsonl
    """
    key = _read_key(cipher_key_file)
    ctx.obj = {"store": store, "by": by, "cipher_key": key, "projections": projections,
               "memory_limit": memory_limit, "fresh": fresh}  # fmt: skip


@main.command("import")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.pass_context
def import_command(ctx: click.Context, files: tuple[str, ...]) -> None:
    """Import events from .jsonl, .json or .yaml files: all of them, or none.

    Example: learningloop import partners.yaml meetings.jsonl
    """
    loop = _open(ctx)
    with progress("Importing", "events", lines_in(files)) as advance:
        summary = loop.import_files(list(files), progress=advance)
    message(f"Imported {summary.events} events into {summary.streams} streams.")


@main.command("record", context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
@click.argument("event_type", metavar="TYPE")
@click.pass_context
def record_command(ctx: click.Context, event_type: str) -> None:
    """Record one event given as --field value pairs (same validation as import).

    List fields take the option once per item; JSON arrays and objects are accepted.

    Example: learningloop record MeetingHeld --experiment deltameca --occurred-on 2013-06-12
    --kind stakeholder --attendees 12
    """
    from learningloop.domain.parsing import fields_from_text

    pairs = _option_pairs(ctx.args)
    recorded = _open(ctx).record(fields_from_text(event_type, pairs))
    message(f"Recorded {event_type} as version {recorded.version} of {recorded.stream}.")


def _option_pairs(args: list[str]) -> list[tuple[str, str]]:
    pairs, position = [], 0
    while position < len(args):
        name = args[position]
        if not name.startswith("--") or len(name) < 3:
            raise BadInput(f"expected --field value, got {name!r}")
        name, has_value, value = name[2:].partition("=")
        if not has_value:
            if position + 1 >= len(args):
                raise BadInput(f"--{name} needs a value")
            position, value = position + 1, args[position + 1]
        pairs.append((name, value))
        position += 1
    return pairs


@main.command("replay")
@click.argument("experiment")
@as_of_options
@format_option
@click.pass_context
def replay_command(
    ctx: click.Context,
    experiment: str,
    as_of: str | None,
    known_at: str | None,
    output_format: str,
) -> None:
    """An experiment's state, then its timeline, as of D and as known at T.

    JSON gives one object with every section; CSV gives the timeline rows.

    Example: learningloop replay deltameca-gouvernance --as-of 2013-06-30
    """
    from .views import emit_replay

    loop, day, moment = _open_at(ctx, as_of, known_at)
    view = loop.replay(experiment, day, moment)
    emit_replay(view, output_format)


@main.command("demo")
@format_option
@click.pass_context
def demo_command(ctx: click.Context, output_format: str) -> None:
    """Load the bundled 2012–2014 programme into a fresh store and print its indicators.

    The store is a temporary directory unless --store is given.

    Example: learningloop demo
    """
    import tempfile

    from learningloop.application import run_demo

    store = ctx.obj["store"] if _store_given(ctx) else None
    with tempfile.TemporaryDirectory(prefix="learningloop-demo-") as scratch:
        demo = run_demo(store or os.path.join(scratch, "store"))
        message(f"Loaded the 2012–2014 programme into {store or 'a temporary store'}.")
        _emit_demo(demo, output_format)


def _store_given(ctx: click.Context) -> bool:
    """Only an explicit --store is used by demo, never LEARNINGLOOP_STORE."""
    source = ctx.parent.get_parameter_source("store") if ctx.parent else None
    return source is click.core.ParameterSource.COMMANDLINE


def _emit_demo(demo: DemoRun, output_format: str) -> None:
    from learningloop.application import experiment_summary

    rows = [experiment_summary(view) for view in demo.views]
    columns = list(rows[0]) if rows else []
    title = f"{demo.title}: experiments as of {demo.as_of}, the programme's end"
    emit(rows, columns, output_format, title=title)
    stated = f" of the {demo.partners_stated} the page states" if demo.partners_stated else ""
    message(
        f"Indicators as of {demo.as_of}, the programme's end (not today). "
        f"Partners recorded: {demo.partners_recorded}{stated}. Most dates are known only to "
        "the semester, and most facts are the recorder's reading of the page (basis inferred): "
        "see `replay`, `timeline` and `report`."
    )


@main.command("project")
@click.option("--rebuild", is_flag=True, help="Rebuild every projection from the first event.")
@click.pass_context
def project_command(ctx: click.Context, rebuild: bool) -> None:
    """Catch the DuckDB projections up with the event log (or rebuild them).

    Example: learningloop project --rebuild
    """
    loop = _open(ctx)
    total = loop.event_count() if rebuild else None
    with progress("Rebuilding" if rebuild else "Projecting", "events", total) as advance:
        added = loop.project(rebuild=rebuild, progress=advance)
    verb = "Rebuilt projections from" if rebuild else "Projected"
    message(f"{verb} {added} events; projections are current at log position "
            f"{loop.head_position()}.")  # fmt: skip


@main.command("sql")
@click.argument("query")
@as_of_options
@framework_option
@click.option(
    "--timeout",
    type=click.FloatRange(min=0, min_open=True),
    metavar="SECONDS",
    help="Stop the query after this many seconds (exit 1). Default: no limit.",
)
@stream_format_option
@limit_option
@click.pass_context
def sql_command(
    ctx: click.Context,
    query: str,
    as_of: str | None,
    known_at: str | None,
    framework: str | None,
    timeout: float | None,
    output_format: str,
    limit: int | None,
) -> None:
    """Run one read-only SQL statement over the projections, caught up first.

    Views answer as of D and as known at T (the DuckDB variables as_of and known_at). Rows
    stream: CSV, JSON and JSON Lines of any size in bounded memory.

    Example: learningloop sql "select * from experiment_coverage" --as-of 2013-12-31
    """
    loop, moment_d, moment_t = _open_at(ctx, as_of, known_at)
    with loop.sql_stream(query, moment_d, moment_t, framework=framework, timeout=timeout) as rows:
        emit_stream(rows, output_format, limit)


@main.command("indicators")
@as_of_options
@framework_option
@stream_format_option
@limit_option
@click.pass_context
def indicators_command(
    ctx: click.Context,
    as_of: str | None,
    known_at: str | None,
    framework: str | None,
    output_format: str,
    limit: int | None,
) -> None:
    """Function coverage, cadence against commitments, reviews, milestones, learning loops.

    CSV and JSON give one list of rows, each naming its `indicator` (the projection table).

    Example: learningloop indicators --as-of 2014-12-31 --format json
    """
    from .views import emit_indicators

    loop, moment_d, moment_t = _open_at(ctx, as_of, known_at)
    summary = output_format == "table"
    with loop.indicator_streams(
        moment_d, moment_t, with_summary=summary, framework=framework
    ) as tables:
        emit_indicators(tables, output_format, limit)


@main.command("changes")
@click.option("--since", required=True, metavar="T1", help="Known at T1 (ISO 8601, UTC).")
@click.option("--until", metavar="T2", help="Known at T2 (ISO 8601, UTC). Default: now.")
@click.option("--as-of", metavar="D", help="As of this valid date (YYYY-MM-DD). Default: today.")
@click.option("--table", metavar="X", help="Only this table. Default: every table of section 4.")
@format_option
@click.pass_context
def changes_command(
    ctx: click.Context,
    since: str,
    until: str | None,
    as_of: str | None,
    table: str | None,
    output_format: str,
) -> None:
    """What changed in what we know between T1 and T2: per table, the rows removed and added
    (a changed row is both), each with the log positions of the events that caused it.

    Example: learningloop changes --since 2014-06-01 --as-of 2014-12-31 --table decisions
    """
    start = _parse_moment(since, "--since")
    assert start is not None
    found = _open(ctx).changes(start, _parse_moment(until, "--until"), _parse_date(as_of), table)
    emit(found.records(), found.columns, output_format)


@main.command("timeline")
@click.argument("experiment")
@as_of_options
@format_option
@click.pass_context
def timeline_command(
    ctx: click.Context,
    experiment: str,
    as_of: str | None,
    known_at: str | None,
    output_format: str,
) -> None:
    """An experiment's learning timeline, cycle by cycle (a decision closes each cycle).

    Example: learningloop timeline chantier-ecole-st-nazaire
    """
    from .views import emit_timeline

    loop, day, moment = _open_at(ctx, as_of, known_at)
    result = loop.timeline(experiment, day, moment)
    emit_timeline(experiment, result.records(), result.columns, output_format, day or "today")


@main.command("export")
@click.argument("directory", type=click.Path(file_okay=False))
@as_of_options
@click.option(
    "--format",
    "file_format",
    type=click.Choice(["parquet", "duckdb"]),
    default="parquet",
    show_default=True,
    help="parquet: a file per table and load.sql; duckdb: one projections.duckdb (DuckDB 1.4+).",
)
@click.pass_context
def export_command(
    ctx: click.Context, directory: str, as_of: str | None, known_at: str | None, file_format: str
) -> None:
    """Write every projection at D and T, plus manifest.json (position, versions, D, T).

    Parquet files come with load.sql (a view per file and the X_at macros); --format duckdb
    writes one self-contained projections.duckdb instead.

    Example: learningloop export ./exports/2014 --as-of 2014-12-31
    """
    loop, day, moment = _open_at(ctx, as_of, known_at)
    manifest = loop.export(directory, day, moment, file_format)
    message(f"Exported {len(manifest['tables'])} projections at log position "
            f"{manifest['log_position']} to {directory}.")  # fmt: skip


@main.command("audit")
@click.option("--strict", is_flag=True, help="Data-quality warnings fail the audit too.")
@click.option(
    "--digest",
    "print_digest",
    is_flag=True,
    help="Print only the log's head digest (POSITION:HASH) to keep outside the store.",
)
@click.option("--verify", metavar="DIGEST", help="Prove the log up to that digest is unchanged.")
@click.option(
    "--backfill-days",
    type=click.IntRange(min=0),
    default=365,
    show_default=True,
    help="Note events recorded more than this many days after they occurred (once per batch).",
)
@click.option(
    "--as-of", metavar="D", help="Data quality as of this valid date (YYYY-MM-DD). Default: today."
)
@format_option
@click.pass_context
def audit_command(
    ctx: click.Context,
    strict: bool,
    print_digest: bool,
    verify: str | None,
    backfill_days: int,
    as_of: str | None,
    output_format: str,
) -> None:
    """Verify the log (decoding, versions, hash chains, rules, seal), the projections, and
    data quality. Exit 0 when integrity holds, 1 when it does not.

    Example: learningloop audit --verify 42:f427c0e6…  (a digest kept from audit --digest)
    """
    from .views import emit_audit

    loop = _open(ctx)
    if print_digest:
        click.echo(loop.audit_log_only().head_digest)
        return
    with progress("Auditing", "events", loop.event_count()) as advance:
        report = loop.audit(verify=verify, backfill_days=backfill_days, as_of=_parse_date(as_of),
                            progress=advance)  # fmt: skip
    emit_audit(report, output_format, strict=strict)
    if not report.passed(strict=strict):
        raise click.exceptions.Exit(1)


@main.command("why")
@click.argument("decision", required=False)
@click.option("--prediction", metavar="P", help="A prediction's provenance instead.")
@click.option("--experiment", metavar="EXPERIMENT", help="Needed when several share the key.")
@as_of_options
@format_option
@click.pass_context
def why_command(
    ctx: click.Context,
    decision: str | None,
    prediction: str | None,
    experiment: str | None,
    as_of: str | None,
    known_at: str | None,
    output_format: str,
) -> None:
    """A decision's provenance: the learnings and reviews it cites, their events and sources,
    the learning cycle it closed, and any evidence revised after it. With --prediction, a
    prediction's: the events that made and decided it, with their log positions.

    Example: learningloop why retenu-2013-2014 --experiment deltameca-gouvernance
    """
    from .views import emit_prediction_provenance, emit_provenance

    if (decision is None) == (prediction is None):
        raise BadInput("give a DECISION or --prediction P (one of the two)")
    loop, day, moment = _open_at(ctx, as_of, known_at)
    if prediction is not None:
        emit_prediction_provenance(loop.why_prediction(prediction, experiment, day, moment),
                                   output_format)  # fmt: skip
        return
    assert decision is not None
    emit_provenance(loop.why(decision, experiment, day, moment), output_format)


@main.command("keygen")
def keygen_command() -> None:
    """Print a new random AES-256 key for encrypting a store's event payloads at rest.

    Example: learningloop keygen > store.key && chmod 600 store.key
    """
    from learningloop.store import new_cipher_key

    click.echo(new_cipher_key())


@main.command("copy")
@click.option("--from", "source", required=True, metavar="STORE", help="Directory or URL.")
@click.option("--to", "target", required=True, metavar="STORE", help="An empty store.")
@click.option(
    "--to-cipher-key-file",
    type=click.Path(exists=True, dir_okay=False),
    help="Encrypt the copy with this key (default: the key of the source, if any).",
)
@click.pass_context
def copy_command(
    ctx: click.Context, source: str, target: str, to_cipher_key_file: str | None
) -> None:
    """Copy a whole log into an empty store (for example SQLite to PostgreSQL), keeping
    streams, versions, recorded_at and the audit chain.

    Example: learningloop copy --from ./eval --to postgresql://me@db:5432/evaluations
    """
    from learningloop.application import LearningLoop

    key = ctx.obj["cipher_key"]
    target_key = _read_key(to_cipher_key_file) or key
    with (
        LearningLoop(source, cipher_key=key) as origin,
        LearningLoop(target, cipher_key=target_key) as destination,
        progress("Copying", "events", origin.event_count()) as advance,
    ):
        copied = origin.copy_to(destination, progress=advance)
        names = origin.location.describe(), destination.location.describe()
    message(f"Copied {copied} events from {names[0]} to {names[1]}.")


@main.command("report")
@click.option("--out", required=True, type=click.Path(dir_okay=False), help="The HTML file.")
@click.option("--lang", type=click.Choice(["en", "fr"]), default="en", show_default=True)
@click.option("--experiment", "experiments", multiple=True, metavar="EXPERIMENT",
              help="Detail this experiment (repeat for more). Default: all, or in a network of "
              "more than 30 the 12 most active.")  # fmt: skip
@click.option("--programme", "programmes", multiple=True, metavar="PROGRAMME",
              help="Detail every experiment of this programme (repeat for more).")  # fmt: skip
@as_of_options
@framework_option
@click.option("--since", metavar="T1", help="Add what changed in what we know since T1.")
@click.pass_context
def report_command(
    ctx: click.Context,
    out: str,
    lang: str,
    as_of: str | None,
    known_at: str | None,
    framework: str | None,
    experiments: tuple[str, ...],
    programmes: tuple[str, ...],
    since: str | None,
) -> None:
    """Write one self-contained HTML report: overview, coverage heatmap, learning timelines,
    cadence and milestones. No network request; the same log gives the same bytes.

    Example: learningloop report --out report.html --lang fr --as-of 2014-12-31
    """
    loop, moment_d, moment_t = _open_at(ctx, as_of, known_at)
    start = _parse_moment(since, "--since")
    with working("Writing the report"):
        path = loop.report(out, moment_d, moment_t, lang, framework=framework, since=start,
                           experiments=experiments, programmes=programmes)  # fmt: skip
    message(f"Wrote {path}.")
