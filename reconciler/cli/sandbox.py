"""``reconcile sandbox serve``: the channel emulators on loopback."""

from __future__ import annotations

import logging
import signal
import threading
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

import click

from reconciler.cli import EXIT_ERROR, main
from reconciler.sandbox.base import EmulatorBase
from reconciler.sandbox.registry import EMULATORS, open_emulator
from reconciler.sandbox.server import LOOPBACK, SandboxServer, serve_in_thread

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class StoreSpec:
    """One ``--store NAME=KIND:SEED.csv``."""

    name: str
    kind: str
    seed: Path


def parse_store(text: str) -> StoreSpec:
    """``NAME=KIND:SEED.csv``; ``click.BadParameter`` says what is wrong."""
    name, equals, rest = text.partition("=")
    kind, colon, seed = rest.partition(":")
    if not (equals and colon and name and seed):
        raise click.BadParameter(f"{text!r}: expected NAME=KIND:SEED.csv")
    if not name.replace("-", "").replace("_", "").isalnum():
        raise click.BadParameter(f"{text!r}: store name {name!r} is not a URL segment")
    if kind not in EMULATORS:
        raise click.BadParameter(f"{text!r}: kind {kind!r} is not {sorted(EMULATORS)}")
    return StoreSpec(name, kind, Path(seed))


@main.group()
def sandbox() -> None:
    """The channel emulators."""


@sandbox.command()
@click.option("--port", type=click.IntRange(0, 65535), default=0, show_default=True)
@click.option(
    "--store",
    "stores",
    multiple=True,
    required=True,
    help="NAME=KIND:SEED.csv, KIND being magento or shopify; repeatable.",
)
@click.option(
    "--state-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path(".reconciler/sandbox-served"),
    show_default=True,
)
@click.option("--host", default=LOOPBACK, show_default=True, help="Loopback only.")
def serve(port: int, stores: tuple[str, ...], state_dir: Path, host: str) -> None:
    """Serve emulators on loopback until stopped; prints the port first."""
    if host != LOOPBACK:
        raise click.BadParameter(f"serves on {LOOPBACK} only", param_hint="--host")
    specs = [parse_store(text) for text in stores]
    emulators = {spec.name: _open(spec, state_dir) for spec in specs}
    stop = threading.Event()
    _on_signals(stop)
    with serve_in_thread(emulators, port=port, state_dir=state_dir) as server:
        _announce(server, specs)
        stop.wait()
    click.echo("sandbox: stopped", err=True)


def _open(spec: StoreSpec, state_dir: Path) -> EmulatorBase:
    try:
        return open_emulator(spec.kind, spec.name, state_dir / spec.name, spec.seed)
    except FileNotFoundError:
        click.echo(f"sandbox: store {spec.name}: seed {spec.seed} not found", err=True)
        raise SystemExit(EXIT_ERROR) from None


def _announce(server: SandboxServer, specs: list[StoreSpec]) -> None:
    click.echo(str(server.port))
    for spec in specs:
        click.echo(f"{spec.name} ({spec.kind}): {server.url(spec.name)}")


def _on_signals(stop: threading.Event) -> None:
    """SIGINT and SIGTERM only set the stop flag; the server then shuts down."""

    def handler(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, handler)
