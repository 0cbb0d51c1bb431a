"""The bundled 2012–2014 programme: the figures the seed page gives."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
import yaml

from learningloop import LearningLoop
from learningloop.application import run_demo
from learningloop.demo import demo_path
from learningloop.domain.replay import ExperimentView


@pytest.fixture(scope="module")
def views(tmp_path_factory: pytest.TempPathFactory) -> dict[str, ExperimentView]:
    store = tmp_path_factory.mktemp("demo") / "store"
    return {view.experiment: view for view in run_demo(store).views}


def test_four_experiments_are_retained_and_dfc2_is_not(views: dict[str, ExperimentView]) -> None:
    retained = sorted(key for key, view in views.items() if view.status == "retained")
    assert retained == [
        "chantier-ecole-st-nazaire", "deltameca-gouvernance", "resovilles-creo", "sncf-artemis",
    ]  # fmt: skip
    assert views["dfc2"].status == "not_retained"


def test_three_chair_reviews_each_complete_over_two_sessions(
    views: dict[str, ExperimentView],
) -> None:
    reviews = [review for view in views.values() for review in view.reviews]
    assert sorted(review.review for review in reviews) == [
        "revue-chaire-deltameca", "revue-chaire-dfc2", "revue-chaire-resovilles",
    ]  # fmt: skip
    assert all(review.is_complete and review.sessions == (1, 2) for review in reviews)


def test_the_18_april_2013_meeting_had_30_stakeholders_under_a_3_to_4_a_year_commitment(
    views: dict[str, ExperimentView],
) -> None:
    view = views["chantier-ecole-st-nazaire"]
    meetings = [e for e in view.timeline if e.type == "MeetingHeld"]
    assert [(m.occurred_on, m.summary) for m in meetings] == [
        (date(2013, 1, 1), "Meeting (local, premiere-reunion-locale): attendees not recorded"),
        (date(2013, 4, 18), "Meeting (stakeholder, rencontre-2013-04-18): 30 attendees"),
    ]
    first_period = view.commitments[0]
    assert (first_period.period_start, first_period.expected_min, first_period.expected_max) == (
        date(2013, 4, 18), 3, 4,
    )  # fmt: skip
    assert len(view.commitments) == 2  # 24 months from 18 April 2013


def test_the_employee_shareholding_milestone_is_due_in_2015(
    views: dict[str, ExperimentView],
) -> None:
    (milestone,) = views["deltameca-gouvernance"].milestones
    assert milestone.due_on.year == 2015 and milestone.reached_on is None


def test_experiments_have_their_carriers_scales_and_territories(
    views: dict[str, ExperimentView],
) -> None:
    described = {key: (v.carriers, v.scale, v.territory) for key, v in views.items()}
    assert described["chantier-ecole-st-nazaire"] == (
        ("chantier-ecole",), "employment_basin", "Bassin d'emploi de St Nazaire",
    )  # fmt: skip
    assert described["deltameca-gouvernance"] == (("deltameca",), "company", "Couëron")
    assert described["sncf-artemis"] == (("sncf",), "region", "Pays de la Loire")
    assert described["resovilles-creo"] == (
        ("resovilles",), "neighbourhood", "Bretagne et Pays de la Loire",
    )  # fmt: skip
    assert views["resovilles-creo"].partners == ("creo",)


def test_every_fact_quotes_its_source_sentence() -> None:
    items = yaml.safe_load(demo_path().read_text(encoding="utf-8"))
    assert items and all(item.get("source") for item in items)
    seed_words = ("Programme de travail", "Deltameca", "18 avril 2013", "2015", "Créo")
    sources = " ".join(item["source"] for item in items)
    assert all(word in sources for word in seed_words)


def test_the_demo_file_imports_like_any_other_file(tmp_path: Path) -> None:
    with LearningLoop(tmp_path / "s") as loop:
        summary = loop.import_files([demo_path()])
        assert summary.events == 47
        assert len(loop.list_experiments()) == 5


def test_the_demo_is_read_as_of_the_programme_end_with_the_stated_group_size(
    tmp_path: Path,
) -> None:
    demo = run_demo(tmp_path / "s")
    assert demo.as_of == date(2014, 12, 31)
    assert (demo.partners_recorded, demo.partners_stated) == (12, 26)
    assert all(view.as_of == date(2014, 12, 31) for view in demo.views)


def test_every_fact_the_page_does_not_state_is_inferred_with_a_note() -> None:
    items = yaml.safe_load(demo_path().read_text(encoding="utf-8"))
    for item in items:
        assert item.get("basis", "stated") in ("stated", "inferred", "illustrative")
        if item.get("basis", "stated") != "stated":
            assert item.get("basis_note"), item
    # The page maps no experiment to a function, and does not say DFC2 was rejected.
    assert all(item.get("basis") == "inferred" for item in items
               if item["type"] == "FunctionEvidenced" or item.get("kind") == "reject")  # fmt: skip
    stated = [item for item in items if item.get("basis", "stated") == "stated"]
    assert {item["type"] for item in stated} == {"MeetingHeld", "CommitmentMade",
                                                  "ReviewSessionHeld"}  # fmt: skip


def test_no_evidence_text_turns_an_aim_into_an_outcome() -> None:
    items = yaml.safe_load(demo_path().read_text(encoding="utf-8"))
    evidence = " ".join(item["evidence"] for item in items if item["type"] == "FunctionEvidenced")
    assert "deviennent responsables" not in evidence
    assert evidence.count("La page") == 8
