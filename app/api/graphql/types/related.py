"""Records a type points at (a pairing, a program, an employee), loaded through the request's
loaders, so every reference is batched and read under the actor's rules; ``None`` when the
actor may not see it."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from app.api.graphql.context import Info

if TYPE_CHECKING:
    from app.api.graphql.types.employees import Employee
    from app.api.graphql.types.pairings import Pairing
    from app.api.graphql.types.programs import Program


async def employee(info: Info, employee_id: uuid.UUID | None) -> Employee | None:
    from app.api.graphql.types.employees import Employee

    if employee_id is None:
        return None
    row = await info.context.loaders.employee.load(employee_id)
    return None if row is None else Employee.of(row)


async def program(info: Info, program_id: uuid.UUID) -> Program | None:
    from app.api.graphql.types.programs import Program

    row = await info.context.loaders.program.load(program_id)
    return None if row is None else Program.of(row)


async def pairing(info: Info, pairing_id: uuid.UUID | None) -> Pairing | None:
    from app.api.graphql.types.pairings import Pairing

    if pairing_id is None:
        return None
    row = await info.context.loaders.pairing.load(pairing_id)
    return None if row is None else Pairing.of(row)
