"""Employees as SCIM Users, and back: the attribute mapping in one place.

``userName`` is the work e-mail (unique, case-insensitive); ``emails`` shows that same address as
the one primary work e-mail. The enterprise extension carries the organisation fields and the
manager, Revmentor's extension the job level, location, time zone and employment dates.

Going back, a SCIM User becomes the employee fields it asks for (:func:`wanted`). Creating,
replacing and patching differ only in what a missing attribute means; each compares what is
wanted with what is stored and sends the difference to the domain.
"""

from __future__ import annotations

import uuid
from typing import Any, Final

from pydantic import ValidationError
from scim2_models import Email, Meta, Name

from app.api.scim.errors import ScimError, invalid_value
from app.api.scim.models import (
    DEFAULT_JOB_LEVEL,
    ENTERPRISE_USER,
    REVMENTOR_USER,
    EnterpriseUser,
    Manager,
    RevmentorUser,
    ScimUser,
)
from app.api.scim.validation import problem
from app.db.models import Employee
from app.domain.employees import EmployeeCreate

#: Employee field → its SCIM attribute, to name it in errors.
SCIM_NAMES: Final = {
    "email": "userName",
    "given_name": "name.givenName",
    "family_name": "name.familyName",
    "display_name": "displayName",
    "external_id": "externalId",
    "job_title": "title",
    "active": "active",
    "employee_number": f"{ENTERPRISE_USER}:employeeNumber",
    "department": f"{ENTERPRISE_USER}:department",
    "division": f"{ENTERPRISE_USER}:division",
    "organization": f"{ENTERPRISE_USER}:organization",
    "cost_center": f"{ENTERPRISE_USER}:costCenter",
    "manager": f"{ENTERPRISE_USER}:manager",
    "manager_id": f"{ENTERPRISE_USER}:manager",
    "manager_external_id": f"{ENTERPRISE_USER}:manager",
    "job_level": f"{REVMENTOR_USER}:jobLevel",
    "location": f"{REVMENTOR_USER}:location",
    "time_zone": f"{REVMENTOR_USER}:timeZone",
    "hire_date": f"{REVMENTOR_USER}:hireDate",
    "termination_date": f"{REVMENTOR_USER}:terminationDate",
}

#: Attributes every employee has: a PUT that leaves them out keeps the stored value (an
#: identity provider that does not manage seniority must not reset it), a PATCH cannot remove
#: them.
KEPT_WHEN_ABSENT: Final = frozenset({"job_level", "time_zone", "active"})
REQUIRED: Final = frozenset({"email", "given_name", "family_name"})
#: The zone of a new employee, which a PATCH removing the zone returns to.
DEFAULT_TIME_ZONE: Final[str] = EmployeeCreate.model_fields["time_zone"].default


def entity_tag(employee: Employee, manager: Employee | None) -> str:
    """What a user's entity tag names: its version, and its manager's when it has one (the
    user shows the manager's name, which the manager's own edits change).

    ``3`` or ``3.7``; a client's cached user is current while the tag is the same.
    """
    if manager is None:
        return str(employee.version)
    return f"{employee.version}.{manager.version}"


def version_tag(tag: str) -> str:
    """The weak entity tag (``W/"3.7"``): the same in ``ETag`` and meta.version."""
    return f'W/"{tag}"'


def to_scim(
    employee: Employee,
    *,
    location: str | None = None,
    manager_record: Employee | None = None,
    manager_location: str | None = None,
) -> ScimUser:
    """The SCIM User of an employee (``location`` set: with meta, for a response), its linked
    manager's record given where the response names them."""
    manager: Manager | None = None
    if employee.manager_id is not None:
        manager = Manager(
            value=str(employee.manager_id),
            ref=manager_location,
            display_name=manager_record.display_name if manager_record else None,
        )
    elif employee.manager_external_id is not None:
        # Named by the source but not provisioned yet: linked when they arrive.
        manager = Manager(value=employee.manager_external_id)
    user = ScimUser(
        id=str(employee.id),
        external_id=employee.external_id,
        user_name=employee.email,
        name=Name(given_name=employee.given_name, family_name=employee.family_name),
        display_name=employee.display_name,
        title=employee.job_title,
        timezone=employee.time_zone,
        active=employee.active,
        # Built unchecked: the stored address was checked when written, and a stricter
        # validator release must not turn reading the directory into errors.
        emails=[Email.model_construct(value=employee.email, type=Email.Type.work, primary=True)],
        meta=None
        if location is None
        else Meta(
            resource_type="User",
            created=employee.created_at,
            last_modified=employee.updated_at,
            location=location,
            version=version_tag(entity_tag(employee, manager_record)),
        ),
    )
    user[EnterpriseUser] = EnterpriseUser(
        employee_number=employee.employee_number,
        cost_center=employee.cost_center,
        organization=employee.organization,
        division=employee.division,
        department=employee.department,
        manager=manager,
    )
    user[RevmentorUser] = RevmentorUser(
        job_level=employee.job_level,
        location=employee.location,
        time_zone=employee.time_zone,
        hire_date=employee.hire_date,
        termination_date=employee.termination_date,
    )
    return user


def _text(value: str | None) -> str | None:
    # Identity providers send "" for an attribute they hold no value for: that is no value.
    if value is None:
        return None
    stripped = value.strip()
    return stripped or None


def _work_email(user: ScimUser) -> str | None:
    emails = [e for e in user.emails or [] if e.value]
    chosen = next((e for e in emails if e.primary), None) or next(
        (e for e in emails if str(e.type or "").lower() == "work"), None
    )
    return str(chosen.value) if chosen is not None else None


def wanted(user: ScimUser) -> dict[str, Any]:
    """The employee fields a SCIM User asks for (``None``: no value), plus ``manager`` (the
    reference as sent) and ``work_email`` (the primary or work address in ``emails``)."""
    enterprise: EnterpriseUser = user[EnterpriseUser] or EnterpriseUser()
    revmentor: RevmentorUser = user[RevmentorUser] or RevmentorUser()
    manager = enterprise.manager.value if enterprise.manager is not None else None
    return {
        "email": _text(user.user_name),
        "work_email": _work_email(user),
        "given_name": _text(user.name.given_name) if user.name else None,
        "family_name": _text(user.name.family_name) if user.name else None,
        "display_name": _text(user.display_name),
        "external_id": _text(user.external_id),
        "job_title": _text(user.title),
        "active": user.active,
        "employee_number": _text(enterprise.employee_number),
        "department": _text(enterprise.department),
        "division": _text(enterprise.division),
        "organization": _text(enterprise.organization),
        "cost_center": _text(enterprise.cost_center),
        "manager": _text(manager),
        "job_level": revmentor.job_level,
        "location": _text(revmentor.location),
        # The extension's timeZone wins over the core timezone (both are the one stored zone).
        "time_zone": _text(revmentor.time_zone) or _text(user.timezone),
        "hire_date": revmentor.hire_date,
        "termination_date": revmentor.termination_date,
    }


def _require(
    fields: dict[str, Any], names: frozenset[str], verb: str, scim_type: str = "invalidValue"
) -> None:
    missing = sorted(SCIM_NAMES[name] for name in names if fields.get(name) is None)
    if missing:
        raise ScimError(400, f"{', '.join(missing)}: required, cannot be {verb}", scim_type)


def for_creation(user: ScimUser) -> dict[str, Any]:
    """The fields of a new employee (defaults where the identity provider sent nothing)."""
    fields = wanted(user)
    _require(fields, REQUIRED, "empty")
    fields.pop("work_email")
    if fields["job_level"] is None:
        fields["job_level"] = DEFAULT_JOB_LEVEL
    if fields["active"] is None:
        fields["active"] = True
    return {k: v for k, v in fields.items() if v is not None or k == "manager"}


def changes_for_replacement(current: ScimUser, user: ScimUser) -> dict[str, Any]:
    """A PUT: every attribute is what was sent, an absent one is cleared, except those every
    employee must have (kept) and the required ones (an error)."""
    stored, fields = wanted(current), wanted(user)
    _require(fields, REQUIRED, "empty")
    for name in KEPT_WHEN_ABSENT:
        if fields[name] is None:
            fields[name] = stored[name]
    return _difference(stored, fields)


def changes_for_patch(current: ScimUser, patched: ScimUser) -> dict[str, Any]:
    """A PATCH: the difference its operations made to the representation.

    Removing a required attribute is a ``mutability`` error (RFC 7644 section 3.5.2.2), the
    job level and status included: every employee has them. The time zone has a default,
    which removing it restores."""
    stored, fields = wanted(current), wanted(patched)
    fields["time_zone"] = _patched_time_zone(stored["time_zone"], patched)
    _require(fields, REQUIRED | KEPT_WHEN_ABSENT, "removed", "mutability")
    work = fields["work_email"]
    if work is None:
        # The one e-mail kept is the userName's address: a user cannot be left without it.
        raise ScimError(
            400,
            "emails: the work e-mail is the userName's address and cannot be removed; "
            "replace it (or userName) instead",
            "mutability",
        )
    if fields["email"] == stored["email"] and work.lower() != stored["email"].lower():
        # Only the work e-mail changed (Entra ID sends emails[type eq "work"].value alone when
        # the mail attribute changes): it is the one address, so userName follows.
        fields["email"] = work
    return _difference(stored, fields)


def _patched_time_zone(stored: str, patched: ScimUser) -> str:
    """The zone after a PATCH, which may have changed either of its two spellings (the core
    timezone and the Revmentor timeZone, one stored value): a new zone in either is the zone
    (the extension's when both have one); removing or emptying either restores the default,
    as the other spelling still holding the old zone must not undo the removal."""
    revmentor: RevmentorUser = patched[RevmentorUser] or RevmentorUser()
    spellings = (_text(revmentor.time_zone), _text(patched.timezone))
    changed = [zone for zone in spellings if zone != stored]
    if not changed:
        return stored
    return next((zone for zone in changed if zone is not None), DEFAULT_TIME_ZONE)


def _difference(stored: dict[str, Any], fields: dict[str, Any]) -> dict[str, Any]:
    if fields["display_name"] is None:
        fields["display_name"] = f"{fields['given_name']} {fields['family_name']}"
    return {
        name: value
        for name, value in fields.items()
        if name != "work_email" and value != stored[name]
    }


def field_errors(exc: ValidationError) -> ScimError:
    """The first error of an employee input model, naming the SCIM attribute at fault."""
    errors = exc.errors(include_url=False)
    if not errors:
        return invalid_value("the values sent are not valid")
    first = errors[0]
    location = [str(part) for part in first["loc"]]
    name = SCIM_NAMES.get(location[0], location[0]) if location else ""
    return invalid_value(f"{name}: {problem(first)}" if name else problem(first))


def parse_id(value: str) -> uuid.UUID | None:
    """A SCIM id as an employee id; ``None`` when it is not one (so: not found)."""
    try:
        return uuid.UUID(value)
    except ValueError:
        return None
