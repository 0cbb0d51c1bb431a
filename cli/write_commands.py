"""Commands that write a log: import, record, copy, and the key that encrypts one."""

from __future__ import annotations

import click

from .common import open_store, read_key
from .output import message
from .usage import BadInput


@click.command("import")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.pass_context
def import_command(ctx: click.Context, files: tuple[str, ...]) -> None:
    """Import events from .jsonl, .json or .yaml files: all of them, or none.

    Example: learningloop import partners.yaml meetings.jsonl
    """
    from .progress import lines_in, progress

    loop = open_store(ctx)
    with progress("Importing", "events", lines_in(files)) as advance:
        summary = loop.import_files(list(files), progress=advance)
    message(f"Imported {summary.events} events into {summary.streams} streams.")


@click.command(
    "record", context_settings={"ignore_unknown_options": True, "allow_extra_args": True}
)
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
    recorded = open_store(ctx).record(fields_from_text(event_type, pairs))
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


@click.command("keygen")
def keygen_command() -> None:
    """Print a new random AES-256 key for encrypting a store's event payloads at rest.

    Example: learningloop keygen > store.key && chmod 600 store.key
    """
    from learningloop.store import new_cipher_key

    click.echo(new_cipher_key())


@click.command("copy")
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

    from .progress import progress

    key = ctx.obj["cipher_key"]
    target_key = read_key(to_cipher_key_file) or key
    with (
        LearningLoop(source, cipher_key=key) as origin,
        LearningLoop(target, cipher_key=target_key) as destination,
        progress("Copying", "events", origin.event_count()) as advance,
    ):
        copied = origin.copy_to(destination, progress=advance)
        names = origin.location.describe(), destination.location.describe()
    message(f"Copied {copied} events from {names[0]} to {names[1]}.")


COMMANDS = [import_command, record_command, copy_command, keygen_command]
