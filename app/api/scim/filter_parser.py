"""SCIM filters (RFC 7644 section 3.4.2.2): a tokenizer and a recursive-descent parser that
builds a small typed AST.

Grammar (operators, keywords and attribute names are case-insensitive)::

    filter    = or
    or        = and *("or" and)
    and       = unary *("and" unary)
    unary     = "not" "(" filter ")" / "(" filter ")" / attrExp / valuePath
    valuePath = attrPath "[" valFilter "]"      ; valFilter: the same, without nested valuePaths
    attrExp   = attrPath "pr" / attrPath compareOp compValue
    attrPath  = [URI ":"] ATTRNAME ["." ATTRNAME]
    compValue = string / number / "true" / "false" / "null"

The PATCH-only form ``emails[type eq "work"].value`` is not a filter and is rejected.

Each ``(``, ``not (`` and ``[`` opens a level; filters may nest at most
:data:`MAX_FILTER_DEPTH` levels deep. Every level costs stack frames here and in the
translation to SQL, and the length limit alone still lets a filter nest deep enough to exhaust the
Python stack. Chains of ``and``/``or`` are parsed in loops and nest no deeper, however long.
"""

from __future__ import annotations

import enum
import json
import re
from dataclasses import dataclass, field
from typing import Literal

from app.domain.errors import InvalidInput


class InvalidFilter(InvalidInput):
    """A filter that does not parse, or that names an attribute or comparison we cannot apply."""

    code = "invalid-filter"
    title = "Invalid SCIM filter"
    scim_type = "invalidFilter"

    def __init__(self, message: str, *, position: int | None = None) -> None:
        detail = f"{message} (at position {position})" if position is not None else message
        super().__init__(
            detail,
            field="filter",
            rule="scim-filter-syntax",
            extra={"position": position} if position is not None else None,
        )
        self.position = position


# --------------------------------------------------------------------------------------------
# AST


class Operator(enum.StrEnum):
    EQ = "eq"
    NE = "ne"
    CO = "co"
    SW = "sw"
    EW = "ew"
    GT = "gt"
    GE = "ge"
    LT = "lt"
    LE = "le"


Value = str | int | float | bool | None


@dataclass(frozen=True)
class AttrPath:
    """``[uri:]name[.subAttr]`` as written; compare with :attr:`key` (lower-cased)."""

    name: str
    sub_attr: str | None = None
    uri: str | None = None
    #: 1-based position in the filter text, for error messages only.
    position: int | None = field(default=None, compare=False, repr=False)

    @property
    def key(self) -> str:
        """The lower-cased ``name[.subattr]``, without the schema URI."""
        return f"{self.name}.{self.sub_attr}".lower() if self.sub_attr else self.name.lower()

    def __str__(self) -> str:
        path = f"{self.name}.{self.sub_attr}" if self.sub_attr else self.name
        return f"{self.uri}:{path}" if self.uri else path


@dataclass(frozen=True)
class Comparison:
    path: AttrPath
    op: Operator
    value: Value


@dataclass(frozen=True)
class Present:
    path: AttrPath


@dataclass(frozen=True)
class And:
    left: Filter
    right: Filter


@dataclass(frozen=True)
class Or:
    left: Filter
    right: Filter


@dataclass(frozen=True)
class Not:
    operand: Filter


@dataclass(frozen=True)
class ValuePath:
    """``path[filter]``: ``filter``'s attribute paths are sub-attributes of ``path``."""

    path: AttrPath
    filter: Filter


Filter = Comparison | Present | And | Or | Not | ValuePath


# --------------------------------------------------------------------------------------------
# Tokenizer

TokenKind = Literal["word", "string", "number", "(", ")", "[", "]", "end"]


@dataclass(frozen=True)
class _Token:
    kind: TokenKind
    text: str
    position: int  # 1-based
    value: Value = None


_WHITESPACE = re.compile(r"\s+")
_WORD = re.compile(r"[A-Za-z][A-Za-z0-9_:.\-]*")
_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")
_STRING = re.compile(r'"(?:[^"\\\x00-\x1f]|\\["\\/bfnrt]|\\u[0-9a-fA-F]{4})*"')
_ATTRNAME = re.compile(r"[A-Za-z][A-Za-z0-9_\-]*")
_PUNCTUATION: dict[str, TokenKind] = {"(": "(", ")": ")", "[": "[", "]": "]"}
MAX_FILTER_LENGTH = 4096
#: Far beyond any filter a person or an identity provider writes, far below Python's stack.
MAX_FILTER_DEPTH = 50


def _decode_string(text: str, position: int) -> str:
    value: str = json.loads(text)
    if "\x00" in value:
        raise InvalidFilter("strings must not contain NUL characters", position=position)
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidFilter(
            "string holds an unpaired surrogate escape", position=position
        ) from None
    return value


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    i = 0
    while i < len(text):
        if m := _WHITESPACE.match(text, i):
            i = m.end()
            continue
        char, position = text[i], i + 1
        if char in _PUNCTUATION:
            tokens.append(_Token(_PUNCTUATION[char], char, position))
            i += 1
        elif char == '"':
            m = _STRING.match(text, i)
            if m is None:
                raise InvalidFilter(
                    "unterminated string or invalid escape sequence", position=position
                )
            tokens.append(
                _Token("string", m.group(), position, _decode_string(m.group(), position))
            )
            i = m.end()
        elif char == "-" or char.isdigit():
            m = _NUMBER.match(text, i)
            if m is None or (m.end() < len(text) and _WORD.match(text, m.end())):
                raise InvalidFilter("invalid number", position=position)
            tokens.append(_Token("number", m.group(), position, json.loads(m.group())))
            i = m.end()
        elif m := _WORD.match(text, i):
            tokens.append(_Token("word", m.group(), position))
            i = m.end()
        elif char == "." and tokens and tokens[-1].kind == "]":
            raise InvalidFilter(
                "a sub-attribute after a value filter ('[...].attr') is only valid in PATCH"
                " paths, not in filters",
                position=position,
            )
        else:
            raise InvalidFilter(f"unexpected character {char!r}", position=position)
    tokens.append(_Token("end", "", len(text) + 1))
    return tokens


# --------------------------------------------------------------------------------------------
# Parser

_OPERATORS = {op.value for op in Operator}
_KEYWORDS = {"and", "or", "not", "pr", *_OPERATORS}
_LITERALS: dict[str, Value] = {"true": True, "false": False, "null": None}


def _describe(token: _Token) -> str:
    if token.kind == "end":
        return "the end of the filter"
    return repr(token.text)


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = _tokenize(text)
        self.index = 0
        self.depth = 0

    @property
    def current(self) -> _Token:
        return self.tokens[self.index]

    def at(self, kind: TokenKind) -> bool:
        return self.tokens[self.index].kind == kind

    def advance(self) -> _Token:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def is_keyword(self, word: str, offset: int = 0) -> bool:
        token = self.tokens[min(self.index + offset, len(self.tokens) - 1)]
        return token.kind == "word" and token.text.lower() == word

    def fail(self, expected: str) -> InvalidFilter:
        token = self.current
        return InvalidFilter(
            f"expected {expected}, found {_describe(token)}", position=token.position
        )

    def expect(self, kind: TokenKind, expected: str) -> _Token:
        if not self.at(kind):
            raise self.fail(expected)
        return self.advance()

    def open_level(self, kind: TokenKind, expected: str) -> None:
        """Step past an opening ``(`` or ``[``, refusing one level too many where it opens."""
        token = self.expect(kind, expected)
        self.depth += 1
        if self.depth > MAX_FILTER_DEPTH:
            raise InvalidFilter(
                f"the filter nests parentheses, 'not (' and '[' more than {MAX_FILTER_DEPTH}"
                " levels deep",
                position=token.position,
            )

    def close_level(self, kind: TokenKind, expected: str) -> None:
        """Step past the ``)`` or ``]`` closing the innermost level."""
        self.expect(kind, expected)
        self.depth -= 1

    def parse(self) -> Filter:
        if self.at("end"):
            raise InvalidFilter("the filter is empty", position=self.current.position)
        result = self.parse_or(nested=False)
        if not self.at("end"):
            raise self.fail("'and', 'or' or the end of the filter")
        return result

    def parse_or(self, *, nested: bool) -> Filter:
        left = self.parse_and(nested=nested)
        while self.is_keyword("or"):
            self.advance()
            left = Or(left, self.parse_and(nested=nested))
        return left

    def parse_and(self, *, nested: bool) -> Filter:
        left = self.parse_unary(nested=nested)
        while self.is_keyword("and"):
            self.advance()
            left = And(left, self.parse_unary(nested=nested))
        return left

    def parse_unary(self, *, nested: bool) -> Filter:
        if self.is_keyword("not"):
            self.advance()
            self.open_level("(", "'(' after 'not'")
            operand = self.parse_or(nested=nested)
            self.close_level(")", "')'")
            return Not(operand)
        if self.at("("):
            self.open_level("(", "'('")
            inner = self.parse_or(nested=nested)
            self.close_level(")", "')'")
            return inner
        return self.parse_attribute_expression(nested=nested)

    def parse_path(self, *, nested: bool) -> AttrPath:
        token = self.current
        if token.kind != "word" or token.text.lower() in _KEYWORDS | _LITERALS.keys():
            raise self.fail("an attribute path")
        self.advance()
        uri, _, rest = token.text.rpartition(":")
        parts = rest.split(".")
        if (
            len(parts) > 2
            or not all(_ATTRNAME.fullmatch(p) for p in parts)
            or (":" in token.text and not uri)
        ):
            raise InvalidFilter(f"invalid attribute path {token.text!r}", position=token.position)
        if nested and (uri or len(parts) > 1):
            raise InvalidFilter(
                f"inside '[...]' only plain sub-attribute names are allowed, not {token.text!r}",
                position=token.position,
            )
        return AttrPath(
            name=parts[0],
            sub_attr=parts[1] if len(parts) > 1 else None,
            uri=uri or None,
            position=token.position,
        )

    def parse_attribute_expression(self, *, nested: bool) -> Filter:
        path = self.parse_path(nested=nested)
        if self.at("["):
            if nested:
                raise InvalidFilter(
                    "value filters cannot be nested", position=self.current.position
                )
            if path.sub_attr is not None:
                raise InvalidFilter(
                    f"a value filter applies to an attribute, not to the sub-attribute {path}",
                    position=self.current.position,
                )
            self.open_level("[", "'['")
            if self.at("]"):
                raise self.fail("a filter inside '[...]'")
            inner = self.parse_or(nested=True)
            self.close_level("]", "']'")
            return ValuePath(path, inner)
        op = self.current
        if op.kind != "word" or op.text.lower() not in _OPERATORS | {"pr"}:
            raise self.fail(f"an operator (eq, ne, co, sw, ew, gt, ge, lt, le, pr) after {path}")
        self.advance()
        if op.text.lower() == "pr":
            return Present(path)
        return Comparison(path, Operator(op.text.lower()), self.parse_value())

    def parse_value(self) -> Value:
        token = self.current
        if token.kind in ("string", "number"):
            self.advance()
            return token.value
        if token.kind == "word" and token.text.lower() in _LITERALS:
            self.advance()
            return _LITERALS[token.text.lower()]
        raise self.fail("a value (a quoted string, a number, true, false or null)")


def parse(text: str) -> Filter:
    """Parse a SCIM filter into its AST; raise :class:`InvalidFilter` on any syntax error."""
    if len(text) > MAX_FILTER_LENGTH:
        raise InvalidFilter(f"the filter is longer than {MAX_FILTER_LENGTH} characters")
    return _Parser(text).parse()
