"""SCIM filters: the parser's AST, its errors, and the SQL it becomes over real employee rows."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime

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
    sort_keys,
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


def test_nesting_is_limited_to_50_levels() -> None:
    # Parentheses, 'not (' and '[' each open a level; the 51st is refused where it opens.
    fifty = "(" * 24 + "not (" * 24 + "emails[value pr]" + ")" * 48
    assert parse(f"({fifty})") == parse(fifty)
    deeper = f"(({fifty}))"
    with pytest.raises(InvalidFilter, match=r"more than 50 levels") as caught:
        parse(deeper)
    assert caught.value.position == deeper.index("[") + 1
    # Chains of 'and' and 'or' nest no deeper, however long.
    chain = " or ".join(["title pr and userName pr"] * 120)
    assert isinstance(parse(chain), Or)


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

# Letters beyond ASCII too: both databases fold their case as Python's str.lower() does.
TEXT = st.text(alphabet='aAbBéÉøØ %_\\"', max_size=4)
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


# --- enterprise and Revmentor attributes ------------------------------------------------------

REVMENTOR = "urn:revmentor:params:scim:schemas:extension:revmentor:2.0:User"


@pytest.fixture
async def org(db: Database, factory: Factory) -> dict[str, uuid.UUID]:
    """People with the enterprise and Revmentor attributes set, and a management line."""
    boss = await factory.employee(
        email="boss@example.com",
        external_id="HR-1",
        employee_number="1001",
        division="Retail",
        organization="Contoso",
        cost_center="CC-10",
        job_level=12,
        location="Berlin",
        time_zone="Europe/Berlin",
        hire_date="2010-03-01",
    )
    ivy = await factory.employee(
        email="ivy@example.com",
        employee_number="1002",
        division="retail",
        organization="Fabrikam",
        cost_center="CC-20",
        job_level=4,
        location="Lisbon",
        time_zone="Europe/Lisbon",
        hire_date="2022-09-15",
        termination_date="2099-01-31",
        manager_id=boss.id,
    )
    jon = await factory.employee(
        email="jon@example.com",
        job_level=2,
        time_zone="UTC",
        manager_external_id="HR-404",  # named by the source, not provisioned yet
    )
    return {"boss": boss.id, "ivy": ivy.id, "jon": jon.id}


ORG_CASES: list[tuple[str, set[str]]] = [
    ('employeeNumber eq "1002"', {"ivy"}),
    (f'{ENTERPRISE}:employeeNumber sw "100"', {"boss", "ivy"}),
    ('division eq "RETAIL"', {"boss", "ivy"}),
    (f'{ENTERPRISE}:organization eq "fabrikam"', {"ivy"}),
    ('costCenter co "-1"', {"boss"}),
    (f"{ENTERPRISE}:costCenter pr", {"boss", "ivy"}),
    ("not (division pr)", {"jon"}),
    ("jobLevel gt 3", {"boss", "ivy"}),
    (f"{REVMENTOR}:jobLevel le 4", {"ivy", "jon"}),
    ("jobLevel eq 12.0", {"boss"}),
    ("jobLevel ne 2", {"boss", "ivy"}),
    ('location eq "lisbon"', {"ivy"}),
    (f'{REVMENTOR}:location ne "Berlin"', {"ivy", "jon"}),
    ('timezone eq "europe/berlin"', {"boss"}),
    (f'{REVMENTOR}:timeZone sw "Europe/"', {"boss", "ivy"}),
    ('hireDate ge "2020-01-01"', {"ivy"}),
    (f'{REVMENTOR}:hireDate lt "2020-01-01T00:00:00Z"', {"boss"}),
    ("hireDate eq null", {"jon"}),
    ('terminationDate gt "2030-01-01"', {"ivy"}),
    ('not (terminationDate le "2030-01-01")', {"boss", "ivy", "jon"}),
    ("manager pr", {"ivy", "jon"}),
    (f"not ({ENTERPRISE}:manager.value pr)", {"boss"}),
    ('manager.value eq "HR-404"', {"jon"}),
    (f'{ENTERPRISE}:manager[value eq "HR-404"]', {"jon"}),
]


@pytest.mark.parametrize(("text", "expected"), ORG_CASES)
async def test_enterprise_and_revmentor_filters(
    db: Database, org: dict[str, uuid.UUID], text: str, expected: set[str]
) -> None:
    async with db.session() as session:
        found = set(
            (await session.execute(select(Employee.id).where(to_sql(parse(text))))).scalars()
        )
    assert {name for name, id_ in org.items() if id_ in found} == expected


async def test_manager_value_matches_the_managers_id(
    db: Database, org: dict[str, uuid.UUID]
) -> None:
    async with db.session() as session:
        for text, expected in [
            (f'manager.value eq "{org["boss"]}"', {org["ivy"]}),
            (f'manager.value ne "{org["boss"]}"', {org["boss"], org["jon"]}),
            (f'{ENTERPRISE}:manager eq "{str(org["boss"]).upper()}"', {org["ivy"]}),
            ("manager.value eq null", {org["boss"]}),
        ]:
            stmt = select(Employee.id).where(to_sql(parse(text)))
            assert set((await session.execute(stmt)).scalars()) == expected, text


ORG_ERRORS = [
    'jobLevel co "1"',
    'jobLevel eq "3"',
    "jobLevel eq true",
    "jobLevel gt 2.5",
    'hireDate gt "yesterday"',
    'hireDate co "2020"',
    "hireDate eq 2020",
    'manager.value gt "x"',
    "manager.value eq 5",
    'manager.displayName eq "Boss"',
    f'{REVMENTOR}:department eq "x"',
    f"{ENTERPRISE}:jobLevel eq 1",
]


@pytest.mark.parametrize("text", ORG_ERRORS)
def test_enterprise_and_revmentor_filters_that_cannot_apply(text: str) -> None:
    with pytest.raises(InvalidFilter):
        to_sql(parse(text))


# --- sortBy ------------------------------------------------------------------------------------


async def test_sort_keys_order_rows_in_sql(db: Database, org: dict[str, uuid.UUID]) -> None:
    names = {id_: name for name, id_ in org.items()}

    async def ordered(text: str, *, descending: bool = False) -> list[str]:
        keys = sort_keys(text, descending=descending)
        async with db.session() as session:
            stmt = select(Employee.id).order_by(*keys, Employee.id)
            return [names[i] for i in (await session.execute(stmt)).scalars()]

    assert await ordered("jobLevel") == ["jon", "ivy", "boss"]
    assert await ordered(f"{REVMENTOR}:jobLevel", descending=True) == ["boss", "ivy", "jon"]
    # Missing values last ascending, first descending; strings without case.
    assert await ordered("division") == ["boss", "ivy", "jon"]
    assert (await ordered("division", descending=True))[0] == "jon"
    assert await ordered("hireDate") == ["boss", "ivy", "jon"]
    assert await ordered("USERNAME") == ["boss", "ivy", "jon"]


@pytest.mark.parametrize(
    "text", ["nickName", "emails.type", "emails.primary", "userName or title", "", "userName pr"]
)
def test_sort_keys_refuse_what_cannot_sort(text: str) -> None:
    with pytest.raises(InvalidFilter):
        sort_keys(text)


# --- property: numbers and dates agree with Python too ----------------------------------------

DAYS = st.dates(min_value=date(2019, 12, 30), max_value=date(2020, 1, 3))
ORDERED_OPS = ["eq", "ne", "gt", "ge", "lt", "le", "pr"]


@st.composite
def ordered_leaves(draw: st.DrawFn) -> str:
    attribute = draw(st.sampled_from(["jobLevel", f"{REVMENTOR}:hireDate"]))
    op = draw(st.sampled_from(ORDERED_OPS))
    if op == "pr":
        return f"{attribute} pr"
    if attribute == "jobLevel":
        return f"{attribute} {op} {draw(st.integers(0, 4))}"
    return f'{attribute} {op} "{draw(DAYS).isoformat()}"'


ordered_filters = st.recursive(
    ordered_leaves(),
    lambda inner: st.one_of(
        st.tuples(inner, st.sampled_from(["and", "or"]), inner).map(
            lambda t: f"({t[0]}) {t[1]} ({t[2]})"
        ),
        inner.map(lambda f: f"not ({f})"),
    ),
    max_leaves=4,
)


def evaluate_ordered(node: Filter, row: dict[str, object]) -> bool:
    if isinstance(node, And):
        return evaluate_ordered(node.left, row) and evaluate_ordered(node.right, row)
    if isinstance(node, Or):
        return evaluate_ordered(node.left, row) or evaluate_ordered(node.right, row)
    if isinstance(node, Not):
        return not evaluate_ordered(node.operand, row)
    assert isinstance(node, Comparison | Present)
    key = "job_level" if node.path.key == "joblevel" else "hire_date"
    actual = row[key]
    if isinstance(node, Present):
        return actual is not None
    value: object = node.value
    if key == "hire_date":
        assert isinstance(value, str)
        value = date.fromisoformat(value)
    if actual is None:
        return node.op is Operator.NE
    compare = {
        Operator.EQ: lambda a, b: a == b,
        Operator.NE: lambda a, b: a != b,
        Operator.GT: lambda a, b: a > b,
        Operator.GE: lambda a, b: a >= b,
        Operator.LT: lambda a, b: a < b,
        Operator.LE: lambda a, b: a <= b,
    }[node.op]
    return bool(compare(actual, value))


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    rows=st.lists(st.tuples(st.integers(0, 4), st.none() | DAYS), min_size=1, max_size=5),
    text=ordered_filters,
)
async def test_sql_agrees_with_python_on_numbers_and_dates(
    db: Database, rows: list[tuple[int, date | None]], text: str
) -> None:
    node = parse(text)
    async with db.session() as session:  # never committed
        expected: set[uuid.UUID] = set()
        ids: list[uuid.UUID] = []
        for level, hired in rows:
            email = f"{uuid.uuid4().hex}@example.com"
            employee = Employee(
                email=email,
                email_key=email,
                given_name="G",
                family_name="F",
                display_name="G F",
                job_level=level,
                hire_date=hired,
            )
            session.add(employee)
            ids.append(employee.id)
            if evaluate_ordered(node, {"job_level": level, "hire_date": hired}):
                expected.add(employee.id)
        await session.flush()
        stmt = select(Employee.id).where(col(Employee.id).in_(ids), to_sql(node))
        assert set((await session.execute(stmt)).scalars()) == expected
        await session.rollback()
