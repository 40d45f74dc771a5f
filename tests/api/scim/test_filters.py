"""SCIM filters: the parser's AST, its errors, and the SQL it becomes over real employee rows."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, update
from sqlmodel import col

from app.api.scim.filters import (
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
    to_sql,
)
from app.db.engine import Database
from app.db.models import Employee
from app.domain.errors import InvalidInput
from tests.factories import Factory

ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"


def eq(name: str, value: Value, sub: str | None = None) -> Comparison:
    return Comparison(AttrPath(name, sub), Operator.EQ, value)


# --- parser ----------------------------------------------------------------------------------


def test_a_comparison() -> None:
    assert parse('userName eq "bjensen"') == eq("userName", "bjensen")


def test_and_binds_tighter_than_or_and_both_associate_left() -> None:
    a, b, c, d = (eq(x, "1") for x in "abcd")
    assert parse('a eq "1" or b eq "1" and c eq "1"') == Or(a, And(b, c))
    assert parse('a eq "1" and b eq "1" or c eq "1"') == Or(And(a, b), c)
    assert parse('a eq "1" or b eq "1" or c eq "1"') == Or(Or(a, b), c)
    assert parse('a eq "1" and b eq "1" and c eq "1" and d eq "1"') == And(And(And(a, b), c), d)


def test_parentheses_group_and_not_negates() -> None:
    a, b, c = (eq(x, "1") for x in "abc")
    assert parse('(a eq "1" or b eq "1") and c eq "1"') == And(Or(a, b), c)
    assert parse('((a eq "1"))') == a
    assert parse('not (a eq "1") and b eq "1"') == And(Not(a), b)
    assert parse('not(a eq "1" or b eq "1")') == Not(Or(a, b))
    assert parse('NOT (not (a eq "1"))') == Not(Not(a))


def test_presence_and_literals() -> None:
    assert parse("title pr") == Present(AttrPath("title"))
    assert parse("active eq true") == eq("active", True)
    assert parse("active ne FALSE") == Comparison(AttrPath("active"), Operator.NE, False)
    assert parse("title eq null") == eq("title", None)
    assert parse("x gt -1.5e2") == Comparison(AttrPath("x"), Operator.GT, -150.0)
    assert parse("x le 42") == Comparison(AttrPath("x"), Operator.LE, 42)


def test_value_paths() -> None:
    assert parse('emails[type eq "work" and value co "@example.com"]') == ValuePath(
        AttrPath("emails"),
        And(eq("type", "work"), Comparison(AttrPath("value"), Operator.CO, "@example.com")),
    )
    assert parse('emails[not (type eq "home")] or userName pr') == Or(
        ValuePath(AttrPath("emails"), Not(eq("type", "home"))), Present(AttrPath("userName"))
    )


def test_sub_attribute_and_urn_paths() -> None:
    assert parse('name.givenName eq "Ann"') == eq("name", "Ann", "givenName")
    assert parse('meta.lastModified gt "2024-01-01T00:00:00Z"') == Comparison(
        AttrPath("meta", "lastModified"), Operator.GT, "2024-01-01T00:00:00Z"
    )
    node = parse(f'{ENTERPRISE}:department eq "Sales"')
    assert node == Comparison(AttrPath("department", uri=ENTERPRISE), Operator.EQ, "Sales")
    core = parse('urn:ietf:params:scim:schemas:core:2.0:User:name.familyName sw "J"')
    assert isinstance(core, Comparison)
    assert core.path == AttrPath("name", "familyName", "urn:ietf:params:scim:schemas:core:2.0:User")


def test_string_escapes() -> None:
    node = parse(r'displayName eq "a \"quoted\" \\ name \u00e9\n\/"')
    assert node == eq("displayName", 'a "quoted" \\ name \u00e9\n/')
    assert parse('displayName eq "Zoë 日本"') == eq("displayName", "Zoë 日本")


def test_operators_keywords_and_names_are_case_insensitive() -> None:
    node = parse('USERNAME EQ "a" AND Title Pr OR NOT (active Eq True)')
    assert node == Or(And(eq("USERNAME", "a"), Present(AttrPath("Title"))), Not(eq("active", True)))
    assert AttrPath("USERNAME").key == AttrPath("userName").key == "username"
    assert AttrPath("Name", "GivenName").key == "name.givenname"


def test_whitespace_is_flexible() -> None:
    assert parse('  userName   eq\t"a"  ') == eq("userName", "a")
    assert parse('(userName eq "a")and(title pr)') == And(
        eq("userName", "a"), Present(AttrPath("title"))
    )


INVALID = [
    "",
    "   ",
    "userName",
    "userName eq",
    'userName equals "a"',
    'userName eq "unterminated',
    r'userName eq "bad \x escape"',
    'userName eq "a" and',
    'userName eq "a" or or title pr',
    'userName eq "a" title pr',
    '(userName eq "a"',
    'userName eq "a")',
    'not userName eq "a"',
    "not ()",
    "emails[]",
    'emails[type eq "work"',
    'emails[type eq "work"].value eq "a@b"',
    'emails[value[type eq "x"]]',
    'emails[name.givenName eq "x"]',
    'name.givenName[value eq "x"]',
    "userName eq bareword",
    "userName eq 'single'",
    'userName pr "x"',
    'a.b.c eq "x"',
    'userName eq "a" & title pr',
    "userName eq 12abc",
    r'userName eq "\u0000"',
    r'userName eq "\ud800"',
    ':userName eq "x"',
    'and eq "x"',
    "userName eq 01",
    '"userName" eq "x"',
]


@pytest.mark.parametrize("text", INVALID)
def test_invalid_filters_are_rejected(text: str) -> None:
    with pytest.raises(InvalidFilter) as caught:
        parse(text)
    assert isinstance(caught.value, InvalidInput)
    assert "position" in caught.value.detail


def test_errors_name_the_position() -> None:
    with pytest.raises(InvalidFilter, match=r"expected '\)'.*position 17") as caught:
        parse('(userName eq "a"')
    assert caught.value.position == 17
    with pytest.raises(InvalidFilter, match=r"unexpected character '&'.*position 17"):
        parse('userName eq "a" & title pr')


TRANSLATION_ERRORS = [
    'nickName eq "x"',  # not mapped
    'name.middleName eq "x"',
    'urn:example:schema:User:department eq "x"',
    f'{ENTERPRISE}:userName eq "x"',
    'phoneNumbers[type eq "work"]',
    'emails[display eq "x"]',
    "userName eq 1",
    "displayName eq true",
    "active gt true",
    'active eq "true"',
    "active co true",
    'id eq "not-a-uuid"',
    'id co "abc"',
    'meta.lastModified gt "yesterday"',
    'meta.created eq "2024-13-01T00:00:00Z"',
    'meta.created gt "2024-01-01T00:00:00"',  # RFC 3339 needs an offset
    'meta.created co "2024"',
    "title gt null",
    "emails[type eq 1]",
    'emails[primary eq "yes"]',
]


@pytest.mark.parametrize("text", TRANSLATION_ERRORS)
def test_filters_that_parse_but_cannot_apply_are_invalid(text: str) -> None:
    node = parse(text)
    with pytest.raises(InvalidFilter):
        to_sql(node)


# --- over the database ------------------------------------------------------------------------

CREATED = datetime(2024, 1, 10, 9, 0, tzinfo=UTC)


@pytest.fixture
async def people(db: Database, factory: Factory) -> dict[str, uuid.UUID]:
    specs = {
        "ann": {
            "email": "ann@example.com",
            "given_name": "Ann",
            "family_name": "Lee",
            "department": "Sales",
            "external_id": "00u1ANN",
            "job_title": "Account Executive",
        },
        "bob": {
            "email": "bob@example.com",
            "given_name": "Bob",
            "family_name": "Stone",
            "department": "Engineering",
            "external_id": "00u2bob",
            "job_title": "Staff_Engineer",
        },
        "cid": {
            "email": "cid@corp.io",
            "given_name": "Cid",
            "family_name": "Lee",
            "department": None,
            "job_title": None,
        },
        "dee": {
            "email": "dee@example.com",
            "given_name": "Dee",
            "family_name": "Marsh",
            "department": "R&D 100%",
            "external_id": "ANN-00u1",
            "job_title": "Engineer",
        },
        "eve": {
            "email": "eve@corp.io",
            "given_name": "Eve",
            "family_name": "Park",
            "department": "sales",
            "job_title": "Back\\slash",
        },
        "fay": {
            "email": "fay@example.com",
            "given_name": "Fay",
            "family_name": "Ng",
            "department": "Engineering",
            "external_id": "e-fay",
        },
        "gus": {
            "email": "gus_g@example.com",
            "given_name": "Gus",
            "family_name": "Gray",
            "department": "Engineering",
            "job_title": "Engineering Manager",
        },
        "hal": {
            "email": "hal@example.com",
            "given_name": "Hal",
            "family_name": "Ode",
            "department": "People",
        },
    }
    ids: dict[str, uuid.UUID] = {}
    for key, spec in specs.items():
        employee = await factory.employee(**spec)
        ids[key] = employee.id
    async with db.session() as session:
        for day, key in enumerate(specs):
            moment = CREATED.replace(day=10 + day)
            await session.execute(
                update(Employee)
                .where(col(Employee.id) == ids[key])
                .values(created_at=moment, updated_at=moment.replace(hour=12))
            )
        await session.execute(
            update(Employee).where(col(Employee.id) == ids["hal"]).values(active=False)
        )
        await session.commit()
    return ids


CASES: list[tuple[str, set[str]]] = [
    # What Okta and Microsoft Entra ID send when they look a user up before provisioning.
    ('userName eq "Ann@Example.com"', {"ann"}),
    ('userName eq "ann@example.com"', {"ann"}),
    ('externalId eq "00u1ANN"', {"ann"}),
    ('externalId eq "00u1ann"', set()),  # externalId is case-exact
    ('emails[type eq "work" and value eq "BOB@example.com"]', {"bob"}),
    ('emails[type eq "home" and value eq "bob@example.com"]', set()),
    ('emails[value eq "cid@corp.io"]', {"cid"}),
    ('emails.value ew "@CORP.io"', {"cid", "eve"}),
    ("active eq true", {"ann", "bob", "cid", "dee", "eve", "fay", "gus"}),
    ("active eq false", {"hal"}),
    ("active ne true", {"hal"}),
    # LIKE wildcards in values match themselves only.
    ('userName co "_"', {"gus"}),
    ('title co "_"', {"bob"}),
    ('department co "%"', {"dee"}),
    ('title co "\\\\"', {"eve"}),
    ('externalId co "00u1"', {"ann", "dee"}),
    ('externalId sw "ann"', set()),
    ('externalId ew "u1"', {"dee"}),
    # Case-insensitive strings, presence, NULL handling.
    ('department eq "SALES"', {"ann", "eve"}),
    (f'{ENTERPRISE}:department eq "engineering"', {"bob", "fay", "gus"}),
    ("department pr", {"ann", "bob", "dee", "eve", "fay", "gus", "hal"}),
    ("not (department pr)", {"cid"}),
    ('department ne "Engineering"', {"ann", "cid", "dee", "eve", "hal"}),
    ('not (title eq "Engineer")', {"ann", "bob", "cid", "eve", "fay", "gus", "hal"}),
    ("title eq null", {"cid", "fay", "hal"}),
    ('title sw "eng"', {"dee", "gus"}),
    ('name.familyName eq "lee" and name.givenName sw "C"', {"cid"}),
    ('displayName eq "fay ng"', {"fay"}),
    (
        'urn:ietf:params:scim:schemas:core:2.0:User:userName sw "a" or '
        '(department eq "people" and not (active eq true))',
        {"ann", "hal"},
    ),
    ('displayName gt "Fay Ng" and displayName lt "Hal"', {"gus"}),
    # Timestamps.
    ('meta.created ge "2024-01-16T09:00:00Z"', {"gus", "hal"}),
    ('meta.created lt "2024-01-11T10:00:01+01:00"', {"ann", "bob"}),  # 09:00:01Z
    ('meta.created lt "2024-01-11T10:00:00+01:00"', {"ann"}),  # bob: 09:00Z exactly
    ('meta.lastModified eq "2024-01-12T12:00:00.000Z"', {"cid"}),
    ('meta.lastModified gt "2024-01-16T12:00:00Z"', {"hal"}),
]


@pytest.mark.parametrize(("text", "expected"), CASES)
async def test_filters_select_exactly_the_matching_employees(
    db: Database, people: dict[str, uuid.UUID], text: str, expected: set[str]
) -> None:
    async with db.session() as session:
        stmt = select(Employee.id).where(to_sql(parse(text)))
        found = set((await session.execute(stmt)).scalars())
    names = {name for name, id_ in people.items() if id_ in found}
    assert names == expected


async def test_id_filters(db: Database, people: dict[str, uuid.UUID]) -> None:
    async with db.session() as session:
        for text, expected in [
            (f'id eq "{people["bob"]}"', {people["bob"]}),
            (f'id eq "{str(people["bob"]).upper()}"', {people["bob"]}),
            (f'id ne "{people["bob"]}"', set(people.values()) - {people["bob"]}),
            (f'id eq "{uuid.uuid4()}"', set()),
        ]:
            stmt = select(Employee.id).where(to_sql(parse(text)))
            assert set((await session.execute(stmt)).scalars()) == expected, text


# --- property: SQL agrees with a plain Python evaluation -------------------------------------

# ASCII only: SQLite's lower() folds ASCII letters alone, so beyond ASCII the databases differ.
TEXT = st.text(alphabet='aAbB %_\\"', max_size=4)
ATTRIBUTES = {
    "displayName": "display_name",
    "DISPLAYNAME": "display_name",
    "department": "department",
    f"{ENTERPRISE}:Department": "department",
}
OPS = ["eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le", "pr"]


@st.composite
def leaf_filters(draw: st.DrawFn) -> str:
    attribute = draw(st.sampled_from(sorted(ATTRIBUTES)))
    op = draw(st.sampled_from(OPS))
    if op == "pr":
        return f"{attribute} pr"
    return f"{attribute} {op} {json.dumps(draw(TEXT))}"


filters = st.recursive(
    leaf_filters(),
    lambda inner: st.one_of(
        st.tuples(inner, st.sampled_from(["and", "or"]), inner).map(
            lambda t: f"({t[0]}) {t[1]} ({t[2]})"
        ),
        inner.map(lambda f: f"not ({f})"),
    ),
    max_leaves=4,
)


def evaluate(node: Filter, row: dict[str, str | None]) -> bool:
    if isinstance(node, And):
        return evaluate(node.left, row) and evaluate(node.right, row)
    if isinstance(node, Or):
        return evaluate(node.left, row) or evaluate(node.right, row)
    if isinstance(node, Not):
        return not evaluate(node.operand, row)
    assert isinstance(node, Comparison | Present)
    key = "display_name" if node.path.key == "displayname" else "department"
    actual = row[key]
    if isinstance(node, Present):
        return bool(actual)
    assert isinstance(node.value, str)
    if actual is None:
        return node.op is Operator.NE
    left, right = actual.lower(), node.value.lower()
    return {
        Operator.EQ: left == right,
        Operator.NE: left != right,
        Operator.CO: right in left,
        Operator.SW: left.startswith(right),
        Operator.EW: left.endswith(right),
        Operator.GT: left > right,
        Operator.GE: left >= right,
        Operator.LT: left < right,
        Operator.LE: left <= right,
    }[node.op]


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    rows=st.lists(st.tuples(TEXT, st.none() | TEXT), min_size=1, max_size=5),
    text=filters,
)
async def test_sql_agrees_with_python_on_random_filters(
    db: Database, rows: list[tuple[str, str | None]], text: str
) -> None:
    node = parse(text)
    async with db.session() as session:  # never committed: each example leaves nothing behind
        expected: set[uuid.UUID] = set()
        ids: list[uuid.UUID] = []
        for display_name, department in rows:
            email = f"{uuid.uuid4().hex}@example.com"
            employee = Employee(
                email=email,
                email_key=email,
                given_name="G",
                family_name="F",
                display_name=display_name,
                department=department,
                job_level=1,
            )
            session.add(employee)
            ids.append(employee.id)
            if evaluate(node, {"display_name": display_name, "department": department}):
                expected.add(employee.id)
        await session.flush()
        stmt = select(Employee.id).where(col(Employee.id).in_(ids), to_sql(node))
        assert set((await session.execute(stmt)).scalars()) == expected
        await session.rollback()
