"""The domain's constants the projections read, as small tables made from the Python ones.

Python is their one source: the projector creates these tables (and replaces them, with the
views, when CONSTANTS_VERSION changes), so the SQL never keeps a copy of its own.
"""

from __future__ import annotations

import hashlib
from datetime import date
from typing import Any, get_args

# basics, not events: reading commands open the projections without the event models
from learningloop.domain.basics import (
    DEFAULT_FUNCTION_LABELS,
    STATUS_BY_DECISION,
    Precision,
    format_at_precision,
)


def _period_suffixes() -> list[tuple[str, int, str]]:
    """A date printed at a precision coarser than a day is its year and a suffix (2013-S1):
    the suffix of each (precision, month), as the domain's format_at_precision prints it."""
    return [
        (period, month, format_at_precision(date(2000, month, 1), period).removeprefix("2000"))
        for period in get_args(Precision)
        if period != "day"
        for month in range(1, 13)
    ]


# The domain's constants the SQL reads, as small tables made from the Python ones (their one
# source): name -> (column definitions, rows).
CONSTANT_TABLES: dict[str, tuple[str, list[tuple[Any, ...]]]] = {
    "default_functions": (
        "function varchar, label varchar, label_fr varchar, ordinal integer",
        [(*labels, n) for n, labels in enumerate(DEFAULT_FUNCTION_LABELS, 1)],
    ),
    "decision_statuses": ("kind varchar, status varchar", sorted(STATUS_BY_DECISION.items())),
    "period_suffixes": ("period varchar, month integer, suffix varchar", _period_suffixes()),
}
CONSTANTS_VERSION = hashlib.sha256(repr(CONSTANT_TABLES).encode()).hexdigest()[:16]
