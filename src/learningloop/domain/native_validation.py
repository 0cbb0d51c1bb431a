"""Each event class's validator with its Python field checks written as pydantic-core
constraints: no call back into Python for every slug, text and date of an event.

It accepts no more than the class's own validator, and builds the very same model from what
it accepts (tests/test_native_validation.py holds both to that). What it refuses,
`parse_event` hands to the class's own validator, whose error names the problem in the
catalogue's words (a constraint's would not): errors are never taken from here.
"""

from __future__ import annotations

import functools
from typing import Any

from pydantic_core import SchemaValidator

from learningloop.domain import values
from learningloop.domain.events import Event


def _strict_text(pattern: str) -> dict[str, Any]:
    # The pattern runs in Rust's regex engine, where `$` is the end of the text only (Python's
    # `$` also matches before a final newline: values.py uses fullmatch). A lone surrogate,
    # which _check_text refuses, cannot be read as UTF-8 for the pattern: refused too.
    return {"type": "str", "strict": True, "pattern": pattern}


# The Python check of each annotated type in values.py, and the schema standing for it
# together with the strict str (or date) under it.
_NATIVE: dict[Any, dict[str, Any]] = {
    values._check_slug: _strict_text(values.SLUG_PATTERN),
    values._check_function_key: _strict_text(values.FUNCTION_KEY_PATTERN),
    # Any text but one holding NUL; a required one is not empty.
    values._check_text: _strict_text(r"^[^\x00]*$"),
    values._check_required_text: _strict_text(r"^[^\x00]+$"),
    # Text written YYYY-MM-DD in ASCII digits, read as a real date within the bounds; a date
    # object (from YAML) is left to the class's validator.
    values._as_iso_date: {
        "type": "chain",
        "steps": [
            _strict_text(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"),
            {"type": "date", "ge": values.FIRST_DATE, "le": values.LAST_DATE},
        ],
    },
}
# Event._start_of_period changes nothing when the precision is a day (or not given): the
# only events parse_event brings here.
_DROPPED = (Event._start_of_period.__func__,)


@functools.cache
def native_validator(event_class: type[Event]) -> SchemaValidator:
    """The class's validator for events whose precision is "day" or not given."""
    schema = _native(event_class.__pydantic_core_schema__)
    # _use_prebuilt=False: otherwise pydantic-core reuses the class's own validator for a
    # schema naming the class, Python checks and all.
    return SchemaValidator(schema, _use_prebuilt=False)


def _native(schema: Any) -> Any:
    """The schema with each Python check of _NATIVE replaced, recursively."""
    if isinstance(schema, list):
        return [_native(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    if schema.get("type") in ("function-before", "function-after"):
        function = schema["function"]["function"]
        function = getattr(function, "__func__", function)  # a classmethod's function
        if function in _NATIVE:
            return dict(_NATIVE[function])
        if function in _DROPPED:
            return _native(schema["schema"])
    return {key: _native(value) for key, value in schema.items()}
