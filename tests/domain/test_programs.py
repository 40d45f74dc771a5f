"""Programs through their service functions: creation, lifecycle, changes, managers, visibility."""

from __future__ import annotations

import itertools
import uuid
from typing import Any

import pytest
from pydantic import ValidationError

from app.db.engine import Database
from app.db.models import Program
from app.domain import employees, programs
from app.domain.actors import Actor, Scope
from app.domain.errors import Conflict, Forbidden, NotFound, PreconditionFailed, RuleViolation
from app.domain.programs import (
    TRANSITIONS,
    MatchingSettings,
    ProgramCreate,
    ProgramStatus,
    ProgramUpdate,
    normalise_focus_areas,
)
from tests.domain.support import SYSTEM, actor_for, audit_trail, enroll, reload, service
from tests.factories import Factory

RULES = "Meet every two weeks. What is said stays between you."


async def _create(db: Database, actor: Actor = SYSTEM, **fields: Any) -> Program:
    data: dict[str, Any] = {"name": "Digital fluency 2025"}
    data.update(fields)
    async with db.session() as session:
        program = await programs.create_program(session, actor, data=ProgramCreate(**data))
        await session.commit()
        return program


async def _update(
    db: Database,
    program_id: uuid.UUID,
    *,
    actor: Actor = SYSTEM,
    expected_version: int | None = None,
    **fields: Any,
) -> Program:
    async with db.session() as session:
        program = await programs.update_program(
            session,
            actor,
            program_id,
            data=ProgramUpdate(**fields),
            expected_version=expected_version,
        )
        await session.commit()
        return program


async def _move(
    db: Database, program_id: uuid.UUID, to: ProgramStatus, *, actor: Actor = SYSTEM
) -> Program:
    async with db.session() as session:
        program = await programs.transition_program(
            session, actor, program_id, to=to, expected_version=None
        )
        await session.commit()
        return program


async def _managers(db: Database, program_id: uuid.UUID) -> set[uuid.UUID]:
    async with db.session() as session:
        return set(await programs.manager_ids(session, program_id))


# --- creation --------------------------------------------------------------------------------


async def test_created_as_a_draft_with_its_managers(db: Database, factory: Factory) -> None:
    pm1 = await factory.employee()
    pm2 = await factory.employee()
    admin = await factory.employee(is_admin=True)
    actor = await actor_for(db, admin, request_id="req-1")
    program = await _create(
        db,
        actor,
        focus_areas=["Technology adoption", "AI tools"],
        ground_rules=RULES,
        manager_ids=[pm1.id, pm2.id, pm1.id],
        matching={"min_level_gap": 2, "default_mentor_capacity": 2, "max_mentor_capacity": 4},
    )
    stored = await reload(db, Program, program.id)
    assert stored.status == "draft"
    assert stored.ground_rules_version == 1
    assert stored.focus_areas == ["technology_adoption", "AI tools"]
    assert (stored.min_level_gap, stored.default_mentor_capacity) == (2, 2)
    assert stored.max_mentor_capacity == 4
    assert stored.created_by_id == admin.id
    assert await _managers(db, program.id) == {pm1.id, pm2.id}
    (event,) = await audit_trail(db, program.id)
    assert event.action == "program.created"
    assert event.actor_employee_id == admin.id
    assert event.request_id == "req-1"


async def test_only_admins_create_programs(db: Database, factory: Factory) -> None:
    participant = await actor_for(db, await factory.employee())
    pm = await factory.employee()
    await factory.program(managers=[pm])
    every_scope = service(*Scope)
    for actor in (participant, await actor_for(db, pm), every_scope):
        async with db.session() as session:
            with pytest.raises(Forbidden) as info:
                await programs.create_program(session, actor, data=ProgramCreate(name="Nope"))
        assert info.value.rule == "admin_only"


async def test_managers_must_be_active_employees(db: Database, factory: Factory) -> None:
    leaver = await factory.employee()
    async with db.session() as session:
        await employees.deactivate_employee(session, SYSTEM, leaver.id, expected_version=None)
        await session.commit()
    for bad in (leaver.id, uuid.uuid4()):
        async with db.session() as session:
            with pytest.raises(RuleViolation) as info:
                await programs.create_program(
                    session, SYSTEM, data=ProgramCreate(name="P", manager_ids=[bad])
                )
        assert info.value.rule == "manager_active_employee"
        assert info.value.field == "manager_ids"
        assert str(bad) in info.value.detail

    program = await factory.program()
    with pytest.raises(RuleViolation) as info:
        await _update(db, program.id, manager_ids=[leaver.id])
    assert info.value.rule == "manager_active_employee"
    assert await _managers(db, program.id) == set()


# --- input validation ------------------------------------------------------------------------


def test_matching_settings_refuse_default_capacity_above_max() -> None:
    with pytest.raises(ValidationError, match="default_mentor_capacity"):
        MatchingSettings(default_mentor_capacity=4, max_mentor_capacity=3)
    assert MatchingSettings(default_mentor_capacity=3, max_mentor_capacity=3)
    with pytest.raises(ValidationError):
        ProgramCreate(name="P", matching={"default_mentor_capacity": 5, "max_mentor_capacity": 2})


@pytest.mark.parametrize("ends_on", ["2025-03-01", "2025-02-28"])
def test_program_must_end_after_it_starts(ends_on: str) -> None:
    with pytest.raises(ValidationError, match="ends_on must be after starts_on"):
        ProgramCreate(name="P", starts_on="2025-03-01", ends_on=ends_on)
    assert ProgramCreate(name="P", starts_on="2025-03-01", ends_on="2025-03-02")


def test_weights_are_numbers_within_bounds() -> None:
    assert MatchingSettings(weights={"topic_overlap": 3}).weights == {"topic_overlap": 3}
    for bad in ({"topic_overlap": 11}, {"topic_overlap": -1}, {"topic_overlap": "3"}):
        with pytest.raises(ValidationError):
            MatchingSettings(weights=bad)
    with pytest.raises(ValidationError):
        MatchingSettings(weights={"age": 1.0})  # matching never weighs age


async def test_update_refuses_an_end_before_the_start(db: Database, factory: Factory) -> None:
    program = await factory.program(starts_on="2025-03-01", ends_on="2025-09-01")
    with pytest.raises(RuleViolation) as info:
        await _update(db, program.id, ends_on="2025-02-01")
    assert info.value.rule == "date_order"
    assert info.value.field == "ends_on"
    stored = await reload(db, Program, program.id)
    assert str(stored.ends_on) == "2025-09-01"


@pytest.mark.parametrize(
    "name",
    [
        "name",
        "description",
        "focus_areas",
        "ground_rules",
        "matching",
        "meeting_cadence_days",
        "pairing_length_weeks",
        "manager_ids",
    ],
)
async def test_required_program_fields_cannot_be_nulled(
    db: Database, factory: Factory, name: str
) -> None:
    program = await factory.program()
    with pytest.raises(RuleViolation) as info:
        await _update(db, program.id, **{name: None})
    assert (info.value.field, info.value.rule) == (name, "required")


# --- focus areas and ground rules ------------------------------------------------------------


def test_focus_areas_are_normalised() -> None:
    assert normalise_focus_areas(
        [
            "Technology adoption",
            "technology_adoption",
            "  TECHNOLOGY  ADOPTION ",
            "Diversity & Inclusion",
            "leadership development",
            "Workplace communication",
            "AI  tools",
            "ai tools",
        ]
    ) == [
        "technology_adoption",
        "diversity_inclusion",
        "leadership_development",
        "workplace_communication",
        "AI tools",
    ]


@pytest.mark.parametrize(
    ("written", "slug"),
    [
        ("Technology   adoption", "technology_adoption"),
        ("technology\tadoption", "technology_adoption"),
        ("Diversity  &  Inclusion", "diversity_inclusion"),
    ],
)
def test_standard_focus_areas_are_recognised_whatever_the_whitespace(
    written: str, slug: str
) -> None:
    # Whitespace is insignificant in labels (custom ones are stored with it collapsed), so a
    # standard area written with a tab or three spaces is still that standard area.
    assert normalise_focus_areas([written]) == [slug]


async def test_focus_areas_normalised_on_create_and_update(db: Database) -> None:
    program = await _create(db, focus_areas=["Technology adoption", "Social media", "AI tools"])
    assert (await reload(db, Program, program.id)).focus_areas == [
        "technology_adoption",
        "Social media",
        "AI tools",
    ]
    await _update(db, program.id, focus_areas=["Workplace communication", "Slack", "slack"])
    assert (await reload(db, Program, program.id)).focus_areas == [
        "workplace_communication",
        "Slack",
    ]


async def test_ground_rules_change_makes_a_new_version(db: Database, factory: Factory) -> None:
    program = await factory.program(ground_rules=RULES)
    await _update(db, program.id, ground_rules=RULES)
    stored = await reload(db, Program, program.id)
    assert stored.ground_rules_version == 1
    await _update(db, program.id, ground_rules=RULES + " Be kind.")
    stored = await reload(db, Program, program.id)
    assert stored.ground_rules_version == 2
    assert stored.ground_rules.endswith("Be kind.")
    await _update(db, program.id, description="Unrelated change")
    assert (await reload(db, Program, program.id)).ground_rules_version == 2


async def test_update_changes_only_the_sent_fields(db: Database, factory: Factory) -> None:
    program = await factory.program(description="Before", meeting_cadence_days=7)
    before = await reload(db, Program, program.id)
    await _update(db, program.id, name="Renamed", expected_version=before.version)
    stored = await reload(db, Program, program.id)
    assert stored.name == "Renamed"
    assert stored.description == "Before"
    assert stored.meeting_cadence_days == 7
    assert stored.focus_areas == before.focus_areas
    assert stored.version == before.version + 1
    assert stored.updated_at > before.updated_at
    event = (await audit_trail(db, program.id))[-1]
    assert event.action == "program.updated"
    assert event.details["changes"]["name"] == [before.name, "Renamed"]
    assert "description" not in event.details["changes"]


async def test_stale_program_version_is_refused(db: Database, factory: Factory) -> None:
    program = await factory.program()
    current = (await reload(db, Program, program.id)).version
    with pytest.raises(PreconditionFailed) as info:
        await _update(db, program.id, name="X", expected_version=current - 1)
    assert info.value.extra == {"current_version": current}


# --- lifecycle -------------------------------------------------------------------------------

ALL_MOVES = list(itertools.product(ProgramStatus, ProgramStatus))


@pytest.mark.parametrize(("start", "to"), ALL_MOVES, ids=[f"{a}->{b}" for a, b in ALL_MOVES])
async def test_lifecycle_transitions(
    db: Database, factory: Factory, start: ProgramStatus, to: ProgramStatus
) -> None:
    program = await factory.program(status=start)
    version = program.version
    if to in TRANSITIONS[start]:
        moved = await _move(db, program.id, to)
        stored = await reload(db, Program, program.id)
        assert moved.status == stored.status == to.value
        assert stored.version == version + 1
        event = (await audit_trail(db, program.id))[-1]
        assert event.action == "program.status_changed"
        assert event.details == {"from": start.value, "to": to.value}
    else:
        with pytest.raises(Conflict) as info:
            await _move(db, program.id, to)
        assert info.value.rule == "program_transition"
        assert info.value.extra["current_status"] == start.value
        stored = await reload(db, Program, program.id)
        assert (stored.status, stored.version) == (start.value, version)


async def test_a_transition_against_a_stale_version_is_refused(
    db: Database, factory: Factory
) -> None:
    program = await factory.program()
    async with db.session() as session:
        with pytest.raises(PreconditionFailed) as info:
            await programs.transition_program(
                session,
                SYSTEM,
                program.id,
                to=ProgramStatus.MATCHING,
                expected_version=program.version - 1,
            )
    assert info.value.extra == {"current_version": program.version}
    assert (await reload(db, Program, program.id)).status == "enrolling"


def test_every_status_can_reach_archived() -> None:
    # The lifecycle has no dead ends: from anywhere, archived is reachable.
    for status in ProgramStatus:
        seen, todo = {status}, [status]
        while todo:
            for nxt in TRANSITIONS[todo.pop()]:
                if nxt not in seen:
                    seen.add(nxt)
                    todo.append(nxt)
        assert ProgramStatus.ARCHIVED in seen


@pytest.mark.parametrize(
    ("fields", "rule", "field"),
    [
        ({"ground_rules": ""}, "ground_rules_required", "ground_rules"),
        ({"ground_rules": "   \n "}, "ground_rules_required", "ground_rules"),
        ({"focus_areas": []}, "focus_areas_required", "focus_areas"),
    ],
)
async def test_opening_enrolment_needs_rules_and_focus_areas(
    db: Database, fields: dict[str, Any], rule: str, field: str
) -> None:
    data = {"focus_areas": ["technology_adoption"], "ground_rules": RULES} | fields
    program = await _create(db, **data)
    with pytest.raises(RuleViolation) as info:
        await _move(db, program.id, ProgramStatus.ENROLLING)
    assert (info.value.rule, info.value.field) == (rule, field)
    assert (await reload(db, Program, program.id)).status == "draft"


async def test_program_managers_run_their_own_program_only(db: Database, factory: Factory) -> None:
    pm = await factory.employee()
    mine = await factory.program(managers=[pm])
    other = await factory.program()
    other_draft = await factory.program(status=ProgramStatus.DRAFT)
    actor = await actor_for(db, pm)

    await _update(db, mine.id, actor=actor, description="Updated by its PM")
    assert (await reload(db, Program, mine.id)).description == "Updated by its PM"
    await _move(db, mine.id, ProgramStatus.MATCHING, actor=actor)

    with pytest.raises(Forbidden) as info:
        await _update(db, mine.id, actor=actor, manager_ids=[pm.id])
    assert info.value.rule == "admin_only"
    with pytest.raises(Forbidden) as info:
        await _update(db, other.id, actor=actor, description="Not mine")
    assert info.value.rule == "program_manager"
    with pytest.raises(Forbidden):
        await _move(db, other.id, ProgramStatus.MATCHING, actor=actor)
    with pytest.raises(NotFound):  # another program's draft is not even visible
        await _update(db, other_draft.id, actor=actor, description="Not mine")
    assert (await reload(db, Program, other.id)).description == ""


async def test_participants_cannot_change_programs(db: Database, factory: Factory) -> None:
    program = await factory.program()
    actor = await actor_for(db, await factory.employee())
    with pytest.raises(Forbidden):
        await _update(db, program.id, actor=actor, name="Mine now")
    with pytest.raises(Forbidden):
        await _move(db, program.id, ProgramStatus.MATCHING, actor=actor)
    assert (await reload(db, Program, program.id)).status == "enrolling"


async def test_only_admins_change_managers(db: Database, factory: Factory) -> None:
    old = await factory.employee()
    new = await factory.employee()
    program = await factory.program(managers=[old])
    admin = await actor_for(db, await factory.employee(is_admin=True))
    await _update(db, program.id, actor=admin, manager_ids=[new.id])
    assert await _managers(db, program.id) == {new.id}
    # The new manager may now change the program; the old one may not.
    await _update(db, program.id, actor=await actor_for(db, new), description="Mine")
    old_actor = await actor_for(db, old)
    with pytest.raises(Forbidden):
        await _update(db, program.id, actor=old_actor, description="Was mine")
    await _update(db, program.id, manager_ids=[])
    assert await _managers(db, program.id) == set()


async def test_archived_programs_cannot_change(db: Database, factory: Factory) -> None:
    program = await factory.program(status=ProgramStatus.ARCHIVED)
    with pytest.raises(Conflict) as info:
        await _update(db, program.id, description="Too late")
    assert info.value.rule == "program_archived"
    assert info.value.extra["current_status"] == "archived"
    assert (await reload(db, Program, program.id)).description == ""


# --- visibility ------------------------------------------------------------------------------


async def _visible(db: Database, actor: Actor) -> set[uuid.UUID]:
    async with db.session() as session:
        page = await programs.list_programs(session, actor, limit=100)
    return {p.id for p in page.items}


async def test_drafts_are_seen_by_admins_and_their_managers_only(
    db: Database, factory: Factory
) -> None:
    pm = await factory.employee()
    draft = await factory.program(status=ProgramStatus.DRAFT, managers=[pm])
    open_ = await factory.program()
    participant = await actor_for(db, await factory.employee())
    manager = await actor_for(db, pm)

    async with db.session() as session:
        with pytest.raises(NotFound):
            await programs.get_program(session, participant, draft.id)
        assert (await programs.get_program(session, manager, draft.id)).id == draft.id
        assert (await programs.get_program(session, participant, open_.id)).id == open_.id

    assert await _visible(db, participant) == {open_.id}
    assert await _visible(db, manager) == {draft.id, open_.id}
    assert await _visible(db, SYSTEM) == {draft.id, open_.id}
    assert await _visible(db, service(Scope.HRIS_WRITE)) == set()


async def test_read_services_see_open_programs_but_not_drafts(
    db: Database, factory: Factory
) -> None:
    draft = await factory.program(status=ProgramStatus.DRAFT)
    open_ = await factory.program()
    reader = service(Scope.READ)
    assert await _visible(db, reader) == {open_.id}
    async with db.session() as session:
        with pytest.raises(NotFound):
            await programs.get_program(session, reader, draft.id)


async def test_list_programs_filters(db: Database, factory: Factory) -> None:
    pm = await factory.employee()
    mine = await factory.program(managers=[pm])
    matching = await factory.program(status=ProgramStatus.MATCHING)
    actor = await actor_for(db, pm)
    async with db.session() as session:
        by_status = await programs.list_programs(session, SYSTEM, status=ProgramStatus.MATCHING)
        managed = await programs.list_programs(session, actor, managed_by_me=True)
    assert [p.id for p in by_status.items] == [matching.id]
    assert [p.id for p in managed.items] == [mine.id]


async def test_a_participant_cannot_be_made_a_manager_of_their_program(
    db: Database, factory: Factory
) -> None:
    # Managers read a program's confidential reports, so they cannot take part in it
    # (enroll refuses them); the same rule must hold when an admin assigns managers.
    program = await factory.program()
    participant = await factory.employee()
    await enroll(db, participant, program)
    with pytest.raises(RuleViolation) as info:
        await _update(db, program.id, manager_ids=[participant.id])
    assert info.value.rule == "managers_not_participants"
    assert info.value.field == "manager_ids"
    assert await _managers(db, program.id) == set()
