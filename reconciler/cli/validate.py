"""``reconcile validate``: load and check the whole config repository.

Exit 0 with a one-line summary when it is valid; exit 1 with every problem
(text on stderr, one ``path:line:col: message`` per line, or a JSON list on
stdout) when it is not. Reads files only; writes nothing anywhere.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from reconciler.cli import (
    EXIT_ERROR,
    EXIT_OK,
    config_option,
    main,
    text_or_json_option,
)
from reconciler.config.model import Repository
from reconciler.errors import ConfigInvalid, ConfigProblem
from reconciler.policy import load_policy


@main.command()
@config_option
@text_or_json_option("Problems for people (stderr) or as a JSON list (stdout).")
def validate(config_dir: str, output_format: str) -> None:
    """Check every file of the config repository; list every problem."""
    loaded = _load(config_dir)
    if isinstance(loaded, Repository):
        click.echo(_summary(config_dir, loaded))
        sys.exit(EXIT_OK)

    if output_format == "json":
        click.echo(json.dumps([_as_json(problem) for problem in loaded], indent=2))
    else:
        for problem in loaded:
            click.echo(str(problem), err=True)
    sys.exit(EXIT_ERROR)


def _load(config_dir: str) -> Repository | tuple[ConfigProblem, ...]:
    """The valid repository (two-masters check included), or its problems."""
    if not Path(config_dir).is_dir():
        message = "config folder not found; pass --config DIR"
        return (ConfigProblem(config_dir, 0, 0, message),)
    try:
        return load_policy(config_dir).repository
    except ConfigInvalid as invalid:
        return invalid.problems


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
