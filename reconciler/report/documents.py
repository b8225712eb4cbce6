"""The documents a command prints on stdout instead of a plan.

With ``--format json`` a command that stops before it has a plan (an invalid
config, a state store it cannot open, a usage mistake) still prints one JSON
object on stdout, so that a CI step's ``plan.json`` is never empty; so does an
import with nothing to push. The objects follow
``reconciler/schemas/errors.schema.json`` and carry ``schema_version`` and a
``kind`` telling them apart. With ``--format markdown`` the same information
is a short heading and a list; with ``text`` nothing goes to stdout (the
messages on stderr say it all).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any

from reconciler.errors import ConfigProblem, SelectionError, StateError, StopRun
from reconciler.report.markdown import escape, escape_prose

SCHEMA_VERSION = "1"
SCHEMA_FILE = "errors.schema.json"

CONFIG_INVALID = "config_invalid"
STATE_ERROR = "state_error"
USAGE_ERROR = "usage_error"
RUN_STOPPED = "run_stopped"
IMPORT_SUMMARY = "import_summary"

TITLES = {
    CONFIG_INVALID: "Config invalid",
    STATE_ERROR: "State store unusable",
    USAGE_ERROR: "Usage error",
    RUN_STOPPED: "Run stopped",
}

Json = dict[str, Any]


@dataclass(frozen=True, slots=True)
class ImportSummary:
    """What an import did (or would do) when it had nothing to push."""

    file: str
    dry_run: bool
    rows: int
    changed: int
    """Hub records the batch changes, new ones included."""
    new: int
    mastered: Sequence[tuple[str, Sequence[str]]]
    """SKUs of the batch whose master is a store, each with those stores."""


def load_schema() -> Json:
    """The JSON Schema of these documents, as shipped inside the package."""
    source = resources.files("reconciler").joinpath("schemas", SCHEMA_FILE)
    schema: Json = json.loads(source.read_text(encoding="utf-8"))
    return schema


def config_invalid(problems: Sequence[ConfigProblem]) -> Json:
    """Every problem of the config, with 0 for the line and column of a
    problem about a whole file or folder (as ``validate --format json``)."""
    return {
        "schema_version": SCHEMA_VERSION,
        "kind": CONFIG_INVALID,
        "problems": [
            {
                "path": problem.path,
                "line": problem.line,
                "column": problem.column,
                "message": problem.message,
            }
            for problem in problems
        ],
    }


def failure(kind: str, message: str) -> Json:
    """A ``state_error``, ``usage_error`` or ``run_stopped`` document."""
    if kind not in (STATE_ERROR, USAGE_ERROR, RUN_STOPPED):
        raise ValueError(f"not a message-only document kind: {kind!r}")
    return {"schema_version": SCHEMA_VERSION, "kind": kind, "message": message}


def kind_of(error: StopRun) -> str:
    """The document's ``kind`` for a command stopped by ``error``."""
    if isinstance(error, SelectionError):
        return USAGE_ERROR
    if isinstance(error, StateError):
        return STATE_ERROR
    return RUN_STOPPED


def import_summary(summary: ImportSummary) -> Json:
    """An import that pushed nothing: its rows, the hub records it changes
    (written unless ``dry_run``) and the SKUs a store is master of."""
    return {
        "schema_version": SCHEMA_VERSION,
        "kind": IMPORT_SUMMARY,
        "file": summary.file,
        "dry_run": summary.dry_run,
        "rows": summary.rows,
        "hub_records_changed": summary.changed,
        "hub_records_new": summary.new,
        "mastered": [
            {"sku": sku, "stores": sorted(stores)} for sku, stores in summary.mastered
        ],
        "pushed": False,
    }


def render_document(document: Json, fmt: str) -> str | None:
    """The document for stdout in ``fmt``; None for ``text``."""
    if fmt == "json":
        return json.dumps(document, indent=2, ensure_ascii=False)
    if fmt == "markdown":
        return _markdown(document)
    return None


def _markdown(document: Json) -> str:
    kind = document["kind"]
    if kind == CONFIG_INVALID:
        lines = _config_markdown(document["problems"])
    elif kind == IMPORT_SUMMARY:
        lines = _summary_markdown(document)
    else:
        lines = [f"### {TITLES[kind]}", "", f"- {escape_prose(document['message'])}"]
    return "\n".join(lines)


def _config_markdown(problems: Sequence[Json]) -> list[str]:
    count = len(problems)
    lines = [
        f"### {TITLES[CONFIG_INVALID]}",
        "",
        f"Nothing was read or written: {count} problem{'s' * (count != 1)}.",
        "",
    ]
    for problem in problems:
        where = problem["path"]
        if problem["line"]:
            where += f":{problem['line']}:{problem['column']}"
        lines.append(f"- `{where}`: {escape(problem['message'])}")
    return lines


def _summary_markdown(document: Json) -> list[str]:
    done = "would change" if document["dry_run"] else "changed"
    mastered = [
        f"{escape(entry['sku'])} ({escape(', '.join(entry['stores']))})"
        for entry in document["mastered"]
    ]
    return [
        f"### Import `{document['file']}`",
        "",
        f"- rows: {document['rows']:,}",
        f"- hub records {done}: {document['hub_records_changed']:,} "
        f"({document['hub_records_new']:,} new)",
        f"- SKUs with a master store: {', '.join(mastered) or 'none'}",
        "- pushed: nothing (no SKU of this batch has the hub as master)",
    ]
