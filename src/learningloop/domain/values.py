"""Value types shared by every event: slugs, dates, precision, month arithmetic."""

from __future__ import annotations

import calendar
import re
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BeforeValidator, Field, Strict

SLUG_PATTERN = r"^[a-z0-9][a-z0-9-]{0,63}$"
# Function keys of the default framework contain underscores (local_development).
FUNCTION_KEY_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,63}$"
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")

Precision = Literal["day", "month", "quarter", "semester", "year"]
PRECISIONS: tuple[Precision, ...] = ("day", "month", "quarter", "semester", "year")


def _as_iso_date(value: Any) -> date:
    """Accept a real calendar date written YYYY-MM-DD (or a YAML date), nothing looser."""
    if isinstance(value, datetime):
        raise ValueError(f"{value.isoformat()} is a date-time, expected a date YYYY-MM-DD")
    if isinstance(value, date):
        return value
    if isinstance(value, str) and _ISO_DATE.match(value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise ValueError(f"{value!r} is not a real date (expected YYYY-MM-DD)")


def _check_text(value: str) -> str:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("contains a character that is not valid Unicode text") from None
    return value


def _check_slug(value: str) -> str:
    if not re.match(SLUG_PATTERN, value):
        raise ValueError(f"{value!r} is not a slug (lowercase letters, digits and '-', 1-64 chars)")
    return value


def _check_function_key(value: str) -> str:
    if not re.match(FUNCTION_KEY_PATTERN, value):
        raise ValueError(f"{value!r} is not a function key (lowercase letters, digits, '_', '-')")
    return value


IsoDate = Annotated[date, BeforeValidator(_as_iso_date)]
Slug = Annotated[str, Strict(), AfterValidator(_check_slug)]
FunctionKey = Annotated[str, Strict(), AfterValidator(_check_function_key)]
Text = Annotated[str, Strict(), AfterValidator(_check_text)]
NonNegativeInt = Annotated[int, Strict(), Field(ge=0)]
PositiveInt = Annotated[int, Strict(), Field(ge=1)]
Strength = Annotated[int, Strict(), Field(ge=1, le=3)]


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


def add_months(day: date, months: int) -> date:
    """Add calendar months, clamping to the month's last day (Jan 31 + 1 month = Feb 28/29)."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    last_day = calendar.monthrange(year, month)[1]
    return date(year, month, min(day.day, last_day))
