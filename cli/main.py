"""The `learningloop` command: parse, call one library function, print.

Library imports happen inside commands so that `learningloop --help` starts fast.
"""

from __future__ import annotations

import warnings
from typing import Any, TextIO

import click

from . import read_commands, store_commands, write_commands
from .common import BadInput, one_line_usage, read_key
from .output import message


class LearningLoopGroup(click.Group):
    """Turns library errors into click errors in one place: 2 for bad input, 1 for failures."""

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
    key = read_key(cipher_key_file)
    ctx.obj = {"store": store, "by": by, "cipher_key": key, "projections": projections,
               "memory_limit": memory_limit, "fresh": fresh}  # fmt: skip


for _module in (write_commands, read_commands, store_commands):
    for _command in _module.COMMANDS:
        main.add_command(_command)
