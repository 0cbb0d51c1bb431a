"""What every command shares: bad input, D and T parsed, the store opened once per call."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from .output import message
from .usage import BadInput

if TYPE_CHECKING:
    from learningloop.application import LearningLoop


def read_key(path: str | None) -> str | None:
    """An AES key file's text (checked when the store is opened)."""
    if not path:
        return None
    try:
        return Path(path).read_text(encoding="utf-8").strip()
    except (UnicodeDecodeError, OSError):
        raise BadInput(
            f"--cipher-key-file: {path} is not a readable text key (make one: learningloop keygen)"
        ) from None


def parse_date(value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise BadInput(f"--as-of: {value!r} is not a date (expected YYYY-MM-DD)") from None


def parse_moment(value: str | None, option: str = "--known-at") -> datetime | None:
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
    """--as-of D and --known-at T; the command takes them as `**when` for `open_at`."""
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


def open_at(
    ctx: click.Context, as_of: str | None, known_at: str | None
) -> tuple[LearningLoop, date | None, datetime | None]:
    """The store, with D and T parsed; a note on stderr when they lie outside the record."""
    loop = open_store(ctx)
    day, moment = parse_date(as_of), parse_moment(known_at)
    for note in loop.moment_notes(day, moment):
        message(note)
    return loop, day, moment


def open_store(ctx: click.Context) -> LearningLoop:
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


class QueryCommand(click.Command):
    """`sql`: a query that starts with `-` (a `-- comment` first) is the query, not an
    unknown option: an argument that starts with `-` and names no option of the command is
    taken as a positional one, wherever it stands."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        known = {name for param in self.get_params(ctx) for name in param.opts}
        end = args.index("--") if "--" in args else len(args)
        head, tail = args[:end], args[end + 1 :]

        def unknown_dash(arg: str) -> bool:
            name = arg.split("=", 1)[0] if arg.startswith("--") else arg[:2]
            return arg.startswith("-") and name not in known

        positional = [arg for arg in head if unknown_dash(arg)]
        if not positional:
            return super().parse_args(ctx, args)
        rest = [arg for arg in head if not unknown_dash(arg)]
        return super().parse_args(ctx, [*rest, "--", *positional, *tail])
