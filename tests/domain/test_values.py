"""Input values: tags, time zones, time windows, typed JSON and NUL characters."""

from __future__ import annotations

from datetime import date, time
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, EmailStr, TypeAdapter, ValidationError

from app.domain.employees import EmployeeCreate, EmployeeUpdate
from app.domain.enrollments import EnrollmentCreate, EnrollmentUpdate, TimeWindow
from app.domain.programs import MatchingSettings, ProgramCreate, ProgramUpdate
from app.domain.tokens import TokenCreate
from app.domain.values import Email, Tags

BASE: dict[str, Any] = {
    "email": "ada@example.com",
    "given_name": "Ada",
    "family_name": "Lovelace",
    "job_level": 5,
}


class _Tagged(BaseModel):
    tags: Tags


def _tags(values: list[str]) -> list[str]:
    return _Tagged(tags=values).tags


def _employee(**overrides: Any) -> EmployeeCreate:
    return EmployeeCreate(**(BASE | overrides))


def _errors(exc: pytest.ExceptionInfo[ValidationError]) -> set[str]:
    return {".".join(str(p) for p in err["loc"]) for err in exc.value.errors()}


# --- tags ------------------------------------------------------------------------------------


def test_tags_are_trimmed_collapsed_and_deduplicated() -> None:
    assert _tags(["  Python ", "python", "PYTHON", "AI   tools", "ai tools", "Go"]) == [
        "Python",
        "AI tools",
        "Go",
    ]
    # The first spelling wins, the order of first appearance is kept.
    assert _tags(["Straße", "STRASSE", "b", "a"]) == ["Straße", "b", "a"]
    assert _employee(skills=[" Slack ", "slack"]).skills == ["Slack"]


@pytest.mark.parametrize("bad", [[""], ["   "], ["x" * 65], ["ok"] * 51, "Python", [1]])
def test_tags_refuse_blank_long_many_or_non_strings(bad: Any) -> None:
    with pytest.raises(ValidationError):
        _employee(skills=bad)


_tag_text = st.text(
    alphabet=st.sampled_from([*list("aAbBßSs \t"), "é", "É", "İ"]), min_size=0, max_size=12
)


@settings(max_examples=30, deadline=None)
@given(st.lists(_tag_text, max_size=12))
def test_tag_normalisation_is_idempotent_and_unique(values: list[str]) -> None:
    cleaned = [v for v in values if v.strip()]
    once = _tags(cleaned)
    assert _tags(once) == once
    assert len({t.casefold() for t in once}) == len(once)
    for tag in once:
        assert tag == " ".join(tag.split())
    # Nothing is lost: every input is represented by some output.
    folded = {t.casefold() for t in once}
    assert {" ".join(v.split()).casefold() for v in cleaned} == folded


# --- time zones and time windows -------------------------------------------------------------


@pytest.mark.parametrize("zone", ["UTC", "Europe/Berlin", "America/Argentina/Buenos_Aires"])
def test_iana_time_zones_are_accepted(zone: str) -> None:
    assert _employee(time_zone=zone).time_zone == zone


@pytest.mark.parametrize("zone", ["Mars/Olympus_Mons", "europe/berlin", "", "+02:00", "CEST "])
def test_unknown_time_zones_are_refused(zone: str) -> None:
    with pytest.raises(ValidationError) as info:
        _employee(time_zone=zone)
    assert "time_zone" in _errors(info)
    with pytest.raises(ValidationError):
        EmployeeUpdate(time_zone=zone)


def test_a_time_window_ends_after_it_starts() -> None:
    window = TimeWindow(day="mon", start="09:00", end="09:30")
    assert (window.start, window.end) == (time(9), time(9, 30))
    for start, end in (("10:00", "10:00"), ("10:00", "09:00")):
        with pytest.raises(ValidationError, match="end must be after start"):
            TimeWindow(day="mon", start=start, end=end)
    with pytest.raises(ValidationError):
        TimeWindow(day="someday", start="09:00", end="10:00")
    with pytest.raises(ValidationError):
        TimeWindow(day="mon", start=900, end="10:00")


def test_a_time_window_with_mixed_offsets_is_a_validation_error() -> None:
    # Windows are in the employee's own time zone; an offset on one end only must be a clear
    # validation error (a 422), never an uncaught TypeError from comparing the two times.
    with pytest.raises(ValidationError):
        TimeWindow(day="mon", start="09:00+02:00", end="10:00")
    with pytest.raises(ValidationError):
        EnrollmentCreate(
            role="mentor",
            accepted_ground_rules_version=1,
            can_teach=["x"],
            availability=[{"day": "mon", "start": "09:00", "end": "10:00Z"}],
        )


# --- JSON types ------------------------------------------------------------------------------


@pytest.mark.parametrize("level", ["5", True, False, 5.5, None, [5], "five"])
def test_job_level_must_be_a_json_integer(level: Any) -> None:
    with pytest.raises(ValidationError) as info:
        _employee(job_level=level)
    assert "job_level" in _errors(info)


@pytest.mark.parametrize(("level", "stored"), [(5, 5), (5.0, 5), (0, 0), (30, 30)])
def test_whole_numbers_are_integers(level: Any, stored: int) -> None:
    value = _employee(job_level=level).job_level
    assert value == stored
    assert type(value) is int


@pytest.mark.parametrize("level", [-1, 31, 30.5])
def test_job_level_range(level: Any) -> None:
    with pytest.raises(ValidationError):
        _employee(job_level=level)


@pytest.mark.parametrize("hire_date", [0, 1_700_000_000, 20200101, True, 1.5])
def test_a_number_is_not_a_date(hire_date: Any) -> None:
    with pytest.raises(ValidationError) as info:
        _employee(hire_date=hire_date)
    assert "hire_date" in _errors(info)


@pytest.mark.parametrize("hire_date", ["0", "86400", "1700006400"])
def test_a_numeric_string_is_not_a_date(hire_date: str) -> None:
    # "0" must not quietly become 1970-01-01: a date is written as YYYY-MM-DD.
    with pytest.raises(ValidationError):
        _employee(hire_date=hire_date)


def test_iso_dates_are_accepted() -> None:
    assert _employee(hire_date="2019-09-01").hire_date == date(2019, 9, 1)
    for bad in ("2019-02-30", "01/09/2019", "yesterday"):
        with pytest.raises(ValidationError):
            _employee(hire_date=bad)


@pytest.mark.parametrize("flag", ["true", 1, 0, "yes", None])
def test_flags_must_be_json_booleans(flag: Any) -> None:
    with pytest.raises(ValidationError):
        _employee(is_admin=flag)
    if flag is not None:
        with pytest.raises(ValidationError):
            EmployeeUpdate(active=flag)


@pytest.mark.parametrize(
    ("model", "fields"),
    [
        (EnrollmentCreate, {"role": "mentor", "accepted_ground_rules_version": "1"}),
        (EnrollmentCreate, {"role": "mentor", "accepted_ground_rules_version": True}),
        (EnrollmentUpdate, {"capacity": "2"}),
        (EnrollmentUpdate, {"capacity": 1.5}),
        (ProgramCreate, {"name": "P", "meeting_cadence_days": "14"}),
        (ProgramCreate, {"name": "P", "starts_on": 0}),
        (ProgramUpdate, {"pairing_length_weeks": False}),
        (MatchingSettings, {"min_level_gap": "2"}),
        (MatchingSettings, {"weights": {"location": True}}),
        (TokenCreate, {"name": "t", "service": "s", "expires_in_days": 1.5}),
        (ProgramCreate, {"name": 5}),
        (EmployeeCreate, BASE | {"given_name": 7}),
    ],
)
def test_numbers_and_strings_are_not_coerced(model: type[BaseModel], fields: Any) -> None:
    with pytest.raises(ValidationError):
        model(**fields)


def test_unknown_fields_are_refused() -> None:
    with pytest.raises(ValidationError) as info:
        _employee(birth_date="1970-01-01")
    assert "birth_date" in _errors(info)
    with pytest.raises(ValidationError):
        EnrollmentUpdate(role="mentor")  # the role cannot be changed in place


# --- NUL characters --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "fields"),
    [
        (EmployeeCreate, BASE | {"given_name": "Ad\x00a"}),
        (EmployeeCreate, BASE | {"email": "ada\x00@example.com"}),
        (EmployeeCreate, BASE | {"skills": ["ok", "bad\x00"]}),
        (EmployeeCreate, BASE | {"job_title": "\x00"}),
        (EmployeeUpdate, {"department": "Ops\x00"}),
        (ProgramCreate, {"name": "P", "description": "line\x00two"}),
        (ProgramCreate, {"name": "P", "ground_rules": "\x00"}),
        (ProgramCreate, {"name": "P", "focus_areas": ["AI\x00"]}),
        (ProgramCreate, {"name": "P", "matching": {"weights": {"location\x00": 1}}}),
        (ProgramUpdate, {"name": "P\x00"}),
        (
            EnrollmentCreate,
            {
                "role": "mentor",
                "accepted_ground_rules_version": 1,
                "can_teach": ["x"],
                "motivation": "why\x00",
            },
        ),
        (
            EnrollmentUpdate,
            {"availability": [{"day": "mon\x00", "start": "09:00", "end": "10:00"}]},
        ),
        (TokenCreate, {"name": "t\x00", "service": "s"}),
    ],
)
def test_nul_characters_are_refused_anywhere(model: type[BaseModel], fields: Any) -> None:
    with pytest.raises(ValidationError, match="NUL"):
        model(**fields)


def test_other_control_and_unicode_text_is_kept() -> None:
    employee = _employee(given_name="Zoë", family_name="Ørsted-Nakamura 中村", job_title="a\tb")
    assert employee.given_name == "Zoë"
    assert employee.family_name == "Ørsted-Nakamura 中村"
    assert employee.job_title == "a\tb"


# --- e-mail addresses ------------------------------------------------------------------------

_EMAIL_STR = TypeAdapter(EmailStr)
_EMAIL = TypeAdapter(Email)
_LOCAL = st.text(alphabet="abcXYZ09._+-'!#ü\"", min_size=0, max_size=70)
_DOMAIN = st.lists(
    st.text(alphabet="abcXYZ09-ü", min_size=0, max_size=66), min_size=1, max_size=4
).map(".".join)
_TLDS = st.sampled_from(["com", "COM", "org", "test", "local", "localhost", "c0m", "123", "x", ""])


def _outcome(adapter: TypeAdapter[str], value: object) -> str | None:
    try:
        return adapter.validate_python(value)
    except ValidationError:
        return None


@settings(max_examples=400, deadline=None)
@given(local=_LOCAL, domain=_DOMAIN, tld=_TLDS, at=st.sampled_from(["@", "@@", ""]))
def test_the_fast_email_check_decides_exactly_like_emailstr(
    local: str, domain: str, tld: str, at: str
) -> None:
    # The fast path for plain addresses must accept, refuse and normalise exactly as pydantic's
    # EmailStr (email-validator) does, whatever the input.
    address = f"{local}{at}{domain}.{tld}" if tld else f"{local}{at}{domain}"
    assert _outcome(_EMAIL, address) == _outcome(_EMAIL_STR, address)


def test_the_fast_email_check_keeps_the_local_part_and_lowercases_the_domain() -> None:
    assert _outcome(_EMAIL, "Ada.Lovelace@Example.COM") == "Ada.Lovelace@example.com"
    assert _outcome(_EMAIL, "ada@example.test") is None  # a special-use domain
    assert _outcome(_EMAIL, 42) is None
