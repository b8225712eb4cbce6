"""``reconcile validate``: load and check the whole config repository.

Exit 0 with a one-line summary when it is valid; exit 1 with every problem
(``path:line:col: message``, or ``path: message`` for a whole folder or
file) when it is not. Reads files only; writes nothing anywhere.

Where the output goes, by ``--format``:

- text: problems on stderr, one per line; the summary of a valid repository
  on stdout;
- json: always a JSON list on stdout, ``[]`` for a valid repository without
  warnings, each problem as ``{"path", "line", "column", "message"}``; the
  summary or the problem count goes to stderr;
- markdown: a bulleted list of the problems on stdout, or the summary line.

A valid repository may still carry warnings: a store whose ``${VAR}`` token
is not set in this environment (CI validates pull requests without secrets).
They never change the exit code. In text they go to stderr as
``path:line:col: warning: message``; in JSON they are entries of the list in
the problems' shape plus ``"severity": "warning"`` (an error has no
``severity`` key); in Markdown they are list items marked *warning*.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path

import click

from reconciler.cli import (
    EXIT_ERROR,
    EXIT_OK,
    config_option,
    main,
    text_or_json_option,
)
from reconciler.config.checks import unset_token_warnings
from reconciler.config.model import Repository
from reconciler.errors import ConfigInvalid, ConfigProblem
from reconciler.policy import load_policy

WARNING = "warning"


@main.command()
@config_option
@text_or_json_option("Problems for people (stderr), as a JSON list, or in Markdown.")
def validate(config_dir: str, output_format: str) -> None:
    """Check every file of the config repository; list every problem."""
    loaded = _load(config_dir)
    if isinstance(loaded, Repository):
        warnings = unset_token_warnings(loaded, os.environ)
        _report_valid(_summary(config_dir, loaded), warnings, output_format)
        sys.exit(EXIT_OK)

    _report_invalid(loaded, output_format)
    sys.exit(EXIT_ERROR)


def _load(config_dir: str) -> Repository | tuple[ConfigProblem, ...]:
    """The valid repository (two-masters check included), or its problems."""
    folder = Path(config_dir)
    if not folder.is_dir() and not folder.is_symlink():
        message = "config folder not found; pass --config DIR"
        return (ConfigProblem(config_dir, 0, 0, message),)
    try:
        return load_policy(config_dir).repository
    except ConfigInvalid as invalid:
        return invalid.problems


def _report_invalid(problems: Sequence[ConfigProblem], output_format: str) -> None:
    """Every problem on stderr, and the JSON list or Markdown list on stdout."""
    if output_format == "json":
        click.echo(json.dumps([_as_json(problem) for problem in problems], indent=2))
        click.echo(str(ConfigInvalid(problems)), err=True)
    elif output_format == "markdown":
        click.echo(_markdown_list(problems, severity="error"))
    else:
        for problem in problems:
            click.echo(str(problem), err=True)


def _report_valid(
    summary: str, warnings: Sequence[ConfigProblem], output_format: str
) -> None:
    """The summary, and the warnings when there are any (see the module doc)."""
    if output_format == "json":
        listed = [{**_as_json(w), "severity": WARNING} for w in warnings]
        click.echo(json.dumps(listed, indent=2))
        click.echo(summary, err=True)
        return

    if output_format == "markdown":
        click.echo(f"**{summary}**")
        if warnings:
            click.echo("\n" + _markdown_list(warnings, severity=WARNING))
        return

    for warning in warnings:
        click.echo(warning.with_severity(WARNING), err=True)
    click.echo(summary)


def _markdown_list(problems: Sequence[ConfigProblem], *, severity: str) -> str:
    """``- `path:line:col` *error*: message``, one item per problem."""
    return "\n".join(
        f"- `{problem.where}` *{severity}*: {problem.message}" for problem in problems
    )


def _summary(config_dir: str, repository: Repository) -> str:
    return (
        f"{config_dir}: valid; {_count(len(repository.stores), 'store')}, "
        f"{_count(len(repository.vendors), 'vendor')}, "
        f"{_count(len(repository.vendor_of), 'product')}"
    )


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'s' * (number != 1)}"


def _as_json(problem: ConfigProblem) -> dict[str, str | int]:
    return {
        "path": problem.path,
        "line": problem.line,
        "column": problem.column,
        "message": problem.message,
    }
