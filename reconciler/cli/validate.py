"""``reconcile validate``: load and check the whole config repository.

Exit 0 with a one-line summary when it is valid; exit 1 with every problem
(text on stderr, one ``path:line:col: message`` per line, or a JSON list on
stdout) when it is not. Reads files only; writes nothing anywhere.

A valid repository may still carry warnings: a store whose ``${VAR}`` token
is not set in this environment (CI validates pull requests without secrets).
They never change the exit code. In text they go to stderr as
``path:line:col: warning: message``; with ``--format json`` they are the JSON
list on stdout, in the problems' shape plus ``"severity": "warning"`` (an
error has no ``severity`` key), and the summary goes to stderr.
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
@text_or_json_option("Problems for people (stderr) or as a JSON list (stdout).")
def validate(config_dir: str, output_format: str) -> None:
    """Check every file of the config repository; list every problem."""
    loaded = _load(config_dir)
    if isinstance(loaded, Repository):
        warnings = unset_token_warnings(loaded, os.environ)
        _report_valid(_summary(config_dir, loaded), warnings, output_format)
        sys.exit(EXIT_OK)

    if output_format == "json":
        click.echo(json.dumps([_as_json(problem) for problem in loaded], indent=2))
    else:
        for problem in loaded:
            click.echo(str(problem), err=True)
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


def _report_valid(
    summary: str, warnings: Sequence[ConfigProblem], output_format: str
) -> None:
    """The summary, and the warnings when there are any (see the module doc)."""
    if output_format == "json" and warnings:
        listed = [{**_as_json(w), "severity": WARNING} for w in warnings]
        click.echo(json.dumps(listed, indent=2))
        click.echo(summary, err=True)
        return

    for warning in warnings:
        click.echo(
            f"{warning.path}:{warning.line}:{warning.column}: "
            f"{WARNING}: {warning.message}",
            err=True,
        )
    click.echo(summary)


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
