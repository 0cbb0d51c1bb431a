"""The errors a user can meet, by their public name: `from learningloop.errors import ...`.

They are defined in `learningloop.domain.errors`, so the domain raises them without importing
anything outside `domain`; every layer above may import them from here.
"""

from __future__ import annotations

from learningloop.domain.errors import (
    BadInputError,
    ConcurrentWriteError,
    ExitCode,
    InvalidEventError,
    LearningLoopError,
    MemoryLimitError,
    NotFoundError,
    ProjectionsBehindWarning,
    QueryTimeoutError,
    StoreError,
)

__all__ = [
    "BadInputError",
    "ConcurrentWriteError",
    "ExitCode",
    "InvalidEventError",
    "LearningLoopError",
    "MemoryLimitError",
    "NotFoundError",
    "ProjectionsBehindWarning",
    "QueryTimeoutError",
    "StoreError",
]
