"""The fast yes/no schema check gives jsonschema's answer on every corpus file."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.config.schema import FileKind, quick_check_of, validator_of
from reconciler.config.yamlload import parse_yaml

CASES = Path(__file__).parent / "cases"


def _kind(relative: str) -> FileKind | None:
    if relative.startswith("stores/"):
        return "store"
    if relative.startswith("vendors/"):
        return "vendor"
    return "reconciler" if relative == "reconciler.yaml" else None


def _files() -> list[tuple[str, FileKind, Path]]:
    found = []
    for path in sorted(CASES.rglob("*.yaml")):
        case, *inside = path.relative_to(CASES).parts
        kind = _kind("/".join(inside))
        if kind is not None:
            found.append(("/".join([case, *inside]), kind, path))
    return found


FILES = _files()


def test_the_corpus_holds_valid_and_invalid_files_of_every_kind() -> None:
    kinds = {kind for _, kind, _ in FILES}
    answers = set()
    for _, kind, path in FILES:
        parsed = parse_yaml(path.read_bytes(), "x.yaml")
        if not parsed.problems:
            answers.add(validator_of(kind).is_valid(parsed.root))

    assert (kinds, answers) == ({"store", "vendor", "reconciler"}, {True, False})


@pytest.mark.parametrize(("name", "kind", "path"), FILES, ids=[f[0] for f in FILES])
def test_quick_check_agrees_with_jsonschema(
    name: str, kind: FileKind, path: Path
) -> None:
    parsed = parse_yaml(path.read_bytes(), name)

    assert quick_check_of(kind)(parsed.root) == validator_of(kind).is_valid(parsed.root)
