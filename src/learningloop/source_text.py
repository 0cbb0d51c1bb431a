"""What every reader of event files shares: the raw event, the bounds of one event's text,
and where a file stops being UTF-8."""

from __future__ import annotations

import codecs
from pathlib import Path
from typing import Any, NamedTuple

# CONTRACT 6.10: deeper nesting is refused (and the parsers never recurse past it).
MAX_DEPTH = 64
# A number longer than this is refused before Python converts it (no valid field needs more).
MAX_DIGITS = 40
# The contract sets no size; one event of a file may take at most this many characters
# (1 MiB of plain JSON). The longest event we know of is a few kilobytes: a bound a thousand
# times beyond it keeps a hostile 200 MB line from being read whole, and bounds any list in
# an event (about 170,000 partners) with it.
MAX_EVENT_CHARS = 1 << 20
# How much of a file each reader reads at a time (characters, or bytes where binary).
READ_CHUNK = 1 << 20


class RawEvent(NamedTuple):
    """One raw event and where it came from, e.g. `events.jsonl, line 12`. A named tuple:
    an import makes one a line, and a frozen dataclass costs twice as much to build."""

    location: str
    data: Any


class BadValue(ValueError):
    """A value the parsers must not accept: a duplicate key, an absurd number, deep nesting."""


class TooLong(BadValue):
    """An event longer than MAX_EVENT_CHARS: refused before the rest of it is read."""

    def __init__(self) -> None:
        super().__init__(f"an event may take at most {MAX_EVENT_CHARS:,} characters")


def undecodable(path: Path) -> tuple[int, str] | None:
    """The line of the first byte of `path` that is not UTF-8, and why (None: it all is),
    read a chunk at a time. A line ends at LF, CRLF or a lone CR, as in text mode."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    line = 1
    after_cr = False  # the last chunk ended with a CR: a LF starting this one ends no line
    with path.open("rb") as data:
        while True:
            chunk = data.read(READ_CHUNK)
            pending = len(decoder.getstate()[0])  # bytes of a character cut by the last chunk
            if after_cr and chunk.startswith(b"\n"):
                line -= 1
            try:
                decoder.decode(chunk, final=not chunk)
            except UnicodeDecodeError as error:
                return line + _breaks(chunk[: max(error.start - pending, 0)]), error.reason
            if not chunk:
                return None
            line += _breaks(chunk)
            after_cr = chunk.endswith(b"\r")


def _breaks(text: bytes) -> int:
    return text.count(b"\n") + text.count(b"\r") - text.count(b"\r\n")
