"""Property: on any org tree, no manager assignment that makes a cycle is ever accepted, every
other assignment is, and the management chain always climbs to a root.

Each example builds a random forest (from a random parent array) inside one unit of work, moves
people around, compares the service's answers with a plain in-memory model, and rolls back.
"""

from __future__ import annotations

import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.db.engine import Database
from app.domain import employees
from app.domain.actors import Actor
from app.domain.employees import EmployeeCreate, EmployeeUpdate
from app.domain.errors import RuleViolation

SYSTEM = Actor.system()


@st.composite
def parent_arrays(draw: st.DrawFn) -> list[int | None]:
    """parent[i] is None (a root) or an earlier index: always a forest."""
    size = draw(st.integers(min_value=1, max_value=8))
    return [None] + [draw(st.none() | st.integers(0, i - 1)) for i in range(1, size)]


Moves = list[tuple[int, int | None]]
moves_strategy = st.lists(
    st.tuples(st.integers(0, 7), st.none() | st.integers(0, 7)), min_size=1, max_size=6
)


def chain(parent: list[int | None], node: int) -> list[int]:
    """Managers above ``node``, nearest first (the model)."""
    out: list[int] = []
    current = parent[node]
    while current is not None:
        assert current not in out, "the model itself must never hold a cycle"
        out.append(current)
        current = parent[current]
    return out


def would_cycle(parent: list[int | None], node: int, manager: int) -> bool:
    return manager == node or node in chain(parent, manager)


@settings(max_examples=30, deadline=None)
@given(parent_arrays(), moves_strategy)
def test_the_model_never_holds_a_cycle(parent: list[int | None], moves: Moves) -> None:
    parent = list(parent)
    for node, manager in moves:
        node %= len(parent)
        if manager is None or not would_cycle(parent, node, manager % len(parent)):
            parent[node] = None if manager is None else manager % len(parent)
        for i in range(len(parent)):
            above = chain(parent, i)
            assert not above or parent[above[-1]] is None  # ends at a root


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(parent=parent_arrays(), moves=moves_strategy)
async def test_manager_assignments_on_random_org_trees(
    db: Database, parent: list[int | None], moves: Moves
) -> None:
    parent = list(parent)
    tag = uuid.uuid4().hex[:8]
    async with db.session() as session:  # never committed: each example leaves nothing behind
        ids: list[uuid.UUID] = []
        for i, boss in enumerate(parent):
            employee = await employees.create_employee(
                session,
                SYSTEM,
                data=EmployeeCreate(
                    email=f"org-{tag}-{i}@example.com",
                    given_name="Org",
                    family_name=str(i),
                    job_level=10,
                    manager_id=None if boss is None else ids[boss],
                ),
            )
            ids.append(employee.id)

        for node, manager in moves:
            node %= len(parent)
            target = None if manager is None else manager % len(parent)
            update = EmployeeUpdate(manager_id=None if target is None else ids[target])
            if target is not None and would_cycle(parent, node, target):
                with pytest.raises(RuleViolation) as info:
                    await employees.update_employee(
                        session, SYSTEM, ids[node], data=update, expected_version=None
                    )
                assert info.value.rule == "manager_cycle"
            else:
                await employees.update_employee(
                    session, SYSTEM, ids[node], data=update, expected_version=None
                )
                parent[node] = target

        for i in range(len(parent)):
            found = await employees.management_chain(session, SYSTEM, ids[i])
            assert [e.id for e in found] == [ids[j] for j in chain(parent, i)]
            if found:
                assert found[-1].manager_id is None  # the chain ends at a root
        await session.rollback()
