"""The staging tables (stg_*.sql): one row per stored event of their kinds, retracted_at the
recorded_at of the event's first retraction, whatever page the retraction came in."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from learningloop import LearningLoop, projector
from learningloop.projector import SqlFile, load_sql_files
from learningloop.sqlfiles import STAGING_PREFIX
from tests.conftest import base_events, event
from tests.strategies import programme_histories

PROPERTY = settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
STAGING = [f.name for f in load_sql_files() if f.name.startswith(STAGING_PREFIX)]

# What each staged row should say, from log_events alone: its own stored identity and the
# earliest recorded_at of the retractions naming it.
EXPECTED = """
select target.position, target.stream, target.version, target.recorded_at,
    min(retraction.recorded_at) as retracted_at
from log_events as target
left join log_events as retraction
    on retraction.type = 'EventRetracted' and retraction.stream = target.stream
    and retraction.retracts = target.version
where target.position in (select position from {table})
group by all
order by target.position
"""


def staged_rows(loop: LearningLoop) -> dict[str, list[tuple[Any, ...]]]:
    return {
        table: loop.sql(
            f"select position, stream, version, recorded_at, retracted_at from {table} "
            "order by position"
        ).rows
        for table in STAGING
    }


def expected_rows(loop: LearningLoop) -> dict[str, list[tuple[Any, ...]]]:
    return {table: loop.sql(EXPECTED.format(table=table)).rows for table in STAGING}


@PROPERTY
@given(raws=programme_histories(max_events=30), data=st.data())
def test_staged_rows_carry_their_first_retraction_whatever_the_pages(
    tmp_path_factory: pytest.TempPathFactory, raws: list[dict[str, Any]], data: st.DataObject
) -> None:
    cuts = sorted(data.draw(st.lists(st.integers(1, len(raws)), max_size=3)))
    page_size = data.draw(st.integers(2, 25))
    with (
        LearningLoop(tmp_path_factory.mktemp("stg") / "s", recorded_by="p") as loop,
        mock.patch.object(projector, "PAGE_SIZE", page_size),
    ):
        for start, stop in zip([0, *cuts], [*cuts, len(raws)], strict=True):
            if start < stop:
                loop.import_events(raws[start:stop])
                loop.project()
        assert staged_rows(loop) == expected_rows(loop)
        # every stored event but a retraction is staged, in exactly one table
        staged = sorted(p for rows in staged_rows(loop).values() for p, *_ in rows)
        assert staged == [
            row[0]
            for row in loop.sql(
                "select position from log_events where type not in "
                "('EventRetracted', 'PartnerJoined', 'PartnerLeft', 'PredictionMade', "
                "'PredictionResolved') order by position"
            ).rows
        ]


MEETING = event("MeetingHeld", "2013-02-01", kind="local", attendees=3)


def test_a_retraction_in_a_later_page_marks_the_staged_row(store_dir: Path) -> None:
    with LearningLoop(store_dir) as loop, mock.patch.object(projector, "PAGE_SIZE", 2):
        loop.import_events([*base_events(), MEETING])
        loop.project()
        assert loop.sql("select retracted_at from stg_meetings").rows == [(None,)]
        loop.import_events([event("EventRetracted", "2013-03-01", retracts=2, reason="typo")])
        loop.project()
        retraction_at = loop.sql(
            "select recorded_at from log_events where type = 'EventRetracted'"
        ).rows
        assert loop.sql("select retracted_at from stg_meetings").rows == retraction_at


def test_a_changed_staging_file_rebuilds_every_table(
    store_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with LearningLoop(store_dir) as loop:
        loop.import_events([*base_events(), MEETING])
        loop.project()
        changed = [
            SqlFile(f.name, f.sql + "\n-- v2\n", f.reads) if f.name == "stg_meetings" else f
            for f in load_sql_files()
        ]
        monkeypatch.setattr(projector, "load_sql_files", lambda: changed)
        assert loop.project() == len(base_events()) + 1
        assert loop.sql("select count(*) from stg_meetings").rows == [(1,)]
