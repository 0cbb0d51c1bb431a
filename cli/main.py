"""The `learningloop` command: parse, call one library function, print.

Library imports happen inside commands, and a command's module is imported when that command
runs (or shows its help), so that `learningloop --help` starts fast.
"""

from __future__ import annotations

import importlib
import warnings
from typing import Any, TextIO

import click

from .usage import BadInput, one_line_usage

# Each command's module and the first sentence of its help, all that `learningloop --help`
# shows of it (click shortens it as it would the whole help): the listing imports no command
# module. tests/test_cli_main.py holds these to the commands themselves.
COMMANDS = {
    "audit": ("store_commands", "Verify the log (decoding, versions, hash chains, rules, seal), "
              "the projections, and data quality."),
    "changes": ("read_commands", "What changed in what we know between T1 and T2: per table, "
                "the rows removed and added (a changed row is both), each with the log "
                "positions of the events that caused it."),
    "copy": ("write_commands", "Copy a whole log into an empty store (for example SQLite to "
             "PostgreSQL), keeping streams, versions, recorded_at and the audit chain."),
    "demo": ("store_commands", "Load the bundled 2012–2014 programme into a fresh store and "
             "print its indicators."),
    "export": ("store_commands", "Write every projection at D and T, plus manifest.json "
               "(position, versions, D, T)."),
    "import": ("write_commands", "Import events from .jsonl, .json or .yaml files: all of "
               "them, or none."),
    "indicators": ("read_commands", "Function coverage, cadence against commitments, reviews, "
                   "milestones, learning loops."),
    "keygen": ("write_commands", "Print a new random AES-256 key for encrypting a store's "
               "event payloads at rest."),
    "project": ("store_commands", "Catch the DuckDB projections up with the event log (or "
                "rebuild them)."),
    "record": ("write_commands", "Record one event given as --field value pairs (same "
               "validation as import)."),
    "replay": ("read_commands", "An experiment's state, then its timeline, as of D and as "
               "known at T."),
    "report": ("store_commands", "Write one self-contained HTML report: overview, coverage "
               "heatmap, learning timelines, cadence and milestones."),
    "sql": ("read_commands", "Run one read-only SQL statement over the projections, caught "
            "up first."),
    "timeline": ("read_commands", "An experiment's learning timeline, cycle by cycle (a "
                 "decision closes each cycle)."),
    "why": ("read_commands", "A decision's provenance: the learnings and reviews it cites, "
            "their events and sources, the learning cycle it closed, and any evidence revised "
            "after it."),
}  # fmt: skip


class LearningLoopGroup(click.Group):
    """Loads a command's module when the command is asked for, and turns library errors into
    click errors in one place: 2 for bad input, 1 for failures."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands:
            # An unknown name loads them all: click suggests the closest from self.commands.
            known = COMMANDS.get(cmd_name)
            modules = [known[0]] if known else dict.fromkeys(m for m, _ in COMMANDS.values())
            for module in modules:
                for command in importlib.import_module(f".{module}", __package__).COMMANDS:
                    self.add_command(command)
        return super().get_command(ctx, cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The listing click writes, of stand-ins that carry each command's summary alone."""
        stand_ins = [click.Command(name, help=summary) for name, (_, summary) in COMMANDS.items()]
        click.Group(commands=stand_ins).format_commands(ctx, formatter)

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        with one_line_usage():
            return super().parse_args(ctx, args)

    def invoke(self, ctx: click.Context) -> Any:
        from learningloop.errors import ExitCode, LearningLoopError

        try:
            with warnings.catch_warnings(), one_line_usage():
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

    from .output import message

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
    from .common import read_key

    key = read_key(cipher_key_file)
    ctx.obj = {"store": store, "by": by, "cipher_key": key, "projections": projections,
               "memory_limit": memory_limit, "fresh": fresh}  # fmt: skip
