"""`changes` streamed from DuckDB (change_rows) against the implementation it replaced, which
held every changed row in Python and sorted by `repr`: the same rows, in the same order, and
the same bytes in every --format."""

from __future__ import annotations

import contextlib
import io
from datetime import date, datetime
from typing import Any
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cli import output, table_chunks
from cli.output import Records, emit, emit_rows
from learningloop import LearningLoop
from learningloop.knowledge import CHANGE_COLUMNS, SECTION_4_TABLES, Changes
from learningloop.loop_session import TABLE_ORDER
from tests.conftest import event, recorded_times
from tests.strategies import programme_histories
from tests.test_knowledge import two_moments_and_a_day

# --- the implementation `changes` had until it streamed (the reference) ---------------------
_DIFFERENCE = "select * from {table}_at($1, {new}) except select * from {table}_at($1, {old})"
_RECORDED_BETWEEN = (
    "select stream, list(position order by position) from log_events "
    "where recorded_at > ?::timestamptz and recorded_at <= ?::timestamptz group by stream"
)


def reference_changes(
    loop: LearningLoop, tables: list[str], as_of: date, since: datetime, until: datetime
) -> list[tuple[Any, ...]]:
    projector = loop._projector()
    queries: dict[str, str] = {}
    for table in tables:
        queries[f"{table}\0removed"] = _DIFFERENCE.format(table=table, new="$2", old="$3")
        queries[f"{table}\0added"] = _DIFFERENCE.format(table=table, new="$3", old="$2")
    found = projector.query_many(queries, None, None, [as_of, since, until])
    recorded = projector.query(_RECORDED_BETWEEN, [since, until])
    positions = {str(stream): list(found_positions) for stream, found_positions in recorded.rows}
    rows: list[tuple[Any, ...]] = []
    for name, result in found.items():
        table, change = name.split("\0")
        for record in sorted(result.records(), key=repr):
            rows.append((table, change, record, positions.get(_stream_of(record), [])))
    return rows


def _stream_of(row: dict[str, Any]) -> str:
    if row.get("experiment") is not None:
        return f"experiment:{row['experiment']}"
    return f"programme:{row.get('programme')}"


# --------------------------------------------------------------------------------------------


def written(write: Any) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        write()
    return out.getvalue()


def assert_same_output(loop: LearningLoop, tables: list[str], *moments: Any) -> None:
    """The rows of `changes` in the reference's order, and the bytes `emit` wrote of them in
    every format, now written a chunk at a time (a table read twice)."""
    expected = reference_changes(loop, tables, *moments)
    found = [tuple(row) for row in Changes(loop._projector(), tables, *moments)]
    assert found == expected
    records = [dict(zip(CHANGE_COLUMNS, row, strict=True)) for row in expected]
    for output_format in ("json", "csv", "table"):
        before = written(lambda f=output_format: emit(records, CHANGE_COLUMNS, f))
        after = written(lambda f=output_format: emit_rows(Records(found, CHANGE_COLUMNS),
                                                          CHANGE_COLUMNS, f))  # fmt: skip
        assert after == before, output_format


@settings(max_examples=15, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip
@given(raws=programme_histories(max_events=25), data=st.data())
def test_changes_stream_the_rows_and_bytes_of_the_implementation_they_replace(
    tmp_path_factory: pytest.TempPathFactory, raws: list[dict[str, Any]], data: st.DataObject
) -> None:
    with LearningLoop(tmp_path_factory.mktemp("changes") / "s", recorded_by="p") as loop:
        loop.import_events(raws)
        t1, t2, as_of = two_moments_and_a_day(loop, data)
        tables = data.draw(st.lists(st.sampled_from(list(TABLE_ORDER)), min_size=1, max_size=4,
                                    unique=True))  # fmt: skip
        in_memory = data.draw(st.integers(0, 3))  # the tables past it are read twice
        with mock.patch.object(table_chunks, "CHUNK_ROWS", data.draw(st.integers(1, 4))), \
                mock.patch.object(output, "TABLE_IN_MEMORY_ROWS", in_memory):  # fmt: skip
            assert_same_output(loop, tables, as_of, t1, t2)


def test_texts_that_python_quotes_and_escapes_sort_as_their_repr(seeded: LearningLoop) -> None:
    t1 = recorded_times(seeded)[-1]
    for number, title in enumerate(["it's", 'say "hi"', "back\\slash", "both ' and \"",
                                    "zé", "Z", "a b", "it's \"x\""]):  # fmt: skip
        seeded.record(event("MilestonePlanned", "2013-03-01", milestone=f"m{number}",
                            title=title, due_on="2013-06-01"))  # fmt: skip
    seeded.record(event("PredictionMade", "2013-03-02", prediction="p1", statement="s",
                        probability=0.00001, resolves_on="2013-04-01"))  # fmt: skip
    seeded.record(event("PredictionMade", "2013-03-02", prediction="p2", statement="s",
                        probability=0.999999, resolves_on="2013-04-01"))  # fmt: skip
    until = recorded_times(seeded)[-1]
    with mock.patch.object(table_chunks, "CHUNK_ROWS", 2), \
            mock.patch.object(output, "TABLE_IN_MEMORY_ROWS", 3):  # fmt: skip
        assert_same_output(seeded, list(SECTION_4_TABLES), date(2014, 1, 1), t1, until)
        assert_same_output(seeded, ["predictions", "prediction_scores"], date(2014, 1, 1),
                           t1, until)  # fmt: skip
