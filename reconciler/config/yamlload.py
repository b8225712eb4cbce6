"""Strict YAML reading: plain values with line marks, or a list of problems.

libyaml composes the node graph (the fast part, in C); this module walks that
graph once and builds plain ``dict``/``list``/``str``/``int``/``float``/
``bool``/``None`` values, keeping the 1-based line and column of every node.
PyYAML's constructor machinery is not used: it is slower, it silently keeps
the last of two duplicate keys, and it expands aliases without limit.

Plain scalars are read by a deliberately narrow rule set: ``true``/``false``,
``null``/``~``, decimal integers and floats. Anything another YAML reader
(1.1 or 1.2) would turn into something else than text -- ``yes``/``no``/
``on``/``off``/``y``/``n``, ``0123``, ``0x1F``, ``1e3``, ``.inf``, dates --
stays text here but is remembered as *ambiguous*, so that the loader can refuse
it with a message that says how to write it unambiguously.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from typing import Any

import yaml

from reconciler.errors import ConfigProblem

log = logging.getLogger(__name__)

try:
    _Loader: type[yaml.SafeLoader] | type[yaml.CSafeLoader] = yaml.CSafeLoader
    LIBYAML = True
except AttributeError:  # PyYAML built without libyaml
    _Loader = yaml.SafeLoader
    LIBYAML = False

_RESOLVER = yaml.resolver.Resolver()


MAX_ALIASES = 50
"""Aliases of mappings or sequences one file may use; a bomb stops here."""

Position = tuple[int, int]

_TAG = "tag:yaml.org,2002:"
_MAP, _SEQ, _STR = _TAG + "map", _TAG + "seq", _TAG + "str"
_MERGE = _TAG + "merge"
_SCALAR_TAGS = frozenset(
    _TAG + name for name in ("str", "int", "float", "bool", "null")
)


_NO_PATH_RESOLVERS: dict[Any, Any] = {}
"""Stays empty: its ``get`` is a no-op taking a node and an index."""


class _TagFreeLoader(_Loader):  # type: ignore[valid-type,misc]
    """libyaml's composer for text without any ``!``, so without explicit tags.

    The builder reads plain scalars by its own narrow rules and looks at a
    node's tag only when the file has explicit tags, or for a ``<<`` key. So
    for tag-free text PyYAML's regex resolver, run once per scalar and about
    a quarter of the compose time, is replaced by this one-line choice.

    libyaml's composer also calls ``descend_resolver`` and ``ascend_resolver``
    around every node; they serve path resolvers, which no loader here
    registers. They are replaced by built-in callables that take the same
    arguments and do nothing, so the composer makes no Python-level call
    for them (about a tenth of the compose time).
    """

    descend_resolver = _NO_PATH_RESOLVERS.get
    ascend_resolver = tuple

    def resolve(self, kind: type[yaml.Node], value: Any, implicit: Any) -> str:
        if kind is yaml.ScalarNode:
            return _MERGE if value == "<<" and implicit[0] else _STR
        return _MAP if kind is yaml.MappingNode else _SEQ


_NULLS = frozenset({"", "~", "null", "Null", "NULL"})
_TRUE = frozenset({"true", "True", "TRUE"})
_FALSE = frozenset({"false", "False", "FALSE"})
_YAML11_BOOLEANS = frozenset({"yes", "no", "on", "off", "y", "n"})
_INT = re.compile(r"[-+]?(0|[1-9][0-9]*)")
_FLOAT = re.compile(r"[-+]?([0-9]+\.[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?")
_AMBIGUOUS = (
    (re.compile(r"[-+]?0[0-7_]+"), "an octal number"),
    (re.compile(r"[-+]?0[xX][0-9a-fA-F_]+|[-+]?0o[0-7]+|[-+]?0b[01_]+"), "a number"),
    (re.compile(r"[-+]?[0-9][0-9_]*(\.[0-9_]*)?([eE][-+]?[0-9]+)?"), "a number"),
    (re.compile(r"[-+]?(\.inf|\.Inf|\.INF)|\.nan|\.NaN|\.NAN"), "a number"),
    (
        re.compile(r"[-+]?[0-9][0-9_]*(:[0-5]?[0-9])+(\.[0-9_]*)?"),
        "a sexagesimal number",
    ),
    (re.compile(r"[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}([Tt ].*)?"), "a date"),
)
_MAYBE_SPECIAL = frozenset("0123456789-+.")


class YamlMap(dict[str, Any]):
    """A mapping with its own position and the nodes of each key and value.

    Positions of keys and values are computed on demand from the kept nodes:
    most are never asked for, and building a tuple for each would double the
    cost of reading a large vendor file.
    """

    __slots__ = ("mark", "nodes")

    mark: Position
    nodes: dict[str, tuple[yaml.Node, yaml.Node]]

    @classmethod
    def empty(cls, mark: Position) -> YamlMap:
        """A mapping standing in for a section the file leaves out."""
        result = cls()
        result.mark = mark
        result.nodes = {}
        return result

    def key_mark(self, key: str) -> Position:
        return _position(self.nodes[key][0])

    def value_mark(self, key: str) -> Position:
        return _position(self.nodes[key][1])


class YamlList(list[Any]):
    """A sequence with the position of itself and of each item."""

    __slots__ = ("item_marks", "mark")

    def __init__(self, mark: Position) -> None:
        super().__init__()
        self.mark = mark
        self.item_marks: list[Position] = []


@dataclass(frozen=True, slots=True)
class Ambiguous:
    """A plain scalar kept as text that other YAML readers turn into a non-string."""

    text: str
    reading: str

    def describe(self) -> str:
        """Such as: `no` reads as a boolean in YAML 1.1."""
        return describe_reading(self.text, self.reading)


def describe_reading(text: str, reading: str) -> str:
    """How YAML reads a plain scalar: "`0123` reads as an octal number in YAML"."""
    where = "" if "YAML" in reading else " in YAML"
    return f"`{text}` reads as {reading}{where}"


@dataclass(slots=True)
class YamlFile:
    """One parsed file: its root value (None when empty or unreadable).

    ``incomplete`` holds the positions of the mappings that lost a key the
    reader refused (a merge key, a list as key), so that the schema check
    does not call a key missing that the file may well set.
    """

    path: str
    root: Any = None
    problems: list[ConfigProblem] = field(default_factory=list)
    ambiguous: dict[Position, Ambiguous] = field(default_factory=dict)
    incomplete: set[Position] = field(default_factory=set)

    def problem(self, where: Position, message: str) -> None:
        self.problems.append(ConfigProblem(self.path, where[0], where[1], message))


def parse_yaml(data: bytes, path: str) -> YamlFile:
    """Parse one file strictly; every refusal lands in ``YamlFile.problems``."""
    result = YamlFile(path)
    text = _decode(data, result)
    if text is None or _has_tabs(text, result):
        return result

    explicit_tags = "!" in text
    try:
        node = _compose(text, _Loader if explicit_tags else _TagFreeLoader)
    except yaml.MarkedYAMLError as error:
        _syntax_problem(error, result, text)
        return result

    if node is not None:
        result.root = _Builder(result, explicit_tags, text).build(node)
    return result


def _compose(text: str, loader_class: Any) -> yaml.Node | None:
    """What ``yaml.compose`` does, with the loader class chosen per file."""
    loader = loader_class(text)
    try:
        node: yaml.Node | None = loader.get_single_node()
        return node
    finally:
        loader.dispose()


def reading_of(text: str) -> str | None:
    """What a YAML 1.1 or 1.2 reader would make of plain ``text``, if not text."""
    if len(text) > 5 and text[:1] not in _MAYBE_SPECIAL:
        return None
    if text in _NULLS:
        return "null"
    if text in _TRUE or text in _FALSE or text.lower() in _YAML11_BOOLEANS:
        if text.lower() in _YAML11_BOOLEANS:
            return "a boolean in YAML 1.1"
        return "a boolean"
    if text[:1] not in _MAYBE_SPECIAL and text not in (".inf", ".nan"):
        return None
    for pattern, reading in _AMBIGUOUS:
        if pattern.fullmatch(text):
            return reading
    return None


def _decode(data: bytes, result: YamlFile) -> str | None:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        before = data[: error.start]
        line = before.count(b"\n") + 1
        column = error.start - (before.rfind(b"\n") + 1) + 1
        result.problem(
            (line, column),
            f"the file is not UTF-8 (byte 0x{data[error.start]:02x} at offset "
            f"{error.start}); save it as UTF-8",
        )
        return None
    return text.removeprefix("\ufeff")


def _has_tabs(text: str, result: YamlFile) -> bool:
    if "\t" not in text:
        return False
    for number, line in enumerate(text.splitlines(), start=1):
        column = line.find("\t")
        if column >= 0:
            result.problem(
                (number, column + 1),
                "tab character; YAML files here use spaces only (indent with spaces, "
                "and write a tab inside text as a quoted \\t)",
            )
    return True


LONGEST_KEY = 1024
"""libyaml reads a plain or quoted key only within this many characters."""

_KEY_ERRORS = frozenset(
    {
        "could not find expected ':'",
        "mapping values are not allowed in this context",
        "did not find expected ',' or '}'",
    }
)


_MISPLACED_COLON = frozenset(
    {
        "mapping values are not allowed in this context",  # libyaml
        "mapping values are not allowed here",  # PyYAML without libyaml
    }
)
"""Said of a ``key: value`` line indented deeper than its sibling above, or of
a plain value that holds ``': '`` itself (``location: Main: back room``)."""


def _syntax_problem(error: yaml.MarkedYAMLError, result: YamlFile, text: str) -> None:
    mark = error.problem_mark or error.context_mark
    where = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
    what = error.problem or error.context or "unreadable YAML"
    if what in _KEY_ERRORS and _on_a_long_line(error, text):
        what += (
            f" (a key longer than {LONGEST_KEY:,} characters? "
            "SKUs that long are not supported)"
        )
    elif what in _MISPLACED_COLON:
        what += (
            "; check the indentation of this line and the one above, "
            "or quote a value that contains ': '"
        )
    result.problem(where, f"YAML syntax error: {what}")


def _on_a_long_line(error: yaml.MarkedYAMLError, text: str) -> bool:
    """Whether the error's position or its context lies on a line too long
    for libyaml to read a key on, where its message alone misleads."""
    lines = text.split("\n")
    marks = (error.problem_mark, error.context_mark)
    numbers = {mark.line for mark in marks if mark is not None}
    return any(len(lines[number]) > LONGEST_KEY for number in numbers)


def _position(node: yaml.Node) -> Position:
    return (node.start_mark.line + 1, node.start_mark.column + 1)


class _AliasLimit(Exception):
    """Raised once a file uses more aliases than ``MAX_ALIASES``."""

    def __init__(self, where: Position) -> None:
        super().__init__(where)
        self.where = where


class _Builder:
    """Walks one composed node graph into plain values with marks."""

    def __init__(self, result: YamlFile, explicit_tags: bool, text: str) -> None:
        self.result = result
        self.explicit_tags = explicit_tags
        self.text = text
        self.may_alias = "*" in text
        self.seen: set[int] = set()
        self.aliases = 0
        self.text_keys: set[str] = set()
        self.plain_values: dict[str, Any] = {}

    def build(self, node: yaml.Node) -> Any:
        try:
            return self.value(node)
        except _AliasLimit as limit:
            self.result.problem(
                _alias_past_limit(node, self.text) or limit.where,
                f"more than {MAX_ALIASES} aliases of mappings or sequences; an "
                "alias bomb, or a file that should write its values out",
            )
            return None

    def value(self, node: yaml.Node) -> Any:
        if isinstance(node, yaml.ScalarNode):
            return self.scalar(node)
        if self.may_alias:
            self.count_alias(node)
        if node.tag != _MAP and node.tag != _SEQ:
            return self.refuse_tag(node)
        if isinstance(node, yaml.MappingNode):
            return self.mapping(node)
        assert isinstance(node, yaml.SequenceNode)
        return self.sequence(node)

    def count_alias(self, node: yaml.Node) -> None:
        """A collection node met twice was reached through an alias."""
        key = id(node)
        if key in self.seen:
            self.aliases += 1
            if self.aliases > MAX_ALIASES:
                raise _AliasLimit(_position(node))
        else:
            self.seen.add(key)

    def mapping(self, node: yaml.MappingNode) -> YamlMap:
        result = YamlMap()
        mark = node.start_mark
        result.mark = (mark.line + 1, mark.column + 1)
        nodes: dict[str, tuple[yaml.Node, yaml.Node]] = {}
        result.nodes = nodes
        text_keys, plain_values = self.text_keys, self.plain_values
        tag_free = not self.explicit_tags
        for pair in node.value:
            key_node, value_node = pair
            key = key_node.value
            if (
                key_node.__class__ is not yaml.ScalarNode
                or key_node.tag != _STR
                or not (key_node.style or key in text_keys)
            ):
                key = self.key(key_node)
                if key is None:
                    self.result.incomplete.add(result.mark)
                    continue
            if key in nodes:
                self.duplicate(key, _position(key_node), _position(nodes[key][0]))
                continue
            if tag_free and value_node.__class__ is yaml.ScalarNode:
                text = value_node.value
                if value_node.style:
                    result[key] = text
                elif text in plain_values:
                    result[key] = plain_values[text]
                else:
                    result[key] = self.remembered_plain(value_node, text)
            elif tag_free and value_node.__class__ is yaml.MappingNode:
                if self.may_alias:
                    self.count_alias(value_node)
                result[key] = self.mapping(value_node)
            else:
                result[key] = self.value(value_node)
            nodes[key] = pair
        return result

    def sequence(self, node: yaml.SequenceNode) -> YamlList:
        result = YamlList(_position(node))
        for item in node.value:
            result.append(self.value(item))
            result.item_marks.append(_position(item))
        return result

    def key(self, node: yaml.Node) -> str | None:
        """The key's text, or None for a key that cannot be kept.

        A plain key other readers take for a non-string is refused but kept
        as the text it is written as, so the rest of the file is still
        checked against its schema in the same run.
        """
        where = _position(node)
        if not isinstance(node, yaml.ScalarNode):
            self.result.problem(where, "a key must be text, not a mapping or list")
            return None
        if node.tag == _TAG + "merge":
            self.result.problem(
                where, "merge keys (<<) are not supported; write the keys out"
            )
            return None
        text: str = node.value
        reading = None if node.style else reading_of(text)
        if reading is not None or (node.tag != _STR and not self.plain_implicit(node)):
            what = describe_reading(text, reading or f"{node.tag}, not text")
            self.result.problem(
                where, f'key {what}; quote it ("{text}") so it stays text'
            )
            return text if reading is not None else None
        if node.tag == _STR and not node.style:
            self.text_keys.add(text)
        return text

    def duplicate(self, key: str, where: Position, first: Position) -> None:
        self.result.problem(
            where,
            f"duplicate key `{key}` (first at line {first[0]}); "
            "keep one and remove the other",
        )

    def scalar(self, node: yaml.ScalarNode) -> Any:
        text: str = node.value
        if node.style:
            return self.quoted(node, text)
        if self.explicit_tags and not self.plain_implicit(node):
            return self.tagged(node, text)
        return self.plain(node, text)

    def plain(self, node: yaml.ScalarNode, text: str) -> Any:
        if text[:1] not in _MAYBE_SPECIAL and len(text) > 5:
            return text
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        if text in _NULLS:
            return None
        if _INT.fullmatch(text):
            return int(text)
        if _FLOAT.fullmatch(text) and "e" not in text.lower():
            return float(text)
        reading = reading_of(text)
        if reading is not None:
            self.result.ambiguous[_position(node)] = Ambiguous(text, reading)
        return text

    def remembered_plain(self, node: yaml.ScalarNode, text: str) -> Any:
        """``plain``, remembered per text unless the text is ambiguous.

        Config files repeat a few plain values (``manual``, ``15m``, ``false``)
        thousands of times; an ambiguous one is never remembered, so that
        each of its places is recorded.
        """
        before = len(self.result.ambiguous)
        value = self.plain(node, text)
        if len(self.result.ambiguous) == before:
            self.plain_values[text] = value
        return value

    def quoted(self, node: yaml.ScalarNode, text: str) -> Any:
        if node.tag == _STR or not self.explicit_tags:
            return text
        return self.tagged(node, text)

    def plain_implicit(self, node: yaml.ScalarNode) -> bool:
        """Whether a plain scalar's tag is the one the resolver gave it."""
        if node.style:
            return node.tag == _STR
        implicit = _RESOLVER.resolve(yaml.ScalarNode, node.value, (True, False))  # type: ignore[no-untyped-call]
        return bool(node.tag == implicit)

    def tagged(self, node: yaml.ScalarNode, text: str) -> Any:
        """A scalar with an explicit tag: only the plain ones are allowed."""
        if node.tag == _STR:
            return text
        if node.tag not in _SCALAR_TAGS:
            return self.refuse_tag(node)
        value = self.plain(node, text)
        expected = node.tag.removeprefix(_TAG)
        if _type_name(value) != expected:
            self.result.problem(
                _position(node), f"`{text}` is not a valid !!{expected}; remove the tag"
            )
        return value

    def refuse_tag(self, node: yaml.Node) -> None:
        self.result.problem(
            _position(node),
            f"tag {node.tag} is not allowed; only plain mappings, lists, text, "
            "numbers, true/false and null",
        )


def _alias_past_limit(root: yaml.Node, text: str) -> Position | None:
    """Where the alias that takes a file past ``MAX_ALIASES`` is written.

    A composed graph keeps no trace of its aliases: an alias is its anchor's
    very node, with the anchor's position. So the graph is walked as the
    builder walks it, counting the aliases written in the text as they come,
    and that alias is then found among the parser's events, which keep
    positions. Only a file that went past the limit pays for this.
    """
    walk = _AliasWalk()
    try:
        walk.visit(root)
    except _AliasLimit:
        return _written_alias(text, walk.written)
    return None


class _AliasWalk:
    """Counts collection aliases in the builder's order; raises past the limit.

    ``written`` counts the aliases met outside any expansion, that is, those
    written in the text, in text order; while an expansion trips the limit,
    the last of them is the alias being expanded.
    """

    def __init__(self) -> None:
        self.seen: set[int] = set()
        self.aliases = 0
        self.written = 0
        self.expanding = 0

    def visit(self, node: yaml.Node) -> None:
        if isinstance(node, yaml.ScalarNode):
            return
        again = id(node) in self.seen
        if again:
            self.count(node)
        self.seen.add(id(node))

        self.expanding += again
        for child in _children(node):
            self.visit(child)
        self.expanding -= again

    def count(self, node: yaml.Node) -> None:
        self.aliases += 1
        if not self.expanding:
            self.written += 1
        if self.aliases > MAX_ALIASES:
            raise _AliasLimit(_position(node))


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    return list(node.value)


def _written_alias(text: str, ordinal: int) -> Position | None:
    """The position of the ``ordinal``-th alias of a mapping or sequence."""
    parser = _Loader(text)
    collection: dict[str, bool] = {}
    met = 0
    try:
        while parser.check_event():
            event = parser.get_event()
            if isinstance(event, yaml.AliasEvent):
                met += collection.get(event.anchor or "", False)
                mark = event.start_mark
                if met == ordinal and mark is not None:
                    return (mark.line + 1, mark.column + 1)
            elif isinstance(event, yaml.NodeEvent) and event.anchor:
                collection[event.anchor] = not isinstance(event, yaml.ScalarEvent)
    finally:
        parser.dispose()
    return None


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    return {bool: "bool", int: "int", float: "float"}.get(type(value), "str")
