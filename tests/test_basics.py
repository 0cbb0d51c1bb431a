"""The domain's plain values: the same objects wherever they are imported from, no pydantic."""

from __future__ import annotations

import dataclasses
import gc
import subprocess
import sys
from datetime import date
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from learningloop.domain import basics, events, indicators, replay, values

PRECISIONS = ("day", "month", "quarter", "semester", "year")


def test_values_events_and_replay_re_export_the_very_same_objects() -> None:
    for name in ("quote", "did_you_mean", "add_months", "format_at_precision", "BASES"):
        assert getattr(values, name) is getattr(basics, name)
    assert events.stream_id is basics.stream_id
    assert replay.STATUS_BY_DECISION is basics.STATUS_BY_DECISION


def test_the_default_functions_are_the_labels_in_their_order() -> None:
    assert [(f.key, f.label, f.label_fr) for f in events.DEFAULT_FUNCTIONS] == list(
        basics.DEFAULT_FUNCTION_LABELS
    )


def test_importing_the_basics_loads_no_pydantic() -> None:
    script = "import sys, learningloop.domain.basics; print('pydantic' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            check=True, timeout=60)  # fmt: skip
    assert result.stdout.strip() == "False"


@given(st.dates(min_value=date(1900, 1, 1), max_value=date(2199, 12, 31)),
       st.sampled_from(PRECISIONS))  # fmt: skip
def test_a_day_lies_in_its_period_and_the_period_is_named_by_either_end(
    day: date, precision: basics.Precision
) -> None:
    start = basics.start_of_period(day, precision)
    end = basics.end_of_period(day, precision)
    assert start <= day <= end
    assert basics.format_at_precision(start, precision) == basics.format_at_precision(
        end, precision
    )


def test_a_long_value_is_quoted_cut_to_the_limit() -> None:
    assert basics.quote("x" * 500) == repr("x" * 500)[: basics.QUOTE_LIMIT - 1] + "…"
    assert basics.stream_id("experiment", "deltameca") == "experiment:deltameca"


VALUES = st.one_of(st.none(), st.text(max_size=5), st.dates(), st.integers(), st.booleans(),
                   st.lists(st.text(max_size=3)).map(tuple))  # fmt: skip


@given(
    view=st.sampled_from([replay.DecisionView, indicators.LearningView, indicators.MilestoneView]),
    data=st.data(),
)
def test_a_frozen_view_made_at_once_is_the_one_its_constructor_makes(
    view: type[Any], data: st.DataObject
) -> None:
    fields = {field.name: data.draw(VALUES) for field in dataclasses.fields(view)}
    made, built = basics.frozen(view, **fields), view(**fields)
    assert made == built and hash(made) == hash(built) and repr(made) == repr(built)
    assert type(made) is view and dataclasses.asdict(made) == dataclasses.asdict(built)
    with pytest.raises(dataclasses.FrozenInstanceError):
        made.status = "changed"


@pytest.mark.parametrize("enabled", [True, False])
def test_the_collector_is_paused_within_and_as_it_was_after_even_on_error(enabled: bool) -> None:
    was = gc.isenabled()
    (gc.enable if enabled else gc.disable)()
    try:
        with pytest.raises(ValueError), basics.no_cycle_collection():
            assert not gc.isenabled()
            raise ValueError
        assert gc.isenabled() is enabled
    finally:
        (gc.enable if was else gc.disable)()
