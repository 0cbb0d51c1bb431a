"""A deterministic generator of synthetic programmes with the contract's full event mix.

    python benchmarks/generate.py 1000000 events.jsonl                    # programme shape
    python benchmarks/generate.py 1000000 events.jsonl --shape network    # network shape

Programme shape: the first experiment holds exactly `replay_events` events (10,000 by default)
so a replay can be timed on a known size; the rest are spread over experiments of about 5,000
events each, one after another. Network shape: about one programme per 1,000 events and one
experiment per 20 (sizes long-tailed), every event type, experiments interleaved in the log as
they run side by side, with retractions, backfills (events recorded long after they occurred,
some at month precision) and closings. Every event obeys the contract's rules, so the file
imports through the real import path.
"""

from __future__ import annotations

import argparse
import json
import random
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

FUNCTIONS = ("training", "support", "production", "local_development", "employer")
PARTNER_KINDS = ("company", "public_body", "network", "university", "local_authority",
                 "association", "employment_service")  # fmt: skip
START = date(2012, 1, 1)
EVENTS_PER_EXPERIMENT = 5_000
# (event type, weight) of the experiment events after each proposal
MIX = (
    ("MeetingHeld", 30), ("FunctionEvidenced", 15), ("LearningRecorded", 14),
    ("ReviewSessionHeld", 10), ("DecisionRecorded", 8), ("MilestonePlanned", 5),
    ("MilestoneRescheduled", 3), ("MilestoneReached", 3), ("CommitmentMade", 3),
    ("MilestoneAbandoned", 1), ("EventRetracted", 2),
)  # fmt: skip


def day(offset: int) -> str:
    return (START + timedelta(days=offset)).isoformat()


class _Experiment:
    def __init__(self, key: str, programme: str, size: int, rng: random.Random) -> None:
        self.key, self.programme, self.size, self.rng = key, programme, size, rng
        self.version = 0
        self.retractable: list[int] = []
        self.learnings: list[str] = []
        self.milestones: list[str] = []
        self.clock = rng.randrange(0, 200)

    def events(self, partners: list[str]) -> Iterator[dict[str, Any]]:
        carriers = self.rng.sample(partners, 2)
        yield self._emit({"type": "ExperimentProposed", "programme": self.programme,
                          "title": f"Experiment {self.key}", "scale": "company",
                          "carriers": carriers, "territory": "Loire"})  # fmt: skip
        types, weights = zip(*MIX, strict=True)
        while self.version < self.size:
            yield self._emit(self._facts(self.rng.choices(types, weights)[0]))

    def _emit(self, facts: dict[str, Any]) -> dict[str, Any]:
        self.version += 1
        self.clock += self.rng.randrange(0, 3)
        if facts["type"] != "EventRetracted":
            self.retractable.append(self.version)
        return {"experiment": self.key, "occurred_on": day(self.clock), **facts}

    def _facts(self, kind: str) -> dict[str, Any]:
        rng = self.rng
        if kind == "EventRetracted" and len(self.retractable) > 1:
            return {"type": kind, "retracts": rng.choice(self.retractable[1:]), "reason": "error"}
        if kind in ("MilestoneRescheduled", "MilestoneReached", "MilestoneAbandoned"):
            if not self.milestones:
                kind = "MilestonePlanned"
            else:
                extra = {"due_on": day(self.clock + 200)} if kind == "MilestoneRescheduled" else {}
                return {"type": kind, "milestone": rng.choice(self.milestones)} | extra
        if kind == "MilestonePlanned":
            key = f"m{len(self.milestones)}"
            self.milestones.append(key)
            return {"type": kind, "milestone": key, "title": f"Milestone {key}",
                    "due_on": day(self.clock + rng.randrange(30, 400))}  # fmt: skip
        if kind == "LearningRecorded":
            key = f"l{len(self.learnings)}"
            self.learnings.append(key)
            return {"type": kind, "learning": key, "observation": "Partners meet more often"}
        if kind == "DecisionRecorded":
            cited = self.learnings[-2:] if rng.random() < 0.7 else []
            return {"type": kind, "decision": f"d{self.version}",
                    "kind": rng.choice(("retain", "adapt", "continue", "pause", "adapt")),
                    "summary": "Carry on with the partners", "evidence": cited}  # fmt: skip
        if kind == "ReviewSessionHeld":
            return {"type": kind, "review": f"r{self.version // 50}",
                    "session": rng.randrange(1, 3)}  # fmt: skip
        if kind == "CommitmentMade":
            return {"type": kind, "commitment": f"c{self.version // 500}",
                    "description": "Meet the stakeholders", "stakeholders": 30,
                    "meetings_per_year_min": 3, "meetings_per_year_max": 4,
                    "starts_on": day(self.clock), "months": 24}  # fmt: skip
        if kind == "FunctionEvidenced":
            return {"type": kind, "function": rng.choice(FUNCTIONS),
                    "evidence": "Observed on site", "strength": rng.randrange(1, 4)}  # fmt: skip
        return {"type": "MeetingHeld", "kind": rng.choice(("stakeholder", "local", "steering")),
                "attendees": rng.randrange(5, 40)}  # fmt: skip


def programme_events(
    total: int, seed: int = 2013, replay_events: int = 10_000
) -> Iterator[dict[str, Any]]:
    """About `total` valid events: programmes, partners, then experiments one after another."""
    rng = random.Random(seed)
    partners = [f"partner-{n:02d}" for n in range(12)]
    programmes = max(1, total // 200_000)
    for p in range(programmes):
        programme = f"programme-{p:03d}"
        yield {"type": "ProgrammeOpened", "programme": programme, "title": f"Programme {p}",
               "occurred_on": day(0), "starts_on": day(0), "ends_on": day(2000)}  # fmt: skip
        for n, partner in enumerate(partners):
            yield {"type": "PartnerJoined", "programme": programme, "partner": partner,
                   "name": partner.title(), "kind": PARTNER_KINDS[n % len(PARTNER_KINDS)],
                   "occurred_on": day(n)}  # fmt: skip
    remaining = total - programmes * (1 + len(partners))
    sizes = [min(replay_events, remaining)] if remaining >= 2 * replay_events else []
    remaining -= sum(sizes)
    while remaining > 0:
        sizes.append(min(EVENTS_PER_EXPERIMENT, remaining))
        remaining -= sizes[-1]
    for n, size in enumerate(sizes):
        programme = f"programme-{n % programmes:03d}"
        yield from _Experiment(f"exp-{n:05d}", programme, size, rng).events(partners)


def network_events(total: int, seed: int = 2013) -> Iterator[dict[str, Any]]:
    """About `total` valid events of a network: many programmes, many short experiments."""
    rng = random.Random(seed)
    programmes = [_NetworkProgramme(f"net-{p:04d}", rng) for p in range(max(1, total // 1_000))]
    emitted = 0
    for programme in programmes:
        for event in programme.opening():
            emitted += 1
            yield event
    running: list[Iterator[dict[str, Any]]] = []
    made = 0
    while emitted < total:
        # Keep a few hundred experiments running side by side, as a network does.
        while len(running) < RUNNING_EXPERIMENTS:
            programme = programmes[made % len(programmes)]
            size = max(2, min(3_000, int(rng.lognormvariate(2.45, 1.0))))
            running.append(_NetworkExperiment(f"nexp-{made:06d}", programme, size, rng).events())
            made += 1
        lane = rng.randrange(len(running))
        if rng.random() < PROGRAMME_EVENT_SHARE:
            event = rng.choice(programmes).later_event()
        else:
            event = next(running[lane], None)
            if event is None:
                running[lane] = running[-1]
                running.pop()
                continue
        emitted += 1
        yield event


RUNNING_EXPERIMENTS = 400
PROGRAMME_EVENT_SHARE = 0.01  # gatherings, partners leaving, programme retractions
BACKFILL_SHARE = 0.04  # events recorded long after they occurred
VERSION_1_1_SHARE = 0.1  # of the meetings drawn: predictions and function assessments instead


class _NetworkProgramme:
    def __init__(self, key: str, rng: random.Random) -> None:
        self.key, self.rng = key, rng
        self.partners = [f"p{n:02d}" for n in range(rng.randrange(4, 16))]
        self.version = 0
        self.gatherings = 0
        self.retractions: set[int] = set()
        self.start = 0

    def opening(self) -> Iterator[dict[str, Any]]:
        self.start = start = self.rng.randrange(0, 1500)
        opened = {"type": "ProgrammeOpened", "title": f"Network programme {self.key}",
                  "starts_on": day(start), "ends_on": day(start + 3000)}  # fmt: skip
        yield self._emit(opened, start)
        for n, partner in enumerate(self.partners):
            joined = {"type": "PartnerJoined", "partner": partner,
                      "name": f"Partner {partner} of {self.key}",
                      "kind": PARTNER_KINDS[n % len(PARTNER_KINDS)]}  # fmt: skip
            yield self._emit(joined, start + n)

    def later_event(self) -> dict[str, Any]:
        rng, when = self.rng, self.start + self.rng.randrange(30, 2500)
        choice = rng.random()
        if choice < 0.15 and len(self.partners) > 4:
            return self._emit({"type": "PartnerLeft", "partner": rng.choice(self.partners),
                               "reason": "end of the agreement"}, when)  # fmt: skip
        if choice < 0.25 and self.version > 1:
            retracts = rng.randrange(2, self.version + 1)
            if retracts not in self.retractions and retracts - 1 not in self.retractions:
                return self._emit({"type": "EventRetracted", "retracts": retracts,
                                   "reason": "recorded twice"}, when)  # fmt: skip
        self.gatherings += 1
        return self._emit({"type": "GatheringHeld", "gathering": f"g{self.gatherings}",
                           "kind": rng.choice(("seminar", "citizen_debate", "other")),
                           "participants": rng.randrange(10, 300),
                           "title": "Network seminar"}, when)  # fmt: skip

    def _emit(self, facts: dict[str, Any], when: int) -> dict[str, Any]:
        self.version += 1
        if facts["type"] == "EventRetracted":
            self.retractions.add(self.version)
        return {"programme": self.key, "occurred_on": day(when), **facts}


class _NetworkExperiment(_Experiment):
    def __init__(
        self, key: str, programme: _NetworkProgramme, size: int, rng: random.Random
    ) -> None:
        super().__init__(key, programme.key, size, rng)
        self.network_programme = programme
        self.clock = programme.start + rng.randrange(0, 2000)
        self.reviews: list[str] = []
        self.open_predictions: list[str] = []
        self.predictions = 0

    def events(self, partners: list[str] | None = None) -> Iterator[dict[str, Any]]:
        rng = self.rng
        events = super().events(self.network_programme.partners)
        for event in events:
            if event["type"] == "ExperimentProposed":
                event["scale"] = rng.choice(("employment_basin", "company", "neighbourhood",
                                             "region", "network", "other"))  # fmt: skip
            elif event["type"] == "PredictionResolved":
                pass  # a backfill could date the resolution before the prediction: invalid
            elif rng.random() < BACKFILL_SHARE:  # found in an old report, recorded late
                event["occurred_on"] = day(max(0, self.clock - rng.randrange(60, 700)))
                event["source"] = "annual report, found later"
                if rng.random() < 0.5:
                    event["precision"] = "month"
            yield event
        if rng.random() < 0.3:
            self.version += 1
            yield {"type": "ExperimentClosed", "experiment": self.key,
                   "occurred_on": day(self.clock + 1), "outcome": "concluded"}  # fmt: skip

    def _facts(self, kind: str) -> dict[str, Any]:
        if kind == "MeetingHeld" and self.rng.random() < VERSION_1_1_SHARE:
            return self._version_1_1_facts()
        facts = super()._facts(kind)
        if facts["type"] == "ReviewSessionHeld":
            facts["review"] = f"r{self.version // 8}"
            facts["findings"] = ["Partners want more meetings"]
        elif facts["type"] == "DecisionRecorded" and self.rng.random() < 0.1:
            facts["kind"] = self.rng.choice(("reject", "close"))
        return facts

    def _version_1_1_facts(self) -> dict[str, Any]:
        """CONTRACT 6.4 and 6.8: functions found absent, predictions made and resolved."""
        rng = self.rng
        choice = rng.random()
        if choice < 0.3:
            return {"type": "FunctionAssessed", "function": rng.choice(FUNCTIONS),
                    "result": rng.choice(("absent", "not_applicable"))}  # fmt: skip
        if choice < 0.6 and self.open_predictions:
            prediction = self.open_predictions.pop(rng.randrange(len(self.open_predictions)))
            return {"type": "PredictionResolved", "prediction": prediction,
                    "outcome": rng.random() < 0.5}  # fmt: skip
        self.predictions += 1
        key = f"f{self.predictions}"
        about = {"milestone": rng.choice(self.milestones)} if self.milestones else {}
        if rng.random() < 0.5:  # resolved by a PredictionResolved, else by the milestone or D
            self.open_predictions.append(key)
        return {"type": "PredictionMade", "prediction": key,
                "statement": "The partners will meet the commitment",
                "probability": rng.choice((0.2, 0.35, 0.5, 0.65, 0.8)),
                "resolves_on": day(self.clock + rng.randrange(30, 500))} | about  # fmt: skip


SHAPES = {"programme": programme_events, "network": network_events}


def write_jsonl(path: Path, total: int, seed: int = 2013, shape: str = "programme") -> int:
    count = 0
    with path.open("w", encoding="utf-8") as out:
        for event in SHAPES[shape](total, seed):
            out.write(json.dumps(event, ensure_ascii=False) + "\n")
            count += 1
    return count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("events", type=int)
    parser.add_argument("path", type=Path)
    parser.add_argument("--seed", type=int, default=2013)
    parser.add_argument("--shape", choices=sorted(SHAPES), default="programme")
    arguments = parser.parse_args()
    print(write_jsonl(arguments.path, arguments.events, arguments.seed, arguments.shape))


if __name__ == "__main__":
    main()
