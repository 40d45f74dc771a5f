"""Row-level authorisation: which rows an actor may see, as SQL filters every query applies."""

from __future__ import annotations

from sqlalchemy import ColumnElement, false, or_, select, true
from sqlmodel import col

from app.db.models import Employee, Enrollment, Pairing, Program, ProgramManager
from app.domain.actors import Actor, ActorKind, Scope


def _sees_everything(actor: Actor) -> bool:
    return actor.is_admin or (actor.kind is ActorKind.SERVICE and Scope.READ.value in actor.scopes)


def employees_visible_to(actor: Actor) -> ColumnElement[bool]:
    """Admins and readers see all; a person sees themselves and, as a program manager, the
    people enrolled in their programs; everyone else nothing."""
    if _sees_everything(actor) or actor.has_scope(Scope.EMPLOYEES_WRITE):
        return true()
    if actor.employee_id is None:
        return false()
    clauses: list[ColumnElement[bool]] = [col(Employee.id) == actor.employee_id]
    if actor.managed_program_ids:
        enrolled = select(col(Enrollment.employee_id)).where(
            col(Enrollment.program_id).in_(actor.managed_program_ids)
        )
        clauses.append(col(Employee.id).in_(enrolled))
    return or_(*clauses)


def programs_visible_to(actor: Actor) -> ColumnElement[bool]:
    """Drafts are seen by admins and the program's managers; other programs by every signed-in
    person (they need to find programs to join) and by readers."""
    if actor.is_admin:
        return true()
    if actor.employee_id is None:
        # Readers (integrators, dashboards) see programs once they are announced, not drafts.
        return col(Program.status) != "draft" if _sees_everything(actor) else false()
    managed = select(col(ProgramManager.program_id)).where(
        col(ProgramManager.employee_id) == actor.employee_id
    )
    return or_(col(Program.status) != "draft", col(Program.id).in_(managed))


def enrollments_visible_to(actor: Actor) -> ColumnElement[bool]:
    """A person sees their own enrollments; program managers those of their programs."""
    if _sees_everything(actor):
        return true()
    if actor.employee_id is None:
        return false()
    clauses: list[ColumnElement[bool]] = [col(Enrollment.employee_id) == actor.employee_id]
    if actor.managed_program_ids:
        clauses.append(col(Enrollment.program_id).in_(actor.managed_program_ids))
    return or_(*clauses)


def pairings_visible_to(actor: Actor) -> ColumnElement[bool]:
    """Members see their own pairings; program managers those of their programs; admins and
    readers all (what each may read of them is decided when shaping the answer)."""
    if _sees_everything(actor):
        return true()
    if actor.employee_id is None:
        return false()
    clauses: list[ColumnElement[bool]] = [
        col(Pairing.mentor_employee_id) == actor.employee_id,
        col(Pairing.mentee_employee_id) == actor.employee_id,
    ]
    if actor.managed_program_ids:
        clauses.append(col(Pairing.program_id).in_(actor.managed_program_ids))
    return or_(*clauses)
