"""Read raw events from JSON Lines, JSON and YAML files, one at a time, with their location.

JSON Lines and JSON arrays stream: a large file never sits whole in memory, and the first bad
line is reported as soon as it is read.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import orjson
import yaml

from learningloop.errors import BadInputError, NotFoundError

SUFFIXES = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "json", ".yaml": "yaml", ".yml": "yaml"}
_CHUNK = 1 << 20


@dataclass(frozen=True)
class RawEvent:
    """One raw event and where it came from, e.g. `events.jsonl, line 12`."""

    location: str
    data: Any


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
            yield from _read_yaml(path)
    except UnicodeDecodeError as error:
        raise BadInputError(f"{path}: not UTF-8 text ({error.reason})") from None


def _read_json_lines(path: Path) -> Iterator[RawEvent]:
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            location = f"{path}, line {number}"
            try:
                yield RawEvent(location, orjson.loads(line))
            except orjson.JSONDecodeError as error:
                raise BadInputError(f"{location}: not valid JSON ({error.msg})") from None


def _read_json_array(path: Path) -> Iterator[RawEvent]:
    """Stream the items of a top-level JSON array without loading the whole file."""
    with path.open(encoding="utf-8") as text:
        reader = _JsonReader(text)
        if reader.peek() != "[":
            raise BadInputError(f"{path}: a .json file must hold an array of events")
        reader.skip(1)
        if reader.peek() == "]":
            return
        index = 1
        while True:
            try:
                yield RawEvent(f"{path}, item {index}", reader.decode())
            except json.JSONDecodeError as error:
                raise BadInputError(f"{path}, item {index}: not valid JSON ({error.msg})") from None
            separator = reader.peek()
            if separator == "]":
                return
            if separator != ",":
                raise BadInputError(f"{path}, item {index}: expected ',' or ']' after it")
            reader.skip(1)
            index += 1


class _JsonReader:
    """A window over a text file that decodes one JSON value at a time."""

    def __init__(self, text: TextIO) -> None:
        self._text = text
        self._buffer = ""
        self._position = 0

    def _refill(self) -> bool:
        more = self._text.read(_CHUNK)
        self._buffer = self._buffer[self._position :] + more
        self._position = 0
        return bool(more)

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
                value, self._position = self._decoder.raw_decode(self._buffer, self._position)
                return value
            except json.JSONDecodeError:
                if not self._refill():
                    raise

    _decoder = json.JSONDecoder()


def _read_yaml(path: Path) -> Iterator[RawEvent]:
    """YAML items with the line each one starts on."""
    with path.open(encoding="utf-8") as text:
        loader = yaml.SafeLoader(text)
        try:
            root = loader.get_single_node()
            if root is None:
                return
            if not isinstance(root, yaml.SequenceNode):
                raise BadInputError(f"{path}: a YAML file must hold a list of events")
            for index, node in enumerate(root.value, start=1):
                location = f"{path}, item {index} (line {node.start_mark.line + 1})"
                yield RawEvent(location, loader.construct_object(node, deep=True))
        except yaml.YAMLError as error:
            mark = getattr(error, "problem_mark", None)
            where = f", line {mark.line + 1}" if mark is not None else ""
            problem = getattr(error, "problem", None) or "not valid YAML"
            raise BadInputError(f"{path}{where}: not valid YAML ({problem})") from None
        finally:
            loader.dispose()
