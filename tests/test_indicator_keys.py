"""The cache's keys and files, read without pyarrow."""

from __future__ import annotations

import json
from pathlib import Path

from learningloop import indicator_framing, indicator_keys


def test_a_key_names_its_files_by_its_digest_alone() -> None:
    assert indicator_keys.stem("a") == indicator_keys.stem("a") != indicator_keys.stem("b")
    assert indicator_keys.stem("a").startswith("indicators-")


def test_only_whole_cache_files_give_their_key(tmp_path: Path) -> None:
    footer = json.dumps({"key": "k1", "sections": []}).encode()
    whole = indicator_framing.MAGIC + footer + len(footer).to_bytes(8, "little")
    (tmp_path / "indicators-a.csv").write_bytes(whole + indicator_framing.MAGIC)
    (tmp_path / "indicators-b.csv").write_bytes(whole)  # cut short
    (tmp_path / "indicators-c.csv").write_bytes(b"")
    (tmp_path / "indicators-d.arrow").write_bytes(whole + indicator_framing.MAGIC)
    found = indicator_keys.file_keys(tmp_path, "indicators-*.csv")
    assert found == {tmp_path / "indicators-a.csv": "k1"}


def test_the_queries_are_the_indicator_tables_in_their_order() -> None:
    queries = indicator_keys.indicator_queries()
    assert list(queries) == list(indicator_keys.INDICATOR_TABLES)
    assert (
        queries["milestones"] == "select * from milestones order by experiment, due_on, milestone"
    )
