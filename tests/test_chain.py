"""domain/chain.py: the bytes an import stores and hashes, made without the serializer's
JSON-mode dict, are the very bytes the serializer path gives (hashes and seal unchanged)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from learningloop.domain.chain import GENESIS, canonical, sealed_state, stored_state
from learningloop.domain.events import Event
from learningloop.domain.parsing import parse_event

from .strategies import programme_histories

# Any text a Text field accepts: every code point but NUL and lone surrogates (quotes,
# backslashes, controls, U+2028, astral characters: what JSON writers escape differently).
any_text = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"))
moments = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1)).map(
    lambda moment: moment.replace(tzinfo=UTC)
)


def _serializer_sealed(
    previous: str, stream: str, version: int, event: Event, recorded_at: datetime
) -> tuple[str, bytes]:
    """The earlier path: the serializer's JSON-mode dict, hashed, then dumped."""
    import hashlib

    import orjson

    state = stored_state(event, recorded_at)
    content = canonical({"stream": stream, "version": version, "state": state})
    chain = hashlib.sha256(previous.encode() + content).hexdigest()
    state["chain"] = chain
    return chain, orjson.dumps(state)


def _same(event: Event, recorded_at: datetime, version: int = 3) -> None:
    args = (GENESIS, f"experiment:{event.type}", version, event, recorded_at)
    assert sealed_state(*args) == _serializer_sealed(*args)


@settings(max_examples=25, deadline=None)
@given(programme_histories(max_events=12), moments)
def test_every_event_of_a_programme_is_sealed_as_the_serializer_writes_it(
    raws: list[dict[str, Any]], recorded_at: datetime
) -> None:
    for raw in raws:
        _same(parse_event(raw, default_recorded_by="someone"), recorded_at)


@settings(max_examples=100, deadline=None)
@given(
    any_text,
    any_text,
    st.floats(min_value=0, max_value=1, exclude_min=True, exclude_max=True),
    moments,
)
def test_any_text_and_probability_are_sealed_as_the_serializer_writes_them(
    text: str, note: str, probability: float, recorded_at: datetime
) -> None:
    statement = text or "x"
    raw = {"type": "PredictionMade", "experiment": "e", "prediction": "p",
           "statement": statement, "probability": probability, "occurred_on": "2013-02-01",
           "resolves_on": "2014-01-01", "source": note, "recorded_by": text}  # fmt: skip
    _same(parse_event(raw), recorded_at)


@settings(max_examples=25, deadline=None)
@given(any_text, st.lists(st.tuples(st.from_regex(r"[a-z][a-z_]{0,5}", fullmatch=True),
                                    st.one_of(st.none(), any_text)), min_size=1, max_size=3,
                          unique_by=lambda pair: pair[0]), moments)  # fmt: skip
def test_nested_function_definitions_are_sealed_as_the_serializer_writes_them(
    title: str, functions: list[tuple[str, str | None]], recorded_at: datetime
) -> None:
    defined = [{"key": key, "label": "L", **({"label_fr": fr} if fr is not None else {})}
               for key, fr in functions]  # fmt: skip
    raw = {"type": "ProgrammeOpened", "programme": "p", "title": title or "t",
           "occurred_on": "2013-02-01", "functions": defined, "axes": [title]}  # fmt: skip
    _same(parse_event(raw), recorded_at)


def test_a_version_2_event_keeps_its_class_version_after_recorded_at() -> None:
    raw = {"type": "MeetingHeld", "experiment": "e", "kind": "local", "occurred_on": "2013-02-01"}
    moment = datetime(2020, 1, 2, 3, 4, 5, tzinfo=UTC)
    _, stored = sealed_state(GENESIS, "experiment:e", 2, parse_event(raw), moment)
    assert b'"recorded_at":"2020-01-02T03:04:05+00:00","class_version":2,"chain":"' in stored
