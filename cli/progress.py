"""Progress on stderr while a long command runs: only in a terminal, never in a pipe or log."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

Advance = Callable[[int], None]


def _ignore(count: int) -> None:
    return None


@contextmanager
def progress(verb: str, noun: str, total: int | None = None) -> Iterator[Advance]:
    """A bar with the total and the time left when `total` is known, else a running count;
    nothing at all when stderr is not a terminal."""
    if not sys.stderr.isatty():
        yield _ignore
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        Progress,
        ProgressColumn,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    columns: tuple[ProgressColumn, ...]
    if total:
        text = TextColumn(f"{verb} {{task.completed:,}}/{{task.total:,}} {noun}")
        columns = (text, BarColumn(), TimeElapsedColumn(), TextColumn("ETA"),
                   TimeRemainingColumn())  # fmt: skip
    else:
        columns = (SpinnerColumn(), TextColumn(f"{verb} {{task.completed:,}} {noun}"),
                   TimeElapsedColumn())  # fmt: skip
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(verb, total=total or None)
        yield lambda count: bar.advance(task, count)


@contextmanager
def working(what: str) -> Iterator[None]:
    """A spinner with the elapsed time for a step whose size is not known."""
    with progress(what, "", None):
        yield


def lines_in(paths: Sequence[str]) -> int | None:
    """Events in JSON Lines files (one a line), counted fast; None for JSON or YAML."""
    if not paths or not all(path.endswith(".jsonl") for path in paths):
        return None
    try:
        total = 0
        for path in paths:
            with Path(path).open("rb") as source:
                while chunk := source.read(1 << 20):
                    total += chunk.count(b"\n")
        return total
    except OSError:
        return None  # the import itself reports the unreadable file
