"""Read raw events from JSON Lines, JSON and YAML files, one at a time, with their location.

JSON Lines and JSON arrays stream: a large file never sits whole in memory, and the first bad
line is reported as soon as it is read.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple, TextIO

import orjson
from pydantic_core import from_json

from learningloop.domain.values import QUOTE_LIMIT, quote
from learningloop.errors import BadInputError, NotFoundError

if TYPE_CHECKING:  # imported where used: `record` and JSON imports load no YAML parser
    import yaml

SUFFIXES = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "json", ".yaml": "yaml", ".yml": "yaml"}
_CHUNK = 1 << 20
# CONTRACT 6.10: deeper nesting is refused (and the parsers never recurse past it).
MAX_DEPTH = 64
# A number longer than this is refused before Python converts it (no valid field needs more).
MAX_DIGITS = 40
_TIMESTAMP = "tag:yaml.org,2002:timestamp"
_INT = "tag:yaml.org,2002:int"
_MERGE = "tag:yaml.org,2002:merge"


class RawEvent(NamedTuple):
    """One raw event and where it came from, e.g. `events.jsonl, line 12`. A named tuple:
    an import makes one a line, and a frozen dataclass costs twice as much to build."""

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


class _BadValue(ValueError):
    """A value the parsers must not accept: a duplicate key, an absurd number, deep nesting."""


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    mapping: dict[str, Any] = {}
    for key, value in pairs:
        if key in mapping:
            raise _BadValue(f"duplicate key {quote(key)} in one object")
        mapping[key] = value
    return mapping


def _bounded_int(text: str) -> int:
    # Python refuses ints beyond 4,300 digits with a bare ValueError; refuse far earlier.
    if len(text.lstrip("-")) > MAX_DIGITS:
        raise _BadValue(f"number {quote(text)} is too large")
    return int(text)


def _no_constant(text: str) -> Any:
    raise _BadValue(f"{text} is not a JSON number")


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
            raise _BadValue(f"nested deeper than {limit} levels")
        for child in item.values() if isinstance(item, dict) else item:
            if isinstance(child, dict | list):
                stack.append((child, depth + 1))


def _decode_json(text: str, position: int = 0, *, shallow: bool = False) -> tuple[Any, int]:
    """Decode one JSON value; refusals are _BadValue or json.JSONDecodeError. `shallow`: the
    caller knows the text cannot nest deeper than MAX_DEPTH (the depth is not walked)."""
    try:
        value, end = _DECODER.raw_decode(text, position)
    except RecursionError:
        raise _BadValue(f"nested deeper than {MAX_DEPTH} levels") from None
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
        for number, line in enumerate(lines, start=1):
            # isspace: the same characters as strip(), without a copy of every line
            if line.isspace():
                continue
            location = where + str(number)
            yield RawEvent(location, json_line(line, location))


def json_line(line: str, location: str) -> Any:
    """The value of one (not blank) line of a JSON Lines file; BadInputError at `location`
    when it is not one JSON value the contract accepts. Import workers call it too."""
    value = quick_decode(line)
    if value is not _UNDECIDED:
        return value
    shallow = line.count("{") + line.count("[") <= MAX_DEPTH
    try:
        value, end = _decode_json(line, len(line) - len(line.lstrip()), shallow=shallow)
    except json.JSONDecodeError as error:
        raise BadInputError(f"{location}: not valid JSON ({_json_reason(error)})") from None
    except _BadValue as error:
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
            except _BadValue as error:
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
        more = self._text.read(_CHUNK)
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
                value, self._position = _decode_json(self._buffer, self._position)
                return value
            except json.JSONDecodeError:
                if not self._refill():
                    raise


def _read_yaml(path: Path) -> Iterator[RawEvent]:
    """YAML items with the line each one starts on."""
    import yaml

    budget = _Budget(path.stat().st_size)
    with path.open(encoding="utf-8") as text:
        loader: yaml.SafeLoader | None = None
        try:
            loader = _loader_class()(text)
            root = loader.get_single_node()
            if root is None:
                return
            if not isinstance(root, yaml.SequenceNode):
                raise BadInputError(f"{path}: a YAML file must hold a list of events")
            for index, node in enumerate(root.value, start=1):
                location = f"{path}, item {index} (line {node.start_mark.line + 1})"
                yield RawEvent(location, _construct(loader, node, budget, location))
        except yaml.YAMLError as error:
            raise BadInputError(_yaml_problem(path, error)) from None
        except RecursionError:
            raise BadInputError(f"{path}: nested deeper than {MAX_DEPTH} levels") from None
        finally:
            if loader is not None:
                loader.dispose()


@functools.cache
def _loader_class() -> type[yaml.SafeLoader]:
    """SafeLoader without implicit timestamps: `2013-02-29` unquoted stays text, so the event's
    date check reports it by field instead of the YAML library failing."""
    import yaml

    class _Loader(yaml.SafeLoader):
        pass

    _Loader.yaml_implicit_resolvers = {
        first: [(tag, pattern) for tag, pattern in resolvers if tag != _TIMESTAMP]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }
    _Loader.add_constructor(_TIMESTAMP, _checked_timestamp)
    return _Loader


def _checked_timestamp(loader: yaml.SafeLoader, node: yaml.Node) -> Any:
    """An explicit `!!timestamp` whose text is no timestamp: PyYAML's own constructor fails
    with an AttributeError there, which would escape as a traceback."""
    import yaml

    if not isinstance(node, yaml.ScalarNode):
        raise _BadValue("a !!timestamp must be a plain value")
    if loader.timestamp_regexp.match(node.value) is None:
        raise _BadValue(f"{quote(node.value)} is not a YAML timestamp")
    return yaml.SafeLoader.construct_yaml_timestamp(loader, node)


@dataclass
class _Budget:
    """Nodes a YAML file may expand to: aliases may not blow it up beyond its own size."""

    left: int


def _construct(loader: yaml.SafeLoader, node: yaml.Node, budget: _Budget, location: str) -> Any:
    try:
        _check_node(node, budget)
        return loader.construct_object(node, deep=True)
    except _BadValue as error:
        raise BadInputError(f"{location}: {error}") from None
    except (ValueError, OverflowError, TypeError, LookupError) as error:
        # Constructors of explicit tags raise plain Python errors: `!!int 0o9` a ValueError,
        # `!!bool maybe` a KeyError, `!!int ""` an IndexError.
        reason = str(error).splitlines()[0][:QUOTE_LIMIT] if str(error) else "not a valid value"
        raise BadInputError(f"{location}: not a valid YAML value ({reason})") from None


def _check_node(root: yaml.Node, budget: _Budget) -> None:
    """Depth, alias expansion and duplicate keys, walked iteratively over the node graph."""
    import yaml

    stack: list[tuple[yaml.Node, int]] = [(root, 1)]
    while stack:
        node, depth = stack.pop()
        budget.left -= 1
        if budget.left < 0:
            raise _BadValue("aliases expand beyond the size of the file")
        if isinstance(node, yaml.ScalarNode):
            if node.tag == _INT and len(node.value.lstrip("+-")) > MAX_DIGITS:
                raise _BadValue(f"number {quote(node.value)} is too large")
            continue
        if depth > MAX_DEPTH:
            raise _BadValue(f"nested deeper than {MAX_DEPTH} levels")
        if isinstance(node, yaml.MappingNode):
            _check_keys(node)
            stack.extend((child, depth + 1) for pair in node.value for child in pair)
        else:
            stack.extend((child, depth + 1) for child in node.value)


def _check_keys(node: yaml.MappingNode) -> None:
    import yaml

    seen: set[str] = set()
    for key, _ in node.value:
        if isinstance(key, yaml.ScalarNode) and key.tag != _MERGE:
            if key.value in seen:
                line = key.start_mark.line + 1
                raise _BadValue(f"duplicate key {quote(key.value)} in one object (line {line})")
            seen.add(key.value)


def _yaml_problem(path: Path, error: yaml.YAMLError) -> str:
    import yaml

    if isinstance(error, yaml.reader.ReaderError):
        # Raised while reading characters (a NUL byte): it knows a position, not a line.
        line = _line_of(path, error.position)
        character = f"#x{error.character:04x}"
        return f"{path}, line {line}: not valid YAML (character {character} is not allowed)"
    mark = getattr(error, "problem_mark", None)
    where = f", line {mark.line + 1}" if mark is not None else ""
    problem = getattr(error, "problem", None) or "not valid YAML"
    return f"{path}{where}: not valid YAML ({str(problem)[:QUOTE_LIMIT]})"


def _line_of(path: Path, position: int) -> int:
    with path.open(encoding="utf-8", errors="replace") as text:
        return text.read(position).count("\n") + 1
