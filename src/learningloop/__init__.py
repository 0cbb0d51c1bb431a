"""learningloop: an event-sourced evaluation engine for iterative learning.

Record what happens in a programme's experiments as immutable events, replay any experiment
as of any date and as known at any moment, and query indicators with SQL.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__all__ = ["ExperimentView", "ImportSummary", "LearningLoop", "LearningLoopError", "__version__"]
__version__ = "0.1.0"

if TYPE_CHECKING:
    from learningloop.application import ImportSummary, LearningLoop
    from learningloop.domain.replay import ExperimentView
    from learningloop.errors import LearningLoopError

_EXPORTS = {
    "LearningLoop": "learningloop.application",
    "ImportSummary": "learningloop.application",
    "ExperimentView": "learningloop.domain.replay",
    "LearningLoopError": "learningloop.errors",
}


def __getattr__(name: str) -> Any:
    """Import lazily so `learningloop --help` does not pay for eventsourcing and pydantic."""
    if name in _EXPORTS:
        import importlib

        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'learningloop' has no attribute {name!r}")
