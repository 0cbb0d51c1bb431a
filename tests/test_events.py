"""Each event type: a valid example, and each way it can be invalid on its own."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from learningloop.domain import events as ev
from learningloop.domain import values
from learningloop.domain.parsing import fields_from_text, parse_event
from learningloop.domain.values import end_of_period, format_at_precision
from learningloop.errors import InvalidEventError

VALID: dict[str, dict[str, Any]] = {
    "ProgrammeOpened": {"programme": "p", "title": "T"},
    "PartnerJoined": {"programme": "p", "partner": "a", "name": "A", "kind": "company"},
    "PartnerLeft": {"programme": "p", "partner": "a", "reason": "moved"},
    "GatheringHeld": {"programme": "p", "gathering": "g", "kind": "seminar", "participants": 40},
    "ExperimentProposed": {"experiment": "x", "programme": "p", "title": "T", "carriers": ["a"],
                           "scale": "company"},
    "ReviewSessionHeld": {"experiment": "x", "review": "r", "session": 1},
    "DecisionRecorded": {"experiment": "x", "decision": "d", "kind": "retain", "summary": "S"},
    "CommitmentMade": {"experiment": "x", "commitment": "c", "description": "D",
                       "meetings_per_year_min": 3, "meetings_per_year_max": 4,
                       "starts_on": "2013-04-18", "months": 24},
    "MeetingHeld": {"experiment": "x", "kind": "stakeholder", "attendees": 30},
    "MilestonePlanned": {"experiment": "x", "milestone": "m", "title": "M", "due_on": "2015-01-01"},
    "MilestoneRescheduled": {"experiment": "x", "milestone": "m", "due_on": "2016-01-01"},
    "MilestoneReached": {"experiment": "x", "milestone": "m"},
    "MilestoneAbandoned": {"experiment": "x", "milestone": "m"},
    "LearningRecorded": {"experiment": "x", "learning": "l", "observation": "O"},
    "FunctionEvidenced": {"experiment": "x", "function": "training", "evidence": "E"},
    "FunctionAssessed": {"experiment": "x", "function": "training", "result": "absent"},
    "ExperimentClosed": {"experiment": "x"},
    "PredictionMade": {"experiment": "x", "prediction": "p", "statement": "S",
                       "probability": 0.7, "resolves_on": "2013-12-31", "milestone": "m"},
    "PredictionResolved": {"experiment": "x", "prediction": "p", "outcome": True},
    "EventRetracted": {"experiment": "x", "retracts": 2, "reason": "typo"},
}  # fmt: skip


def raw(event_type: str, **changes: Any) -> dict[str, Any]:
    data = {"type": event_type, "occurred_on": "2013-04-18", **VALID[event_type], **changes}
    return {key: value for key, value in data.items() if value is not DROP}


DROP = object()


def problem(data: dict[str, Any]) -> InvalidEventError:
    with pytest.raises(InvalidEventError) as caught:
        parse_event(data)
    return caught.value


def test_the_catalogue_has_every_contract_type() -> None:
    assert set(ev.CATALOGUE) == set(VALID)


@pytest.mark.parametrize("event_type", sorted(VALID))
def test_a_valid_example_of_each_type_parses_with_its_type_and_date(event_type: str) -> None:
    event = parse_event(raw(event_type))
    assert type(event).__name__ == event_type
    assert event.occurred_on == date(2013, 4, 18)
    assert f"learningloop:{event_type}" == event.TOPIC


@pytest.mark.parametrize("event_type", sorted(VALID))
def test_an_unknown_field_is_an_error_naming_it(event_type: str) -> None:
    error = problem(raw(event_type, colour="blue"))
    assert (error.field, error.reason) == ("colour", "unknown field")


@pytest.mark.parametrize("event_type", sorted(VALID))
def test_a_missing_occurred_on_is_an_error(event_type: str) -> None:
    error = problem(raw(event_type, occurred_on=DROP))
    assert (error.field, error.reason) == ("occurred_on", "is required")


@pytest.mark.parametrize("event_type", sorted(VALID))
def test_every_type_takes_a_basis_which_defaults_to_stated(event_type: str) -> None:
    assert parse_event(raw(event_type)).basis == "stated"
    assert parse_event(raw(event_type, basis="inferred", basis_note="from X")).basis == "inferred"
    error = problem(raw(event_type, basis="guessed"))
    assert error.field == "basis"


@pytest.mark.parametrize(
    ("day", "precision", "until", "printed"),
    [
        ("2013-04-18", "day", "2013-04-18", "2013-04-18"),
        ("2013-02-18", "month", "2013-02-28", "2013-02"),
        ("2012-02-18", "month", "2012-02-29", "2012-02"),
        ("2013-05-18", "quarter", "2013-06-30", "2013-Q2"),
        ("2013-11-18", "quarter", "2013-12-31", "2013-Q4"),
        ("2013-05-18", "semester", "2013-06-30", "2013-S1"),
        ("2013-07-01", "semester", "2013-12-31", "2013-S2"),
        ("2013-05-18", "year", "2013-12-31", "2013"),
    ],
)
def test_a_date_is_moved_to_its_period_which_ends_on_its_last_day_and_prints_at_its_precision(
    day: str, precision: str, until: str, printed: str
) -> None:
    event = parse_event(raw("MeetingHeld", occurred_on=day, precision=precision))
    assert end_of_period(event.occurred_on, event.precision) == date.fromisoformat(until)
    assert format_at_precision(event.occurred_on, precision) == printed


@pytest.mark.parametrize("bad", ["2013-02-30", "2013-13-01", "18/04/2013", "2013-4-18", 20130418,
                                 "2013-04-18T10:00:00"])  # fmt: skip
def test_a_date_that_is_not_a_real_iso_date_is_an_error(bad: object) -> None:
    error = problem(raw("MeetingHeld", occurred_on=bad))
    assert error.field == "occurred_on"
    assert "date" in error.reason


@pytest.mark.parametrize(
    ("event_type", "field", "bad"),
    [
        ("PartnerJoined", "kind", "charity"),
        ("GatheringHeld", "kind", "party"),
        ("GatheringHeld", "participants", -1),
        ("ExperimentProposed", "scale", "planet"),
        ("ExperimentProposed", "carriers", []),
        ("ExperimentProposed", "carriers", ["Not A Slug"]),
        ("ReviewSessionHeld", "session", 0),
        ("ReviewSessionHeld", "sessions_planned", 0),
        ("DecisionRecorded", "kind", "maybe"),
        ("CommitmentMade", "months", 0),
        ("CommitmentMade", "meetings_per_year_min", -1),
        ("CommitmentMade", "starts_on", "2013-02-29"),
        ("MeetingHeld", "kind", "party"),
        ("MeetingHeld", "attendees", -3),
        ("MeetingHeld", "attendees", "thirty"),
        ("MeetingHeld", "attendees", True),
        ("MilestonePlanned", "due_on", "soon"),
        ("FunctionEvidenced", "strength", 4),
        ("FunctionEvidenced", "strength", 0),
        ("FunctionEvidenced", "function", "Training!"),
        ("EventRetracted", "retracts", 0),
        ("MeetingHeld", "precision", "week"),
        ("MeetingHeld", "experiment", "UPPER"),
        ("MeetingHeld", "experiment", "x" * 65),
        ("ProgrammeOpened", "programme", "-leading-dash"),
    ],
)
def test_a_field_out_of_its_type_or_range_is_an_error_naming_it(
    event_type: str, field: str, bad: object
) -> None:
    error = problem(raw(event_type, **{field: bad}))
    assert error.field is not None and error.field.split(".")[0] == field


def test_max_meetings_below_min_is_an_error_naming_the_max() -> None:
    error = problem(raw("CommitmentMade", meetings_per_year_min=4, meetings_per_year_max=3))
    assert error.field == "meetings_per_year_max"


def test_a_retraction_needs_exactly_one_stream_key() -> None:
    assert problem(raw("EventRetracted", experiment=DROP)).field == "programme/experiment"
    assert problem(raw("EventRetracted", programme="p")).field == "programme/experiment"


def test_recorded_at_cannot_be_supplied() -> None:
    assert problem(raw("MeetingHeld", recorded_at="2013-01-01T00:00:00Z")).field == "recorded_at"


def test_an_unknown_type_is_an_error_listing_known_types() -> None:
    error = problem({"type": "MeetingCancelled", "occurred_on": "2013-01-01"})
    assert error.field == "type" and "MeetingHeld" in error.reason


def test_an_event_that_is_not_an_object_is_an_error() -> None:
    assert "object" in problem(["MeetingHeld"]).reason  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("precision", "given", "stored"),
    [
        ("month", "2013-04-18", date(2013, 4, 1)),
        ("quarter", "2013-05-18", date(2013, 4, 1)),
        ("semester", "2013-04-18", date(2013, 1, 1)),
        ("semester", "2013-09-30", date(2013, 7, 1)),
        ("year", "2013-04-18", date(2013, 1, 1)),
        ("day", "2013-04-18", date(2013, 4, 18)),
    ],
)
def test_occurred_on_is_the_first_day_of_its_period(
    precision: str, given: str, stored: date
) -> None:
    assert parse_event(raw("MeetingHeld", occurred_on=given, precision=precision)).occurred_on == (
        stored
    )


def test_defaults_fill_optional_facts() -> None:
    review = parse_event(raw("ReviewSessionHeld"))
    assert isinstance(review, ev.ReviewSessionHeld) and review.sessions_planned == 2
    evidence = parse_event(raw("FunctionEvidenced"))
    assert isinstance(evidence, ev.FunctionEvidenced) and evidence.strength == 1
    opened = parse_event(raw("ProgrammeOpened"))
    assert isinstance(opened, ev.ProgrammeOpened)
    assert [f.key for f in opened.functions] == [
        "training", "support", "production", "local_development", "employer"
    ]  # fmt: skip


def test_recorded_by_defaults_to_the_given_recorder_but_never_overrides() -> None:
    assert parse_event(raw("ExperimentClosed"), default_recorded_by="ana").recorded_by == "ana"
    given = raw("ExperimentClosed", recorded_by="bo")
    assert parse_event(given, default_recorded_by="ana").recorded_by == "bo"


def test_a_programme_with_a_duplicated_function_key_is_invalid() -> None:
    functions = [{"key": "a", "label": "A"}, {"key": "a", "label": "B"}]
    assert problem(raw("ProgrammeOpened", functions=functions)).field == "functions"


def test_command_line_fields_become_typed_values() -> None:
    pairs = [("experiment", "x"), ("occurred-on", "2013-01-01"), ("kind", "local"),
             ("attendees", "12")]  # fmt: skip
    event = parse_event(fields_from_text("MeetingHeld", pairs))
    assert isinstance(event, ev.MeetingHeld) and event.attendees == 12


def test_command_line_list_fields_take_repeated_options() -> None:
    pairs = [("carriers", "a"), ("carriers", "b"), ("partners", '["c", "d"]')]
    fields = fields_from_text("ExperimentProposed", pairs)
    assert fields["carriers"] == ["a", "b"] and fields["partners"] == ["c", "d"]


def test_command_line_int_field_with_text_is_an_error() -> None:
    with pytest.raises(InvalidEventError, match="attendees"):
        fields_from_text("MeetingHeld", [("attendees", "many")])


# --- CONTRACT 6.10: values that would not survive every projection exactly ----------------

INT_LIMIT = 2_147_483_647


@pytest.mark.parametrize(
    ("event_type", "field", "bad"),
    [
        ("MeetingHeld", "attendees", INT_LIMIT + 1),
        ("MeetingHeld", "attendees", 2**64),
        ("ReviewSessionHeld", "session", 2**31),
        ("ReviewSessionHeld", "sessions_planned", 2**31),
        ("CommitmentMade", "meetings_per_year_max", 2**31),
        ("CommitmentMade", "stakeholders", 2**31),
        ("CommitmentMade", "months", 1_201),
        ("CommitmentMade", "months", 2**31),
        ("CommitmentMade", "starts_on", "9999-12-31"),
        ("CommitmentMade", "starts_on", "1899-12-31"),
        ("GatheringHeld", "participants", 2**31),
        ("EventRetracted", "retracts", 2**31),
        ("MilestonePlanned", "due_on", "2200-01-01"),
        ("MilestonePlanned", "due_on", date(2200, 1, 1)),
        ("MeetingHeld", "occurred_on", "0001-01-01"),
        ("MeetingHeld", "experiment", "x\n"),
        ("MeetingHeld", "experiment", "x\n\n"),
        ("FunctionEvidenced", "function", "training\n"),
        ("MilestonePlanned", "title", ""),
        ("LearningRecorded", "observation", ""),
        ("EventRetracted", "reason", ""),
        ("MeetingHeld", "notes", "nul\x00byte"),
    ],
)
def test_values_beyond_the_contract_limits_are_errors_naming_the_field(
    event_type: str, field: str, bad: object
) -> None:
    error = problem(raw(event_type, **{field: bad}))
    assert error.field is not None and error.field.split(".")[0] == field


@pytest.mark.parametrize(
    ("event_type", "field", "edge"),
    [
        ("MeetingHeld", "attendees", INT_LIMIT),
        ("CommitmentMade", "months", 1_200),
        ("CommitmentMade", "starts_on", "2199-12-31"),
        ("MilestonePlanned", "due_on", "1900-01-01"),
        ("MeetingHeld", "notes", ""),
    ],
)
def test_values_at_the_contract_limits_are_accepted(
    event_type: str, field: str, edge: object
) -> None:
    assert parse_event(raw(event_type, **{field: edge}))


def test_an_offending_value_is_quoted_at_most_80_characters() -> None:
    error = problem(raw("MeetingHeld", experiment="x" * 10_000_000))
    assert len(str(error)) < 200
    error = problem(raw("MeetingHeld", **{"k" * 1_000_000: 1}))
    assert len(str(error)) < 200


@pytest.mark.parametrize("text", ["1_000", "+5", "-5", " 7", "7 ", "٣", "１２", "0x10", "1e3", ""])
def test_command_line_integers_are_ascii_digits_only(text: str) -> None:
    with pytest.raises(InvalidEventError, match="attendees"):
        fields_from_text("MeetingHeld", [("attendees", text)])


@pytest.mark.parametrize("notes", ["[draft] went well", "{not json", "[1, 2]", '{"a": 1}'])
def test_command_line_text_that_looks_like_json_stays_text(notes: str) -> None:
    assert fields_from_text("MeetingHeld", [("notes", notes)])["notes"] == notes


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"probability": 1.0}, "probability"),
        ({"probability": 0}, "probability"),
        ({"probability": "0.5"}, "probability"),
        ({"resolves_on": "2013-04-17"}, "resolves_on"),
    ],
)
def test_a_prediction_needs_a_probability_strictly_inside_0_1_and_a_later_deadline(
    changes: dict[str, Any], field: str
) -> None:
    assert problem(raw("PredictionMade", **changes)).field == field


def test_a_resolution_outcome_is_a_boolean_and_from_text_true_or_false() -> None:
    assert problem(raw("PredictionResolved", outcome="yes")).field == "outcome"
    pairs = [("experiment", "x"), ("occurred-on", "2013-04-18"), ("prediction", "p"),
             ("outcome", "false")]  # fmt: skip
    assert parse_event(fields_from_text("PredictionResolved", pairs)).outcome is False  # type: ignore[attr-defined]
    made = fields_from_text("PredictionMade", [("probability", "0.25")])
    assert made["probability"] == 0.25


@given(st.lists(st.dates().map(str) | st.text(alphabet="0123456789-", min_size=8, max_size=11),
                max_size=6))  # fmt: skip
def test_a_date_read_again_is_read_as_the_first_time(texts: list[str]) -> None:
    def outcome(text: str) -> object:
        try:
            return values._as_iso_date(text)
        except ValueError as error:
            return str(error)

    fresh = []
    for text in texts:
        values._DAYS.clear()
        fresh.append(outcome(text))
    # the second round reads every accepted text from the cache
    for _ in range(2):
        assert [outcome(text) for text in texts] == fresh
    accepted = [(t, day) for t, day in zip(texts, fresh, strict=True) if isinstance(day, date)]
    assert all(values._DAYS[t] == day for t, day in accepted)
