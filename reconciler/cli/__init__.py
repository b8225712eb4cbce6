"""The ``reconcile`` command line: parse, call, print, exit code.

Each command lives in a module of this package; this module holds the root
group, which runs a reconcile pass when no command is named. Options are also
read from ``RECONCILER_*`` environment variables. Errors go to stderr, plans
and reports to stdout, so ``--format json > plan.json`` is always clean JSON.

Exit codes: 0 success, 1 an error (invalid config, failed read, failed item,
tripped guard), 2 changes pending (``--dry-run --detailed-exitcode`` only).
"""

from __future__ import annotations

from typing import Any

import click

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_PENDING = 2

CONTEXT = {"auto_envvar_prefix": "RECONCILER", "help_option_names": ["-h", "--help"]}

config_option = click.option(
    "--config",
    "config_dir",
    default="config",
    show_default=True,
    type=click.Path(file_okay=False),
    help="The config repository's folder.",
)
format_option = click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json", "markdown"]),
    default="text",
    show_default=True,
    help="Output for people, tools, or a pull-request comment.",
)


@click.group(invoke_without_command=True, context_settings=CONTEXT)
@click.option("--dry-run", is_flag=True, help="Print the plan; write nothing.")
@click.option("--yes", is_flag=True, help="Apply without asking for confirmation.")
@config_option
@click.option(
    "--state", "state_url", help="State store URL (sqlite:///, postgresql://)."
)
@click.option("--store", "stores", multiple=True, help="Only this store (repeatable).")
@click.option("--sku", "skus", multiple=True, help="Only this SKU (repeatable).")
@click.option("--include-manual", is_flag=True, help="Sync manual-mode items too.")
@format_option
@click.option("--detailed-exitcode", is_flag=True, help="Exit 2 on pending changes.")
@click.option(
    "--allow-mass-change",
    multiple=True,
    metavar="STORE",
    help="Let STORE's plan past its guard for this run (repeatable).",
)
@click.pass_context
def main(ctx: click.Context, /, **options: Any) -> None:
    """Keep stock figures in sync between the hub and the stores.

    Without a command, run one reconcile pass over the selected stores.
    """
    if ctx.invoked_subcommand is None:
        from reconciler.cli.run import run_command

        run_command(**options)


def _register() -> None:
    """Import every command module of this package; each adds itself to ``main``."""
    import importlib
    import pkgutil

    for module in pkgutil.iter_modules(__path__):
        if not module.name.startswith("_"):
            importlib.import_module(f"{__name__}.{module.name}")


_register()
