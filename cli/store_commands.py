"""Commands on the whole store: project, export, audit, report, and the demo."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import click

from .common import as_of_options, framework_option, open_at, open_store, parse_date, parse_moment
from .output import emit, format_option, limit_option, message

if TYPE_CHECKING:
    from learningloop.application import DemoRun


@click.command("demo")
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


@click.command("project")
@click.option("--rebuild", is_flag=True, help="Rebuild every projection from the first event.")
@click.pass_context
def project_command(ctx: click.Context, rebuild: bool) -> None:
    """Catch the DuckDB projections up with the event log (or rebuild them).

    Example: learningloop project --rebuild
    """
    from .progress import progress

    loop = open_store(ctx)
    total = loop.event_count() if rebuild else None
    with progress("Rebuilding" if rebuild else "Projecting", "events", total) as advance:
        added = loop.project(rebuild=rebuild, progress=advance)
    verb = "Rebuilt projections from" if rebuild else "Projected"
    message(f"{verb} {added} events; projections are current at log position "
            f"{loop.head_position()}.")  # fmt: skip


@click.command("export")
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
    ctx: click.Context, /, directory: str, file_format: str, **when: str | None
) -> None:
    """Write every projection at D and T, plus manifest.json (position, versions, D, T).

    Parquet files come with load.sql (a view per file and the X_at macros); --format duckdb
    writes one self-contained projections.duckdb instead.

    Example: learningloop export ./exports/2014 --as-of 2014-12-31
    """
    loop, day, moment = open_at(ctx, **when)
    manifest = loop.export(directory, day, moment, file_format)
    message(f"Exported {len(manifest['tables'])} projections at log position "
            f"{manifest['log_position']} to {directory}.")  # fmt: skip


@click.command("audit")
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
@limit_option
@click.pass_context
def audit_command(
    ctx: click.Context,
    strict: bool,
    print_digest: bool,
    verify: str | None,
    backfill_days: int,
    as_of: str | None,
    output_format: str,
    limit: int | None,
) -> None:
    """Verify the log (decoding, versions, hash chains, rules, seal), the projections, and
    data quality. Exit 0 when integrity holds, 1 when it does not.

    Example: learningloop audit --verify 42:f427c0e6…  (a digest kept from audit --digest)
    """
    from .progress import progress
    from .views import emit_audit

    loop = open_store(ctx)
    if print_digest:
        click.echo(loop.audit_log_only().head_digest)
        return
    # the head position, not the seal's count: a deleted seal is a finding, not a crash
    with progress("Auditing", "events", loop.head_position()) as advance:
        report = loop.audit(verify=verify, backfill_days=backfill_days, as_of=parse_date(as_of),
                            progress=advance)  # fmt: skip
    emit_audit(report, output_format, strict=strict, limit=limit)
    if not report.passed(strict=strict):
        raise click.exceptions.Exit(1)


@click.command("report")
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
    /,
    out: str,
    lang: str,
    framework: str | None,
    experiments: tuple[str, ...],
    programmes: tuple[str, ...],
    since: str | None,
    **when: str | None,
) -> None:
    """Write one self-contained HTML report: overview, coverage heatmap, learning timelines,
    cadence and milestones. No network request; the same log gives the same bytes.

    Example: learningloop report --out report.html --lang fr --as-of 2014-12-31
    """
    from .progress import working

    loop, moment_d, moment_t = open_at(ctx, **when)
    start = parse_moment(since, "--since")
    with working("Writing the report"):
        path = loop.report(out, moment_d, moment_t, lang, framework=framework, since=start,
                           experiments=experiments, programmes=programmes)  # fmt: skip
    message(f"Wrote {path}.")


COMMANDS = [demo_command, project_command, export_command, audit_command, report_command]
