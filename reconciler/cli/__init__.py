"""The ``reconcile`` command line: parse, call, print, exit code.

Each command lives in a module of this package; this module holds the root
group, which runs a reconcile pass when no command is named, and the options
the commands share. Every option is also read from the ``RECONCILER_*``
variable named after it (``--state`` from ``RECONCILER_STATE``); the command
line wins over the environment, which wins over ``reconciler.yaml``. Errors
go to stderr, plans and reports to stdout, so ``--format json > plan.json``
is always clean JSON.

Exit codes: 0 success, 1 an error (invalid config, failed read, failed item,
tripped guard), 2 changes pending (``--dry-run --detailed-exitcode`` only).
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_PENDING = 2

ENV = "RECONCILER_"
CONTEXT = {"help_option_names": ["-h", "--help"]}

Command = TypeVar("Command", bound=Callable[..., Any])


def env(option: str) -> str:
    """The variable an option is also read from: ``--allow-mass-change`` ->
    ``RECONCILER_ALLOW_MASS_CHANGE``."""
    return ENV + option.lstrip("-").replace("-", "_").upper()


config_option = click.option(
    "--config",
    "config_dir",
    default="config",
    show_default=True,
    envvar=env("--config"),
    show_envvar=True,
    type=click.Path(file_okay=False),
    help="The config repository's folder.",
)
state_option = click.option(
    "--state",
    "state_url",
    envvar=env("--state"),
    show_envvar=True,
    help="State store URL (sqlite:///, postgresql://); default: reconciler.yaml's.",
)
format_option = click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json", "markdown"]),
    default="text",
    show_default=True,
    envvar=env("--format"),
    show_envvar=True,
    help="Output for people, tools, or a pull-request comment.",
)


def text_or_json_option(help: str) -> Callable[[Command], Command]:
    """``--format text|json`` for the commands that have no markdown form."""
    return click.option(
        "--format",
        "output_format",
        type=click.Choice(["text", "json"]),
        default="text",
        show_default=True,
        envvar=env("--format"),
        show_envvar=True,
        help=help,
    )


allow_mass_change_option = click.option(
    "--allow-mass-change",
    multiple=True,
    metavar="STORE",
    envvar=env("--allow-mass-change"),
    show_envvar=True,
    help="Let STORE's plan past its guard for this run (repeatable).",
)


@click.group(invoke_without_command=True, context_settings=CONTEXT)
@click.option(
    "-v",
    "--verbose",
    count=True,
    envvar=env("--verbose"),
    show_envvar=True,
    help="Log events on stderr: -v info, -vv debug.",
)
@click.option("--dry-run", is_flag=True, help="Print the plan; write nothing.")
@click.option(
    "--yes",
    is_flag=True,
    help="Apply without asking for confirmation (never read from the environment).",
)
@config_option
@state_option
@click.option(
    "--store",
    "stores",
    multiple=True,
    envvar=env("--store"),
    show_envvar=True,
    help="Only this store (repeatable; the variable: names split by spaces).",
)
@click.option(
    "--sku",
    "skus",
    multiple=True,
    envvar=env("--sku"),
    show_envvar=True,
    help="Only this SKU, manual-mode ones too (repeatable; split by spaces).",
)
@click.option(
    "--include-manual",
    is_flag=True,
    envvar=env("--include-manual"),
    show_envvar=True,
    help="Sync manual-mode items too.",
)
@format_option
@click.option(
    "--detailed-exitcode",
    is_flag=True,
    envvar=env("--detailed-exitcode"),
    show_envvar=True,
    help="Exit 2 on pending changes.",
)
@allow_mass_change_option
@click.pass_context
def main(ctx: click.Context, /, verbose: int, **options: Any) -> None:
    """Keep stock figures in sync between the hub and the stores.

    Without a command, run one reconcile pass over the selected stores.
    """
    configure_logging(verbose)
    if ctx.invoked_subcommand is None:
        from reconciler.cli.run import run_command

        run_command(**options)


# --- logging -----------------------------------------------------------------


class EventHandler(logging.Handler):
    """Writes each record as one ``level=... event=... key=value`` line to the
    stderr of the moment (click's test runner swaps it per invocation)."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            sys.stderr.write(self.format(record) + "\n")
            sys.stderr.flush()
        except Exception:  # a closed stream must not break the command
            self.handleError(record)


def configure_logging(verbose: int) -> None:
    """Quiet by default: the reports and error messages already tell the user,
    so one handler that drops everything stands in for Python's last-resort
    one (which would print warnings between them). ``-v`` shows info events,
    ``-vv`` debug ones. The daemon replaces these handlers with its own."""
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, EventHandler)]:
        root.removeHandler(old)

    handler = EventHandler()
    handler.setFormatter(logging.Formatter("level=%(levelname)s %(message)s"))
    if verbose <= 0:
        handler.setLevel(logging.CRITICAL + 1)
    else:
        level = logging.INFO if verbose == 1 else logging.DEBUG
        handler.setLevel(level)
        root.setLevel(level)
    root.addHandler(handler)
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request


def _register() -> None:
    """Import every command module of this package; each adds itself to ``main``."""
    import importlib
    import pkgutil

    for module in pkgutil.iter_modules(__path__):
        if not module.name.startswith("_"):
            importlib.import_module(f"{__name__}.{module.name}")


_register()
