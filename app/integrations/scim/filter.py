"""SCIM filter and PATCH path grammar (RFC 7644 3.4.2.2 and 3.5.2), parsed into a small AST.

Precedence is that of the RFC: `not` binds tightest, then `and`, then `or`;
parentheses group. The AST is compiled to SQL for list queries (scim/query.py) and
evaluated in Python on multi-valued elements for PATCH value filters.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from app.integrations.scim.errors import ScimError

COMPARE_OPS = {"eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le"}
MAX_FILTER_LENGTH = 2000

_TOKEN = re.compile(
    r'\s*(?:(?P<punct>[()\[\]])|(?P<string>"(?:[^"\\]|\\.)*")|(?P<word>[^\s()\[\]"]+))'
)


@dataclass(frozen=True)
class Compare:
    attr: str
    op: str
    value: Any


@dataclass(frozen=True)
class Present:
    attr: str


@dataclass(frozen=True)
class And:
    left: Any
    right: Any


@dataclass(frozen=True)
class Or:
    left: Any
    right: Any


@dataclass(frozen=True)
class Not:
    inner: Any


@dataclass(frozen=True)
class ValuePath:
    """attr[filter]: some element of the multi-valued `attr` matches `filter`."""

    attr: str
    filter: Any


@dataclass(frozen=True)
class PatchPath:
    attr: str  # full attribute (URN prefix kept), e.g. "emails" or "name.givenName"
    filter: Any | None = None  # value filter on a multi-valued attribute
    sub: str | None = None  # sub-attribute after the filter, e.g. "value"


def _invalid(message: str, scim_type: str = "invalidFilter") -> ScimError:
    return ScimError(400, message, scim_type)


def _tokenize(text: str, scim_type: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    position = 0
    text = text.rstrip()
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            raise _invalid(f"Cannot read the filter at position {position}.", scim_type)
        kind = match.lastgroup or ""
        tokens.append((kind, match.group(kind)))
        position = match.end()
    return tokens


MAX_FILTER_DEPTH = 32


class _Parser:
    def __init__(self, text: str, scim_type: str = "invalidFilter") -> None:
        if len(text) > MAX_FILTER_LENGTH:
            raise _invalid("The filter is too long.", scim_type)
        self.scim_type = scim_type
        self.tokens = _tokenize(text, scim_type)
        self.position = 0
        # The parser recurses per parenthesis: bound the nesting so a hostile filter is a
        # 400, not a RecursionError.
        depth = deepest = 0
        for kind, value in self.tokens:
            if kind == "punct" and value in ("(", "["):
                depth += 1
                deepest = max(deepest, depth)
            elif kind == "punct" and value in (")", "]"):
                depth -= 1
        if deepest > MAX_FILTER_DEPTH:
            raise _invalid(f"The filter nests deeper than {MAX_FILTER_DEPTH} levels.", scim_type)

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def next(self) -> tuple[str, str]:
        token = self.peek()
        if token is None:
            raise _invalid("The filter ends too early.", self.scim_type)
        self.position += 1
        return token

    def expect(self, punct: str) -> None:
        kind, value = self.next()
        if kind != "punct" or value != punct:
            raise _invalid(f"Expected '{punct}', found '{value}'.", self.scim_type)

    def is_word(self, word: str) -> bool:
        token = self.peek()
        return token is not None and token[0] == "word" and token[1].lower() == word

    def parse_or(self) -> Any:
        node = self.parse_and()
        while self.is_word("or"):
            self.next()
            node = Or(node, self.parse_and())
        return node

    def parse_and(self) -> Any:
        node = self.parse_not()
        while self.is_word("and"):
            self.next()
            node = And(node, self.parse_not())
        return node

    def parse_not(self) -> Any:
        if self.is_word("not"):
            self.next()
            self.expect("(")
            inner = self.parse_or()
            self.expect(")")
            return Not(inner)
        return self.parse_atom()

    def parse_atom(self) -> Any:
        kind, value = self.next()
        if kind == "punct" and value == "(":
            inner = self.parse_or()
            self.expect(")")
            return inner
        if kind != "word" or not _is_attr_path(value):
            raise _invalid(f"Expected an attribute name, found '{value}'.", self.scim_type)
        attr = value
        token = self.peek()
        if token == ("punct", "["):
            self.next()
            inner = self.parse_or()
            self.expect("]")
            return ValuePath(attr, inner)
        kind, op = self.next()
        op = op.lower()
        if kind != "word":
            raise _invalid(f"Expected an operator after {attr}.", self.scim_type)
        if op == "pr":
            return Present(attr)
        if op not in COMPARE_OPS:
            raise _invalid(f"Unknown operator '{op}'.", self.scim_type)
        return Compare(attr, op, self.parse_value())

    def parse_value(self) -> Any:
        kind, raw = self.next()
        if kind == "string":
            return json.loads(raw)
        if kind == "word":
            lowered = raw.lower()
            if lowered in ("true", "false"):
                return lowered == "true"
            if lowered == "null":
                return None
            try:
                number = json.loads(raw)
            except ValueError:
                number = None
            if isinstance(number, int | float) and not isinstance(number, bool):
                return number
        raise _invalid(f"'{raw}' is not a valid comparison value.", self.scim_type)


_ATTR = re.compile(r"^(?:urn:[A-Za-z0-9:._-]+:)?[A-Za-z$][\w$-]*(?:\.[A-Za-z$][\w$-]*)?$")


def _is_attr_path(text: str) -> bool:
    return bool(_ATTR.match(text))


def parse_filter(text: str) -> Any:
    """Parse a `filter` query parameter; 400 invalidFilter when it is not the RFC grammar."""
    if not text or not text.strip():
        raise _invalid("The filter is empty.")
    parser = _Parser(text)
    node = parser.parse_or()
    if parser.peek() is not None:
        raise _invalid(f"Unexpected '{parser.peek()[1]}' in the filter.")  # type: ignore[index]
    return node


def parse_path(text: str) -> PatchPath:
    """Parse a PATCH `path` (RFC 7644 3.5.2: attrPath / valuePath [subAttr]); 400 invalidPath."""
    text = text.strip()
    match = re.match(
        r"^(?P<attr>[^\[\]\s]+)(?:\[(?P<filter>.*)\](?:\.(?P<sub>[A-Za-z$][\w$-]*))?)?$", text, re.S
    )
    if match is None or not _is_attr_path(match.group("attr")):
        raise _invalid(f"'{text}' is not a valid attribute path.", "invalidPath")
    value_filter = None
    if match.group("filter") is not None:
        parser = _Parser(match.group("filter"), "invalidPath")
        value_filter = parser.parse_or()
        if parser.peek() is not None:
            raise _invalid(f"'{text}' is not a valid attribute path.", "invalidPath")
    return PatchPath(attr=match.group("attr"), filter=value_filter, sub=match.group("sub"))


def matches(node: Any, element: Any) -> bool:
    """Evaluate a value filter on one element of a multi-valued attribute (a dict or a string)."""
    if isinstance(node, And):
        return matches(node.left, element) and matches(node.right, element)
    if isinstance(node, Or):
        return matches(node.left, element) or matches(node.right, element)
    if isinstance(node, Not):
        return not matches(node.inner, element)
    if isinstance(node, Present):
        return _get(element, node.attr) not in (None, "", [])
    if isinstance(node, Compare):
        return compare_values(_get(element, node.attr), node.op, node.value)
    raise _invalid("Nested value filters are not supported.", "invalidFilter")


def _get(element: Any, attr: str) -> Any:
    if not isinstance(element, dict):
        return element if attr.lower() == "value" else None
    for key, value in element.items():
        if key.lower() == attr.lower():
            return value
    return None


def compare_values(actual: Any, op: str, expected: Any) -> bool:
    """RFC 7644 3.4.2.2 comparison, case-insensitive for strings (caseExact false)."""
    if isinstance(actual, str) and isinstance(expected, str):
        actual, expected = actual.lower(), expected.lower()
    if op == "eq":
        return bool(actual == expected)
    if op == "ne":
        return bool(actual != expected)
    if actual is None:
        return False
    if op in ("co", "sw", "ew"):
        if not isinstance(actual, str) or not isinstance(expected, str):
            return False
        return {
            "co": expected in actual,
            "sw": actual.startswith(expected),
            "ew": actual.endswith(expected),
        }[op]
    if isinstance(actual, bool) or isinstance(expected, bool):
        raise _invalid(f"'{op}' cannot compare booleans.")
    try:
        return {
            "gt": actual > expected,
            "ge": actual >= expected,
            "lt": actual < expected,
            "le": actual <= expected,
        }[op]
    except TypeError:
        return False
