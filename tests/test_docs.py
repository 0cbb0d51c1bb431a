"""The docs a newcomer reads are current: generated from the code, or pointing at real code."""

from __future__ import annotations

import importlib
import importlib.util
import re
from pathlib import Path
from types import ModuleType

from learningloop.domain import events as ev
from learningloop.domain import rules

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"


def generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("generate_events", DOCS / "generate_events.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_events_md_is_generated_from_the_catalogue() -> None:
    assert (DOCS / "events.md").read_text(encoding="utf-8") == generator().render(), (
        "docs/events.md is stale: run .venv/bin/python docs/generate_events.py"
    )


def test_every_event_type_has_its_rules_and_its_section() -> None:
    assert set(rules.RULES) == set(ev.CATALOGUE)
    text = (DOCS / "events.md").read_text(encoding="utf-8")
    assert re.findall(r"^## (\w+)$", text, flags=re.M) == list(ev.CATALOGUE)


def test_every_hop_of_the_architecture_names_real_code() -> None:
    text = (DOCS / "architecture.md").read_text(encoding="utf-8")
    hops = re.findall(r"`(learningloop[\w.]*):([\w.]+)`", text)
    assert len(hops) >= 20
    for module_name, attribute in hops:
        found: object = importlib.import_module(module_name)
        for part in attribute.split("."):
            assert hasattr(found, part), f"{module_name}:{attribute} does not exist"
            found = getattr(found, part)
    for path in re.findall(r"`(projections/[\w.*]+)`", text):
        assert list(ROOT.glob(path)), path
    for section in ("## Write path", "## Read path"):
        steps = text.split(section)[1].split("\n## ")[0]
        assert len(re.findall(r"^\d+\. ", steps, flags=re.M)) <= 10


def test_the_readme_links_the_docs_and_nothing_outside_the_repository() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "docs/events.md" in readme and "docs/architecture.md" in readme
    assert "steering repository" not in readme
