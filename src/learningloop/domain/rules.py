"""Admissibility: may this event be appended to its stream, given the log before it?

One function decides, and both sides call it: the writer (`writing.Admission`) before an
event is stored, and the auditor (`audit.check_log`) when it re-reads the log. The per-event
rules themselves are methods of the write models in `aggregates` (`Programme.check`,
`Experiment.check`, `check_new_programme`, `check_new_experiment`); add a rule there.
"""

from __future__ import annotations

from collections.abc import Callable

from learningloop.domain import aggregates as agg
from learningloop.domain import events as ev
from learningloop.domain.errors import InvalidEventError
from learningloop.domain.recorded import Recorded

WriteModel = agg.Programme | agg.Experiment
ProgrammeLookup = Callable[[str], agg.Programme | None]


def check(event: ev.Event, stream: WriteModel | None, programme_of: ProgrammeLookup) -> None:
    """Raise InvalidEventError when `event` may not follow `stream` (None: not started yet).

    `programme_of(key)` gives a programme's write model, or None when it is not opened."""
    if isinstance(stream, agg.Programme):
        stream.check(event)
    elif isinstance(stream, agg.Experiment):
        programme = programme_of(stream.programme)
        if programme is None:  # only a forged log can lose an experiment's programme
            raise InvalidEventError("programme", f"programme {stream.programme!r} is not opened")
        stream.check(event, programme)
    elif ev.stream_kind_of(event) == "programme":
        agg.check_new_programme(event)  # type: ignore[arg-type]
    else:
        programme_key = getattr(event, "programme", None) or ""
        agg.check_new_experiment(event, programme_of(programme_key))  # type: ignore[arg-type]


def applied(stream: WriteModel | None, recorded: Recorded) -> WriteModel:
    """The write model with an admitted event applied (started by the stream's first event)."""
    model = stream if stream is not None else agg.new_stream(recorded)
    model.apply(recorded)
    return model
