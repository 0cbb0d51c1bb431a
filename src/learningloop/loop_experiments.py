"""One experiment's story: its replayed state, and why a decision or a prediction stands."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

from learningloop.domain.basics import no_cycle_collection, quote, stream_id
from learningloop.errors import BadInputError, NotFoundError
from learningloop.loop_session import Session, moment, today, utc

if TYPE_CHECKING:  # imported where used: reading commands never load the event models
    from learningloop.domain.provenance import Provenance
    from learningloop.domain.replay import ExperimentView


class Experiments(Session):
    """An experiment replayed from its events, and the provenance of what it decided."""

    def replay(
        self,
        experiment: str,
        as_of: date | None = None,
        known_at: datetime | None = None,
    ) -> ExperimentView:
        """An experiment's state and timeline as of D (default today), as known at T (now)."""
        from learningloop.domain.replay import replay_experiment

        experiment_events = self._cache.events(stream_id("experiment", experiment))
        if not experiment_events:
            raise self._no_experiment(experiment)
        programme_key = experiment_events[0].event.programme  # type: ignore[attr-defined]
        programme_events = self._cache.events(stream_id("programme", programme_key))
        with no_cycle_collection():
            return replay_experiment(
                experiment,
                experiment_events,
                programme_events,
                as_of or today(),
                utc(known_at) if known_at else datetime.now(UTC),
            )

    def list_views(
        self, as_of: date | None = None, known_at: datetime | None = None
    ) -> list[ExperimentView]:
        """Every experiment's view at (D, T), in the order they were proposed."""
        return [self.replay(key, as_of, known_at) for key in self.list_experiments()]

    def why(
        self,
        decision: str,
        experiment: str | None = None,
        as_of: date | None = None,
        known_at: datetime | None = None,
    ) -> Provenance:
        """A decision's provenance: its event and source, what it cites, the cycle it closed."""
        from learningloop.domain.provenance import trace_decision

        experiment = experiment or self._experiment_of_decision(decision)
        recorded = self._store.stream(stream_id("experiment", experiment))
        moment_d, moment_t = moment(as_of, known_at)
        provenance = trace_decision(experiment, decision, recorded, moment_d, moment_t)
        if provenance is None:
            raise NotFoundError(
                f"no decision {quote(decision)} in experiment {quote(experiment)} as of {moment_d} "
                f"(as known at {moment_t.isoformat()})"
            )
        revised = self.sql(
            "select evidence, revision, revised_at from decision_revisions "
            "where experiment = ? and decision = ? order by revised_at, evidence",
            moment_d, moment_t, parameters=[experiment, decision],
        )  # fmt: skip
        return replace(provenance, revisions=[tuple(row) for row in revised.rows])

    def why_prediction(
        self,
        prediction: str,
        experiment: str | None = None,
        as_of: date | None = None,
        known_at: datetime | None = None,
    ) -> dict[str, Any]:
        """A prediction's provenance: its row in `predictions`, and the stored events that made
        and decided it with their log positions and chain hashes (the log is the proof)."""
        from learningloop.knowledge import trace_prediction

        moment_d, moment_t = moment(as_of, known_at)
        return trace_prediction(self._projector(), prediction, experiment, moment_d, moment_t)

    def _experiment_of_decision(self, decision: str) -> str:
        found = self.sql(
            "select distinct experiment from log_events "
            "where type = 'DecisionRecorded' and subject = ? order by experiment",
            parameters=[decision],
        )
        experiments = [row[0] for row in found.rows]
        if not experiments:
            raise NotFoundError(
                f"no decision {quote(decision)} in store {self.location.describe()}"
            )
        if len(experiments) > 1:
            from learningloop.knowledge import experiments_named

            places = experiments_named(experiments)
            raise BadInputError(f"decision {quote(decision)} exists in {places}: give --experiment")
        return str(experiments[0])
