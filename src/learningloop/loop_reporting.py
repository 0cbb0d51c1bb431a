"""The HTML report: its data gathered in one read, rendered by `learningloop.report`."""

from __future__ import annotations

import os
from collections.abc import Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from learningloop.domain.basics import quote
from learningloop.errors import BadInputError, NotFoundError
from learningloop.loop_session import PathLike, Session, today, utc

if TYPE_CHECKING:  # imported where used: `import` and `record` never load duckdb or pyarrow
    from learningloop.report import ReportData

# The report details every experiment of a store this small; beyond, the most active ones.
REPORT_WHOLE_UP_TO = 30
REPORT_MOST_ACTIVE = 12
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)  # T of a report on an empty log


class Reporting(Session):
    """The self-contained HTML report and the data it shows."""

    def report(
        self,
        out: str | os.PathLike[str],
        as_of: date | None = None,
        known_at: datetime | None = None,
        lang: str = "en",
        *,
        framework: PathLike | None = None,
        since: datetime | None = None,
        experiments: Sequence[str] = (),
        programmes: Sequence[str] = (),
    ) -> Path:
        """Write the self-contained HTML report; the same log, D and T give the same bytes.
        With `experiments` or `programmes`, the detail covers those experiments only;
        `framework`: a what-if framework file; `since`: list what changed since that T1."""
        if lang not in ("en", "fr"):
            raise BadInputError(f"--lang: {quote(lang)} is not en or fr")
        target = Path(out)
        from learningloop.report import render

        data = self.report_data(as_of, known_at, framework=framework, since=since,
                                experiments=experiments, programmes=programmes)  # fmt: skip
        document = render(data, lang)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(document, encoding="utf-8")
        return target

    def report_data(
        self,
        as_of: date | None = None,
        known_at: datetime | None = None,
        *,
        framework: PathLike | None = None,
        since: datetime | None = None,
        experiments: Sequence[str] = (),
        programmes: Sequence[str] = (),
    ) -> ReportData:
        """What the report shows at D (default today), as known at T (default: the last
        recording, so the same log gives the same report): one query_many and the seal; with
        `since`, what changed between T1 and T (CONTRACT 6.5).

        A network of more than REPORT_WHOLE_UP_TO experiments is detailed for its
        REPORT_MOST_ACTIVE most active ones (or those chosen), after a programme summary."""
        from learningloop.knowledge import change_digest
        from learningloop.report import QUERIES, ReportData
        from learningloop.report.summary import LISTED_AT_MOST

        log = self._store.readable_log()
        seal = log.seal()  # before catching up: the projections hold at least this much
        moment_t = utc(known_at) if known_at else log.last_recorded_at() or EPOCH
        moment_d = as_of or today()
        selected, selection = self._report_selection(experiments, programmes, moment_d, moment_t)
        variables = {} if selected is None else {"report_experiments": selected}
        projector = self._projector(framework)
        results = projector.query_many(QUERIES, moment_d, moment_t, variables=variables)
        tables = {name: result.records() for name, result in results.items()}
        what_if = projector.what_if
        found = (
            None
            if since is None
            else change_digest(projector, moment_d, utc(since), moment_t, LISTED_AT_MOST)
        )
        return ReportData(
            moment_d, moment_t, seal.head_digest, **tables,
            selection=selection,
            framework=Path(framework).name if framework else "",
            framework_keys=tuple(f[0] for f in what_if.functions) if what_if else (),
            since=utc(since) if since else None,
            changes=found,
        )  # fmt: skip

    def _report_selection(
        self, experiments: Sequence[str], programmes: Sequence[str], as_of: date, known_at: datetime
    ) -> tuple[list[str] | None, tuple[int, int, bool] | None]:
        """The experiments the report details (None: all) and (shown, total, chosen)."""
        from learningloop.report import BY_ACTIVITY

        found = self.sql(BY_ACTIVITY, as_of, known_at)
        rows = [(str(row[0]), str(row[1])) for row in found.rows]
        if experiments or programmes:
            _check_known("experiment", experiments, {row[0] for row in rows}, as_of)
            _check_known("programme", programmes, {row[1] for row in rows}, as_of)
            chosen = sorted(r[0] for r in rows if r[0] in experiments or r[1] in programmes)
            return chosen, (len(chosen), len(rows), True)
        if len(rows) <= REPORT_WHOLE_UP_TO:
            return None, None
        return [r[0] for r in rows[:REPORT_MOST_ACTIVE]], (REPORT_MOST_ACTIVE, len(rows), False)


def _check_known(name: str, given: Sequence[str], known: set[str], as_of: date) -> None:
    missing = [key for key in given if key not in known]
    if missing:
        raise NotFoundError(
            f"--{name}: no {name} {', '.join(map(repr, missing))} with experiments as of {as_of}"
        )
