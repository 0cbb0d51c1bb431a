"""The native validators accept no more than the catalogue's own, and build the same models."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from learningloop.domain import chain
from learningloop.domain.events import CATALOGUE, Event
from learningloop.domain.native_validation import native_validator
from learningloop.domain.parsing import parse_event
from learningloop.errors import InvalidEventError
from tests.strategies import programme_histories

# Values each field may be changed to: edge cases of every check native_validation replaces.
ODD_VALUES = [
    "", " ", "a", "abc\n", "\nabc", "a\x00b", "\x00", "\ud800", "é", "A", "-a", "a_b", "a-b",
    "a" * 64, "a" * 65, "a" * 200, "2016-02-29", "2015-02-29", "2016-13-01", "2016-1-01",
    "1899-12-31", "1900-01-01", "2199-12-31", "2200-01-01", "٢٠١٦-01-01", "2016-01-01\n",
    "2016-01-01T00:00:00", " 2016-01-01", "20160101", date(2016, 1, 1), date(1899, 1, 1),
    datetime(2016, 1, 1), 0, 1, -1, 2_147_483_648, 1.5, 0.5, True, None, [], ["a"], ["A"],
    ("a", "b"), {"key": "x"}, "local_development", "training", "day", "month", "stated",
]  # fmt: skip
FIELDS = sorted({name for cls in CATALOGUE.values() for name in cls.model_fields})


def _outcome(validate: Any, raw: dict[str, Any]) -> Event | None:
    try:
        return validate(raw)  # type: ignore[no-any-return]
    except ValidationError:
        return None


def _same(native: Event, reference: Event) -> bool:
    """The same class, fields, field types, fields set and stored bytes."""
    at = datetime(2026, 1, 1, tzinfo=UTC)
    types = [type(value) for value in native.__dict__.values()]
    return (
        type(native) is type(reference)
        and native.__dict__ == reference.__dict__
        and types == [type(value) for value in reference.__dict__.values()]
        and native.model_fields_set == reference.model_fields_set
        and chain.sealed_state("", "s", 1, native, at)
        == chain.sealed_state("", "s", 1, reference, at)
    )


@settings(max_examples=60)
@given(programme_histories(max_events=4), st.data())
@example([{"type": "MeetingHeld", "experiment": "e", "kind": "local",
           "occurred_on": "2016-01-01", "notes": "a\x00"}], None)  # fmt: skip
def test_the_native_validator_accepts_only_what_the_class_accepts_as_the_same_model(
    events: list[dict[str, Any]], data: st.DataObject | None
) -> None:
    for raw in events:
        raw = dict(raw)
        if data is not None:
            for _ in range(data.draw(st.integers(0, 3))):
                field = data.draw(st.sampled_from(FIELDS))
                if data.draw(st.booleans()) and field in raw:
                    del raw[field]
                else:
                    raw[field] = data.draw(st.sampled_from(ODD_VALUES))
        if raw.get("precision") not in (None, "day"):
            continue  # parse_event never asks the native validator
        kind = raw.get("type")
        event_class = CATALOGUE.get(kind) if isinstance(kind, str) else None
        if event_class is None:
            continue
        native = _outcome(native_validator(event_class).validate_python, raw)
        reference = _outcome(event_class.__pydantic_validator__.validate_python, raw)
        if native is not None:
            assert reference is not None, raw
            assert _same(native, reference), raw


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        ({"experiment": "Bad Slug"}, "experiment: 'Bad Slug' is not a slug"),
        ({"notes": "a\x00"}, "notes: contains a NUL character"),
        ({"notes": "\ud800"}, "notes: contains a character that is not valid Unicode text"),
        ({"occurred_on": "2015-02-29"}, "occurred_on: '2015-02-29' is not a real date"),
        ({"occurred_on": "2200-01-01"}, "occurred_on: 2200-01-01 is outside"),
        ({"participants": ["p\n"]}, "participants.0: 'p\\n' is not a slug"),
    ],
)  # fmt: skip
def test_what_the_native_validator_refuses_is_named_by_the_class_validator(
    raw: dict[str, Any], problem: str
) -> None:
    meeting = {
        "type": "MeetingHeld",
        "experiment": "e",
        "kind": "local",
        "occurred_on": "2016-01-01",
    }
    with pytest.raises(InvalidEventError) as raised:
        parse_event(meeting | raw)
    assert str(raised.value).startswith(f"field {problem}")


def test_an_event_parsed_natively_is_the_event_the_class_validates() -> None:
    raw = {"type": "MeetingHeld", "experiment": "e", "kind": "local", "occurred_on": "2016-01-01",
           "participants": ["p1", "p2"], "notes": "n: x"}  # fmt: skip
    event = parse_event(raw, default_recorded_by="me")
    reference = CATALOGUE["MeetingHeld"].model_validate(raw | {"recorded_by": "me"})
    assert _same(event, reference)
    assert event.occurred_on == date(2016, 1, 1)
