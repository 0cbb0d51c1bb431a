"""The HTML report: self-contained, deterministic, and checked in a real headless Chromium."""

from __future__ import annotations

import html
import io
import os
import re
import shutil
from dataclasses import fields
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from learningloop import LearningLoop
from learningloop import report as renderer
from learningloop.application import run_demo
from learningloop.cli.main import main
from tests.conftest import event

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                  "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync"]  # fmt: skip


@pytest.fixture(scope="module")
def demo_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    store = tmp_path_factory.mktemp("report") / "store"
    run_demo(store)
    with LearningLoop(store) as loop:  # a retraction, to be struck through
        meeting = loop.record(event("MeetingHeld", "2013-06-01", kind="local") | {
            "experiment": "chantier-ecole-st-nazaire"})  # fmt: skip
        retraction = {
            "type": "EventRetracted",
            "experiment": "chantier-ecole-st-nazaire",
            "retracts": meeting.version,
            "reason": "never held",
            "occurred_on": "2013-06-02",
        }
        loop.record(retraction)
    return store


@pytest.fixture(scope="module")
def report(demo_store: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("html") / "report.html"
    result = CliRunner().invoke(main, ["--store", str(demo_store), "report", "--out", str(out),
                                       "--as-of", "2014-12-31"])  # fmt: skip
    assert result.exit_code == 0, result.output
    return out


def test_two_runs_on_the_same_log_give_the_same_bytes(
    demo_store: Path, report: Path, tmp_path: Path
) -> None:
    with LearningLoop(demo_store) as loop:
        again = loop.report(tmp_path / "again.html", as_of=date(2014, 12, 31))
    assert again.read_bytes() == report.read_bytes()


def test_the_report_is_self_contained_and_strikes_retracted_events(report: Path) -> None:
    text = report.read_text(encoding="utf-8")
    assert "<script" not in text and "<link" not in text and "src=" not in text
    assert "http://" not in text.replace('xmlns="http://www.w3.org/2000/svg"', "").replace(
        'xmlns:xlink="http://www.w3.org/1999/xlink"', ""
    )
    assert "<del>2013-06-01 — Meeting (local): attendees not recorded</del>" in text
    assert "Log head digest:" in text and "D = 2014-12-31" in text


def test_french_headings_and_function_labels(demo_store: Path, tmp_path: Path) -> None:
    with LearningLoop(demo_store) as loop:
        text = loop.report(tmp_path / "fr.html", lang="fr").read_text(encoding="utf-8")
    assert "Couverture des cinq fonctions clés" in text
    assert "développement local et partenarial" in text and 'lang="fr"' in text


@pytest.mark.skipif(
    not Path(CHROMIUM).exists() and os.environ.get("CI") != "true",
    reason="Debian's chromium is not installed (.ci/ensure-chromium installs it)",
)
def test_the_report_loads_in_headless_chromium_offline(report: Path, tmp_path: Path) -> None:
    from PIL import Image
    from playwright.sync_api import sync_playwright

    assert shutil.which(CHROMIUM), "CI installs Chromium with .ci/ensure-chromium"
    errors: list[str] = []
    requests: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        page = browser.new_page(viewport={"width": 1200, "height": 900})
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("request", lambda r: requests.append(r.url))
        page.goto(report.as_uri())
        headings = page.locator("h2").all_inner_texts()
        charts_per_section = [
            page.locator("section").nth(i).locator("figure svg").count()
            for i in range(page.locator("body > section").count())
        ]
        page.locator("details").first.click()
        evidence_shown = page.locator("details[open] li").count()
        screenshot = page.screenshot(full_page=True)
        browser.close()
    assert errors == []
    assert requests == [report.as_uri()], "the report must make no request of its own"
    assert headings[:4] == ["Programme", "Programme overview",
                            "Coverage of the five key functions", "Learning timelines"]  # fmt: skip
    assert all(count >= 1 for count in charts_per_section[1:]), charts_per_section  # 0: text
    assert evidence_shown >= 1
    image = Image.open(io.BytesIO(screenshot)).convert("L")
    darkest, lightest = image.getextrema()
    assert lightest - darkest > 100, "the screenshot is blank"


def test_report_data_carries_the_seal_digest_and_renders_without_a_store(
    demo_store: Path,
) -> None:
    with LearningLoop(demo_store) as loop:
        data = loop.report_data(as_of=date(2014, 12, 31))
        assert data.head_digest == loop.audit_log_only().head_digest
        last = loop.sql("select max(recorded_at) from log_events").rows[0][0]
    assert data.known_at == last
    assert set(renderer.QUERIES) <= {f.name for f in fields(renderer.ReportData)}
    # The renderer is a pure function: the same data twice, the same bytes; the data unchanged.
    before = repr(data)
    assert renderer.render(data, "fr") == renderer.render(data, "fr")
    assert repr(data) == before


def test_an_empty_report_renders_every_section_heading() -> None:
    empty = {name: [] for name in renderer.QUERIES}
    data = renderer.ReportData(date(2014, 1, 1), datetime(2014, 1, 1, tzinfo=UTC), "0:x", **empty)
    text = renderer.render(data, "en")
    assert text.count("None yet.") == 5 and "Log head digest: 0:x" in text


def test_a_selection_of_a_network_counts_its_experiments_with_thousands_separated() -> None:
    empty = {name: [] for name in renderer.QUERIES}
    data = renderer.ReportData(date(2014, 1, 1), datetime(2014, 1, 1, tzinfo=UTC), "0:x",
                               **empty, selection=(12, 51_810, False))  # fmt: skip
    assert "Detail below for 12 of 51,810 experiments" in renderer.render(data, "en")
    # experiment names heading the heatmap's rows never wrap at their hyphen
    assert "tr > th:first-child { white-space: nowrap; }" in renderer.render(data, "en")


def visible_text(path: Path) -> str:
    """What a reader sees: no charts, no style sheet, no tags."""
    body = re.sub(r"<svg.*?</svg>|<style>.*?</style>", "", path.read_text(encoding="utf-8"),
                  flags=re.S)  # fmt: skip
    return html.unescape(re.sub(r"<[^>]+>", " ", body))


def test_the_french_report_has_no_english_status_or_summary(
    demo_store: Path, tmp_path: Path
) -> None:
    with LearningLoop(demo_store) as loop:
        text = visible_text(loop.report(tmp_path / "fr.html", date(2013, 3, 1), lang="fr"))
    english = ("retained", "not_retained", "below", "overdue", "pending", "Proposed",
               "Meeting", "Decision", "Review", "evidenced", "attendees", "Learning")  # fmt: skip
    assert [word for word in english if re.search(rf"\b{word}\b", text)] == []
    assert "Proposée :" in text and "retenue" in text and "(déduit)" in text


def test_the_report_says_what_it_rests_on_at_its_precision(
    demo_store: Path, tmp_path: Path
) -> None:
    with LearningLoop(demo_store) as loop:
        early = visible_text(loop.report(tmp_path / "early.html", date(2013, 3, 1)))
        late = visible_text(loop.report(tmp_path / "late.html", date(2014, 12, 31)))
    assert "Learning report — Programme de travail 2012/2014" in late
    assert "Partners recorded: 12 (the sources state 26)." in late
    assert "le lancement de projets expérimentaux" in late  # the first axis
    assert "Evidence behind this table: 0 stated, 8 inferred, 0 illustrative (of 8)." in late
    assert "≈ 2013-S1 — Proposed:" in early and "events are not yet certain" in early
    assert "≈" not in late and "2013-S1 — Proposed:" in late and "2013-01-01" not in late
    assert "not assessed" in late and "(inferred)" in late
    assert not re.search(r"\d{2}:\d{2}:\d{2}\.\d", late), "no microseconds"


@pytest.fixture(scope="module")
def network_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small network: a few programmes, a couple of hundred short experiments."""
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
    from generate import network_events

    store = tmp_path_factory.mktemp("network") / "store"
    with LearningLoop(store, recorded_by="tester") as loop:
        loop.import_events(network_events(3_000, 7))
    return store


def test_a_network_report_details_its_most_active_experiments_after_a_programme_summary(
    network_store: Path,
) -> None:
    with LearningLoop(network_store) as loop:
        data = loop.report_data(as_of=date(2020, 1, 1))
        experiments = loop.sql("select count(*) from experiments", as_of=date(2020, 1, 1))
    total = experiments.rows[0][0]
    assert total > 30
    assert data.selection == (12, total, False)
    assert len({row["experiment"] for row in data.experiments}) == 12
    assert {row["experiment"] for row in data.timeline} <= {
        r["experiment"] for r in data.experiments
    }
    assert data.programmes[0]["programme"] == "(all)"
    assert data.programmes[0]["experiments"] == total
    text = renderer.render(data, "en")
    assert f"Detail below for 12 of {total} experiments" in text
    assert "Coverage by programme" in text
    french = renderer.render(data, "fr")
    assert f"Détail ci-dessous pour 12 des {total} expérimentations" in french
    assert set(renderer.TEXT["en"]) == set(renderer.TEXT["fr"])


def test_a_network_report_counts_each_programmes_partners_and_names_no_one_programme(
    network_store: Path,
) -> None:
    with LearningLoop(network_store) as loop:
        data = loop.report_data(as_of=date(2020, 1, 1))
        partners = dict(loop.sql("select programme, count(*) from partners group by 1",
                                 as_of=date(2020, 1, 1)).rows)  # fmt: skip
    text = renderer.render(data, "en")
    assert len(data.programme) > 1 and len(set(partners.values())) > 1
    title = text.split("<h1>")[1].split("</h1>")[0]
    assert title == f"Learning report — {len(data.programme):,} programmes"
    # only the programmes of the detailed experiments are described, each with its partners
    described = {row["programme"] for row in data.experiments}
    section = text.split("<h2>Programme</h2>")[1].split("</section>")[0]
    assert section.count("<h3>") == len(described)
    for programme in described:
        assert f"Partners recorded: {partners[programme]}." in section
    with LearningLoop(network_store) as loop:
        one = loop.report_data(
            as_of=date(2020, 1, 1), experiments=[data.experiments[0]["experiment"]]
        )
    only = renderer.render(one, "en").split("<h2>Programme</h2>")[1].split("</section>")[0]
    assert only.count("<h3>") == 1
    # the 15-column summary scrolls inside the page, its names wrapping at underscores
    assert '<div class="wide"><table><tr><th>programme</th>' in text
    assert "<th>coverage_<wbr>partial</th>" in text


def test_report_filters_by_experiment_and_programme(network_store: Path, tmp_path: Path) -> None:
    with LearningLoop(network_store) as loop:
        first = loop.sql("select experiment, programme from experiments order by 1 limit 1").rows
        experiment, programme = first[0]
        chosen = loop.report_data(experiments=[experiment])
        assert {row["experiment"] for row in chosen.experiments} == {experiment}
        assert chosen.selection is not None and chosen.selection[2] is True
        whole = loop.report_data(programmes=[programme])
        assert {row["programme"] for row in whole.experiments} == {programme}
    arguments = ["report", "--out", str(tmp_path / "r.html"), "--experiment", "no-such"]
    result = CliRunner().invoke(main, ["--store", str(network_store), *arguments])
    assert result.exit_code == 2 and "no experiment 'no-such'" in result.stderr


def test_a_long_timeline_is_counted_by_month() -> None:
    day = date(2013, 1, 1)
    timeline = [
        {"experiment": "long", "version": n, "type": "MeetingHeld", "occurred_on": day,
         "is_retracted": False, "cycle": 1, "summary": "Meeting", "precision": "day",
         "occurred_until": day, "is_certain": True, "basis": "stated", "payload": {}}
        for n in range(renderer.MONTHLY_BEYOND + 1)
    ]  # fmt: skip
    empty = {name: [] for name in renderer.QUERIES} | {"timeline": timeline}
    data = renderer.ReportData(date(2014, 1, 1), datetime(2014, 1, 1, tzinfo=UTC), "0:x", **empty)
    text = renderer.render(data, "en")
    assert f"{renderer.MONTHLY_BEYOND + 1} events, counted by month" in text
    assert f"<td>2013-01</td><td>0</td><td>0</td><td>{renderer.MONTHLY_BEYOND + 1}</td>" in text


def test_a_chart_of_many_milestones_draws_the_open_ones_first_and_the_table_lists_all() -> None:
    count = renderer.MILESTONE_CHART_ROWS + 5
    milestones = [
        {"experiment": "x", "milestone": f"m{n:02}", "title": f"step {n:02}",
         "due_on": date(2013, 1, 1) + timedelta(days=n), "reached_on": None, "days_late": 0,
         "status": "pending" if n == 0 else "abandoned"}
        for n in range(count)
    ]  # fmt: skip
    empty = {name: [] for name in renderer.QUERIES} | {"milestones": milestones}
    data = renderer.ReportData(date(2012, 1, 1), datetime(2014, 1, 1, tzinfo=UTC), "0:x", **empty)
    text = renderer.render(data, "en")
    chart = text.split("Milestones: planned and reached")[1].split("</figure>")[0]
    drawn = sorted(set(re.findall(r"x: step (\d\d)", chart)))
    # the one open milestone, then the latest due; never the earliest abandoned ones
    assert drawn == ["00", *(f"{n:02}" for n in range(count - len(drawn) + 1, count))]
    assert len(drawn) == renderer.MILESTONE_CHART_ROWS
    assert f"The chart shows {len(drawn)} of the {count} milestones" in chart
    assert text.count("<tr><td>x: step") == count


def test_the_report_names_its_framework_first_and_lists_what_changed_since_t1(
    demo_store: Path, tmp_path: Path
) -> None:
    framework = tmp_path / "two.yaml"
    framework.write_text("- {key: people, label: People, from: [training, support]}\n"
                         "- {key: work, label: Work, from: [production, employer]}\n")  # fmt: skip
    with LearningLoop(demo_store) as loop:
        plain = loop.report_data(as_of=date(2014, 12, 31))
        since = loop.sql("select recorded_at from log_events order by position").rows[-3][0]
        data = loop.report_data(as_of=date(2014, 12, 31), framework=framework, since=since)
    body = renderer.render(plain, "en").split("<body>\n")[1]
    assert body.startswith("<p>Framework: the programme&#x27;s own functions.</p>")
    text = renderer.render(data, "en")
    first = text.split("<body>\n")[1].splitlines()[0]
    assert "two.yaml (people, work)" in first and "not the programme" in first
    assert {c["function"] for c in data.coverage} == {"people", "work"}
    assert "What changed since" in text and "Retractions" in text
    assert [s["experiment"] for s in data.prediction_scores] == [
        "chantier-ecole-st-nazaire", "deltameca-gouvernance"]  # fmt: skip
    assert "Predictions: calibration and Brier score" in text and "0.49" in text
    assert "Learning latency" in text and text.count("<svg") >= 6


def test_what_changed_since_t1_lists_a_few_hundred_rows_and_counts_the_rest(
    demo_store: Path,
) -> None:
    from dataclasses import replace

    from learningloop.knowledge import ChangeDigest
    from learningloop.report.summary import LISTED_AT_MOST

    with LearningLoop(demo_store) as loop:
        since = loop.sql("select recorded_at from log_events order by position").rows[-3][0]
        data = loop.report_data(as_of=date(2014, 12, 31), since=since)
    assert data.changes is not None
    event = next(rows[0] for rows, _ in data.changes.recorded.values() if rows)
    many = LISTED_AT_MOST + 37
    # a network's minute of recording: many new facts, each moving an experiment's coverage;
    # the digest holds the first LISTED_AT_MOST of each list and its size
    facts = [{**event, "position": 10_000 + n, "type": "MeetingHeld",
              "occurred_on": date(2030, 1, 1)} for n in range(LISTED_AT_MOST)]  # fmt: skip
    moved = [("experiment_coverage", f"x{n:04}") for n in range(LISTED_AT_MOST)]
    changes = ChangeDigest({"new_facts": (facts, many)}, (moved, many))
    text = renderer.render(replace(data, changes=changes), "en")
    section = text.split("What changed since")[1].split("</section>")[0]
    assert section.count("<li>") == 2 * LISTED_AT_MOST
    assert section.count("… and 37 more: learningloop changes --since T1 lists every one.") == 2
    french = renderer.render(replace(data, changes=changes), "fr")
    assert french.count("… et 37 de plus") == 2
