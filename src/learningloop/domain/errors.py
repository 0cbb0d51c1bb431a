"""Errors a user can meet, each a sentence they can act on, each with its exit code."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Process exit codes of the command line (CONTRACT section 5)."""

    OK = 0
    FAILURE = 1
    BAD_INPUT = 2
    INTERRUPTED = 130  # Ctrl-C: 128 + SIGINT, as shells report it


class LearningLoopError(Exception):
    """Base of every expected failure; `str(error)` is the one line shown to the user."""

    exit_code: ExitCode = ExitCode.FAILURE


class BadInputError(LearningLoopError):
    """The user's input (a file, an option, an event) is invalid; nothing was written."""

    exit_code = ExitCode.BAD_INPUT


class InvalidEventError(BadInputError):
    """One event breaks a rule: names the field and what is wrong with it."""

    def __init__(self, field: str | None, reason: str) -> None:
        self.field = field
        self.reason = reason
        super().__init__(f"field {field}: {reason}" if field else reason)

    def at(self, location: str) -> BadInputError:
        """The same error, prefixed with where the event came from (file and line)."""
        return BadInputError(f"{location}: {self}")


class NotFoundError(BadInputError):
    """A named experiment, programme or file does not exist."""


class StoreError(LearningLoopError):
    """The store cannot be opened, is busy, or changed under us."""


class MemoryLimitError(StoreError):
    """DuckDB needed more memory than LEARNINGLOOP_MEMORY_LIMIT (--memory-limit) allows."""


class ConcurrentWriteError(StoreError):
    """Another writer appended to the same stream first; nothing of ours was written."""


class QueryTimeoutError(LearningLoopError):
    """A query ran past its --timeout and was stopped; nothing was changed."""


class ProjectionsBehindWarning(UserWarning):
    """A read answered from projections behind the log: another process holds them read-only."""
