"""SCIM filters translated into a SQL condition over the ``Employee`` table, so that a filter is
answered by the database, never by loading users. Parsing is in ``filter_parser``. The same
attribute map orders list responses (``sortBy``)."""

from __future__ import annotations

import enum
import json
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
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
    "sort_keys",
    "to_sql",
]

# --------------------------------------------------------------------------------------------
# Translation to SQL

CORE_USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:user"
ENTERPRISE_USER_SCHEMA = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:user"
REVMENTOR_USER_SCHEMA = "urn:revmentor:params:scim:schemas:extension:revmentor:2.0:user"


class _Kind(enum.Enum):
    STRING = "string"
    BOOLEAN = "boolean"
    DATETIME = "dateTime"
    UUID = "uuid"
    INTEGER = "integer"
    DATE = "date"


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


@dataclass(frozen=True)
class _ManagerReference:
    """``manager.value``: the manager's id once linked, else the external id the source named
    (kept until that person arrives). Compares with ``eq``/``ne`` and ``pr`` only."""


_Attribute = _Column | _Constant | _ManagerReference

_WORK_EMAIL = _Column("email", _Kind.STRING)
_DEPARTMENT = _Column("department", _Kind.STRING, nullable=True)
_MANAGER = _ManagerReference()
_TIME_ZONE = _Column("time_zone", _Kind.STRING)


def _both_ways(prefix: str, attributes: dict[str, _Attribute]) -> dict[str, _Attribute]:
    """An extension's attributes keyed ``prefix:<name>`` (written URN-qualified) and bare
    (clients often leave the URN out; no core attribute shares these names)."""
    keyed = {f"{prefix}:{name}": attribute for name, attribute in attributes.items()}
    return {**keyed, **attributes}


#: SCIM attribute (lower-cased ``name[.subattr]``) → where it lives. Core-schema attributes may also
#: be written URN-qualified; enterprise ones are keyed ``enterprise:<name>``, Revmentor ones
#: ``revmentor:<name>``; both may also be written bare.
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
    "timezone": _TIME_ZONE,
    "meta.created": _Column("created_at", _Kind.DATETIME),
    "meta.lastmodified": _Column("updated_at", _Kind.DATETIME),
    **_both_ways(
        "enterprise",
        {
            "department": _DEPARTMENT,
            "employeenumber": _Column("employee_number", _Kind.STRING, nullable=True),
            "division": _Column("division", _Kind.STRING, nullable=True),
            "organization": _Column("organization", _Kind.STRING, nullable=True),
            "costcenter": _Column("cost_center", _Kind.STRING, nullable=True),
            "manager": _MANAGER,  # a complex attribute compares through its "value"
            "manager.value": _MANAGER,
        },
    ),
    **_both_ways(
        "revmentor",
        {
            "joblevel": _Column("job_level", _Kind.INTEGER),
            "location": _Column("location", _Kind.STRING, nullable=True),
            "hiredate": _Column("hire_date", _Kind.DATE, nullable=True),
            "terminationdate": _Column("termination_date", _Kind.DATE, nullable=True),
        },
    ),
    # Bare "timeZone" is the core "timezone" (names are case-insensitive): the same column.
    "revmentor:timezone": _TIME_ZONE,
}

_ORDERING = {Operator.GT, Operator.GE, Operator.LT, Operator.LE}
_SUBSTRING = {Operator.CO, Operator.SW, Operator.EW}
_RFC3339 = re.compile(
    r"(\d{4}-\d{2}-\d{2})[Tt ](\d{2}:\d{2}:\d{2})(?:\.(\d+))?([Zz]|[+-]\d{2}:\d{2})"
)
LIKE_ESCAPE = "\\"
#: The values an SQL INTEGER holds (32 bits on PostgreSQL): a filter value beyond them cannot
#: be sent to the database at all.
_INTEGER_MIN, _INTEGER_MAX = -(2**31), 2**31 - 1


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
        elif schema == REVMENTOR_USER_SCHEMA:
            key = f"revmentor:{key}"
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
        written = datetime.fromisoformat(f"{day}T{clock}{fraction}{offset}")
    except ValueError:
        raise InvalidFilter(
            f"{path}: {value!r} is not a valid date-time", position=path.position
        ) from None
    try:
        # Stored in UTC: a time whose offset carries it past year 9999 or before year 1 (such
        # as "9999-12-31T23:59:59-05:00") has no UTC value to compare with.
        return written.astimezone(UTC)
    except OverflowError:
        raise InvalidFilter(
            f"{path}: {value!r} falls outside the years 1 to 9999 once converted to UTC",
            position=path.position,
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
    if attribute.kind is _Kind.INTEGER:
        return _compare_ordered(attribute, column, node, _whole_number(value, path), "an integer")
    if attribute.kind is _Kind.DATE:
        return _compare_ordered(attribute, column, node, _parse_date(value, path), "a date")
    return _compare_ordered(attribute, column, node, _parse_datetime(value, path), "a date-time")


def _whole_number(value: Value, path: AttrPath) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidFilter(
            f"{path} is an integer: compare it with a number, not {json.dumps(value)}",
            position=path.position,
        )
    if isinstance(value, float) and not value.is_integer():
        raise InvalidFilter(
            f"{path} is an integer: compare it with a whole number, not {json.dumps(value)}",
            position=path.position,
        )
    number = int(value)
    if not _INTEGER_MIN <= number <= _INTEGER_MAX:
        raise InvalidFilter(
            f"{path}: {json.dumps(value)} is outside the integer range"
            f" {_INTEGER_MIN} to {_INTEGER_MAX}",
            position=path.position,
        )
    return number


def _parse_date(value: Value, path: AttrPath) -> date:
    # A date-time names its day (identity providers write dates as date-times).
    text = value[:10] if isinstance(value, str) and _RFC3339.fullmatch(value) else value
    try:
        if not isinstance(text, str) or len(text) != 10:
            raise ValueError
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidFilter(
            f'{path} compares with a date such as "2024-05-01", not {json.dumps(value)}',
            position=path.position,
        ) from None


def _compare_ordered(
    attribute: _Column, column: ColumnElement[Any], node: Comparison, value: Any, kind: str
) -> ColumnElement[bool]:
    """Numbers, dates and date-times: equality and order, no substrings."""
    if node.op in _SUBSTRING:
        raise InvalidFilter(
            f"{node.path} is {kind}: use eq, ne, gt, ge, lt or le", position=node.path.position
        )
    if node.op is Operator.NE:
        return or_(column.is_(None), column != value) if attribute.nullable else column != value
    condition = {
        Operator.EQ: column == value,
        Operator.GT: column > value,
        Operator.GE: column >= value,
        Operator.LT: column < value,
        Operator.LE: column <= value,
    }[node.op]
    return _null_safe(attribute, column, condition)


def _manager_columns() -> tuple[ColumnElement[Any], ColumnElement[Any]]:
    columns = sa_inspect(Employee).columns
    return columns["manager_id"], columns["manager_external_id"]


def _manager_present() -> ColumnElement[bool]:
    linked, pending = _manager_columns()
    return or_(linked.is_not(None), pending.is_not(None))


def _compare_manager(node: Comparison) -> ColumnElement[bool]:
    path, op, value = node.path, node.op, node.value
    if value is None and op in (Operator.EQ, Operator.NE):
        absent = not_(_manager_present())
        return absent if op is Operator.EQ else not_(absent)
    if op not in (Operator.EQ, Operator.NE) or not isinstance(value, str):
        raise InvalidFilter(
            f"{path} only compares with 'eq'/'ne' and a quoted id", position=path.position
        )
    linked, pending = _manager_columns()
    # The value is the manager's id once linked; until then the reference the source sent.
    waiting = and_(linked.is_(None), pending.is_not(None), pending == value)
    try:
        identifier = uuid.UUID(value)
    except ValueError:
        matches = waiting
    else:
        matches = or_(and_(linked.is_not(None), linked == identifier), waiting)
    return matches if op is Operator.EQ else not_(matches)


def _column(attribute: _Column) -> ColumnElement[Any]:
    return sa_inspect(Employee).columns[attribute.name]


def _present(attribute: _Column) -> ColumnElement[bool]:
    column = _column(attribute)
    if attribute.kind is _Kind.STRING:
        return and_(column.is_not(None), column != "") if attribute.nullable else column != ""
    return column.is_not(None) if attribute.nullable else true()


def _chain(node: And | Or) -> list[Filter]:
    """The operands of a chain of one operator, left to right.

    The parser builds ``a or b or c`` as ``Or(Or(a, b), c)``: a long chain is a deep tree.
    Walking its left spine in a loop keeps the recursion as deep as the filter's parentheses
    (which the parser limits), not as long as the chain."""
    operator = type(node)
    operands: list[Filter] = []
    current: Filter = node
    while isinstance(current, operator):
        operands.append(current.right)
        current = current.left
    operands.append(current)
    return operands[::-1]


def _translate(node: Filter, parent: AttrPath | None) -> ColumnElement[bool]:
    if isinstance(node, And):
        return and_(*(_translate(operand, parent) for operand in _chain(node)))
    if isinstance(node, Or):
        return or_(*(_translate(operand, parent) for operand in _chain(node)))
    if isinstance(node, Not):
        return not_(_translate(node.operand, parent))
    if isinstance(node, ValuePath):
        # An employee has exactly one e-mail (and one of everything else), so "any value matches"
        # is the inner filter applied to that one value.
        return _translate(node.filter, node.path)
    attribute = _resolve(node.path, parent)
    if isinstance(attribute, _ManagerReference):
        return _manager_present() if isinstance(node, Present) else _compare_manager(node)
    if isinstance(node, Present):
        return true() if isinstance(attribute, _Constant) else _present(attribute)
    if isinstance(attribute, _Constant):
        return _compare_constant(attribute, node)
    return _compare(attribute, node)


def to_sql(node: Filter) -> ColumnElement[bool]:
    """The SQL condition over ``Employee`` that holds exactly for the rows ``node`` matches."""
    return _translate(node, None)


def sort_keys(text: str, *, descending: bool = False) -> list[ColumnElement[Any]]:
    """The ORDER BY keys for ``sortBy`` (RFC 7644 section 3.4.2.3): strings compare without case
    unless case-exact, and people without a value come last ascending, first descending."""
    try:
        # The grammar of an attribute path is the filter's: "<path> pr" parses exactly when
        # the text is one path.
        node = parse(f"{text} pr")
    except InvalidFilter:
        node = None
    if not isinstance(node, Present):
        raise InvalidFilter(f"sortBy must name one attribute, not {text!r}")
    attribute = _resolve(node.path)
    if isinstance(attribute, _Constant):
        raise InvalidFilter(f"{node.path} has the same value for everyone: it cannot sort")
    if isinstance(attribute, _ManagerReference):
        linked, pending = _manager_columns()
        columns = [linked, pending]
    else:
        column = _column(attribute)
        if attribute.kind is _Kind.STRING and not attribute.case_exact:
            column = func.lower(column)
        if attribute.kind is _Kind.STRING:
            column = _byte_order(column)
        columns = [column]
    keys: list[ColumnElement[Any]] = []
    for column in columns:
        # "IS NULL" first: both databases then put missing values where RFC 7644 wants them.
        missing = column.is_(None)
        keys += [missing.desc(), column.desc()] if descending else [missing, column]
    return keys
