"""JSON Schema validation of parsed config files, with readable, marked errors.

The schemas (2020-12) ship in ``reconciler/schemas/``. Validation is fast on
the valid path: a compiled validator's ``is_valid`` runs first, and the full
``iter_errors`` walk, whose errors are turned into ``path:line:col: message``,
runs only for a file that fails. jsonschema's own messages are not shown: they
echo values (a token must never be echoed) and say "is not valid under any of
the given schemas" where a user needs to know which values were allowed.

Schema nodes may carry ``x-fix`` (how to write the value correctly) and
``x-secret`` (never echo the value); both are plain annotations to a 2020-12
validator.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from functools import cache
from importlib import resources
from typing import Any, Literal, NamedTuple

from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import ValidationError

from reconciler.config.yamlload import Position, YamlFile, YamlList, YamlMap

FileKind = Literal["store", "vendor", "reconciler"]

MIN_INTERVAL = 1
MAX_INTERVAL = 7 * 24 * 3600
"""An interval's bounds in seconds. A store the daemon syncs less than weekly
is a config mistake; tests run the daemon on one-second intervals."""

MIN_TIMEOUT = 1
MAX_TIMEOUT = 10 * 60
"""A channel timeout's bounds in seconds: whole seconds, as for intervals, and
a request still unanswered after ten minutes is better given up and retried."""


class Duration(NamedTuple):
    """A schema ``format`` written as ``30s``, ``5m``, ``1h`` or whole seconds."""

    name: str
    shortest: int
    longest: int
    longest_text: str


INTERVAL = Duration("interval", MIN_INTERVAL, MAX_INTERVAL, "7 days (168h)")
TIMEOUT = Duration("timeout", MIN_TIMEOUT, MAX_TIMEOUT, "10 minutes (10m)")
DURATIONS = {duration.name: duration for duration in (INTERVAL, TIMEOUT)}
"""The duration formats of the shipped schemas, by format name."""

_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600}
_DURATION_TEXT = re.compile(r"([1-9][0-9]*)([smh])")
_LONGEST_COUNT = len(str(max(duration.longest for duration in DURATIONS.values())))

_TYPE_WORDS = {
    "object": "a mapping",
    "array": "a list",
    "string": "text",
    "integer": "a whole number",
    "number": "a number",
    "boolean": "true or false",
    "null": "empty",
}


def duration_seconds(value: Any, duration: Duration) -> int | None:
    """Seconds of a duration (``30s``, ``5m``, ``1h`` or whole seconds), else None.

    The one rule behind the schemas' duration formats, the quick check and
    the loader, so that the three agree: a float (even ``60.0``) is not a
    duration, text must match exactly (no trailing newline), and the value
    lies within the duration's bounds.
    """
    if value.__class__ is int:
        seconds: int = value
    elif value.__class__ is str:
        found = _DURATION_TEXT.fullmatch(value)
        if found is None or len(found[1]) > _LONGEST_COUNT:
            return None
        seconds = int(found[1]) * _UNIT_SECONDS[found[2]]
    else:
        return None
    return seconds if duration.shortest <= seconds <= duration.longest else None


def interval_seconds(value: Any) -> int | None:
    """Seconds of an interval, else None (see ``duration_seconds``)."""
    return duration_seconds(value, INTERVAL)


def timeout_seconds(value: Any) -> int | None:
    """Seconds of a channel timeout, else None (see ``duration_seconds``)."""
    return duration_seconds(value, TIMEOUT)


def duration_fault(value: Any, duration: Duration) -> str | None:
    """Why ``value`` is not a ``duration``, or None when it is one.

    None too for a value that is neither a number nor text: the schema's
    ``type`` reports that one.
    """
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    if duration_seconds(value, duration) is not None:
        return None
    if isinstance(value, float):
        return "is not a whole number"
    if _too_long(value, duration.longest):
        return (
            f"is longer than {duration.longest_text}, "
            f"the longest {duration.name} allowed"
        )
    if _too_short(value, duration.shortest):
        unit = "second" if duration.shortest == 1 else "seconds"
        return (
            f"is shorter than {duration.shortest} {unit}, "
            f"the shortest {duration.name} allowed"
        )
    if isinstance(value, str) and value.strip().isdigit():
        return "is quoted text, not a number"
    return "is not valid"


def _too_short(value: int | str, shortest: int) -> bool:
    if isinstance(value, int):
        return value < shortest
    found = re.fullmatch(r"(-?[0-9]+)([smh])", value)
    return found is not None and int(found[1]) * _UNIT_SECONDS[found[2]] < shortest


def _too_long(value: int | str, longest: int) -> bool:
    if isinstance(value, int):
        return value > longest
    found = _DURATION_TEXT.fullmatch(value)
    return found is not None and (
        len(found[1]) > _LONGEST_COUNT
        or int(found[1]) * _UNIT_SECONDS[found[2]] > longest
    )


def _duration_check(duration: Duration) -> Callable[[Any], bool]:
    return lambda value: duration_fault(value, duration) is None


_FORMATS = FormatChecker(formats=())
for _format in DURATIONS.values():
    _FORMATS.checks(_format.name)(_duration_check(_format))


@cache
def schema_of(kind: FileKind) -> Mapping[str, Any]:
    """The shipped JSON Schema of one file kind."""
    text = resources.files("reconciler.schemas").joinpath(f"{kind}.schema.json")
    schema: Mapping[str, Any] = json.loads(text.read_text(encoding="utf-8"))
    return schema


@cache
def quick_check_of(kind: FileKind) -> Check:
    """A plain-Python yes/no check of one file kind (see ``compile_check``)."""
    schema = schema_of(kind)
    return compile_check(schema, schema)


@cache
def validator_of(kind: FileKind) -> Draft202012Validator:
    """A compiled validator of one file kind (built once per process)."""
    schema = schema_of(kind)
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=_FORMATS)


@cache
def quick_check_apart(kind: FileKind, key: str) -> Check:
    """The quick check of one file kind, the value of top-level ``key`` aside.

    For a caller that has already checked that value itself, as the loader
    does with a vendor's product entries while it builds them.
    """
    schema = dict(schema_of(kind))
    schema["properties"] = {**schema["properties"], key: {}}
    return compile_check(schema, schema)


def validate_file(
    document: YamlFile, kind: FileKind, *, checked_apart: str | None = None
) -> None:
    """Add a problem to ``document`` for every way its root breaks the schema.

    ``checked_apart`` names a top-level key whose value the caller found
    valid already; the quick check then leaves it out. Any failure still
    runs the full walk over the whole file.

    The file may carry problems of its reading already (a duplicate key, a
    refused tag or key): a place already told about is not told again, and
    a mapping that lost a refused key is not said to miss a required key.
    """
    if checked_apart is None:
        check = quick_check_of(kind)
    else:
        check = quick_check_apart(kind, checked_apart)
    if check(document.root):
        return

    validator = validator_of(kind)

    read = {(problem.line, problem.column) for problem in document.problems}
    told: set[Position] = set()
    said: set[tuple[Position, str]] = set()
    for error in validator.iter_errors(document.root):
        once = error.schema.get("format") in DURATIONS
        for where, message in _describe(error, document):
            if where in read:
                continue  # the reading told about this place already
            if once and where in told:
                continue  # a duration breaking several keywords, told once
            if (where, message) in said:
                continue  # one error per missing key, each naming them all
            told.add(where)
            said.add((where, message))
            document.problem(where, message)


Check = Callable[[Any], bool]

_ANNOTATIONS = frozenset(
    {"$schema", "$id", "$defs", "title", "description", "x-fix", "x-secret", "x-key"}
)
_PYTHON_TYPES: dict[str, Check] = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
    "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    "integer": lambda v: (
        (isinstance(v, int) and not isinstance(v, bool))
        or (isinstance(v, float) and v.is_integer())
    ),
}


def compile_check(schema: Mapping[str, Any], root: Mapping[str, Any]) -> Check:
    """A fast yes/no validator for the keywords the shipped schemas use.

    jsonschema is exact but slow on 10,000 product overrides; this check is
    only asked "valid?", and a "no" sends the file to jsonschema for the full,
    explained list of errors. A test holds both to the same answers.

    Speed comes from plain loops instead of generators, one pass over a
    mapping for ``properties`` and ``additionalProperties`` together, and
    each ``$defs`` entry compiled once per root.
    """
    return _Compiler(root).compile(schema)


class _Compiler:
    """Compiles the schemas of one root, each ``$defs`` entry once."""

    def __init__(self, root: Mapping[str, Any]) -> None:
        self.root = root
        self.definitions: dict[str, list[Check]] = {}

    def compile(self, schema: Mapping[str, Any]) -> Check:
        checks = [self.keyword(word, value, schema) for word, value in schema.items()]
        return _all_of([check for check in checks if check is not None])

    def keyword(self, word: str, value: Any, schema: Mapping[str, Any]) -> Check | None:
        if word in _ANNOTATIONS or word == "additionalProperties":
            if word == "additionalProperties" and "properties" not in schema:
                return self.mapping(schema)
            return None
        if word == "properties":
            return self.mapping(schema)
        if word == "type":
            return _type_check(value)
        if word == "enum":
            return _enum_check(value)
        if word == "const":
            return lambda v: v == value and type(v) is type(value)
        if word == "$ref":
            return self.reference(value.removeprefix("#/$defs/"))
        if word == "required":
            return lambda v: not isinstance(v, dict) or all(k in v for k in value)
        if word == "propertyNames":
            names = self.compile(value)
            return lambda v: not isinstance(v, dict) or all(names(k) for k in v)
        return _scalar_keyword(word, value) or self.combinator(word, value, schema)

    def combinator(
        self, word: str, value: Any, schema: Mapping[str, Any]
    ) -> Check | None:
        if word == "allOf":
            return _all_of([self.compile(part) for part in value])
        if word == "anyOf":
            parts = [self.compile(part) for part in value]
            return lambda v: any(part(v) for part in parts)
        if word == "oneOf":
            parts = [self.compile(part) for part in value]
            return lambda v: sum(1 for part in parts if part(v)) == 1
        if word == "not":
            inner = self.compile(value)
            return lambda v: not inner(v)
        if word == "if":
            condition = self.compile(value)
            then = self.compile(schema.get("then", {}))
            orelse = self.compile(schema.get("else", {}))
            return lambda v: then(v) if condition(v) else orelse(v)
        if word in ("then", "else"):
            return None
        raise ValueError(f"schema keyword {word} has no quick check; add one")

    def reference(self, name: str) -> Check:
        """A ``$defs`` entry; one that refers back to itself is compiled lazily."""
        if name in self.definitions:
            slot = self.definitions[name]
            return slot[0] if slot else lambda value: slot[0](value)
        slot = []
        self.definitions[name] = slot
        slot.append(self.compile(self.root["$defs"][name]))
        return slot[0]

    def mapping(self, schema: Mapping[str, Any]) -> Check:
        """``properties`` and ``additionalProperties`` in one pass over a mapping."""
        known = {
            key: self.compile(sub) for key, sub in schema.get("properties", {}).items()
        }
        extra = schema.get("additionalProperties", True)
        closed = extra is False
        other = None if isinstance(extra, bool) else self.compile(extra)

        def check(value: Any) -> bool:
            if not isinstance(value, dict):
                return True
            for key, item in value.items():
                inner = known.get(key, other)
                if inner is None:
                    if closed:
                        return False
                elif not inner(item):
                    return False
            return True

        return check


def _all_of(checks: list[Check]) -> Check:
    """The checks chained with ``and``: no generator per value checked."""
    if not checks:
        return lambda value: True
    combined = checks[0]
    for part in checks[1:]:
        combined = _both(combined, part)
    return combined


def _both(first: Check, second: Check) -> Check:
    return lambda value: first(value) and second(value)


def _scalar_keyword(word: str, value: Any) -> Check | None:
    if word == "pattern":
        regex = re.compile(value)
        return lambda v: not isinstance(v, str) or regex.search(v) is not None
    if word == "minLength":
        return lambda v: not isinstance(v, str) or len(v) >= value
    if word in ("minimum", "maximum"):
        return _bound_check(word, value)
    if word == "format":
        return _format_check(value)
    return None


def _format_check(name: str) -> Check:
    duration = DURATIONS.get(name)
    if duration is None:
        raise ValueError(f"schema format {name} has no quick check; add one")
    return _duration_check(duration)


def _enum_check(choices: Sequence[Any]) -> Check:
    """Equal to a choice and of its very type (so ``true`` is not ``1``)."""
    allowed = frozenset((type(choice), choice) for choice in choices)
    kinds = frozenset(type(choice) for choice in choices)
    return lambda v: type(v) in kinds and (type(v), v) in allowed


def _type_check(value: str | list[str]) -> Check:
    names = [value] if isinstance(value, str) else value
    combined = _PYTHON_TYPES[names[0]]
    for name in names[1:]:
        combined = _either(combined, _PYTHON_TYPES[name])
    return combined


def _either(first: Check, second: Check) -> Check:
    return lambda value: first(value) or second(value)


def _bound_check(word: str, bound: float) -> Check:
    def numeric(v: Any) -> bool:
        return isinstance(v, int | float) and not isinstance(v, bool)

    if word == "minimum":
        return lambda v: not numeric(v) or v >= bound
    return lambda v: not numeric(v) or v <= bound


def _describe(
    error: ValidationError, document: YamlFile
) -> Iterator[tuple[Position, str]]:
    """One or more (position, message) pairs for one jsonschema error."""
    path = list(error.absolute_path)
    field = _dotted(path)
    kind = str(error.validator)

    if kind == "additionalProperties" and error.validator_value is False:
        yield from _unknown_keys(error, field)
    elif kind == "required":
        where = _mark_of(document, path)
        if where not in document.incomplete:
            yield where, _missing(error, field)
    elif "propertyNames" in list(error.relative_schema_path)[-2:]:
        yield _key_problem(error, document, path, field)
    else:
        yield _value_mark(document, path), _value_message(error, field, document, path)


def _unknown_keys(error: ValidationError, field: str) -> Iterator[tuple[Position, str]]:
    mapping = error.instance
    allowed = sorted(error.schema.get("properties", {}))
    for key in mapping:
        if key in allowed:
            continue
        where = mapping.key_mark(key) if isinstance(mapping, YamlMap) else (1, 1)
        guess = difflib.get_close_matches(key, allowed, n=1)
        hint = f"did you mean `{guess[0]}`? " if guess else ""
        place = f" in {field}" if field != "the file" else ""
        yield (
            where,
            (f"unknown key `{key}`{place}; {hint}allowed keys: {', '.join(allowed)}"),
        )


def _key_problem(
    error: ValidationError, document: YamlFile, path: list[Any], field: str
) -> tuple[Position, str]:
    """A key of a mapping breaks ``propertyNames``: told at the key itself."""
    key = str(error.instance)
    mapping = document.root
    for step in path:
        mapping = mapping[step]
    where = mapping.key_mark(key) if isinstance(mapping, YamlMap) else (1, 1)
    noun = error.schema.get("x-key", "key")

    if not key:
        return where, f"{field}: a {noun} must not be empty"
    if not key.strip():
        return where, f"{field}: a {noun} must not be only whitespace"
    return where, (
        f"{field}: {noun} {_show(key)} has surrounding whitespace; "
        f"write it as {_show(key.strip())}"
    )


def _missing(error: ValidationError, field: str) -> str:
    missing = [key for key in error.validator_value if key not in error.instance]
    keys = ", ".join(f"`{key}`" for key in missing)
    return f"{field}: missing required key {keys}"


def _value_message(
    error: ValidationError, field: str, document: YamlFile, path: list[Any]
) -> str:
    kind = str(error.validator)
    secret = bool(error.schema.get("x-secret"))
    shown = "the value" if secret else _show(error.instance)
    ambiguous = document.ambiguous.get(_value_mark(document, path))
    fix = error.schema.get("x-fix", "")
    duration = DURATIONS.get(error.schema.get("format", ""))
    fault = None if duration is None else duration_fault(error.instance, duration)

    if ambiguous is not None and kind in ("enum", "type", "pattern"):
        fix = _ambiguous_fix(error, ambiguous.text)
        return f"{field}: {ambiguous.describe()}; {fix}"
    if fault is not None:
        return f"{field}: {shown} {fault}; {fix}"
    if kind == "enum" and fix:
        return f"{field}: {shown} is not allowed; {fix}"
    if kind == "enum":
        return f"{field}: {shown} is not allowed; write one of {_choices(error)}"
    if kind == "type":
        return _type_message(error, field, shown, fix)
    if kind == "pattern" and secret:
        return f"{field}: a literal secret is not allowed; {fix}"
    if kind in ("pattern", "minimum", "maximum", "exclusiveMinimum"):
        return f"{field}: {shown} is not valid; {fix}".rstrip("; ")
    if kind == "minLength":
        return f"{field}: must not be empty"
    if kind in ("oneOf", "anyOf"):
        return _alternatives(error, field)
    return f"{field}: {shown} is not valid ({kind} {error.validator_value})"


def _type_message(error: ValidationError, field: str, shown: str, fix: str) -> str:
    expected = _expected(error)
    if error.instance is None:
        return f"{field} is empty; write {expected}"
    if isinstance(error.instance, Mapping | list):
        return f"{field}: got {_kind_of(error.instance)}; write {expected}"
    if isinstance(error.instance, bool):
        return f"{field}: {shown} is true or false; {fix or 'write ' + expected}"
    if isinstance(error.instance, int | float) and "text" in expected:
        return f'{field}: {shown} is a number; quote it ("{error.instance}") as text'
    return f"{field}: {shown} is {_kind_of(error.instance)}; write {expected}"


def _alternatives(error: ValidationError, field: str) -> str:
    """oneOf/anyOf over ``required`` branches: "set one of A or B"."""
    branches = error.validator_value
    keys = [key for branch in branches for key in branch.get("required", [])]
    present = [key for key in keys if key in error.instance]
    names = " or ".join(f"`{key}`" for key in keys)
    if len(present) > 1:
        return f"{field}: set only one of {names}, not both"
    if not present:
        return f"{field}: set one of {names}"
    best = min(error.context or [], key=lambda e: len(e.absolute_path), default=None)
    reason = f": {best.message}" if best is not None else ""
    return f"{field}: fits none of the allowed forms{reason}"


def _expected(error: ValidationError) -> str:
    if "enum" in error.schema:
        return f"one of {_choices(error)}"
    types = error.schema.get("type", [])
    if isinstance(types, str):
        types = [types]
    return " or ".join(_TYPE_WORDS.get(name, name) for name in types) or "this"


def _ambiguous_fix(error: ValidationError, text: str) -> str:
    return _written_fix(error.schema) or f'quote it ("{text}") if you mean the text'


def _written_fix(schema: Mapping[str, Any]) -> str | None:
    """How a value of ``schema`` is written, when the schema says."""
    if "enum" in schema:
        return f"write one of {_listed(schema['enum'])}"
    if schema.get("type") == "boolean":
        return "write true or false"
    fix: str | None = schema.get("x-fix")
    return fix


def text_fix(kind: FileKind, key: str, text: str) -> str | None:
    """How to write ``text``, a plain value of ``key`` that YAML readers take
    for a non-string, when quoting it would not be enough.

    For a value the schema check did not reach, such as one under a
    misspelt key (``sycn: {mode: yes}``): if every ``key`` of the file kind's
    schema would refuse the text quoted as well, and they say alike how to
    write it (a fixed set of values, true or false), that. None when the
    text quoted would do, or the key is unknown: "quote it" is the fix then.
    """
    root = schema_of(kind)
    fixes = set()
    for schema in _properties_of(kind).get(key, ()):
        if compile_check(schema, root)(text):
            return None
        fixes.add(_written_fix(schema))
    return fixes.pop() if len(fixes) == 1 else None


@cache
def _properties_of(kind: FileKind) -> Mapping[str, list[Mapping[str, Any]]]:
    """Every key a file kind's schema names anywhere, with its value schemas
    (a ``$ref`` followed)."""
    root = schema_of(kind)
    found: dict[str, list[Mapping[str, Any]]] = {}
    pending: list[Any] = [root]
    while pending:
        node = pending.pop()
        if isinstance(node, Mapping):
            for key, schema in node.get("properties", {}).items():
                found.setdefault(key, []).append(_followed(schema, root))
            pending.extend(node.values())
        elif isinstance(node, list):
            pending.extend(node)
    return found


def _followed(schema: Mapping[str, Any], root: Mapping[str, Any]) -> Mapping[str, Any]:
    while "$ref" in schema:
        schema = root["$defs"][schema["$ref"].removeprefix("#/$defs/")]
    return schema


def _choices(error: ValidationError) -> str:
    return _listed(error.schema["enum"])


def _listed(choices: Sequence[Any]) -> str:
    return ", ".join(
        str(choice).lower() if isinstance(choice, bool) else str(choice)
        for choice in choices
    )


def _show(value: Any) -> str:
    if isinstance(value, YamlMap):
        return "a mapping"
    if isinstance(value, YamlList):
        return "a list"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, str) and not value.isprintable():
        return f"`{json.dumps(value, ensure_ascii=False)[1:-1]}`"  # newline as \n
    return f"`{value}`"


def _kind_of(value: Any) -> str:
    if value is None:
        return "empty"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "text"
    return "a mapping" if isinstance(value, Mapping) else "a list"


def _dotted(path: Sequence[Any]) -> str:
    if not path:
        return "the file"
    return ".".join(str(step) for step in path)


def _node_at(root: Any, path: Sequence[Any]) -> tuple[Any, Any]:
    """The container holding the node at ``path``, and the node's key in it."""
    container = root
    for step in path[:-1]:
        container = container[step]
    return container, path[-1]


def _mark_of(document: YamlFile, path: Sequence[Any]) -> Position:
    """The position of the mapping or list at ``path`` itself."""
    node = document.root
    for step in path:
        node = node[step]
    if isinstance(node, YamlMap | YamlList):
        return node.mark
    return _value_mark(document, path)


def _value_mark(document: YamlFile, path: Sequence[Any]) -> Position:
    """The position of the value at ``path`` (of the file start for the root)."""
    if not path:
        root = document.root
        mark: Position = root.mark if isinstance(root, YamlMap | YamlList) else (1, 1)
        return mark
    container, key = _node_at(document.root, path)
    if isinstance(container, YamlMap):
        return container.value_mark(str(key))
    if isinstance(container, YamlList):
        return container.item_marks[int(key)]
    return (1, 1)
