"""Read raw events from JSON Lines, JSON and YAML files, one at a time, with their location.

JSON Lines and JSON arrays stream: a large file never sits whole in memory, and the first bad
line is reported as soon as it is read.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

import orjson
from pydantic_core import from_json

from learningloop.domain.values import quote
from learningloop.errors import BadInputError, NotFoundError
from learningloop.source_text import (
    MAX_DEPTH,
    MAX_DIGITS,
    MAX_EVENT_CHARS,
    READ_CHUNK,
    BadValue,
    RawEvent,
    TooLong,
    undecodable,
)
from learningloop.source_yaml import read_yaml

__all__ = ["MAX_EVENT_CHARS", "RawEvent", "check_sources", "json_line", "read_events"]

SUFFIXES = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "json", ".yaml": "yaml", ".yml": "yaml"}
# A line is read at most this long (a line ending after the longest event allowed): a longer
# one is refused without reading the rest of it.
_LINE_READ = MAX_EVENT_CHARS + 2
# The same in bytes, for the import workers' binary reading (a character takes 1-4 bytes).
_LINE_BYTES = 4 * MAX_EVENT_CHARS + 8


def check_sources(paths: list[Path]) -> None:
    """Fail before reading anything when a file is missing or of an unknown kind."""
    for path in paths:
        if path.suffix.lower() not in SUFFIXES:
            known = ", ".join(sorted(SUFFIXES))
            raise BadInputError(f"{path}: unknown file kind {path.suffix!r} (use {known})")
        if not path.is_file():
            raise NotFoundError(f"{path}: no such file")


def read_events(path: Path) -> Iterator[RawEvent]:
    """The raw events of one file, in file order."""
    kind = SUFFIXES[path.suffix.lower()]
    try:
        if kind == "jsonl":
            yield from _read_json_lines(path)
        elif kind == "json":
            yield from _read_json_array(path)
        else:
            yield from read_yaml(path)
    except UnicodeDecodeError as error:
        # Text is decoded a chunk ahead of the line being read: find the byte's own line.
        found = undecodable(path)
        line, reason = found if found is not None else (None, error.reason)
        where = f", line {line}" if line is not None else ""
        raise BadInputError(f"{path}{where}: not UTF-8 text ({reason})") from None


class LineTooLong(Exception):
    """A JSON Lines line longer than any event may be (see json_lines_bytes)."""


def json_lines_bytes(paths: list[Path]) -> Iterator[bytes]:
    """The lines of JSON Lines files, as bytes, each ending with a newline (what import
    workers read). LineTooLong, before the rest of it is read, on a line longer than an
    event may be: the caller imports in one process, which names the first problem."""
    for path in paths:
        with path.open("rb") as lines:
            while line := lines.readline(_LINE_BYTES):
                if not line.endswith(b"\n"):
                    if len(line) == _LINE_BYTES:
                        raise LineTooLong(path)
                    line += b"\n"
                yield line


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    mapping: dict[str, Any] = {}
    for key, value in pairs:
        if key in mapping:
            raise BadValue(f"duplicate key {quote(key)} in one object")
        mapping[key] = value
    return mapping


def _bounded_int(text: str) -> int:
    # Python refuses ints beyond 4,300 digits with a bare ValueError; refuse far earlier.
    if len(text.lstrip("-")) > MAX_DIGITS:
        raise BadValue(f"number {quote(text)} is too large")
    return int(text)


def _no_constant(text: str) -> Any:
    raise BadValue(f"{text} is not a JSON number")


# One JSON value at a time, refusing what the contract refuses (CONTRACT 6.10).
_DECODER = json.JSONDecoder(
    object_pairs_hook=_no_duplicate_keys, parse_int=_bounded_int, parse_constant=_no_constant
)


def check_depth(value: Any, limit: int = MAX_DEPTH) -> None:
    """Refuse lists and objects nested deeper than `limit` levels (iteratively: no recursion)."""
    # Only lists and objects go on the stack: an event's many scalars are looked at once.
    stack: list[tuple[Any, int]] = [(value, 1)] if isinstance(value, dict | list) else []
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            raise BadValue(f"nested deeper than {limit} levels")
        for child in item.values() if isinstance(item, dict) else item:
            if isinstance(child, dict | list):
                stack.append((child, depth + 1))


def _decode_json(text: str, position: int = 0, *, shallow: bool = False) -> tuple[Any, int]:
    """Decode one JSON value; refusals are BadValue or json.JSONDecodeError. `shallow`: the
    caller knows the text cannot nest deeper than MAX_DEPTH (the depth is not walked)."""
    try:
        value, end = _DECODER.raw_decode(text, position)
    except RecursionError:
        raise BadValue(f"nested deeper than {MAX_DEPTH} levels") from None
    if not shallow:
        check_depth(value)
    return value, end


# Longer lines are read by _decode_json alone (events are a few hundred characters).
QUICK_LINE = 4096
_UNDECIDED = object()


def quick_decode(line: str) -> Any:
    """The value of one JSON line as _decode_json gives it, read by pydantic-core's parser
    (no Python call per object or number), or _UNDECIDED when only _decode_json can say: a
    long line, one that may nest deeper than MAX_DEPTH, escapes characters, holds a number of
    more than 64 bits, may repeat a key, or that the parser refuses."""
    # Each level of nesting opens with its own bracket, so a line with no more brackets
    # than the limit (every event we have seen) cannot nest deeper.
    if len(line) > QUICK_LINE or line.count("{") + line.count("[") > MAX_DEPTH or "\\u" in line:
        return _UNDECIDED
    try:
        value = from_json(line, allow_inf_nan=False)
        # Raises for an integer beyond 64 bits: _decode_json bounds their digits.
        written = orjson.dumps(value)
    except (ValueError, orjson.JSONEncodeError):
        return _UNDECIDED
    # Outside strings a colon only ends a key, and both parsers keep every key and string
    # as read (no \u escape was in the line): a repeated key, which the parser silently
    # drops, leaves the line with more colons than the value written back.
    if line.count(":") != written.count(b":"):
        return _UNDECIDED
    return value


def _read_json_lines(path: Path) -> Iterator[RawEvent]:
    where = f"{path}, line "
    # utf-8-sig: a leading byte-order mark (some Windows editors write one) is skipped, as the
    # YAML reader does, instead of making the first event "not valid JSON"
    with path.open(encoding="utf-8-sig") as lines:
        read = lines.readline
        number = 0
        # readline(limit): a hostile line of 200 MB is refused, not read whole
        while line := read(_LINE_READ):
            number += 1
            # isspace: the same characters as strip(), without a copy of every line
            if line.isspace():
                continue
            location = where + str(number)
            yield RawEvent(location, json_line(line, location))


def json_line(line: str, location: str) -> Any:
    """The value of one (not blank) line of a JSON Lines file; BadInputError at `location`
    when it is not one JSON value the contract accepts. Import workers call it too."""
    if len(line) > MAX_EVENT_CHARS and len(line.rstrip("\r\n")) > MAX_EVENT_CHARS:
        raise BadInputError(f"{location}: {TooLong()}")
    value = quick_decode(line)
    if value is not _UNDECIDED:
        return value
    shallow = line.count("{") + line.count("[") <= MAX_DEPTH
    try:
        value, end = _decode_json(line, len(line) - len(line.lstrip()), shallow=shallow)
    except json.JSONDecodeError as error:
        raise BadInputError(f"{location}: not valid JSON ({_json_reason(error)})") from None
    except BadValue as error:
        raise BadInputError(f"{location}: {error}") from None
    if line[end:].strip():
        raise BadInputError(f"{location}: unexpected {quote(line[end:].strip())} after the event")
    return value


def _json_reason(error: json.JSONDecodeError) -> str:
    """What json says is wrong, without the dangling "at" of a message such as "Unterminated
    string starting at" (json keeps the position apart; the location names the line)."""
    return error.msg.removesuffix(" at").removesuffix(" starting")


def _read_json_array(path: Path) -> Iterator[RawEvent]:
    """Stream the items of a top-level JSON array without loading the whole file."""
    with path.open(encoding="utf-8-sig") as text:
        reader = _JsonReader(text)
        if reader.peek() != "[":
            raise BadInputError(f"{path}: a .json file must hold an array of events")
        reader.skip(1)
        if reader.peek() == "]":
            reader.skip(1)
            _expect_end(path, reader)
            return
        index = 1
        while True:
            reader.peek()  # to the item's first character, so the line is its own
            location = f"{path}, item {index} (line {reader.line()})"
            try:
                yield RawEvent(location, reader.decode())
            except json.JSONDecodeError as error:
                raise BadInputError(f"{location}: not valid JSON ({_json_reason(error)})") from None
            except BadValue as error:
                raise BadInputError(f"{location}: {error}") from None
            separator = reader.peek()
            if separator == "]":
                reader.skip(1)
                _expect_end(path, reader)
                return
            if separator != ",":
                raise BadInputError(f"{location}: expected ',' or ']' after it")
            reader.skip(1)
            index += 1


def _expect_end(path: Path, reader: _JsonReader) -> None:
    """A JSON document is one value: `[...] garbage` or `[...][...]` loses nothing silently."""
    if reader.peek():
        raise BadInputError(
            f"{path}, line {reader.line()}: unexpected {quote(reader.rest(40))} after the "
            "array (a .json file holds one array)"
        )


class _JsonReader:
    """A window over a text file that decodes one JSON value at a time."""

    def __init__(self, text: TextIO) -> None:
        self._text = text
        self._buffer = ""
        self._position = 0
        # Lines before `_counted` in the buffer, so locations cost no rescan of the file.
        self._lines = 1
        self._counted = 0

    def _refill(self) -> bool:
        more = self._text.read(READ_CHUNK)
        self.line()
        self._buffer = self._buffer[self._position :] + more
        self._counted -= self._position
        self._position = 0
        return bool(more)

    def line(self) -> int:
        """The line number of the current position."""
        self._lines += self._buffer.count("\n", self._counted, self._position)
        self._counted = self._position
        return self._lines

    def rest(self, size: int) -> str:
        return self._buffer[self._position : self._position + size]

    def peek(self) -> str:
        """The next non-blank character ("" at the end of the file)."""
        while True:
            rest = self._buffer[self._position :].lstrip(" \t\r\n")
            self._position = len(self._buffer) - len(rest)
            if rest or not self._refill():
                return rest[:1]

    def skip(self, count: int) -> None:
        self._position += count

    def decode(self) -> Any:
        self.peek()
        while True:
            try:
                value, end = _decode_json(self._buffer, self._position)
                if end - self._position > MAX_EVENT_CHARS:
                    raise TooLong  # as long an item as the buffer holds, but no event
                self._position = end
                return value
            except json.JSONDecodeError as error:
                if _wrong_whatever_follows(error, len(self._buffer)):
                    raise
                if len(self._buffer) - self._position > MAX_EVENT_CHARS:
                    raise TooLong from None  # read no further into a hostile 200 MB item
                if not self._refill():
                    raise


def _wrong_whatever_follows(error: json.JSONDecodeError, end: int) -> bool:
    """Whether the text read so far is wrong, whatever more of the file would add. The
    decoder reads left to right and stops at the first error: one that running out of text
    causes is at the text's end (within a token: `tru`, `\\u12`, `-`), or an unterminated
    string, which names the string's start."""
    return error.pos < end - 16 and not error.msg.startswith("Unterminated string")
