"""Turn one raw mapping (from JSON, YAML or the command line) into a validated event."""

from __future__ import annotations

import difflib
import json
import types
import typing
from typing import Any

from pydantic import ValidationError

from learningloop.domain.errors import InvalidEventError
from learningloop.domain.events import CATALOGUE, Event
from learningloop.domain.native_validation import native_validator
from learningloop.domain.values import quote

# A field name is echoed at most this long (an unknown 10 MB key stays a one-line error).
QUOTE_FIELD = 80
# Enough digits for any integer the contract allows (2,147,483,647) and then some.
MAX_DIGITS = 18
# Set by the system, never by the user (CONTRACT section 1).
SYSTEM_FIELDS = ("recorded_at",)


def parse_event(raw: Any, *, default_recorded_by: str | None = None) -> Event:
    """Validate a raw mapping against the catalogue; raise InvalidEventError naming the field."""
    if not isinstance(raw, dict):
        raise InvalidEventError(None, f"an event must be an object, got {type(raw).__name__}")
    event_type = raw.get("type")
    if event_type is None:
        raise InvalidEventError("type", "is required")
    event_class = CATALOGUE.get(event_type) if isinstance(event_type, str) else None
    if event_class is None:
        raise InvalidEventError("type", unknown_type(event_type))
    for field in SYSTEM_FIELDS:
        if field in raw:
            raise InvalidEventError(field, "is set by the system and cannot be supplied")
    if raw.get("recorded_by") is None and default_recorded_by is not None:
        raw = {**raw, "recorded_by": default_recorded_by}
    # The same test as Event._start_of_period's: with it the native validator cannot differ.
    if raw.get("precision") in (None, "day"):
        try:
            return native_validator(event_class).validate_python(raw)  # type: ignore[no-any-return]
        except ValidationError:
            pass  # the class's own validator says what is wrong, in the catalogue's words
    try:
        # model_validate without its keyword plumbing (each option None there too)
        return event_class.__pydantic_validator__.validate_python(raw)  # type: ignore[no-any-return]
    except ValidationError as error:
        raise _first_problem(error) from None


def unknown_type(event_type: Any) -> str:
    """Names the three nearest known types: the whole catalogue would not fit one line."""
    close = difflib.get_close_matches(str(event_type)[:QUOTE_FIELD], CATALOGUE, n=3, cutoff=0)
    return f"unknown event type {quote(event_type)} (nearest: {', '.join(close)})"


def _first_problem(error: ValidationError) -> InvalidEventError:
    """The first validation problem as one sentence naming its field."""
    problem = error.errors(include_url=False)[0]
    field = ".".join(str(part) for part in problem["loc"])[:QUOTE_FIELD] or None
    kind = problem["type"]
    if kind == "extra_forbidden":
        return InvalidEventError(field, "unknown field")
    if kind == "missing":
        return InvalidEventError(field, "is required")
    message = problem["msg"].removeprefix("Value error, ")
    if kind == "value_error" and field is None and ": " in message:
        # Model-level checks name their field at the start of the message.
        field, _, message = message.partition(": ")
    if kind in ("literal_error", "too_short", "greater_than_equal", "less_than_equal") or (
        kind.endswith("_type")
    ):
        message = f"{message}, got {quote(problem.get('input'))}"
    return InvalidEventError(field, message)


def fields_from_text(event_type: str, pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """Build a raw event from command-line `--field value` pairs.

    Dashes in names become underscores. A list field takes repeated options (or one JSON
    array or object); an integer field takes ASCII digits only; any other value is text as
    given, so `--notes "[draft] went well"` is a note, not bad JSON.
    """
    event_class = CATALOGUE.get(event_type)
    if event_class is None:
        raise InvalidEventError("type", unknown_type(event_type))
    raw: dict[str, Any] = {"type": event_type}
    for name, text in pairs:
        field = name.replace("-", "_")
        kind = _field_kind(event_class, field)
        value = _value_from_text(field, text, kind)
        if kind == "list":
            raw.setdefault(field, []).extend(value if isinstance(value, list) else [value])
        elif field in raw:
            raise InvalidEventError(field, "is given twice")
        else:
            raw[field] = value
    return raw


def _field_kind(event_class: type[Event], field: str) -> str:
    info = event_class.model_fields.get(field)
    if info is None:
        return "text"  # unknown fields are reported by validation
    base = _unwrap(info.annotation)
    if typing.get_origin(base) is tuple:
        return "list"
    if base in (int, float, bool):
        return str(base.__name__)
    return "text"


def _unwrap(annotation: Any) -> Any:
    """The type under Optional[...] and Annotated[...]."""
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            annotation = typing.get_args(annotation)[0]
        elif origin in (typing.Union, types.UnionType):
            annotation = next(a for a in typing.get_args(annotation) if a is not type(None))
        else:
            return annotation


def _value_from_text(field: str, text: str, kind: str) -> Any:
    if kind == "list" and text.startswith(("[", "{")):
        try:
            return json.loads(text)
        except (json.JSONDecodeError, RecursionError, ValueError):
            raise InvalidEventError(field, f"{quote(text)} is not valid JSON") from None
    if kind == "int":
        # int() alone takes "1_000", "+5", " 7" and "٣": a count is ASCII digits, nothing else.
        if not (text.isascii() and text.isdigit()) or len(text) > MAX_DIGITS:
            raise InvalidEventError(field, f"{quote(text)} is not a whole number (digits 0-9)")
        return int(text)
    if kind == "float":
        try:
            return float(text)
        except ValueError:
            raise InvalidEventError(field, f"{quote(text)} is not a number") from None
    if kind == "bool":
        if text not in ("true", "false"):
            raise InvalidEventError(field, f"{quote(text)} is not true or false")
        return text == "true"
    return text
