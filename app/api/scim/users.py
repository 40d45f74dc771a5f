"""SCIM ``/Users``: the employee directory as Okta and Microsoft Entra ID provision it.

Every write goes through the employee services with ``via=Scope.SCIM``, in one unit of work per
request, committed here. DELETE deprovisions: the person is deactivated (enrollments withdrawn,
open pairings ended) and leaves the SCIM view, but the record stays, as pairings, feedback and
reports refer to it. Creating a user with the externalId of someone removed that way brings
them back (or with their e-mail, unless it now names another person: another externalId).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import ValidationError
from scim2_models import Context, ListResponse
from sqlalchemy import ColumnElement
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col
from starlette.responses import Response

from app.api.deps import SessionDep
from app.api.scim import mapping, patching, quirks
from app.api.scim.errors import ScimError, invalid_syntax, invalid_value
from app.api.scim.filters import InvalidFilter, parse, sort_keys, to_sql
from app.api.scim.models import CORE_USER, POLICY, ScimUser
from app.api.scim.protocol import (
    ListQuery,
    dump,
    expected_version,
    message,
    not_modified,
    query_parameters,
    read_json,
)
from app.api.scim.scope import require_scim_actor
from app.api.scim.validation import scim_error
from app.db.models import Employee
from app.domain import employees
from app.domain.actors import Actor, Scope
from app.domain.common import lock_for_update
from app.domain.errors import NotFound

router = APIRouter(prefix="/Users")
ScimActor = Annotated[Actor, Depends(require_scim_actor)]


# --------------------------------------------------------------------------------------------
# Reading


async def _managers(
    session: AsyncSession, actor: Actor, people: Iterable[Employee]
) -> dict[uuid.UUID, Employee]:
    """The managers of a page of people, in one query."""
    ids = {p.manager_id for p in people if p.manager_id is not None}
    if not ids:
        return {}
    _, found = await employees.search_directory(
        session, actor, where=col(Employee.id).in_(ids), limit=len(ids)
    )
    return {m.id: m for m in found}


def _location(request: Request, employee_id: uuid.UUID) -> str:
    return str(request.url_for("scim_get_user", user_id=str(employee_id)))


def _manager_of(employee: Employee, managers: dict[uuid.UUID, Employee]) -> Employee | None:
    return managers.get(employee.manager_id) if employee.manager_id else None


def _tag(employee: Employee, managers: dict[uuid.UUID, Employee]) -> str:
    return mapping.entity_tag(employee, _manager_of(employee, managers))


def _representation(
    request: Request, employee: Employee, managers: dict[uuid.UUID, Employee]
) -> ScimUser:
    manager = _manager_of(employee, managers)
    return mapping.to_scim(
        employee,
        location=_location(request, employee.id),
        manager_record=manager,
        manager_location=_location(request, manager.id) if manager else None,
    )


async def _expected_version(
    request: Request, session: AsyncSession, actor: Actor, employee: Employee
) -> int | None:
    """The version ``If-Match`` holds the write to (412 when it names another tag)."""
    if not request.headers.get("if-match", "").strip():
        return None
    managers = await _managers(session, actor, [employee])
    return expected_version(request, employee.version, _tag(employee, managers))


async def _answer(
    request: Request,
    session: AsyncSession,
    actor: Actor,
    employee: Employee,
    *,
    status: int = 200,
    managers: dict[uuid.UUID, Employee] | None = None,
) -> Response:
    """One user, with its ETag (and Location when just created)."""
    if managers is None:
        managers = await _managers(session, actor, [employee])
    user = _representation(request, employee, managers)
    tag = _tag(employee, managers)
    headers = {"ETag": mapping.version_tag(tag)}
    if status == 201:
        headers["Location"] = _location(request, employee.id)
    return message(dump(user, query_parameters(request)), status=status, headers=headers)


async def _provisioned(session: AsyncSession, actor: Actor, user_id: str) -> Employee:
    employee_id = mapping.parse_id(user_id)
    if employee_id is None:  # not an id Revmentor gives out: nobody has it
        raise NotFound(f"user {user_id} not found")
    return await employees.provisioned_employee(session, actor, employee_id)


async def _listing(
    request: Request, session: AsyncSession, actor: Actor, query: ListQuery
) -> Response:
    where = to_sql(parse(quirks.lookup_filter(query.filter))) if query.filter else None
    order: list[ColumnElement[Any]]
    if query.sort_by:
        try:
            order = sort_keys(query.sort_by, descending=query.descending)
        except InvalidFilter as exc:
            raise invalid_value(f"sortBy: {exc.detail}") from None
    else:
        order = [col(Employee.created_at).asc()]
    total, page = await employees.search_directory(
        session,
        actor,
        where=where,
        order_by=order,
        offset=query.start_index - 1,
        limit=query.count,
    )
    managers = await _managers(session, actor, page)
    response = ListResponse[ScimUser](
        total_results=total,
        start_index=query.start_index,
        items_per_page=len(page),
        resources=[_representation(request, e, managers) for e in page],
    )
    body: dict[str, Any] = response.model_dump(
        scim_ctx=Context.SEARCH_RESPONSE, response_parameters=query.parameters
    )
    return message(body)


@router.get("", name="scim_list_users")
async def list_users(request: Request, session: SessionDep, actor: ScimActor) -> Response:
    """List users: filter, sortBy/sortOrder, startIndex/count, attributes (RFC 7644 3.4.2)."""
    return await _listing(request, session, actor, ListQuery.from_request(request))


@router.post("/.search", name="scim_search_users")
async def search_users(request: Request, session: SessionDep, actor: ScimActor) -> Response:
    """The same query as a SearchRequest body (RFC 7644 3.4.3)."""
    return await _listing(request, session, actor, ListQuery.from_search(await read_json(request)))


@router.api_route("/.search", methods=["GET", "PUT", "PATCH", "DELETE"], name="scim_search_only")
async def search_only(request: Request) -> Response:
    """``.search`` is a POST (RFC 7644 3.4.3): any other method is a 405, not a user's id."""
    raise ScimError(
        405, f"{request.url.path} answers POST (a SearchRequest) only", headers={"Allow": "POST"}
    )


@router.get("/{user_id}", name="scim_get_user")
async def get_user(
    user_id: str, request: Request, session: SessionDep, actor: ScimActor
) -> Response:
    """One user (404 for unknown ids and for users removed by DELETE)."""
    employee = await _provisioned(session, actor, user_id)
    managers = await _managers(session, actor, [employee])
    tag = _tag(employee, managers)
    if not_modified(request, tag):
        return Response(status_code=304, headers={"ETag": mapping.version_tag(tag)})
    return await _answer(request, session, actor, employee, managers=managers)


# --------------------------------------------------------------------------------------------
# Writing


def _user(payload: dict[str, Any], context: Context) -> ScimUser:
    # RFC 7643 section 3 requires "schemas", and the requests Okta and Entra ID document carry
    # it. A User body without it is still read as a User: nothing else can be meant on this
    # endpoint, and refusing it would only stop a less careful provisioning client. A PatchOp
    # or SearchRequest without it is refused (app.api.scim.protocol.require_schema).
    schemas = payload.get("schemas")
    if schemas is not None and (
        not isinstance(schemas, list) or CORE_USER.lower() not in {str(s).lower() for s in schemas}
    ):
        # Checked first: a body for another resource should not be reported as a missing userName.
        raise invalid_syntax(f"schemas must hold {CORE_USER}")
    try:
        return ScimUser.model_validate(payload, scim_ctx=context, scim_policy=POLICY)
    except ValidationError as exc:
        raise scim_error(exc) from None


async def _manager_fields(
    session: AsyncSession, actor: Actor, reference: str | None
) -> dict[str, Any]:
    """The stored manager fields for the reference a client sent: an employee's SCIM id links
    them; anything else is an external id, which the employee services link when someone
    holds it, or keep pending until they arrive."""
    if reference is None:
        return {"manager_id": None, "manager_external_id": None}
    manager_id = mapping.parse_id(reference)
    if manager_id is not None:
        _, found = await employees.search_directory(
            session, actor, where=col(Employee.id) == manager_id, limit=1
        )
        if found:
            return {"manager_id": manager_id, "manager_external_id": found[0].external_id}
    return {"manager_external_id": reference}


async def _apply(
    session: AsyncSession,
    actor: Actor,
    employee: Employee,
    changes: dict[str, Any],
    *,
    version: int | None,
) -> Employee:
    """Persist the changed fields through the employee service (nothing changed: no write)."""
    if "manager" in changes:
        reference = changes.pop("manager")
        changes.update(await _manager_fields(session, actor, reference))
    if not changes:
        return employee
    try:
        data = employees.EmployeeUpdate(**changes)
    except ValidationError as exc:
        raise mapping.field_errors(exc) from None
    try:
        return await employees.update_employee(
            session, actor, employee.id, data=data, expected_version=version, via=Scope.SCIM
        )
    except employees.FormerEmployeeEmail as exc:
        raise _recycled_username(exc) from None


async def _locked(session: AsyncSession, actor: Actor, user_id: str) -> Employee:
    """The user, read afresh and held until this request commits: a PUT or PATCH computes its
    changes from what is stored, so nobody may change it in between."""
    employee = await _provisioned(session, actor, user_id)
    await lock_for_update(session, employee)
    return employee


def _recycled_username(exc: employees.FormerEmployeeEmail) -> ScimError:
    """The conflict in the identity provider's terms, saying what unblocks it: the provider
    sees neither the removed user nor why the address is taken."""
    former = exc.former
    known_as = (
        f"with another externalId ({former.external_id})"
        if former.external_id
        else "without an externalId"
    )
    return ScimError(
        409,
        f"userName {exc.email} belonged to a user deprovisioned {known_as}; an admin must "
        f"change that former employee's e-mail (PATCH /api/v1/employees/{former.id}) before "
        "it can be given to someone else",
        "uniqueness",
    )


async def _returning(
    session: AsyncSession, actor: Actor, fields: dict[str, Any]
) -> Employee | None:
    """The removed user this create brings back (see ``reprovision_returning_employee``)."""
    try:
        return await employees.reprovision_returning_employee(
            session, actor, email=fields["email"], external_id=fields.get("external_id")
        )
    except employees.FormerEmployeeEmail as exc:
        raise _recycled_username(exc) from None


async def _revived(
    session: AsyncSession, actor: Actor, employee: Employee, user: ScimUser, *, active: bool
) -> Employee:
    """A returning user (locked by its reprovisioning) takes every attribute posted, userName
    included, as a PUT would."""
    changes = mapping.changes_for_replacement(mapping.to_scim(employee), user)
    # A returning person is as active as posted (active by default), not as they left.
    if active != employee.active:
        changes["active"] = active
    return await _apply(session, actor, employee, changes, version=None)


async def _created(session: AsyncSession, actor: Actor, fields: dict[str, Any]) -> Employee:
    """A new employee from the fields of a create (inactive when posted so)."""
    active = fields.pop("active")
    fields.update(await _manager_fields(session, actor, fields.pop("manager")))
    try:
        data = employees.EmployeeCreate(**fields)
    except ValidationError as exc:
        raise mapping.field_errors(exc) from None
    employee = await employees.create_employee(session, actor, data=data, via=Scope.SCIM)
    if not active:
        employee = await employees.deactivate_employee(
            session, actor, employee.id, expected_version=None, via=Scope.SCIM
        )
    return employee


@router.post("", name="scim_create_user")
async def create_user(request: Request, session: SessionDep, actor: ScimActor) -> Response:
    """Create a user: 201 with Location and ETag; 409 when a user holds the userName or
    externalId. A user removed by DELETE comes back (same id, history kept) when posted with
    their externalId, under the userName posted, or with their userName when no externalId
    tells them apart; a userName whose removed holder had another externalId is a 409."""
    payload = quirks.resource(await read_json(request))
    user = _user(payload, Context.RESOURCE_CREATION_REQUEST)
    fields = mapping.for_creation(user)
    returning = await _returning(session, actor, fields)
    if returning is not None:
        employee = await _revived(session, actor, returning, user, active=fields["active"])
    else:
        employee = await _created(session, actor, fields)
    await session.commit()
    return await _answer(request, session, actor, employee, status=201)


@router.put("/{user_id}", name="scim_replace_user")
async def replace_user(
    user_id: str, request: Request, session: SessionDep, actor: ScimActor
) -> Response:
    """Replace a user: attributes left out are cleared, except job level, time zone and active
    (kept) and the required userName and name (400)."""
    user = _user(quirks.resource(await read_json(request)), Context.RESOURCE_REPLACEMENT_REQUEST)
    employee = await _locked(session, actor, user_id)
    version = await _expected_version(request, session, actor, employee)
    changes = mapping.changes_for_replacement(mapping.to_scim(employee), user)
    employee = await _apply(session, actor, employee, changes, version=version)
    await session.commit()
    return await _answer(request, session, actor, employee)


@router.patch("/{user_id}", name="scim_patch_user")
async def patch_user(
    user_id: str, request: Request, session: SessionDep, actor: ScimActor
) -> Response:
    """Apply a PatchOp (add, replace, remove; with or without path) and answer the user."""
    operations = patching.read(await read_json(request))
    employee = await _locked(session, actor, user_id)
    version = await _expected_version(request, session, actor, employee)
    current = mapping.to_scim(employee)
    changes = mapping.changes_for_patch(current, patching.apply(operations, current))
    employee = await _apply(session, actor, employee, changes, version=version)
    await session.commit()
    return await _answer(request, session, actor, employee)


@router.delete("/{user_id}", name="scim_delete_user")
async def delete_user(
    user_id: str, request: Request, session: SessionDep, actor: ScimActor
) -> Response:
    """Deprovision a user: deactivated and gone from SCIM (404 after), the record kept."""
    employee = await _locked(session, actor, user_id)
    version = await _expected_version(request, session, actor, employee)
    await employees.deprovision_employee(session, actor, employee.id, expected_version=version)
    await session.commit()
    return Response(status_code=204)
