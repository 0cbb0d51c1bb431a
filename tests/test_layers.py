"""Layers are enforced: imports point down (import-linter), and writing loads no DuckDB."""

from __future__ import annotations

import ast
import json
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from tests.conftest import base_events

ROOT = Path(__file__).resolve().parent.parent
LINT = ROOT / ".ci" / "lint_imports.py"
HEAVY = ("duckdb", "pyarrow", "matplotlib", "yaml")  # a JSON Lines import needs no YAML


def lint(repository: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(LINT), str(repository)], capture_output=True,
                          text=True, check=False, timeout=120)  # fmt: skip


def test_the_import_contracts_hold_on_the_repository() -> None:
    result = lint(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("KEPT") == 4


def test_an_upward_import_in_the_domain_breaks_the_layers_contract(tmp_path: Path) -> None:
    for part in ("src", "cli", "projections"):
        shutil.copytree(ROOT / part, tmp_path / part, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    values = tmp_path / "src" / "learningloop" / "domain" / "values.py"
    values.write_text(values.read_text() + "\nfrom learningloop import application  # noqa\n")
    result = lint(tmp_path)
    assert result.returncode != 0
    assert "cli -> application -> store/projections -> domain BROKEN" in result.stdout
    assert "learningloop.domain.values -> learningloop.application" in result.stdout


def test_import_and_record_load_neither_duckdb_pyarrow_nor_yaml(tmp_path: Path) -> None:
    events = tmp_path / "events.jsonl"
    events.write_text("".join(json.dumps(e) + "\n" for e in base_events()))
    store = str(tmp_path / "store")
    script = f"""
import sys
from learningloop.cli.main import main

def run(*args):
    try:
        main(["--store", {store!r}, *args])
    except SystemExit as exit:
        assert exit.code == 0, exit.code
    print(sorted(m for m in sys.modules if m.split(".")[0] in {HEAVY!r}))

run("import", {str(events)!r})
run("record", "MeetingHeld", "--experiment", "exp", "--occurred-on", "2013-02-01",
    "--kind", "local")
"""
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            check=False, timeout=120)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["[]", "[]"]
    assert "Recorded MeetingHeld" in result.stderr


RECORD_SCRIPT = """
import sys
from learningloop.cli.main import main

try:
    main(["--store", sys.argv[1], *sys.argv[2:]])
except SystemExit as exit:
    assert exit.code == 0, exit.code
workers = ("multiprocessing", "learningloop.import_workers", "learningloop.audit")
print(sorted(m for m in sys.modules if m.startswith(workers)), file=sys.stderr)
"""


Runner = Callable[..., subprocess.CompletedProcess[str]]


def seeded_runner(tmp_path: Path, script: str) -> Runner:
    """Runs `script` (its arguments: the store, then the command's) on a store that holds the
    base events, imported by the script itself."""
    events = tmp_path / "events.jsonl"
    events.write_text("".join(json.dumps(e) + "\n" for e in base_events()))
    store = str(tmp_path / "store")

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-c", script, store, *args],
                              capture_output=True, text=True, check=False, timeout=120)  # fmt: skip

    assert run("import", str(events)).returncode == 0
    return run


def test_record_loads_no_import_worker_machinery(tmp_path: Path) -> None:
    # A record is admitted in its own process: the import workers (multiprocessing, and the
    # audit's workers they share the core count with) are for big imports.
    run = seeded_runner(tmp_path, RECORD_SCRIPT)
    recorded = run("record", "MeetingHeld", "--experiment", "exp", "--occurred-on",
                   "2013-02-01", "--kind", "local")  # fmt: skip
    assert recorded.returncode == 0, recorded.stderr
    assert "Recorded MeetingHeld" in recorded.stderr
    assert recorded.stderr.splitlines()[-1] == "[]", recorded.stderr


READ_SCRIPT = """
import sys
from learningloop.cli.main import main

try:
    main(["--store", sys.argv[1], *sys.argv[2:]])
except SystemExit as exit:
    assert exit.code == 0, exit.code
unneeded = ("learningloop.audit", "pyarrow.compute", "matplotlib", "rich", "pydantic", "yaml",
            "learningloop.domain.events", "learningloop.writing")
print(sorted(m for m in sys.modules if m.startswith(unneeded)), file=sys.stderr)
by_some = ("learningloop.indicator_cache", "learningloop.indicator_warm",
           "learningloop.change_rows", "learningloop.exporting")
print(sorted(m for m in sys.modules if m in by_some), file=sys.stderr)
"""


def test_reading_commands_load_neither_the_audit_nor_the_event_models(tmp_path: Path) -> None:
    # Start-up cost of reading commands (issue 13 item 9): what only `audit` needs stays out,
    # and so do the event models (pydantic), the write models and the YAML parser.
    # (Catching up may load pyarrow.compute through DuckDB's Arrow scan: projections current.)
    run = seeded_runner(tmp_path, READ_SCRIPT)
    assert run("sql", "select 1").returncode == 0
    counted = run("sql", "select count(*) as n from log_events", "--format", "csv")
    indicators = run("indicators", "--as-of", "2013-01-10", "--format", "csv")
    timeline = run("timeline", "exp", "--format", "csv")
    for result in (counted, indicators, timeline):
        assert result.returncode == 0, result.stderr
        assert result.stderr.splitlines()[-2] == "[]", result.stderr
    # What only indicators, changes and export use is loaded by them alone.
    assert counted.stderr.splitlines()[-1] == timeline.stderr.splitlines()[-1] == "[]"
    assert indicators.stderr.splitlines()[-1] == (
        "['learningloop.indicator_cache', 'learningloop.indicator_warm']"
    )
    assert counted.stdout == "n\n4\n"
    assert indicators.stdout.startswith("indicator,experiment,")
    assert timeline.stdout.startswith("cycle,occurred_on,")


HELP_SCRIPT = """
import sys
from learningloop.cli.main import main

try:
    main(["--help"])
except SystemExit as exit:
    assert exit.code == 0, exit.code
library = ("duckdb", "pyarrow", "pydantic", "eventsourcing", "rich", "numpy", "yaml", "orjson",
           "learningloop.domain", "learningloop.application", "learningloop.cli.rendering",
           "learningloop.cli.progress", "learningloop.cli.views", "csv", "json", "decimal",
           "learningloop.cli.read_commands", "learningloop.cli.store_commands",
           "learningloop.cli.write_commands", "learningloop.cli.common", "learningloop.cli.output")
print(sorted(m for m in sys.modules if m.split(".")[0] in library or m.startswith(library)),
      file=sys.stderr)
"""


def test_help_loads_click_and_the_command_table_only() -> None:
    # `learningloop --help` starts fast (issue 13 item 9): no library, no renderer, and no
    # command module (the listing is main.COMMANDS) nor what they share (common, output).
    result = subprocess.run([sys.executable, "-c", HELP_SCRIPT], capture_output=True,
                            text=True, check=False, timeout=120)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "Commands:" in result.stdout
    assert result.stderr.splitlines()[-1] == "[]", result.stderr


COMMAND_HELP_SCRIPT = HELP_SCRIPT.replace('main(["--help"])', 'main(["sql", "--help"])')


def test_a_command_s_help_loads_its_own_module_alone() -> None:
    result = subprocess.run([sys.executable, "-c", COMMAND_HELP_SCRIPT], capture_output=True,
                            text=True, check=False, timeout=120)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "Usage: -c sql [OPTIONS] QUERY" in result.stdout
    loaded = ast.literal_eval(result.stderr.splitlines()[-1])
    # (running a command loads learningloop.errors, and with it learningloop.domain.errors)
    assert [m for m in loaded if not m.startswith("learningloop.domain")] == [
        "learningloop.cli.common",
        "learningloop.cli.output",
        "learningloop.cli.read_commands",
    ], result.stderr
