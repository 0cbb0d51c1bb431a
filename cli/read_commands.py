"""Commands that read the projections or replay a stream, at D and T."""

from __future__ import annotations

import sys

import click

from .common import (
    QueryCommand,
    as_of_options,
    framework_option,
    open_at,
    open_store,
    parse_date,
    parse_moment,
)
from .output import (
    Records,
    emit_rows,
    emit_stream,
    format_option,
    limit_option,
    stream_format_option,
)
from .usage import BadInput

# --timeout: at most a year (see the option)
MAX_TIMEOUT = 365 * 86_400.0


@click.command("replay")
@click.argument("experiment")
@as_of_options
@format_option
@click.pass_context
def replay_command(
    ctx: click.Context,
    /,
    experiment: str,
    output_format: str,
    **when: str | None,
) -> None:
    """An experiment's state, then its timeline, as of D and as known at T.

    JSON gives one object with every section; CSV gives the timeline rows.

    Example: learningloop replay deltameca-gouvernance --as-of 2013-06-30
    """
    from .views import emit_replay

    loop, day, moment = open_at(ctx, **when)
    view = loop.replay(experiment, day, moment)
    emit_replay(view, output_format)


@click.command("sql", cls=QueryCommand)
@click.argument("query")
@as_of_options
@framework_option
@click.option(
    "--timeout",
    # At most a year: nan passes FloatRange, and inf or 1e10 overflow the deadline's timer
    # (a traceback in its thread, and no deadline at all).
    type=click.FloatRange(min=0, min_open=True, max=MAX_TIMEOUT),
    callback=lambda _ctx, _param, value: _a_number(value),
    metavar="SECONDS",
    help="Stop the query after this many seconds (exit 1). Default: no limit.",
)
@stream_format_option
@limit_option
@click.pass_context
def sql_command(
    ctx: click.Context,
    /,
    query: str,
    framework: str | None,
    timeout: float | None,
    output_format: str,
    limit: int | None,
    **when: str | None,
) -> None:
    """Run one read-only SQL statement over the projections, caught up first.

    Views answer as of D and as known at T (the DuckDB variables as_of and known_at). Rows
    stream: CSV, JSON and JSON Lines of any size in bounded memory.

    Example: learningloop sql "select * from experiment_coverage" --as-of 2013-12-31
    """
    loop, moment_d, moment_t = open_at(ctx, **when)
    with loop.sql_stream(query, moment_d, moment_t, framework=framework, timeout=timeout) as rows:
        emit_stream(rows, output_format, limit)


@click.command("indicators")
@as_of_options
@framework_option
@stream_format_option
@limit_option
@click.pass_context
def indicators_command(
    ctx: click.Context,
    /,
    framework: str | None,
    output_format: str,
    limit: int | None,
    **when: str | None,
) -> None:
    """Function coverage, cadence against commitments, reviews, milestones, learning loops.

    CSV and JSON give one list of rows, each naming its `indicator` (the projection table).

    Example: learningloop indicators --as-of 2014-12-31 --format json
    """
    from .views import emit_indicators

    warm = output_format == "csv" and framework is None and when["known_at"] is None
    if warm and _served_warm(ctx, when["as_of"]):
        return
    loop, moment_d, moment_t = open_at(ctx, **when)
    summary = output_format == "table"
    with loop.indicator_streams(
        moment_d, moment_t, with_summary=summary, framework=framework
    ) as tables:
        emit_indicators(tables, output_format, limit)


def _a_number(seconds: float | None) -> float | None:
    if seconds is not None and seconds != seconds:  # nan: no FloatRange bound refuses it
        raise click.BadParameter("nan is not a number of seconds", param_hint="'--timeout'")
    return seconds


def _served_warm(ctx: click.Context, as_of: str | None) -> bool:
    """The CSV lines of a command that answered the same before, when nothing changed since
    (indicator_warm: without DuckDB), or after new events, merged from an earlier answer
    (indicator_after: DuckDB for the experiments touched alone); False when the usual path
    answers."""
    from learningloop import indicator_warm

    try:
        day = parse_date(as_of)
    except BadInput:  # said by the usual path, after what it checks first
        return False
    sys.stdout.flush()
    options = {name: ctx.obj[name] for name in ("store", "projections", "cipher_key")}
    options |= {"as_of": day, "memory_limit": ctx.obj["memory_limit"]}
    if indicator_warm.served(sys.stdout.buffer, **options):
        return True
    from learningloop import indicator_after

    return indicator_after.served(sys.stdout.buffer, **options)


@click.command("changes")
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
    start = parse_moment(since, "--since")
    assert start is not None
    from learningloop.knowledge import CHANGE_COLUMNS

    found = open_store(ctx).changes_read(start, parse_moment(until, "--until"),
                                         parse_date(as_of), table)  # fmt: skip
    emit_rows(Records(found, CHANGE_COLUMNS), CHANGE_COLUMNS, output_format)


@click.command("timeline")
@click.argument("experiment")
@as_of_options
@format_option
@click.pass_context
def timeline_command(
    ctx: click.Context,
    /,
    experiment: str,
    output_format: str,
    **when: str | None,
) -> None:
    """An experiment's learning timeline, cycle by cycle (a decision closes each cycle).

    Example: learningloop timeline chantier-ecole-st-nazaire
    """
    from .views import emit_timeline

    loop, day, moment = open_at(ctx, **when)
    result = loop.timeline(experiment, day, moment)
    emit_timeline(experiment, result.records(), result.columns, output_format, day or "today")


@click.command("why")
@click.argument("decision", required=False)
@click.option("--prediction", metavar="P", help="A prediction's provenance instead.")
@click.option("--experiment", metavar="EXPERIMENT", help="Needed when several share the key.")
@as_of_options
@format_option
@click.pass_context
def why_command(
    ctx: click.Context,
    /,
    decision: str | None,
    prediction: str | None,
    experiment: str | None,
    output_format: str,
    **when: str | None,
) -> None:
    """A decision's provenance: the learnings and reviews it cites, their events and sources,
    the learning cycle it closed, and any evidence revised after it. With --prediction, a
    prediction's: the events that made and decided it, with their log positions.

    Example: learningloop why retenu-2013-2014 --experiment deltameca-gouvernance
    """
    from .views import emit_prediction_provenance, emit_provenance

    if (decision is None) == (prediction is None):
        raise BadInput("give a DECISION or --prediction P (one of the two)")
    loop, day, moment = open_at(ctx, **when)
    if prediction is not None:
        emit_prediction_provenance(loop.why_prediction(prediction, experiment, day, moment),
                                   output_format)  # fmt: skip
        return
    assert decision is not None
    emit_provenance(loop.why(decision, experiment, day, moment), output_format)


COMMANDS = [
    replay_command,
    timeline_command,
    sql_command,
    indicators_command,
    changes_command,
    why_command,
]
