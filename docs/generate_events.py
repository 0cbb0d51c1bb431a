"""Write docs/events.md from the domain catalogue: every event type, its fields and rules.

Usage: .venv/bin/python docs/generate_events.py     (tests/test_docs.py checks it is current)
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter

from learningloop.domain import events as ev
from learningloop.domain import rules, values

TARGET = Path(__file__).with_name("events.md")
VALUE_TYPES = ("Slug", "Text", "RequiredText", "IsoDate", "FunctionKey", "PositiveInt",
               "NonNegativeInt", "Months", "Strength", "Probability", "Precision",
               "Basis")  # fmt: skip
# Checked in validators, so not in the JSON schema pydantic derives.
PATTERNS = {
    "Slug": {"pattern": f"`{values.SLUG_PATTERN}`"},
    "FunctionKey": {"pattern": f"`{values.FUNCTION_KEY_PATTERN}`"},
    "IsoDate": {"range": f"{values.FIRST_DATE} to {values.LAST_DATE}"},
    "RequiredText": {"refused": "empty"},
}
HEADER = """# Event catalogue

Generated from `learningloop.domain.events.CATALOGUE` and `learningloop.domain.rules.RULES` by
`docs/generate_events.py`; do not edit by hand (`tests/test_docs.py` checks it is current).

Every event is a JSON object with a `type`. Unknown fields are refused, a required text may
not be empty (`RequiredText`), and with a `precision` coarser than
`day`, `occurred_on` is stored as the first day of its period. An event that breaks a rule
is refused with exit code 2 and nothing is written; `learningloop audit` re-applies the same
rules to the stored log.
"""


def render() -> str:
    parts = [HEADER, _value_types()]
    parts += [_event(name, cls) for name, cls in ev.CATALOGUE.items()]
    return "\n".join(parts)


def _event(name: str, cls: type[ev.Event]) -> str:
    stream = cls.STREAM or "programme or experiment"
    lines = [f"## {name}", "", f"Stream: {stream}. Topic: `{cls.TOPIC}`."]
    if cls.class_version > 1:
        lines[-1] += f" Stored shape version {cls.class_version} (older ones are upcast)."
    if cls.__doc__ and "__doc__" in vars(cls):
        lines += ["", " ".join(cls.__doc__.split())]
    lines += ["", "| field | type | required |", "|---|---|---|"]
    annotations = _annotations(cls)
    for field, info in cls.model_fields.items():
        required = "yes" if info.is_required() else f"no (default `{_default(info.default)}`)"
        shown = annotations[field].removesuffix(" | None").replace(" | ", " or ")
        lines.append(f"| `{field}` | `{shown}` | {required} |")
    lines += ["", "Rules:", ""] + [f"- {rule}" for rule in rules.RULES[name]]
    return "\n".join(lines) + "\n"


def _annotations(cls: type[Any]) -> dict[str, str]:
    """Each field's type as written in the source (`Slug | None`), base classes first."""
    found: dict[str, str] = {}
    for klass in reversed(cls.__mro__):
        found |= {k: str(v) for k, v in vars(klass).get("__annotations__", {}).items()}
    return found


def _default(value: Any) -> str:
    if isinstance(value, tuple) and value and isinstance(value[0], ev.FunctionDefinition):
        return "the five default functions"
    return "[]" if value == () else "null" if value is None else str(value)


def _value_types() -> str:
    lines = ["## Value types", "", "| type | JSON schema |", "|---|---|"]
    for name in VALUE_TYPES:
        schema = TypeAdapter(getattr(values, name)).json_schema()
        schema |= PATTERNS.get(name, {})
        shown = ", ".join(f"{k}: {v}" for k, v in sorted(schema.items()) if k != "title")
        lines.append(f"| `{name}` | {shown.replace('|', '∣')} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    TARGET.write_text(render(), encoding="utf-8")
    print(f"wrote {TARGET}", file=sys.stderr)
