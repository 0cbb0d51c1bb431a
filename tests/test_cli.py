"""The command line on real temporary stores: exit codes, exact output, no tracebacks."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from learningloop.cli.main import main
from tests.conftest import base_events, store_bytes

COMMANDS = [
    "import",
    "record",
    "replay",
    "demo",
    "sql",
    "indicators",
    "timeline",
    "project",
    "export",
    "audit",
    "why",
    "copy",
    "report",
    "keygen",
    "changes",
]


def run(runner: CliRunner, store: Path, *args: str) -> Result:
    return runner.invoke(main, ["--store", str(store), "--by", "cli", *args])


def assert_clean_failure(result: Result, exit_code: int) -> None:
    """One `Error:` line on stderr, nothing on stdout, no traceback."""
    assert result.exit_code == exit_code, result.output
    assert isinstance(result.exception, SystemExit)
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    assert "Traceback" not in result.stderr


@pytest.fixture
def events_file(tmp_path: Path) -> Path:
    path = tmp_path / "events.jsonl"
    path.write_text("".join(json.dumps(e) + "\n" for e in base_events()), encoding="utf-8")
    return path


@pytest.fixture
def imported(runner: CliRunner, store_dir: Path, events_file: Path) -> Path:
    assert run(runner, store_dir, "import", str(events_file)).exit_code == 0
    return store_dir


@pytest.mark.parametrize("command", ["", *COMMANDS])
def test_every_command_has_help_with_an_example(runner: CliRunner, command: str) -> None:
    result = runner.invoke(main, [*command.split(), "--help"])
    assert result.exit_code == 0
    assert "Example:" in result.stdout


def test_import_reports_on_stderr_and_keeps_stdout_for_data(
    runner: CliRunner, store_dir: Path, events_file: Path
) -> None:
    result = run(runner, store_dir, "import", str(events_file))
    assert result.exit_code == 0
    assert result.stdout == ""
    assert result.stderr == "Imported 4 events into 2 streams.\n"


def test_import_with_a_bad_date_on_line_2_exits_2_and_writes_nothing(
    runner: CliRunner, imported: Path, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.jsonl"
    meeting = {"type": "MeetingHeld", "experiment": "exp", "kind": "local", "attendees": 3}
    bad.write_text(json.dumps(meeting | {"occurred_on": "2013-05-01"}) + "\n"
                   + json.dumps(meeting | {"occurred_on": "2013-02-30"}) + "\n")  # fmt: skip
    before = store_bytes(imported)
    result = run(runner, imported, "import", str(bad))
    assert_clean_failure(result, 2)
    assert result.stderr == (
        f"Error: {bad}, line 2: field occurred_on: '2013-02-30' is not a real date "
        "(expected YYYY-MM-DD)\n"
    )
    assert store_bytes(imported) == before


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["import", "missing.jsonl"], "missing.jsonl: no such file"),
        (["import", "events.txt"], "unknown file kind '.txt'"),
        (["record", "Nope", "--occurred-on", "2013-01-01"], "unknown event type 'Nope'"),
        (["record", "MeetingHeld", "--experiment"], "--experiment needs a value"),
        (["record", "MeetingHeld", "stray"], "expected --field value, got 'stray'"),
        (["record", "MeetingHeld", "--experiment", "exp", "--kind", "local",
          "--attendees", "many", "--occurred-on", "2013-01-01"], "'many' is not a whole number"),
        (["record", "MeetingHeld", "--experiment", "ghost", "--kind", "local",
          "--occurred-on", "2013-01-01"], "experiment 'ghost' is not proposed"),
        (["replay", "ghost"], "no experiment 'ghost'"),
        (["replay", "exp", "--as-of", "2013-13-01"], "--as-of: '2013-13-01' is not a date"),
        (["replay", "exp", "--known-at", "yesterday"], "--known-at: 'yesterday' is not an ISO"),
    ],
)  # fmt: skip
def test_bad_input_exits_2_with_one_line_and_no_traceback(
    runner: CliRunner,
    imported: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    args: list[str],
    fragment: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "events.txt").write_text("x")
    result = run(runner, imported, *args)
    assert_clean_failure(result, 2)
    assert fragment in result.stderr


def test_usage_errors_exit_2(runner: CliRunner, store_dir: Path) -> None:
    assert run(runner, store_dir, "import").exit_code == 2
    assert run(runner, store_dir, "replay", "exp", "--format", "xml").exit_code == 2
    assert runner.invoke(main, ["frobnicate"]).exit_code == 2


def test_record_then_replay_as_csv_gives_the_exact_timeline(
    runner: CliRunner, imported: Path
) -> None:
    recorded = run(runner, imported, "record", "MeetingHeld", "--experiment", "exp",
                   "--occurred-on", "2013-04-18", "--kind", "stakeholder",
                   "--attendees", "30")  # fmt: skip
    assert recorded.exit_code == 0, recorded.output
    assert recorded.stderr == "Recorded MeetingHeld as version 2 of experiment:exp.\n"
    result = run(runner, imported, "replay", "exp", "--format", "csv")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0] == ("cycle,occurred_on,version,type,summary,recorded_at,occurred_until,"
                        "is_certain,precision,basis")  # fmt: skip
    assert [line.split(",")[:5] + line.split(",")[6:] for line in lines[1:]] == [
        ["1", "2013-01-10", "1", "ExperimentProposed", "Proposed: Experiment (carried by acme)",
         "2013-01-10", "true", "day", "stated"],
        ["1", "2013-04-18", "2", "MeetingHeld", "Meeting (stakeholder): 30 attendees",
         "2013-04-18", "true", "day", "stated"],
    ]  # fmt: skip


def test_replay_json_is_one_object_with_every_section(runner: CliRunner, imported: Path) -> None:
    result = run(runner, imported, "replay", "exp", "--as-of", "2013-06-30", "--format", "json")
    assert result.exit_code == 0
    document: dict[str, Any] = json.loads(result.stdout)
    assert document["status"] == "proposed"
    assert document["as_of"] == "2013-06-30"
    assert document["carriers"] == ["acme"]
    assert {"commitments", "milestones", "reviews", "decisions", "learnings", "functions",
            "timeline"} <= set(document)  # fmt: skip
    assert [f["function"] for f in document["functions"]][:2] == ["training", "support"]
    assert document["functions"][0]["is_covered"] is False
    assert document["functions"][0]["max_strength"] is None


def test_replay_known_at_before_any_recording_shows_nothing_proposed(
    runner: CliRunner, imported: Path
) -> None:
    result = run(runner, imported, "replay", "exp", "--known-at", "2001-01-01")
    assert result.exit_code == 0
    assert result.stdout.startswith("exp: not proposed as of")


def test_replay_table_prints_state_then_timeline(runner: CliRunner, imported: Path) -> None:
    result = run(runner, imported, "replay", "exp")
    assert result.exit_code == 0
    assert result.stdout.index("Experiment exp") < result.stdout.index("Timeline")
    assert "ExperimentProposed" in result.stdout


def test_record_list_fields_and_store_from_the_environment(
    runner: CliRunner, imported: Path
) -> None:
    result = runner.invoke(
        main,
        ["record", "ExperimentProposed", "--experiment", "exp2", "--programme", "prog",
         "--title", "Second", "--carriers", "acme", "--carriers", "city", "--scale", "region",
         "--occurred-on", "2013-02-01"],
        env={"LEARNINGLOOP_STORE": str(imported)},
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    replay = run(runner, imported, "replay", "exp2", "--format", "json")
    assert json.loads(replay.stdout)["carriers"] == ["acme", "city"]


def test_demo_on_a_given_store_prints_every_experiment_as_json(
    runner: CliRunner, store_dir: Path
) -> None:
    result = run(runner, store_dir, "demo", "--format", "json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert [row["experiment"] for row in rows] == [
        "chantier-ecole-st-nazaire", "dfc2", "deltameca-gouvernance", "sncf-artemis",
        "resovilles-creo",
    ]  # fmt: skip
    assert store_dir.exists()
    again = run(runner, store_dir, "demo")
    assert_clean_failure(again, 2)
    assert "already holds events" in again.stderr


def test_demo_without_store_uses_a_temporary_one(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    here = tmp_path / "cwd"
    here.mkdir()
    monkeypatch.chdir(here)
    result = runner.invoke(main, ["demo", "--format", "csv"],
                           env={"LEARNINGLOOP_STORE": str(tmp_path / "env-store")})  # fmt: skip
    assert result.exit_code == 0, result.output
    assert list(here.iterdir()) == []
    assert not (tmp_path / "env-store").exists()
    assert result.stdout.splitlines()[0].startswith("experiment,status,functions_covered")


def test_sql_csv_and_json_are_exact(runner: CliRunner, imported: Path) -> None:
    query = "select experiment, carriers, status from experiments"
    csv_result = run(runner, imported, "sql", query, "--format", "csv")
    assert csv_result.exit_code == 0, csv_result.output
    assert csv_result.stdout == 'experiment,carriers,status\nexp,"[""acme""]",proposed\n'
    json_result = run(runner, imported, "sql", query, "--format", "json")
    assert json.loads(json_result.stdout) == [
        {"experiment": "exp", "carriers": ["acme"], "status": "proposed"}
    ]


def test_sql_answers_as_of_d_and_known_at_t(runner: CliRunner, imported: Path) -> None:
    query = "select count(*) as n from experiments"
    assert run(
        runner, imported, "sql", query, "--as-of", "2013-01-09", "--format", "csv"
    ).stdout == ("n\n0\n")
    assert run(runner, imported, "sql", query, "--known-at", "2001-01-01T00:00:00+02:00",
               "--format", "csv").stdout == "n\n0\n"  # fmt: skip
    assert run(runner, imported, "sql", query, "--format", "csv").stdout == "n\n1\n"


def test_sql_refuses_writes_with_exit_2(runner: CliRunner, imported: Path) -> None:
    result = run(runner, imported, "sql", "drop table log_events")
    assert_clean_failure(result, 2)
    assert "read-only" in result.stderr


def test_indicators_json_has_every_indicator(runner: CliRunner, imported: Path) -> None:
    result = run(runner, imported, "indicators", "--format", "json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert isinstance(rows, list)
    assert {row["indicator"] for row in rows} == {"experiment_coverage", "function_coverage",
                                                  "learning_loops"}  # fmt: skip
    assert [row for row in rows if row["indicator"] == "experiment_coverage"] == [
        {"indicator": "experiment_coverage", "experiment": "exp", "functions_covered": 0,
         "functions_total": 5, "coverage_ratio": 0.0, "functions_assessed": 0}
    ]  # fmt: skip
    csv_lines = run(runner, imported, "indicators", "--format", "csv").stdout.splitlines()
    assert csv_lines[0].startswith("indicator,experiment,functions_covered")
    assert len(csv_lines) == 1 + len(rows)
    table = run(runner, imported, "indicators")
    assert "Function coverage" in table.stdout and "0/5" in table.stdout


def test_timeline_groups_by_cycle(runner: CliRunner, imported: Path) -> None:
    run(runner, imported, "record", "DecisionRecorded", "--experiment", "exp", "--decision", "d1",
        "--kind", "retain", "--summary", "Go on", "--occurred-on", "2013-03-01")  # fmt: skip
    run(runner, imported, "record", "MeetingHeld", "--experiment", "exp", "--kind", "local",
        "--occurred-on", "2013-04-01")  # fmt: skip
    table = run(runner, imported, "timeline", "exp")
    assert table.exit_code == 0, table.output
    assert table.stdout.index("exp — cycle 1") < table.stdout.index("exp — cycle 2 (open)")
    csv_result = run(runner, imported, "timeline", "exp", "--format", "csv")
    assert [line.split(",")[:4] for line in csv_result.stdout.splitlines()] == [
        ["cycle", "occurred_on", "version", "type"],
        ["1", "2013-01-10", "1", "ExperimentProposed"],
        ["1", "2013-03-01", "2", "DecisionRecorded"],
        ["2", "2013-04-01", "3", "MeetingHeld"],
    ]
    assert_clean_failure(run(runner, imported, "timeline", "ghost"), 2)


def test_human_outputs_print_dates_at_their_precision_and_mark_what_is_not_certain(
    runner: CliRunner, imported: Path
) -> None:
    run(runner, imported, "record", "MeetingHeld", "--experiment", "exp", "--kind", "local",
        "--occurred-on", "2013-02-10", "--precision", "semester", "--basis", "inferred",
        "--basis-note", "the minutes say spring")  # fmt: skip
    for command in ("timeline", "replay"):
        early = run(runner, imported, command, "exp", "--as-of", "2013-03-01")
        assert early.exit_code == 0, early.output
        assert "2013-S1 ~" in early.stdout and "2013-01-01" not in early.stdout
        assert "inferred" in early.stdout
        assert early.stderr.startswith("~ 1 event is not yet certain as of 2013-03-01")
        late = run(runner, imported, command, "exp", "--as-of", "2013-07-01")
        assert "2013-S1 ~" not in late.stdout and "2013-S1" in late.stdout
        assert "not yet certain" not in late.stderr


def test_project_then_rebuild_report_counts(runner: CliRunner, imported: Path) -> None:
    first = run(runner, imported, "project")
    assert first.exit_code == 0
    assert first.stderr == "Projected 4 events; projections are current at log position 4.\n"
    again = run(runner, imported, "project")
    assert again.stderr.startswith("Projected 0 events")
    rebuilt = run(runner, imported, "project", "--rebuild")
    assert rebuilt.stderr.startswith("Rebuilt projections from 4 events")


def test_export_writes_parquet_and_a_manifest(
    runner: CliRunner, imported: Path, tmp_path: Path
) -> None:
    import duckdb

    target = tmp_path / "out"
    result = run(runner, imported, "export", str(target), "--as-of", "2013-06-30")
    assert result.exit_code == 0, result.output
    manifest = json.loads((target / "manifest.json").read_text())
    assert manifest["log_position"] == 4 and manifest["as_of"] == "2013-06-30"
    assert "experiments" in manifest["projection_versions"]
    assert sorted(p.name for p in target.glob("*.parquet")) == sorted(
        f"{name}.parquet" for name in manifest["tables"]
    )
    rows = duckdb.sql(f"select experiment, status from '{target / 'experiments.parquet'}'")
    assert rows.fetchall() == [("exp", "proposed")]


def test_a_store_that_does_not_exist_is_reported_for_reading_commands(
    runner: CliRunner, store_dir: Path
) -> None:
    for args in (["sql", "select 1"], ["indicators"], ["project"]):
        result = run(runner, store_dir, *args)
        assert_clean_failure(result, 2)
        assert "no store at" in result.stderr
    assert not store_dir.exists()


def test_json_columns_come_out_as_json_objects(runner: CliRunner, imported: Path) -> None:
    query = "select payload from events where type = 'PartnerJoined' order by position"
    rows = json.loads(run(runner, imported, "sql", query, "--format", "json").stdout)
    assert rows[0]["payload"]["partner"] == "acme"
    assert rows[0]["payload"]["kind"] == "company"
    csv_text = run(runner, imported, "sql", query, "--format", "csv").stdout
    assert '""partner"":""acme""' in csv_text


def test_changes_lists_what_a_new_recording_added_with_its_position(
    runner: CliRunner, imported: Path
) -> None:
    since = run(runner, imported, "sql", "select max(recorded_at) as t from log_events",
                "--format", "json")  # fmt: skip
    t1 = json.loads(since.stdout)[0]["t"]
    recorded = run(runner, imported, "record", "DecisionRecorded", "--experiment", "exp",
                   "--occurred-on", "2013-03-01", "--decision", "d1", "--kind", "retain",
                   "--summary", "Go")  # fmt: skip
    assert recorded.exit_code == 0, recorded.output
    result = run(runner, imported, "changes", "--since", t1, "--as-of", "2014-01-01",
                 "--table", "experiments", "--format", "json")  # fmt: skip
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert [(r["change"], r["row"]["status"], r["caused_by"]) for r in rows] == [
        ("removed", "proposed", [5]),
        ("added", "retained", [5]),
    ]


def test_changes_with_a_bad_table_or_time_exits_2(runner: CliRunner, imported: Path) -> None:
    assert_clean_failure(run(runner, imported, "changes", "--since", "2013-01-01",
                             "--table", "nope"), 2)  # fmt: skip
    assert_clean_failure(run(runner, imported, "changes", "--since", "last week"), 2)


def test_a_what_if_framework_changes_coverage_and_writes_nothing(
    runner: CliRunner, imported: Path, tmp_path: Path
) -> None:
    framework = tmp_path / "framework.yaml"
    framework.write_text("- {key: skills, label: Skills, from: [training, support]}\n"
                         "- {key: work, label: Work, from: [production, employer]}\n")  # fmt: skip
    evidence = run(runner, imported, "record", "FunctionEvidenced", "--experiment", "exp",
                   "--occurred-on", "2013-03-01", "--function", "support",
                   "--evidence", "E")  # fmt: skip
    assert evidence.exit_code == 0, evidence.output
    before = store_bytes(imported)
    query = "select function, evidence_count, is_covered from function_coverage order by all"
    result = run(runner, imported, "sql", query, "--framework", str(framework), "--format", "csv")
    assert result.exit_code == 0, result.output
    assert result.stdout == "function,evidence_count,is_covered\nskills,1,true\nwork,0,false\n"
    assert store_bytes(imported)["events.sqlite"] == before["events.sqlite"]
    plain = run(runner, imported, "sql", "select count(*) as n from function_coverage",
                "--format", "csv")  # fmt: skip
    assert plain.stdout == "n\n5\n"  # the what-if left nothing behind
    indicators = run(runner, imported, "indicators", "--framework", str(framework),
                     "--format", "json")  # fmt: skip
    coverage = [r for r in json.loads(indicators.stdout) if r["indicator"] == "experiment_coverage"]
    assert [(r["functions_covered"], r["functions_total"]) for r in coverage] == [(1, 2)]


def test_a_framework_naming_an_unknown_function_exits_2(
    runner: CliRunner, imported: Path, tmp_path: Path
) -> None:
    framework = tmp_path / "framework.json"
    framework.write_text('[{"key": "x", "label": "X", "from": ["cooking"]}]')
    result = run(runner, imported, "sql", "select 1", "--framework", str(framework))
    assert_clean_failure(result, 2)
    assert "item 1" in result.stderr and "cooking" in result.stderr


def test_a_mistyped_experiment_or_programme_gets_a_did_you_mean(
    runner: CliRunner, imported: Path
) -> None:
    for command in (["replay", "exq"], ["timeline", "exq"]):
        result = run(runner, imported, *command)
        assert result.exit_code == 2
        assert result.stderr.strip().endswith("(did you mean 'exp'?)")
    recorded = run(runner, imported, "record", "MeetingHeld", "--experiment", "exq",
                   "--occurred-on", "2013-05-01", "--kind", "local")  # fmt: skip
    assert recorded.exit_code == 2 and "(did you mean 'exp'?)" in recorded.stderr
    proposed = run(runner, imported, "record", "ExperimentProposed", "--experiment", "new",
                   "--programme", "prag", "--title", "T", "--carriers", "acme", "--scale",
                   "company", "--occurred-on", "2013-05-01")  # fmt: skip
    assert proposed.exit_code == 2 and "(did you mean 'prog'?)" in proposed.stderr
    far = run(runner, imported, "record", "MeetingHeld", "--experiment", "zzzzzz",
              "--occurred-on", "2013-05-01", "--kind", "local")  # fmt: skip
    assert far.exit_code == 2 and "did you mean" not in far.stderr


def test_a_d_after_every_event_or_a_t_before_any_recording_is_noted_on_stderr(
    runner: CliRunner, imported: Path
) -> None:
    late = run(runner, imported, "indicators", "--as-of", "2099-01-01", "--format", "csv")
    assert late.exit_code == 0
    assert late.stderr.startswith("note: as of 2099-01-01 is after the last recorded event")
    early = run(runner, imported, "sql", "select count(*) as n from experiments",
                "--known-at", "2001-01-01", "--format", "csv")  # fmt: skip
    assert (early.exit_code, early.stdout) == (0, "n\n0\n")
    assert early.stderr.startswith("note: known at 2001-01-01T00:00:00+00:00 is before the first")
    inside = run(runner, imported, "sql", "select 1 as n", "--as-of", "2013-01-10")
    assert inside.exit_code == 0 and inside.stderr == ""


def record_all(runner: CliRunner, store: Path, *events: list[str]) -> None:
    """Record events of the `exp` experiment one by one, each `record TYPE --field value...`."""
    for args in events:
        assert run(runner, store, "record", *args, "--experiment", "exp").exit_code == 0


def test_why_says_when_evidence_was_revised_and_audit_warns(
    runner: CliRunner, imported: Path
) -> None:
    record_all(
        runner,
        imported,
        ["LearningRecorded", "--learning", "l1", "--observation", "O", "--occurred-on",
         "2013-02-01"],
        ["DecisionRecorded", "--decision", "d1", "--kind", "retain", "--summary", "Go",
         "--evidence", "l1", "--occurred-on", "2013-03-01"],
        ["LearningRecorded", "--learning", "l1", "--observation", "O2", "--occurred-on",
         "2013-04-01"],
    )  # fmt: skip
    why = run(runner, imported, "why", "d1", "--format", "json")
    assert why.exit_code == 0, why.output
    revised = json.loads(why.stdout)["revised_evidence"]
    assert [(r["evidence"], r["revision"]) for r in revised] == [("l1", "restated")]
    audit = run(runner, imported, "audit", "--format", "json")
    checks = [f["check"] for f in json.loads(audit.stdout)["findings"]]
    assert "decision_on_revised_evidence" in checks


def test_why_prediction_shows_the_positions_that_prove_the_order(
    runner: CliRunner, imported: Path
) -> None:
    record_all(
        runner,
        imported,
        ["PredictionMade", "--prediction", "p1", "--statement", "S", "--probability", "0.8",
         "--resolves-on", "2013-12-31", "--occurred-on", "2013-02-01"],
        ["PredictionResolved", "--prediction", "p1", "--outcome", "true", "--occurred-on",
         "2013-06-01"],
    )  # fmt: skip
    found = run(runner, imported, "why", "--prediction", "p1", "--format", "json")
    assert found.exit_code == 0, found.output
    document = json.loads(found.stdout)
    assert document["prediction"]["made_before_outcome"] is True
    assert (document["made"]["position"], document["decided_by"]["position"]) == (5, 6)
    assert document["proof"].startswith("Recorded at position 5")
    table = run(runner, imported, "why", "--prediction", "p1")
    assert "before the PredictionResolved that decided it, at position 6" in table.stdout
    assert_clean_failure(run(runner, imported, "why", "--prediction", "nope"), 2)
    assert_clean_failure(run(runner, imported, "why"), 2)


def test_an_overdue_milestone_with_no_later_record_says_so_in_the_indicators_table(
    runner: CliRunner, imported: Path
) -> None:
    run(runner, imported, "record", "MilestonePlanned", "--experiment", "exp",
        "--milestone", "pilot", "--title", "Pilot", "--due-on", "2013-06-01",
        "--occurred-on", "2013-02-01")  # fmt: skip
    silent = run(runner, imported, "indicators", "--as-of", "2014-01-01", "--limit", "50")
    assert silent.exit_code == 0, silent.output
    assert "overdue (no record since 2013-02-01)" in silent.stdout
    assert "last_record" not in silent.stdout  # helper columns stay out of the table
    replayed = run(runner, imported, "replay", "exp", "--as-of", "2014-01-01")
    assert "overdue (no record since 2013-02-01)" in replayed.stdout
    csv_rows = run(runner, imported, "indicators", "--as-of", "2014-01-01", "--format", "csv")
    assert "no record since" not in csv_rows.stdout  # data formats keep the contract's status
    run(runner, imported, "record", "MeetingHeld", "--experiment", "exp", "--kind", "local",
        "--attendees", "5", "--occurred-on", "2013-07-01")  # fmt: skip
    recorded = run(runner, imported, "indicators", "--as-of", "2014-01-01", "--limit", "50")
    assert "no record since" not in recorded.stdout and " overdue " in recorded.stdout
