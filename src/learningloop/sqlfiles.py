"""The projections' SQL files: loaded from the package, ordered by what they read, and turned
into the bodies of the table macros the projector installs (no DuckDB here, only text).

`log_events.sql` and the staging files `stg_*.sql` are tables the projector fills page by page
(dbt's staging models: one narrow typed table per event kind). Every other `projections/X.sql`
becomes the internal macro `X(requested_as_of, requested_known_at)`, then the public macro
`X_at(as_of, known_at)` and the view `X` over it (projector.py).
"""

from __future__ import annotations

import functools
import hashlib
import re
from dataclasses import dataclass
from importlib import resources

# Bump when the Python side of the mapping (what `batch` holds) changes: it forces a rebuild.
MAPPING_VERSION = "1"
# Bump when the way views and macros are made from the .sql files changes: they are replaced.
GENERATION = "2"
# Each .sql file X becomes a table macro of this schema, `X(requested_as_of, requested_known_at)`,
# then the public macro `main.X_at(as_of, known_at)` and the view `main.X` over it.
INTERNAL_SCHEMA = "learningloop_internal"
# Each contract table and the order its rows are listed in.
TABLE_ORDER = {
    "events": "position",
    "experiments": "experiment",
    "timeline": "experiment, occurred_on, version",
    "function_coverage": "experiment, ordinal",
    "experiment_coverage": "experiment",
    "commitment_cadence": "experiment, commitment, period",
    "review_completion": "experiment, review",
    "milestones": "experiment, due_on, milestone",
    "decisions": "experiment, occurred_on, version",
    "learning_loops": "experiment",
    "partners": "programme, partner",
    "decision_revisions": "experiment, decision, evidence",
    "learning_latency": "experiment",
    "predictions": "experiment, made_on, prediction",
    "prediction_scores": "experiment",
}
INNER_NAMES = {"as_of": "_as_of", "known_at": "_known_at"}
INGEST_FILE = "log_events"
STAGING_PREFIX = "stg_"
# The event type whose rows mark others retracted (a catch-up page, the indicator merge).
RETRACTION = "EventRetracted"
# What a staging file reads: the page's rows of log_events (without payload), a temporary table
# of the page being projected (projection_pages.py).
NEW_ROWS = "new_log_events"


def is_table(name: str) -> bool:
    """A projection filled page by page (log_events, the staging tables), not a view."""
    return name == INGEST_FILE or name.startswith(STAGING_PREFIX)


@dataclass(frozen=True)
class SqlFile:
    """One projection: its name (= file name = table name), SQL, version and inputs."""

    name: str
    sql: str
    reads: tuple[str, ...]

    @property
    def version(self) -> str:
        text = self.sql + (MAPPING_VERSION if is_table(self.name) else GENERATION)
        return hashlib.sha256(text.encode()).hexdigest()[:12]

    def macro_body(self) -> str:
        """The file's query with every projection it reads shadowed by a CTE of the same name
        that calls that projection's macro at the same (D, T): the query itself is unchanged,
        and no view (hence no connection variable) is read on the way."""
        shadows = ", ".join(
            f"{name} as not materialized "
            f"(select * from {INTERNAL_SCHEMA}.{name}(requested_as_of, requested_known_at))"
            for name in self.reads
            if not is_table(name)
        )
        body = _inner_names(_without_leading_comments(self.sql))
        if not shadows:
            return body
        opening = re.match(r"with(\s+recursive)?\s", body, flags=re.I)
        if opening is None:
            return f"with {shadows} {body}"
        return f"{opening.group(0)}{shadows}, {body[opening.end() :]}"


def load_sql_files() -> list[SqlFile]:
    """Every `.sql` file of the projections package, each after the views it reads."""
    return list(_parsed_sql_files())


@functools.cache
def _parsed_sql_files() -> tuple[SqlFile, ...]:
    """Read and parsed once a process: the files ship with the package, and every command
    (a `sql` after a `record` too) makes a projector that needs them."""
    package = resources.files("learningloop.projections")
    files = {
        entry.name.removesuffix(".sql"): entry.read_text(encoding="utf-8")
        for entry in package.iterdir()
        if entry.name.endswith(".sql")
    }
    parsed = {name: SqlFile(name, sql, _reads(sql, set(files))) for name, sql in files.items()}
    return tuple(_in_dependency_order(parsed))


def _reads(sql: str, known: set[str]) -> tuple[str, ...]:
    """Names of other projections the file reads: those listed in the header's `reads:` lines
    and those its query selects from or joins (a forgotten header line must not make a macro
    read a view, which would answer at the connection's variables instead of its arguments)."""
    header = "\n".join(line for line in sql.splitlines() if line.startswith("--"))
    match = re.search(r"-- reads:(.*?)(?:\n-- \w+:|\Z)", header, flags=re.S)
    words = set(re.findall(r"[a-z_]+", match.group(1) if match else ""))
    query = re.sub(r"--[^\n]*|'(?:[^']|'')*'", " ", sql)
    ctes = set(re.findall(r"(\w+)\s+as\s*(?:not\s+)?(?:materialized\s*)?\(", query, flags=re.I))
    selected = set(re.findall(r"\b(?:from|join)\s+(\w+)", query, flags=re.I)) - ctes
    return tuple(sorted((words | selected) & known))


def _inner_names(sql: str) -> str:
    """`as_of` -> `_as_of` and `known_at` -> `_known_at` outside strings and comments.

    DuckDB refuses a column reference that has the name of a parameter of an enclosing macro,
    and the public macros' parameters are `as_of` and `known_at`, the names of moment's
    columns: inside the macros those columns go by these inner names."""

    def renamed(match: re.Match[str]) -> str:
        return "_" + match.group(0) if match.group(0) in INNER_NAMES else match.group(0)

    return re.sub(r"'(?:[^']|'')*'|--[^\n]*|\b(?:as_of|known_at)\b", renamed, sql)


def public_columns(columns: list[str]) -> str:
    """The select list giving the inner names back their public names."""
    if not any(column in INNER_NAMES.values() for column in columns):
        return "*"
    public = {inner: name for name, inner in INNER_NAMES.items()}
    return ", ".join(f"{c} as {public[c]}" if c in public else c for c in columns)


def _without_leading_comments(sql: str) -> str:
    lines = sql.strip().splitlines()
    while lines and (not lines[0].strip() or lines[0].lstrip().startswith("--")):
        lines.pop(0)
    return "\n".join(lines)


def _in_dependency_order(files: dict[str, SqlFile]) -> list[SqlFile]:
    ordered: list[SqlFile] = []
    placed: set[str] = set()

    def place(name: str, path: tuple[str, ...]) -> None:
        if name in placed:
            return
        if name in path:
            raise RuntimeError(f"projection {name} depends on itself: {' -> '.join(path)}")
        for dependency in files[name].reads:
            place(dependency, (*path, name))
        placed.add(name)
        ordered.append(files[name])

    for name in sorted(files):
        place(name, ())
    return ordered


def literal(text: str) -> str:
    """A SQL string literal of `text`, for a value the library writes into its own SQL."""
    return "'" + text.replace("'", "''") + "'"
