"""Value types shared by every event: slugs, dates, precision, month arithmetic."""

from __future__ import annotations

import calendar
import difflib
import re
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BeforeValidator, Field, Strict

SLUG_PATTERN = r"^[a-z0-9][a-z0-9-]{0,63}$"
# Function keys of the default framework contain underscores (local_development).
FUNCTION_KEY_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,63}$"
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_SLUG = re.compile(SLUG_PATTERN.strip("^$"))
_FUNCTION_KEY = re.compile(FUNCTION_KEY_PATTERN.strip("^$"))

# CONTRACT 6.10: every value must survive every projection exactly (DuckDB DATE and INTEGER,
# PostgreSQL, month arithmetic), so dates and integers are bounded where they enter.
FIRST_DATE = date(1900, 1, 1)
LAST_DATE = date(2199, 12, 31)
MAX_INT = 2_147_483_647
MAX_MONTHS = 1_200
# An offending value is echoed at most this long, so a 10 MB value makes a one-line error.
QUOTE_LIMIT = 80


def quote(value: Any) -> str:
    """`repr(value)`, cut to QUOTE_LIMIT characters: how errors echo what the user gave."""
    text = repr(value)
    return text if len(text) <= QUOTE_LIMIT else text[: QUOTE_LIMIT - 1] + "…"


Precision = Literal["day", "month", "quarter", "semester", "year"]
# CONTRACT 6.3: stated by its source; the recorder's reading of it; an example, not a fact.
Basis = Literal["stated", "inferred", "illustrative"]
BASES: tuple[Basis, ...] = ("stated", "inferred", "illustrative")
# Months in each coarser-than-a-day period (calendar periods, CONTRACT 6.11).
_PERIOD_MONTHS = {"month": 1, "quarter": 3, "semester": 6, "year": 12}


def _as_iso_date(value: Any) -> date:
    """Accept a real calendar date written YYYY-MM-DD (or a YAML date), nothing looser."""
    if isinstance(value, datetime):
        raise ValueError(f"{value.isoformat()} is a date-time, expected a date YYYY-MM-DD")
    if isinstance(value, date):
        return _in_range(value)
    if isinstance(value, str) and _ISO_DATE.fullmatch(value):
        try:
            day = date.fromisoformat(value)
        except ValueError:
            pass
        else:
            return _in_range(day)
    raise ValueError(f"{quote(value)} is not a real date (expected YYYY-MM-DD)")


def _in_range(day: date) -> date:
    if not FIRST_DATE <= day <= LAST_DATE:
        raise ValueError(f"{day.isoformat()} is outside {FIRST_DATE}..{LAST_DATE}")
    return day


def _check_text(value: str) -> str:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("contains a character that is not valid Unicode text") from None
    if "\x00" in value:
        raise ValueError("contains a NUL character")
    return value


def _check_required_text(value: str) -> str:
    """CONTRACT 6.10: a required text is not empty. Spaces alone are text the contract allows,
    and earlier versions stored them: refusing them now would make stored events undecodable."""
    _check_text(value)
    if not value:
        raise ValueError("is empty")
    return value


def _check_slug(value: str) -> str:
    # fullmatch: `$` would accept "x\n", a stream that looks like "x" and is another.
    if not _SLUG.fullmatch(value):
        raise ValueError(
            f"{quote(value)} is not a slug (lowercase letters, digits and '-', 1-64 chars)"
        )
    return value


def _check_function_key(value: str) -> str:
    if not _FUNCTION_KEY.fullmatch(value):
        raise ValueError(
            f"{quote(value)} is not a function key (lowercase letters, digits, '_', '-')"
        )
    return value


IsoDate = Annotated[date, BeforeValidator(_as_iso_date)]
Slug = Annotated[str, Strict(), AfterValidator(_check_slug)]
FunctionKey = Annotated[str, Strict(), AfterValidator(_check_function_key)]
Text = Annotated[str, Strict(), AfterValidator(_check_text)]
RequiredText = Annotated[str, Strict(), AfterValidator(_check_required_text)]
NonNegativeInt = Annotated[int, Strict(), Field(ge=0, le=MAX_INT)]
PositiveInt = Annotated[int, Strict(), Field(ge=1, le=MAX_INT)]
Months = Annotated[int, Strict(), Field(ge=1, le=MAX_MONTHS)]
Strength = Annotated[int, Strict(), Field(ge=1, le=3)]
# A forecast's probability: strictly between 0 and 1 (a certainty is not a forecast).
Probability = Annotated[float, Strict(), Field(gt=0, lt=1, allow_inf_nan=False)]
StrictBool = Annotated[bool, Strict()]


def start_of_period(day: date, precision: Precision) -> date:
    """The first day of the period of the given precision that contains `day`."""
    if precision == "day":
        return day
    if precision == "month":
        return day.replace(day=1)
    if precision == "quarter":
        return date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)
    if precision == "semester":
        return date(day.year, 1 if day.month <= 6 else 7, 1)
    return date(day.year, 1, 1)


def end_of_period(day: date, precision: Precision) -> date:
    """The last day of the period of the given precision that contains `day`."""
    if precision == "day":
        return day
    start = start_of_period(day, precision)
    return add_months(start, _PERIOD_MONTHS[precision]) - timedelta(days=1)


def format_at_precision(day: date, precision: str) -> str:
    """A date as precise as it is known: 2013-04-18, 2013-04, 2013-Q2, 2013-S1 or 2013."""
    if precision == "month":
        return f"{day.year}-{day.month:02d}"
    if precision == "quarter":
        return f"{day.year}-Q{(day.month - 1) // 3 + 1}"
    if precision == "semester":
        return f"{day.year}-S{1 if day.month <= 6 else 2}"
    if precision == "year":
        return str(day.year)
    return day.isoformat()


def did_you_mean(name: str, known: Iterable[str]) -> str:
    """` (did you mean 'x'?)` when a known name is close to a mistyped one, else ``."""
    close = difflib.get_close_matches(name, list(known), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def add_months(day: date, months: int) -> date:
    """Add calendar months, clamping to the month's last day (Jan 31 + 1 month = Feb 28/29)."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    last_day = calendar.monthrange(year, month)[1]
    return date(year, month, min(day.day, last_day))
