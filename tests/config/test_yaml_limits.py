"""Strict YAML reading at its limits: aliases past the bound, overlong keys."""

from __future__ import annotations

import time

import pytest
import yaml

from reconciler.config import yamlload
from reconciler.config.yamlload import MAX_ALIASES, parse_yaml
from reconciler.errors import ConfigProblem

PATH = "vendors/acme.yaml"
BOMB = f"more than {MAX_ALIASES} aliases of mappings or sequences; an alias bomb, "
LONG_KEY = " (a key longer than 1,024 characters? SKUs that long are not supported)"
INDENTATION = (
    "; check the indentation of this line and the one above, "
    "or quote a value that contains ': '"
)


def _billion_laughs(levels: int) -> bytes:
    lines = ["lol0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for level in range(1, levels):
        aliases = ", ".join([f"*a{level - 1}"] * 10)
        lines.append(f"lol{level}: &a{level} [{aliases}]")
    return ("\n".join(lines) + "\n").encode()


def test_an_alias_bomb_is_refused_at_the_alias_that_went_past_the_bound() -> None:
    started = time.perf_counter()

    parsed = parse_yaml(_billion_laughs(12), PATH)

    # lol1 writes 10 aliases; each *a1 of lol2 counts itself and its 10 *a0,
    # so the 4th *a1 of lol2 (line 3, column 27) takes the count past 50.
    assert parsed.problems == [
        ConfigProblem(PATH, 3, 27, BOMB + "or a file that should write its values out")
    ]
    assert time.perf_counter() - started < 1.0


def test_aliases_of_text_do_not_count_towards_the_bound() -> None:
    lines = ["text: &t word", "list: &l [a]"]
    lines += [f"k{n}: [*t, *t, *l]" for n in range(1, MAX_ALIASES + 2)]

    parsed = parse_yaml(("\n".join(lines) + "\n").encode(), PATH)

    assert [(p.line, p.column) for p in parsed.problems] == [(MAX_ALIASES + 3, 15)]


@pytest.mark.parametrize(
    ("text", "where", "problem"),
    [
        pytest.param(
            "products:\n  A-1: {}\n  " + "S" * 100_000 + ":\n    mode: manual\n",
            (3, 100_003),
            "could not find expected ':'" + LONG_KEY,
            id="long-key-among-others",
        ),
        pytest.param(
            "products:\n  " + "S" * 100_000 + ": {}\n",
            (2, 100_003),
            "mapping values are not allowed in this context" + LONG_KEY,
            id="long-key-first",
        ),
        pytest.param(
            "products: {" + "S" * 2_000 + ": {}}\n",
            (1, 2_012),
            "did not find expected ',' or '}'" + LONG_KEY,
            id="long-key-in-flow",
        ),
        pytest.param(
            "products:\n  A-1 {}\n  A-2: {}\n",
            (3, 6),
            "mapping values are not allowed in this context" + INDENTATION,
            id="short-key-no-hint",
        ),
        pytest.param(
            "products:\n  A-1: {}\n  A-2\n  A-3: {}\n",
            (4, 3),
            "could not find expected ':'",
            id="missing-colon-no-hint",
        ),
    ],
)
def test_a_key_too_long_for_libyaml_is_explained_at_libyamls_position(
    text: str, where: tuple[int, int], problem: str
) -> None:
    parsed = parse_yaml(text.encode(), PATH)

    assert parsed.problems == [
        ConfigProblem(PATH, *where, f"YAML syntax error: {problem}")
    ]


def test_a_sku_of_a_thousand_characters_is_read() -> None:
    sku = "S" * 1_000

    parsed = parse_yaml(f"products:\n  {sku}: {{}}\n".encode(), PATH)

    assert (parsed.problems, list(parsed.root["products"])) == ([], [sku])


def test_python_yaml_reader_gets_the_same_hint(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(yamlload, "_TagFreeLoader", yaml.SafeLoader)

    parsed = parse_yaml(b"channel:\n  location: Main: back room\n", PATH)

    assert parsed.problems == [
        ConfigProblem(
            PATH,
            2,
            17,
            "YAML syntax error: mapping values are not allowed here" + INDENTATION,
        )
    ]
