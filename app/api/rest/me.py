"""REST: the caller's own identity."""

from __future__ import annotations

from fastapi import APIRouter

from app.api.deps import ActorDep, SessionDep
from app.api.rest.problems import error_responses
from app.api.rest.schemas import EmployeeOut, MeOut
from app.db.models import Employee

router = APIRouter(tags=["me"])


@router.get("/me", response_model=MeOut, responses=error_responses(401, 503))
async def get_me(session: SessionDep, actor: ActorDep) -> MeOut:
    """Who you are: your employee record, role, managed programs or service scopes."""
    employee = None
    if actor.employee_id is not None:
        row = await session.get(Employee, actor.employee_id)
        employee = EmployeeOut.model_validate(row) if row else None
    return MeOut(
        kind=actor.kind.value,
        role=actor.role,
        is_admin=actor.is_admin,
        managed_program_ids=sorted(actor.managed_program_ids),
        scopes=sorted(actor.scopes),
        service_name=actor.service_name,
        employee=employee,
    )
