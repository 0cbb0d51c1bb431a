"""Value types shared by every event: slugs, dates, precision, month arithmetic."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field, Strict

# Plain values and helpers live in `basics` (no pydantic, for reading commands); re-exported.
from learningloop.domain.basics import BASES as BASES
from learningloop.domain.basics import QUOTE_LIMIT as QUOTE_LIMIT
from learningloop.domain.basics import Basis as Basis
from learningloop.domain.basics import Precision as Precision
from learningloop.domain.basics import add_months as add_months
from learningloop.domain.basics import did_you_mean as did_you_mean
from learningloop.domain.basics import end_of_period as end_of_period
from learningloop.domain.basics import format_at_precision as format_at_precision
from learningloop.domain.basics import quote as quote
from learningloop.domain.basics import start_of_period as start_of_period

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


# The dates already accepted, by their text: a log names few distinct days, each many times
# (an import checks two dates an event on average), and a lookup costs far less than the
# pattern and the parse. Bounded: 300 years of days would still fit.
_DAYS: dict[str, date] = {}
_MAX_DAYS = 1 << 17


def _as_iso_date(value: Any) -> date:
    """Accept a real calendar date written YYYY-MM-DD (or a YAML date), nothing looser."""
    if type(value) is str and value in _DAYS:
        return _DAYS[value]
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
            day = _in_range(day)
            if type(value) is str and len(_DAYS) < _MAX_DAYS:
                _DAYS[value] = day
            return day
    raise ValueError(f"{quote(value)} is not a real date (expected YYYY-MM-DD)")


def _in_range(day: date) -> date:
    if not FIRST_DATE <= day <= LAST_DATE:
        raise ValueError(f"{day.isoformat()} is outside {FIRST_DATE}..{LAST_DATE}")
    return day


def _check_text(value: str) -> str:
    # ASCII text (a flag of the string, no scan) holds no lone surrogate: no encoded copy.
    if not value.isascii():
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


# The slugs already accepted: a log names the same streams, partners and keys again and
# again, and a set lookup costs a fraction of the pattern. Bounded as _DAYS.
_SLUGS: set[str] = set()
_MAX_SLUGS = 1 << 16


def _check_slug(value: str) -> str:
    if type(value) is str and value in _SLUGS:
        return value
    # fullmatch: `$` would accept "x\n", a stream that looks like "x" and is another.
    if not _SLUG.fullmatch(value):
        raise ValueError(
            f"{quote(value)} is not a slug (lowercase letters, digits and '-', 1-64 chars)"
        )
    if type(value) is str and len(_SLUGS) < _MAX_SLUGS:
        _SLUGS.add(value)
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
