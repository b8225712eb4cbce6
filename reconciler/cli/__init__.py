"""The ``reconcile`` command line: parse, call, print, exit code.

Each command lives in a module of this package; this module holds the root
group, which runs a reconcile pass when no command is named, and the options
the commands share. Every option is also read from the ``RECONCILER_*``
variable named after it (``--state`` from ``RECONCILER_STATE``); the command
line wins over the environment, which wins over ``reconciler.yaml``. Errors
go to stderr, plans and reports to stdout, so ``--format json > plan.json``
is always clean JSON.

The options the commands share (``--config``, ``--state``, ``--format``,
``-v``) may stand before the command as well as after it: ``reconcile
--config cfg validate`` validates ``cfg``. An option of a pass only
(``--dry-run``, ``--yes``, ...) named before a command that has no such option
is refused rather than ignored.

Exit codes: 0 success, 1 an error (invalid config, failed read, failed item,
tripped guard, a usage mistake such as an unknown option or a bad value,
changes declined at the prompt), 2 changes pending (``--dry-run
--detailed-exitcode`` only, so a CI step accepting 2 never passes a typo).
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import click
from click.core import ParameterSource

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_PENDING = 2

ENV = "RECONCILER_"
CONTEXT = {"help_option_names": ["-h", "--help"]}

Command = TypeVar("Command", bound=Callable[..., Any])


ROOT_COMMANDLINE = "reconciler.root_commandline"
"""``ctx.meta`` key: the root options written on the command line."""


class HandedDown(click.Option):
    """An option the root group also takes and hands down to the command.

    Click puts an option's variable before its ``default_map``, so a
    ``RECONCILER_FORMAT`` would beat ``reconcile --format text validate``;
    here a value written on the root's command line wins over the variable,
    as a command line does everywhere else.
    """

    def consume_value(
        self, ctx: click.Context, opts: Mapping[str, Any]
    ) -> tuple[Any, ParameterSource]:
        value, source = super().consume_value(ctx, opts)
        written = ctx.meta.get(ROOT_COMMANDLINE, ())
        if source is ParameterSource.ENVIRONMENT and self.name in written:
            handed = ctx.lookup_default(self.name or "")
            if handed is not None:
                return handed, ParameterSource.DEFAULT_MAP
        return value, source


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
    cls=HandedDown,
    show_envvar=True,
    type=click.Path(file_okay=False),
    help="The config repository's folder.",
)
state_option = click.option(
    "--state",
    "state_url",
    envvar=env("--state"),
    cls=HandedDown,
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
    cls=HandedDown,
    show_envvar=True,
    help="Output for people, tools, or a pull-request comment.",
)


def text_or_json_option(help: str) -> Callable[[Command], Command]:
    """``--format`` for the commands whose output is not a plan. They take
    ``markdown`` too, rendered as a list or a table, so that one
    ``RECONCILER_FORMAT=markdown`` serves every step of a CI job."""
    return click.option(
        "--format",
        "output_format",
        type=click.Choice(["text", "json", "markdown"]),
        default="text",
        show_default=True,
        envvar=env("--format"),
        cls=HandedDown,
        show_envvar=True,
        help=help,
    )


allow_mass_change_option = click.option(
    "--allow-mass-change",
    multiple=True,
    metavar="STORE",
    envvar=env("--allow-mass-change"),
    cls=HandedDown,
    show_envvar=True,
    help="Let STORE's plan past its guard for this run (repeatable).",
)


VERBOSE_HELP = "Log events on stderr: -v info, -vv debug, -vvv library debug too."
GIVEN = (ParameterSource.COMMANDLINE, ParameterSource.ENVIRONMENT)
"""Where a root option's value must come from to be handed to a command."""


def _verbose_given(ctx: click.Context, param: click.Parameter, value: int) -> None:
    """A command's own ``-v``: set the logging up again when it was given."""
    source = ctx.get_parameter_source(param.name) if param.name else None
    if source not in (None, ParameterSource.DEFAULT):
        configure_logging(value)


def verbose_option(command: Command) -> Command:
    """``-v/--verbose`` after a command, as before it; every command of the
    root group gets it when it is added (see ``RootGroup.add_command``)."""
    return click.option(
        "-v",
        "--verbose",
        count=True,
        expose_value=False,
        envvar=env("--verbose"),
        callback=_verbose_given,
        help=VERBOSE_HELP,
    )(command)


class UsageMistake(click.UsageError):
    """A usage error with click's message, exiting 1 (2 is "changes pending")."""

    exit_code = EXIT_ERROR


class RootGroup(click.Group):
    """The root group: usage mistakes exit 1, not click's 2 (which means
    "changes pending" here), and the shared options reach the command."""

    def add_command(self, cmd: click.Command, name: str | None = None) -> None:
        _give_verbose(cmd)
        super().add_command(cmd, name)

    def make_context(
        self,
        info_name: str | None,
        args: list[str],
        parent: click.Context | None = None,
        **extra: Any,
    ) -> click.Context:
        try:
            return super().make_context(info_name, args, parent, **extra)
        except UsageMistake:
            raise
        except click.UsageError as error:
            raise UsageMistake(error.format_message(), error.ctx) from error

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except UsageMistake:
            raise
        except click.UsageError as error:
            raise UsageMistake(error.format_message(), error.ctx) from error


def _give_verbose(cmd: click.Command) -> None:
    """Add the shared ``-v`` to ``cmd`` (and a group's commands) once."""
    if not any(param.name == "verbose" for param in cmd.params):
        verbose_option(cmd)
    if isinstance(cmd, click.Group):
        for sub in cmd.commands.values():
            _give_verbose(sub)


def hand_down(ctx: click.Context, command: click.Command) -> None:
    """Give ``command`` the root options set on the command line or by their
    variable, as its defaults (``ctx.default_map``); refuse one given on the
    command line that ``command`` has no parameter for."""
    given = {
        param.name: param
        for param in ctx.command.params
        if param.name and ctx.get_parameter_source(param.name) in GIVEN
    }
    defaults, taken = _defaults_for(command, {n: ctx.params.get(n) for n in given})
    for name, param in given.items():
        source = ctx.get_parameter_source(name)
        if name not in taken and source is ParameterSource.COMMANDLINE:
            flag = max(param.opts, key=len)
            message = f"{flag} is an option of a pass, not of {command.name!r}"
            click.echo(f"reconcile: {message}", err=True)
            ctx.exit(EXIT_ERROR)
    ctx.default_map = {command.name or "": defaults}
    ctx.meta[ROOT_COMMANDLINE] = {
        name
        for name in given
        if ctx.get_parameter_source(name) is ParameterSource.COMMANDLINE
    }


def _defaults_for(
    command: click.Command, values: dict[str, Any]
) -> tuple[dict[str, Any], set[str]]:
    """The default map for ``command`` (nested for a group) and the option
    names it takes."""
    if isinstance(command, click.Group):
        nested: dict[str, Any] = {}
        taken: set[str] = set()
        for name, sub in command.commands.items():
            nested[name], sub_taken = _defaults_for(sub, values)
            taken |= sub_taken
        return nested, taken

    own = {param.name for param in command.params}
    defaults = {name: value for name, value in values.items() if name in own}
    return defaults, set(defaults)


@click.group(cls=RootGroup, invoke_without_command=True, context_settings=CONTEXT)
@click.option(
    "-v",
    "--verbose",
    count=True,
    envvar=env("--verbose"),
    show_envvar=True,
    help=VERBOSE_HELP,
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
    Applying asks for confirmation on a terminal (--yes without one);
    answering no prints "Nothing applied." and exits 1.

    Exit codes: 0 success; 1 an error, a usage mistake, or changes declined
    at the prompt; 2 changes pending (--dry-run --detailed-exitcode only).
    """
    configure_logging(verbose)
    if ctx.invoked_subcommand is None:
        from reconciler.cli.run import run_command

        run_command(**options)
        return

    group = ctx.command
    assert isinstance(group, click.Group)
    command = group.get_command(ctx, ctx.invoked_subcommand)
    if command is not None:
        hand_down(ctx, command)


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


LIBRARY_LOGGERS = ("httpx", "httpcore")
ALWAYS_SHOWN = ("reconciler.sandbox.registry",)
"""Loggers whose warnings show without ``-v``: an embedded emulator's seeding
reports each export row it skipped (file, line, reason) once, when it seeds."""


class _AlwaysShown(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.WARNING and record.name in ALWAYS_SHOWN


LIBRARY_DEBUG = 3
"""``-vvv``: the HTTP libraries' own debug lines too."""


def configure_logging(verbose: int) -> None:
    """Quiet by default: the reports and error messages already tell the user,
    so one handler that drops everything but the seeding warnings of
    ``ALWAYS_SHOWN`` stands in for Python's last-resort one (which would print
    every warning between them). ``-v`` shows info events,
    ``-vv`` debug ones; the HTTP libraries (httpx, httpcore) stay at warnings
    unless ``-vvv``, so their per-request lines do not drown the reconciler's.
    The daemon replaces these handlers with its own."""
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, EventHandler)]:
        root.removeHandler(old)

    handler = EventHandler()
    handler.setFormatter(logging.Formatter("level=%(levelname)s %(message)s"))
    if verbose <= 0:
        handler.addFilter(_AlwaysShown())
    else:
        level = logging.INFO if verbose == 1 else logging.DEBUG
        handler.setLevel(level)
        root.setLevel(level)
    root.addHandler(handler)
    library_level = logging.DEBUG if verbose >= LIBRARY_DEBUG else logging.WARNING
    for name in LIBRARY_LOGGERS:
        logging.getLogger(name).setLevel(library_level)


def _register() -> None:
    """Import every command module of this package; each adds itself to ``main``."""
    import importlib
    import pkgutil

    for module in pkgutil.iter_modules(__path__):
        if not module.name.startswith("_"):
            importlib.import_module(f"{__name__}.{module.name}")


_register()
