"""The domain's plain values and helpers, without pydantic.

Reading commands (`sql`, `indicators`, `timeline`, `export`) need these and nothing of the
event models: kept apart, they start without building the catalogue (issue 13 item 9).
`values`, `events` and `replay` re-export each name where it always was.
"""

from __future__ import annotations

import calendar
import difflib
import gc
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from typing import Any, Literal, TypeVar

T = TypeVar("T")

# An offending value is echoed at most this long, so a 10 MB value makes a one-line error.
QUOTE_LIMIT = 80

Precision = Literal["day", "month", "quarter", "semester", "year"]
# CONTRACT 6.3: stated by its source; the recorder's reading of it; an example, not a fact.
Basis = Literal["stated", "inferred", "illustrative"]
BASES: tuple[Basis, ...] = ("stated", "inferred", "illustrative")
# Months in each coarser-than-a-day period (calendar periods, CONTRACT 6.11).
_PERIOD_MONTHS = {"month": 1, "quarter": 3, "semester": 6, "year": 12}

StreamKind = Literal["programme", "experiment"]

# The default framework's functions: (key, label, label_fr), in their order.
DEFAULT_FUNCTION_LABELS: tuple[tuple[str, str, str], ...] = (
    ("training", "training", "formation"),
    ("support", "social and professional support", "accompagnement social et professionnel"),
    ("production", "production", "production"),
    ("local_development", "local and partnership development",
     "développement local et partenarial"),
    ("employer", "employer function", "fonction d'employeur"),
)  # fmt: skip

# The status a decision of each kind gives its experiment.
STATUS_BY_DECISION = {
    "retain": "retained",
    "continue": "retained",
    "reject": "not_retained",
    "pause": "paused",
    "close": "closed",
}


def quote(value: Any) -> str:
    """`repr(value)`, cut to QUOTE_LIMIT characters: how errors echo what the user gave."""
    text = repr(value)
    return text if len(text) <= QUOTE_LIMIT else text[: QUOTE_LIMIT - 1] + "…"


def stream_id(kind: StreamKind, key: str) -> str:
    """The aggregate id of a stream, derived from its slug: `experiment:deltameca`."""
    return f"{kind}:{key}"


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


def frozen(kind: type[T], /, **fields: Any) -> T:
    """`kind(**fields)` for a frozen dataclass given every field (none left to a default, no
    __post_init__): the same object, equal, hashed and still frozen, made about three times
    faster. Its __init__ sets each field through object.__setattr__; this gives the instance
    the keywords' dict as its __dict__, for the views a replay makes by the thousand."""
    made = _new(kind)
    _set_dict(made, "__dict__", fields)  # the call's own fresh dict: no copy
    return made


_new, _set_dict = object.__new__, object.__setattr__  # the frozen class's own refuses


@contextmanager
def no_cycle_collection() -> Iterator[None]:
    """Python's cyclic garbage collector paused while a fold makes thousands of objects that
    form no cycles (reference counting still frees them): a pass started by those objects
    re-scans every object the process holds, the decoded events of cached streams among them,
    and promotes the new ones until a full pass (~70 ms under load, every third 10,000-event
    replay) is due. The collector is on again afterwards, unless it was off before."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
