"""SCIM filters translated into a SQL condition over the ``Employee`` table, so that a filter is
answered by the database, never by loading users. Parsing is in ``filter_parser``."""

from __future__ import annotations

import enum
import json
import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, String, and_, false, func, literal, not_, or_, true
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from app.api.scim.filter_parser import (
    And,
    AttrPath,
    Comparison,
    Filter,
    InvalidFilter,
    Not,
    Operator,
    Or,
    Present,
    Value,
    ValuePath,
    parse,
)
from app.db.models import Employee

__all__ = [
    "And",
    "AttrPath",
    "Comparison",
    "Filter",
    "InvalidFilter",
    "Not",
    "Operator",
    "Or",
    "Present",
    "Value",
    "ValuePath",
    "parse",
    "to_sql",
]

# --------------------------------------------------------------------------------------------
# Translation to SQL

CORE_USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:user"
ENTERPRISE_USER_SCHEMA = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:user"


class _Kind(enum.Enum):
    STRING = "string"
    BOOLEAN = "boolean"
    DATETIME = "dateTime"
    UUID = "uuid"


@dataclass(frozen=True)
class _Column:
    name: str  # the Employee column
    kind: _Kind
    nullable: bool = False
    case_exact: bool = False


@dataclass(frozen=True)
class _Constant:
    """A sub-attribute with one fixed value for every employee (the one work e-mail)."""

    value: str | bool


_Attribute = _Column | _Constant

_WORK_EMAIL = _Column("email", _Kind.STRING)
_DEPARTMENT = _Column("department", _Kind.STRING, nullable=True)

#: SCIM attribute (lower-cased ``name[.subattr]``) → where it lives. Core-schema attributes may also
#: be written URN-qualified; enterprise ones are keyed ``enterprise:<name>``.
_ATTRIBUTES: dict[str, _Attribute] = {
    "id": _Column("id", _Kind.UUID, case_exact=True),
    "externalid": _Column("external_id", _Kind.STRING, nullable=True, case_exact=True),
    "username": _WORK_EMAIL,
    "displayname": _Column("display_name", _Kind.STRING),
    "name.givenname": _Column("given_name", _Kind.STRING),
    "name.familyname": _Column("family_name", _Kind.STRING),
    "title": _Column("job_title", _Kind.STRING, nullable=True),
    "active": _Column("active", _Kind.BOOLEAN),
    "emails": _WORK_EMAIL,  # RFC 7644: a complex attribute compares through its "value"
    "emails.value": _WORK_EMAIL,
    "emails.type": _Constant("work"),
    "emails.primary": _Constant(True),
    "department": _DEPARTMENT,
    "enterprise:department": _DEPARTMENT,
    "meta.created": _Column("created_at", _Kind.DATETIME),
    "meta.lastmodified": _Column("updated_at", _Kind.DATETIME),
}

_ORDERING = {Operator.GT, Operator.GE, Operator.LT, Operator.LE}
_SUBSTRING = {Operator.CO, Operator.SW, Operator.EW}
_RFC3339 = re.compile(
    r"(\d{4}-\d{2}-\d{2})[Tt ](\d{2}:\d{2}:\d{2})(?:\.(\d+))?([Zz]|[+-]\d{2}:\d{2})"
)
LIKE_ESCAPE = "\\"


class _byte_order(FunctionElement[str]):
    """Its argument, compared by code point: PostgreSQL's ``COLLATE "C"``, SQLite's default, so
    ``gt``/``lt`` order strings the same on both databases whatever the server locale."""

    type = String()
    name = "byte_order"
    inherit_cache = True


@compiles(_byte_order)
def _byte_order_default(element: _byte_order, compiler: SQLCompiler, **kw: Any) -> str:
    return compiler.process(element.clauses, **kw)


@compiles(_byte_order, "postgresql")
def _byte_order_postgresql(element: _byte_order, compiler: SQLCompiler, **kw: Any) -> str:
    return f'({compiler.process(element.clauses, **kw)}) COLLATE "C"'


def _resolve(path: AttrPath, parent: AttrPath | None = None) -> _Attribute:
    if parent is not None:  # inside parent[...]: the parser only allows plain names here
        key = f"{parent.key}.{path.key}"
        uri = parent.uri
    else:
        key, uri = path.key, path.uri
    if uri is not None:
        schema = uri.lower()
        if schema == ENTERPRISE_USER_SCHEMA:
            key = f"enterprise:{key}"
        elif schema != CORE_USER_SCHEMA:
            raise InvalidFilter(f"unknown schema {uri!r}", position=path.position)
    attribute = _ATTRIBUTES.get(key)
    if attribute is None:
        shown = f"{parent}[{path}]" if parent is not None else str(path)
        raise InvalidFilter(f"unknown or unfilterable attribute {shown!r}", position=path.position)
    return attribute


def _escape_like(value: str) -> str:
    return (
        value.replace(LIKE_ESCAPE, LIKE_ESCAPE * 2)
        .replace("%", LIKE_ESCAPE + "%")
        .replace("_", LIKE_ESCAPE + "_")
    )


def _parse_datetime(value: Value, path: AttrPath) -> datetime:
    match = _RFC3339.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        raise InvalidFilter(
            f"{path} compares with an RFC 3339 date-time string such as"
            f' "2024-05-01T12:00:00Z", not {json.dumps(value)}',
            position=path.position,
        )
    day, clock, fraction, offset = match.groups()
    fraction = f".{(fraction or '')[:6].ljust(6, '0')}"
    offset = "+00:00" if offset in ("Z", "z") else offset
    try:
        return datetime.fromisoformat(f"{day}T{clock}{fraction}{offset}")
    except ValueError:
        raise InvalidFilter(
            f"{path}: {value!r} is not a valid date-time", position=path.position
        ) from None


def _compare_constant(attribute: _Constant, node: Comparison) -> ColumnElement[bool]:
    """Evaluate in Python: the sub-attribute has the same value on every row."""
    constant, value, op = attribute.value, node.value, node.op
    if isinstance(constant, bool):
        if not isinstance(value, bool) or op not in (Operator.EQ, Operator.NE):
            raise InvalidFilter(
                f"{node.path} is a boolean: only 'eq'/'ne' with true or false apply",
                position=node.path.position,
            )
        return true() if (constant == value) == (op is Operator.EQ) else false()
    if not isinstance(value, str):
        raise InvalidFilter(
            f"{node.path} is a string: compare it with a quoted string",
            position=node.path.position,
        )
    left, right = constant.lower(), value.lower()
    outcome = {
        Operator.EQ: left == right,
        Operator.NE: left != right,
        Operator.CO: right in left,
        Operator.SW: left.startswith(right),
        Operator.EW: left.endswith(right),
        Operator.GT: left > right,
        Operator.GE: left >= right,
        Operator.LT: left < right,
        Operator.LE: left <= right,
    }[op]
    return true() if outcome else false()


def _null_safe(
    attribute: _Column, column: ColumnElement[Any], condition: ColumnElement[bool]
) -> ColumnElement[bool]:
    # Every leaf is TRUE or FALSE, never NULL, so 'not (title eq "x")' keeps rows without a title.
    return and_(column.is_not(None), condition) if attribute.nullable else condition


def _compare_string(
    attribute: _Column, column: ColumnElement[Any], node: Comparison, value: str
) -> ColumnElement[bool]:
    op = node.op
    if attribute.case_exact:
        left: ColumnElement[Any] = column
        right: ColumnElement[Any] = literal(value, String())
    else:
        left, right = func.lower(column), func.lower(literal(value, String()))
    if op is Operator.EQ:
        return _null_safe(attribute, column, left == right)
    if op is Operator.NE:
        return or_(column.is_(None), left != right) if attribute.nullable else left != right
    if op in _ORDERING:
        left, right = _byte_order(left), _byte_order(right)
        condition = {
            Operator.GT: left > right,
            Operator.GE: left >= right,
            Operator.LT: left < right,
            Operator.LE: left <= right,
        }[op]
        return _null_safe(attribute, column, condition)
    escaped = _escape_like(value)
    pattern = {
        Operator.CO: f"%{escaped}%",
        Operator.SW: f"{escaped}%",
        Operator.EW: f"%{escaped}",
    }[op]
    if not attribute.case_exact:
        like = left.like(func.lower(literal(pattern, String())), escape=LIKE_ESCAPE)
        return _null_safe(attribute, column, like)
    # SQLite's LIKE ignores ASCII case; a case-exact attribute adds an exact check to it.
    like = column.like(pattern, escape=LIKE_ESCAPE)
    n = len(value)
    exact: ColumnElement[bool]
    if n == 0:
        exact = true()
    elif op is Operator.SW:
        exact = func.substr(column, 1, n) == right
    elif op is Operator.EW:
        exact = and_(
            func.length(column) >= n, func.substr(column, func.length(column) - n + 1) == right
        )
    else:
        exact = func.replace(column, right, "") != column
    return _null_safe(attribute, column, and_(like, exact))


def _compare(attribute: _Column, node: Comparison) -> ColumnElement[bool]:
    column = _column(attribute)
    path, op, value = node.path, node.op, node.value
    if value is None:
        if op not in (Operator.EQ, Operator.NE):
            raise InvalidFilter(
                f"{path}: null only compares with 'eq' or 'ne'", position=path.position
            )
        absent = not_(_present(attribute))
        return absent if op is Operator.EQ else not_(absent)
    if attribute.kind is _Kind.STRING:
        if not isinstance(value, str):
            raise InvalidFilter(
                f"{path} is a string: compare it with a quoted string, not {json.dumps(value)}",
                position=path.position,
            )
        return _compare_string(attribute, column, node, value)
    if attribute.kind is _Kind.BOOLEAN:
        if not isinstance(value, bool) or op not in (Operator.EQ, Operator.NE):
            raise InvalidFilter(
                f"{path} is a boolean: only 'eq'/'ne' with true or false (or 'pr') apply",
                position=path.position,
            )
        return column == value if op is Operator.EQ else column != value
    if attribute.kind is _Kind.UUID:
        if op not in (Operator.EQ, Operator.NE) or not isinstance(value, str):
            raise InvalidFilter(
                f"{path} only compares with 'eq'/'ne' and a quoted id", position=path.position
            )
        try:
            identifier = uuid.UUID(value)
        except ValueError:
            raise InvalidFilter(
                f"{path}: {value!r} is not a valid id", position=path.position
            ) from None
        return column == identifier if op is Operator.EQ else column != identifier
    # _Kind.DATETIME
    if op in _SUBSTRING:
        raise InvalidFilter(
            f"{path} is a date-time: use eq, ne, gt, ge, lt or le", position=path.position
        )
    moment = _parse_datetime(value, path)
    return {
        Operator.EQ: column == moment,
        Operator.NE: column != moment,
        Operator.GT: column > moment,
        Operator.GE: column >= moment,
        Operator.LT: column < moment,
        Operator.LE: column <= moment,
    }[op]


def _column(attribute: _Column) -> ColumnElement[Any]:
    return sa_inspect(Employee).columns[attribute.name]


def _present(attribute: _Column) -> ColumnElement[bool]:
    column = _column(attribute)
    if attribute.kind is _Kind.STRING:
        return and_(column.is_not(None), column != "") if attribute.nullable else column != ""
    return column.is_not(None) if attribute.nullable else true()


def _translate(node: Filter, parent: AttrPath | None) -> ColumnElement[bool]:
    if isinstance(node, And):
        return and_(_translate(node.left, parent), _translate(node.right, parent))
    if isinstance(node, Or):
        return or_(_translate(node.left, parent), _translate(node.right, parent))
    if isinstance(node, Not):
        return not_(_translate(node.operand, parent))
    if isinstance(node, ValuePath):
        # An employee has exactly one e-mail (and one of everything else), so "any value matches"
        # is the inner filter applied to that one value.
        return _translate(node.filter, node.path)
    attribute = _resolve(node.path, parent)
    if isinstance(node, Present):
        return true() if isinstance(attribute, _Constant) else _present(attribute)
    if isinstance(attribute, _Constant):
        return _compare_constant(attribute, node)
    return _compare(attribute, node)


def to_sql(node: Filter) -> ColumnElement[bool]:
    """The SQL condition over ``Employee`` that holds exactly for the rows ``node`` matches."""
    return _translate(node, None)
