"""The layers keep the flow config -> policy -> plan <- (hub, channels) -> apply
-> report: each package imports only what lies below it, and only the channel
adapters and the emulators speak HTTP."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "reconciler"

BASE = {"reconciler.errors", "reconciler.clock", "reconciler.skus"}
MODEL = {"reconciler.config.model"}
CONFIG = {"reconciler.config"}
POLICY = {"reconciler.policy"}
VALUES = {"reconciler.channels.base", "reconciler.hub.records"}
PLAN = {"reconciler.plan"}

ALLOWED: dict[str, set[str]] = {
    "reconciler.config": BASE | CONFIG,
    "reconciler.policy": BASE | CONFIG,
    "reconciler.plan": BASE | MODEL | POLICY | VALUES | PLAN,
    "reconciler.hub": BASE | {"reconciler.hub"},
    "reconciler.apply": BASE | VALUES | PLAN | {"reconciler.apply"},
    "reconciler.report": BASE
    | VALUES
    | PLAN
    | {"reconciler.apply", "reconciler.report"},
}
"""For each layer, the modules (and packages) its modules may import."""

HTTP_SPEAKERS = ("reconciler.channels", "reconciler.sandbox")


def module_name(path: Path) -> str:
    relative = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = relative.parts[:-1] if relative.name == "__init__" else relative.parts
    return ".".join(parts)


def imports_of(path: Path) -> set[str]:
    """Every module a file imports, at any depth (function-level too)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def within(module: str, allowed: set[str]) -> bool:
    return any(module == a or module.startswith(a + ".") for a in allowed)


SOURCES = sorted(PACKAGE.rglob("*.py"))


@pytest.mark.parametrize(
    "layer", sorted(ALLOWED), ids=lambda layer: layer.removeprefix("reconciler.")
)
def test_a_layer_imports_only_what_lies_below_it(layer: str) -> None:
    crossings = [
        f"{module_name(path)} imports {imported}"
        for path in SOURCES
        if within(module_name(path), {layer})
        for imported in sorted(imports_of(path))
        if imported.startswith("reconciler") and not within(imported, ALLOWED[layer])
    ]

    assert crossings == []


def test_only_adapters_and_emulators_speak_http() -> None:
    speakers = sorted(
        module_name(path)
        for path in SOURCES
        if any(i == "httpx" or i.startswith("httpx.") for i in imports_of(path))
        and not within(module_name(path), set(HTTP_SPEAKERS))
    )

    assert speakers == []


def test_nothing_below_the_command_line_imports_it() -> None:
    upward = sorted(
        f"{module_name(path)} imports {imported}"
        for path in SOURCES
        if not within(module_name(path), {"reconciler.cli", "reconciler.__main__"})
        for imported in imports_of(path)
        if within(imported, {"reconciler.cli", "reconciler.daemon"})
        and not within(module_name(path), {"reconciler.daemon"})
    )

    assert upward == []
