"""Bad input and usage errors: one line on stderr, exit 2.

Apart from `common`, as all that `learningloop --help` needs of it: the listing loads neither
`common` nor `output`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import click


class BadInput(click.ClickException):
    """Bad input or usage: one line on stderr, exit 2 (click's UsageError without the usage)."""

    exit_code = 2


@contextmanager
def one_line_usage() -> Iterator[None]:
    """A usage error is bad input like any other: one line (click prints three), exit 2."""
    try:
        yield
    except click.UsageError as error:
        if type(error).__name__ == "NoArgsIsHelpError":  # the help itself, as asked
            raise
        path = error.ctx.command_path if error.ctx is not None else "learningloop"
        raise BadInput(f"{error.format_message().rstrip('.')} (see {path} --help)") from None
