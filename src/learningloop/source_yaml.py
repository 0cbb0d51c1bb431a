"""Read raw events from a YAML list, one item at a time, with the line each starts on.

Items are composed one by one (not the whole document first), and an item that grows
beyond MAX_EVENT_CHARS is refused while it is read: a huge item never sits whole in memory.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from learningloop.domain.values import QUOTE_LIMIT, quote
from learningloop.errors import BadInputError
from learningloop.source_text import (
    MAX_DEPTH,
    MAX_DIGITS,
    MAX_EVENT_CHARS,
    READ_CHUNK,
    BadValue,
    RawEvent,
    TooLong,
)

if TYPE_CHECKING:  # imported where used: `record` and JSON imports load no YAML parser
    import yaml

_TIMESTAMP = "tag:yaml.org,2002:timestamp"
_INT = "tag:yaml.org,2002:int"
_MERGE = "tag:yaml.org,2002:merge"


def read_yaml(path: Path) -> Iterator[RawEvent]:
    """YAML items with the line each one starts on."""
    import yaml

    with path.open(encoding="utf-8") as text:
        loader: Any = None
        try:
            loader = _loader_class()(text)
            yield from _items(path, loader, _Budget(path.stat().st_size))
        except yaml.YAMLError as error:
            raise BadInputError(_yaml_problem(path, error)) from None
        except RecursionError:
            raise BadInputError(f"{path}: nested deeper than {MAX_DEPTH} levels") from None
        finally:
            if loader is not None:
                loader.dispose()


def _items(path: Path, loader: Any, budget: _Budget) -> Iterator[RawEvent]:
    """The items of the document's root list, each composed, checked and constructed in
    turn; the composer's own steps (yaml.composer.Composer.compose_document), item by item."""
    import yaml

    loader.get_event()  # the stream's start
    if loader.check_event(yaml.StreamEndEvent):
        return  # an empty file
    loader.get_event()  # the document's start
    start: Any = loader.peek_event()
    if not isinstance(start, yaml.SequenceStartEvent):
        raise BadInputError(f"{path}: a YAML file must hold a list of events")
    root = _root(loader, loader.get_event())
    keep = start.anchor is not None  # an alias may name the whole list: it keeps its items
    index = 0
    while True:
        index += 1
        location = f"{path}, item {index} (line {loader.line + 1})"
        try:
            loader.item_start = loader.index
            if loader.check_event(yaml.SequenceEndEvent):
                break
            # The item's own first line: an alias's, not its anchor's (where node.start_mark is)
            location = f"{path}, item {index} (line {loader.peek_event().start_mark.line + 1})"
            node = loader.compose_node(root, index - 1)
        except TooLong as error:
            raise BadInputError(f"{location}: {error}") from None
        if keep:
            root.value.append(node)
        yield RawEvent(location, _construct(loader, node, budget, location))
    loader.item_start = None
    loader.get_event()  # the list's end
    loader.get_event()  # the document's end
    if not loader.check_event(yaml.StreamEndEvent):
        raise yaml.composer.ComposerError(
            "expected a single document in the stream", None,
            "but found another document", loader.get_event().start_mark,
        )  # fmt: skip


def _root(loader: Any, start: Any) -> yaml.SequenceNode:
    """The root list's node, its items not kept (as compose_sequence_node makes it)."""
    import yaml

    tag = start.tag
    if tag is None or tag == "!":
        tag = loader.resolve(yaml.SequenceNode, None, start.implicit)
    root = yaml.SequenceNode(tag, [], start.start_mark, None, flow_style=start.flow_style)
    if start.anchor is not None:
        loader.anchors[start.anchor] = root
    return root


@functools.cache
def _loader_class() -> type[yaml.SafeLoader]:
    """SafeLoader without implicit timestamps (`2013-02-29` unquoted stays text, so the
    event's date check reports it by field instead of the YAML library failing), whose
    reader refuses an item longer than MAX_EVENT_CHARS as it reads it."""
    import yaml

    class _Loader(yaml.SafeLoader):
        # Where the item being read starts (a character index); None: not in an item.
        item_start: int | None = 0

        def update(self, length: int) -> None:
            # Called each time the reader needs more text (every ~4,096 characters), here
            # to look `length` characters beyond `index` (a scalar is looked at whole
            # before `index` moves past it).
            start = self.item_start
            if start is not None and self.index + length - start > MAX_EVENT_CHARS:
                raise TooLong
            super().update(length)

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
        raise BadValue("a !!timestamp must be a plain value")
    if loader.timestamp_regexp.match(node.value) is None:
        raise BadValue(f"{quote(node.value)} is not a YAML timestamp")
    return yaml.SafeLoader.construct_yaml_timestamp(loader, node)


@dataclass
class _Budget:
    """Nodes a YAML file may expand to: aliases may not blow it up beyond its own size."""

    left: int


def _construct(loader: yaml.SafeLoader, node: yaml.Node, budget: _Budget, location: str) -> Any:
    try:
        _check_node(node, budget)
        return loader.construct_object(node, deep=True)
    except BadValue as error:
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
            raise BadValue("aliases expand beyond the size of the file")
        if isinstance(node, yaml.ScalarNode):
            if node.tag == _INT and len(node.value.lstrip("+-")) > MAX_DIGITS:
                raise BadValue(f"number {quote(node.value)} is too large")
            continue
        if depth > MAX_DEPTH:
            raise BadValue(f"nested deeper than {MAX_DEPTH} levels")
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
                raise BadValue(f"duplicate key {quote(key.value)} in one object (line {line})")
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
    """The line of character `position`, counted a chunk at a time."""
    line = 1
    with path.open(encoding="utf-8", errors="replace") as text:
        while position > 0 and (chunk := text.read(min(READ_CHUNK, position))):
            line += chunk.count("\n")
            position -= len(chunk)
    return line
