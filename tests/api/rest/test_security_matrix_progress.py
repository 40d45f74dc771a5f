"""Security matrix, part three: the life inside a pairing (goals, check-ins, feedback, concerns).

Read it like ``test_security_matrix`` (404: the target is hidden from the actor; 403: the actor
can see it, or the route is not about one visible record, but may not do this) and it works the
same way: every cell gets a fresh scenario built through the domain services (once per test
process, then replayed from its rows: ``tests/replay.py``), writes carry valid bodies and the
current ``If-Match``, a refusal changes nothing, and an allowed request shows the actor exactly
what the rule table of ``app.domain.access`` lets them read. On top of
that, every response of every cell (refusals included) is searched for each confidential text
of the scenario, and for the ids of the concerns, which must be absent unless the actor may
read them.

The actors are those of part two: ``subject`` (a senior mentee) and ``partner`` (a junior
mentor) are the two members of ``{pairing}``; ``other`` is a mentor of the same program with no
part in it; ``pm_a`` manages ``program_a``, ``pm_b`` manages ``program_b``; ``admin``; the
service client ``hris`` holds no scope a route needs and ``read`` holds ``read``; ``anon`` sends
nothing.

The scenario: part two's ``pairing:proposed`` scenario (the same people, tokens, programs,
enrollments, and the earlier proposal of subject and partner that subject declined), with
``{pairing}`` (program_a) and ``{b_pairing}`` (program_b, of ``b_mentor`` and ``b_mentee``, who
never sign in) accepted by both members, made live 30 days ago, and both programs active.
Inside ``{pairing}``:

- ``{goal}``, owned by subject, partner invited to contribute, with milestones ``{milestone}``
  and ``{milestone_2}`` and subject's ``{comment}``; ``{solo}``, subject's too, partner not
  invited, with ``{solo_step}``;
- ``{check_in}``, logged by subject with shared notes, a private note of subject's and one of
  partner's; ``{later_check_in}``, logged by partner, that nobody has rated yet (new feedback
  rates it);
- feedback on ``{check_in}``: subject's (``{subject_feedback}``, comment shared with partner)
  and partner's (``{partner_feedback}``, comment for the program team);
- ``{concern}`` (open) and ``{resolved_concern}`` (resolved by pm_a), both raised by subject.

``{b_pairing}`` has one of each (``b_goal``, ``b_check_in`` with a private note, ``b_feedback``,
``b_concern``), all by b_mentee, so that every list shows only what its reader may see.

The order of the checks, which the table documents:

- goals, check-ins and feedback look the pairing up first (through the goal or check-in for
  those): hidden → 404; then the actor's part: writes need a member (403 for the program team
  and readers, who can see the pairing). Only the owner changes a goal; the partner ticks its
  milestones and comments when invited. Private notes are a member's own: the program team and
  readers may see the check-in, so they get 403. Individual feedback is read by the members and
  the program team; readers get 403 (aggregates are in the program report).
- concerns refuse service clients first (403 for any id, like pairing requests). A concern is
  found by its raiser and the program team only (404 for everyone else: the partner never
  learns that it exists); acting on it needs the program team (its raiser 403).
- pairing health and the program report (with its CSV) are for the program team and readers:
  the program or pairing is looked up first (hidden: 404), then the actor's part (members and
  other participants 403). Only the program team learns of open concerns there: a reader sees
  the pairing healthy, without the ``open_concern`` reason.

To add a row: its line in ``MATRIX``; a valid body in ``BODIES``; for a list, what each allowed
actor gets in ``LIST_CONTENTS``; for a write, the tables it changes and what its answer shows
in ``WRITES``; for a new kind of record, a check of what each actor may read of it in ``VIEWS``
(and its confidential texts in ``CONFIDENTIAL``); new records go in the tables of the scenario
(``GOALS``, ``CHECK_INS``, ``FEEDBACK``, ``CONCERNS``).
"""

from __future__ import annotations

import csv
import hashlib
import io
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.db.engine import Database
from app.db.models import (
    CheckIn,
    CheckInPrivateNote,
    Concern,
    Employee,
    Feedback,
    Goal,
    GoalComment,
    GoalMilestone,
    Pairing,
    metadata,
)
from app.db.types import utcnow
from app.domain import checkins, concerns, feedback, goals, pairings, programs
from app.domain.actors import Actor
from app.domain.programs import ProgramStatus
from app.domain.tokens import person_actor
from tests.api.rest import test_security_matrix_pairings as pairings_matrix
from tests.api.rest.test_security_matrix import (
    API,
    Cell,
    Scenario,
    fingerprint,
    parse_matrix,
    placeholders,
)
from tests.api.rest.test_security_matrix_pairings import is_team
from tests.replay import built_once

SYSTEM = Actor.system()

# fmt: off
MATRIX = """
request                                     anon subject partner other pm_a pm_b admin hris read
GET    /pairings/{pairing}/goals             401     200     200   404  200  404   200  404  200
POST   /pairings/{pairing}/goals             401     201     201   404  403  404   403  404  403
GET    /goals/{goal}                         401     200     200   404  200  404   200  404  200
PATCH  /goals/{goal}                         401     200     403   404  403  404   403  404  403
PATCH  /goals/{goal}/milestones/{milestone}  401     200     200   404  403  404   403  404  403
GET    /goals/{goal}/comments                401     200     200   404  200  404   200  404  200
POST   /goals/{goal}/comments                401     201     201   404  403  404   403  404  403
PATCH  /goals/{solo}/milestones/{solo_step}  401     200     403   404  403  404   403  404  403
POST   /goals/{solo}/comments                401     201     403   404  403  404   403  404  403
GET    /pairings/{pairing}/check-ins         401     200     200   404  200  404   200  404  200
POST   /pairings/{pairing}/check-ins         401     201     201   404  403  404   403  404  403
GET    /check-ins/{check_in}                 401     200     200   404  200  404   200  404  200
PATCH  /check-ins/{check_in}                 401     200     200   404  403  404   403  404  403
GET    /check-ins/{check_in}/private-note    401     200     200   404  403  404   403  404  403
PUT    /check-ins/{check_in}/private-note    401     200     200   404  403  404   403  404  403
DELETE /check-ins/{check_in}/private-note    401     204     204   404  403  404   403  404  403
GET    /pairings/{pairing}/feedback          401     200     200   404  200  404   200  404  403
POST   /pairings/{pairing}/feedback          401     201     201   404  403  404   403  404  403
GET    /pairings/{pairing}/concerns          401     200     200   404  200  404   200  403  403
POST   /pairings/{pairing}/concerns          401     201     201   404  403  404   403  403  403
GET    /concerns                             401     200     200   200  200  200   200  403  403
GET    /concerns/{concern}                   401     200     404   404  200  404   200  403  403
POST   /concerns/{concern}/acknowledge       401     403     404   404  200  404   200  403  403
POST   /concerns/{concern}/resolve           401     403     404   404  200  404   200  403  403
POST   /concerns/{concern}/end-pairing       401     403     404   404  200  404   200  403  403
GET    /pairings/{pairing}/health            401     403     403   404  200  404   200  404  200
GET    /programs/{program_a}/pairing-health  401     403     403   403  200  403   200  404  200
GET    /programs/{program_a}/report          401     403     403   403  200  403   200  404  200
GET    /programs/{program_a}/report.csv      401     403     403   403  200  403   200  404  200
"""
# fmt: on

ACTORS, CELLS = parse_matrix(MATRIX)

# ---------------------------------------------------------------------------------------------
# The confidential texts: distinctive markers, so that a substring search proves absence
# ---------------------------------------------------------------------------------------------

SUBJECT_NOTE = "PRIVNOTE-SUBJECT-q7x: I am embarrassed that I never learnt Teams properly"
PARTNER_NOTE = "PRIVNOTE-PARTNER-k2v: I am nervous about correcting a director"
B_NOTE = "PRIVNOTE-BMENTEE-z9w: my mentor talks too fast"
SHARED_NOTES = "SHAREDNOTES-A-m4p: walked through prompt writing for the board pack"
LATER_NOTES = "SHAREDNOTES-A-r8d: tried Copilot on last month's forecast"
B_SHARED_NOTES = "SHAREDNOTES-B-t3j: set up Slack channels for the region"
SHARED_COMMENT = "FBCOMMENT-SHARED-h5n: you explained it with great patience"
TEAM_COMMENT = "FBCOMMENT-TEAMONLY-c1s: I feel talked down to sometimes"
B_COMMENT = "FBCOMMENT-B-TEAMONLY-w6e: meetings keep being moved"
CONCERN_TEXT = "CONCERN-OPEN-u2g: my mentor keeps cancelling at the last minute"
OLD_CONCERN_TEXT = "CONCERN-RESOLVED-y4b: a remark about my age in our second meeting"
RESOLUTION = "RESOLUTION-TEAM-o7l: spoke to the mentor about the ground rules"
B_CONCERN_TEXT = "CONCERN-B-e5k: my mentor shared what I said with my team"
# What the requests send: read back by their author only.
NEW_PRIVATE = "PRIVNOTE-NEW-a1f: felt more confident after this one"
NEW_NOTE = "PRIVNOTE-REWRITTEN-b3g: rewritten after sleeping on it"
NEW_SHARED = "SHAREDNOTES-NEW-d2h: agreed to try Teams channels next"
NEW_CONCERN = "CONCERN-NEW-f6i: we have not met for six weeks"
NEW_RESOLUTION = "RESOLUTION-NEW-g8j: both asked to keep going with a new cadence"

MEMBERS = frozenset({"subject", "partner"})
TEAM_A = frozenset({"pm_a", "admin"})
TEAM_B = frozenset({"pm_b", "admin"})

#: Every confidential text of the scenario and the only actors who may ever read it, by any
#: route. Everyone else must never find it in any response.
CONFIDENTIAL: dict[str, frozenset[str]] = {
    SUBJECT_NOTE: frozenset({"subject"}),  # private notes: their author only, admins included
    PARTNER_NOTE: frozenset({"partner"}),
    B_NOTE: frozenset(),
    SHARED_NOTES: MEMBERS,  # shared notes: the two members only
    LATER_NOTES: MEMBERS,
    B_SHARED_NOTES: frozenset(),
    SHARED_COMMENT: MEMBERS | TEAM_A,  # a comment shared with the partner
    TEAM_COMMENT: frozenset({"partner"}) | TEAM_A,  # a comment for the program team
    B_COMMENT: TEAM_B,
    CONCERN_TEXT: frozenset({"subject"}) | TEAM_A,  # concerns: the raiser and the team
    OLD_CONCERN_TEXT: frozenset({"subject"}) | TEAM_A,
    RESOLUTION: TEAM_A,  # the team's resolution: not even the raiser
    B_CONCERN_TEXT: TEAM_B,
}
#: Records whose very existence is confidential: their ids are searched for too.
SECRET_RECORDS: dict[str, frozenset[str]] = {
    "concern": frozenset({"subject"}) | TEAM_A,
    "resolved_concern": frozenset({"subject"}) | TEAM_A,
    "b_concern": TEAM_B,
}

# ---------------------------------------------------------------------------------------------
# The scenario, as data
# ---------------------------------------------------------------------------------------------

LIVE_DAYS = 30
#: The pairings made live, and who accepts them.
LIVE = {"pairing": ("partner", "subject"), "b_pairing": ("b_mentor", "b_mentee")}
#: name: (pairing, owner, partner invited to contribute, milestones, the owner's comment)
GOALS: dict[str, tuple[str, str, bool, dict[str, str], tuple[str, str] | None]] = {
    "goal": (
        "pairing",
        "subject",
        True,
        {
            "milestone": "Write three prompts for the board pack",
            "milestone_2": "Run a meeting summary through Copilot",
        },
        ("comment", "Started on the first prompt"),
    ),
    "solo": ("pairing", "subject", False, {"solo_step": "Post in the team channel weekly"}, None),
    "b_goal": (
        "b_pairing",
        "b_mentee",
        True,
        {"b_milestone": "Set up a Slack channel"},
        ("b_comment", "The channel exists"),
    ),
}
#: name: (pairing, logged by, days ago, shared notes, private notes by author)
CHECK_INS: dict[str, tuple[str, str, int, str, dict[str, str]]] = {
    "check_in": (
        "pairing",
        "subject",
        20,
        SHARED_NOTES,
        {"subject": SUBJECT_NOTE, "partner": PARTNER_NOTE},
    ),
    "later_check_in": ("pairing", "partner", 6, LATER_NOTES, {}),
    "b_check_in": ("b_pairing", "b_mentee", 10, B_SHARED_NOTES, {"b_mentee": B_NOTE}),
}
RATINGS = {"value": 4, "mutual_respect": 5, "psychological_safety": 3, "clarity": 4}
#: name: (check-in, author, comment, comment visibility)
FEEDBACK = {
    "subject_feedback": ("check_in", "subject", SHARED_COMMENT, "partner"),
    "partner_feedback": ("check_in", "partner", TEAM_COMMENT, "program_team"),
    "b_feedback": ("b_check_in", "b_mentee", B_COMMENT, "program_team"),
}
#: name: (pairing, raised by, category, description, resolved by and resolution)
CONCERNS: dict[str, tuple[str, str, str, str, tuple[str, str] | None]] = {
    "resolved_concern": (
        "pairing",
        "subject",
        "patronised",
        OLD_CONCERN_TEXT,
        ("pm_a", RESOLUTION),
    ),
    "concern": ("pairing", "subject", "no_shows", CONCERN_TEXT, None),
    "b_concern": ("b_pairing", "b_mentee", "conflict", B_CONCERN_TEXT, None),
}
#: Who acts in the scenario (to make their actors).
AUTHORS = ("subject", "partner", "pm_a", "b_mentor", "b_mentee")


def days_ago(days: int) -> str:
    return (utcnow().date() - timedelta(days=days)).isoformat()


async def build_scenario(db: Database) -> Scenario:
    """The scenario in the database: built once per test process, replayed after that."""
    return await built_once(db, "security_matrix_progress", lambda: _build_scenario(db))


async def _build_scenario(db: Database) -> Scenario:
    """Part two's people, programs and proposals; the pairings made live; then their goals,
    check-ins, feedback and concerns, made by their authors through the domain services in one
    unit of work."""
    s = await pairings_matrix.build_scenario(db, "pairing:proposed")
    versioned: dict[str, Any] = {}
    async with db.session() as session:
        actor: dict[str, Actor] = {}
        for name in AUTHORS:
            employee = await session.get(Employee, s.ids[name])
            assert employee is not None
            actor[name] = await person_actor(session, employee)

        for name, members in LIVE.items():
            for member in members:
                pairing = await pairings.accept_pairing(
                    session, actor[member], s.ids[name], expected_version=None
                )
            assert pairing.state == "active"
            pairing.activated_at = utcnow() - timedelta(days=LIVE_DAYS)
            versioned[name] = pairing
        for program in ("program_a", "program_b"):
            await programs.transition_program(
                session, SYSTEM, s.ids[program], to=ProgramStatus.ACTIVE, expected_version=None
            )

        for name, (pairing_name, owner, invited, steps, remark) in GOALS.items():
            goal = await goals.create_goal(
                session,
                actor[owner],
                s.ids[pairing_name],
                data=goals.GoalCreate(
                    title=f"Learn AI tools ({name})",
                    status=goals.GoalStatus.IN_PROGRESS,
                    progress=10,
                    partner_may_contribute=invited,
                    milestones=[goals.MilestoneIn(title=step) for step in steps.values()],
                ),
            )
            versioned[name] = goal
            milestones = await session.execute(
                select(GoalMilestone)
                .where(col(GoalMilestone.goal_id) == goal.id)
                .order_by(col(GoalMilestone.position))
            )
            for step, milestone in zip(steps, milestones.scalars(), strict=True):
                s.ids[step] = milestone.id
            if remark is not None:
                comment = await goals.add_comment(
                    session, actor[owner], goal.id, data=goals.CommentCreate(body=remark[1])
                )
                s.ids[remark[0]] = comment.id

        for name, (pairing_name, logger, ago, shared, notes) in CHECK_INS.items():
            check_in = await checkins.log_check_in(
                session,
                actor[logger],
                s.ids[pairing_name],
                data=checkins.CheckInCreate(
                    met_on=utcnow().date() - timedelta(days=ago),
                    duration_minutes=60,
                    mode=checkins.MeetingMode.VIDEO,
                    topics=["AI tools"],
                    shared_notes=shared,
                    private_note=notes.get(logger),
                ),
            )
            versioned[name] = check_in
            for author, body in notes.items():
                if author != logger:
                    await checkins.put_private_note(
                        session,
                        actor[author],
                        check_in.id,
                        data=checkins.PrivateNoteIn(body=body),
                    )

        for name, (check_in_name, author, comment_text, visibility) in FEEDBACK.items():
            pairing_name = CHECK_INS[check_in_name][0]
            view = await feedback.give_feedback(
                session,
                actor[author],
                s.ids[pairing_name],
                data=feedback.FeedbackCreate(
                    kind=feedback.FeedbackKind.CHECK_IN,
                    check_in_id=versioned[check_in_name].id,
                    ratings=feedback.Ratings(**RATINGS),
                    comment=comment_text,
                    comment_visibility=feedback.CommentVisibility(visibility),
                ),
            )
            s.ids[name] = view.id

        for name, (pairing_name, raiser, category, description, handled) in CONCERNS.items():
            concern = await concerns.raise_concern(
                session,
                actor[raiser],
                s.ids[pairing_name],
                data=concerns.ConcernCreate(
                    category=concerns.ConcernCategory(category), description=description
                ),
            )
            if handled is not None:
                handler, resolution = handled
                concern = await concerns.resolve_concern(
                    session,
                    actor[handler],
                    concern.id,
                    data=concerns.ResolveIn(resolution=resolution),
                    expected_version=None,
                )
            versioned[name] = concern
        await session.commit()
    for name, record in versioned.items():
        s.ids[name] = record.id
        s.versions[name] = record.version
    return s


# ---------------------------------------------------------------------------------------------
# Requests
# ---------------------------------------------------------------------------------------------

NEW_GOAL = "Lead a meeting with live captions on"
NEW_RATINGS = {"value": 5, "mutual_respect": 4, "psychological_safety": 5, "clarity": 3}

Body = Callable[[Scenario], dict[str, Any]]

#: Valid bodies, so a refusal is about who asks, not about what they sent.
BODIES: dict[str, Body] = {
    "POST /pairings/{pairing}/goals": lambda s: {
        "title": NEW_GOAL,
        "milestones": [{"title": "Switch captions on in the next town hall"}],
    },
    "PATCH /goals/{goal}": lambda s: {"title": "Learn AI tools for planning", "progress": 40},
    "PATCH /goals/{goal}/milestones/{milestone}": lambda s: {"done": True},
    "PATCH /goals/{solo}/milestones/{solo_step}": lambda s: {"done": True},
    "POST /goals/{goal}/comments": lambda s: {"body": "Second prompt done, board pack next"},
    "POST /goals/{solo}/comments": lambda s: {"body": "Second post went out"},
    "POST /pairings/{pairing}/check-ins": lambda s: {
        "met_on": days_ago(2),
        "duration_minutes": 45,
        "mode": "video",
        "topics": ["Slack"],
        "shared_notes": NEW_SHARED,
        "private_note": NEW_PRIVATE,
    },
    "PATCH /check-ins/{check_in}": lambda s: {"duration_minutes": 50},
    "PUT /check-ins/{check_in}/private-note": lambda s: {"body": NEW_NOTE},
    "POST /pairings/{pairing}/feedback": lambda s: {
        "kind": "check_in",
        "check_in_id": str(s.ids["later_check_in"]),
        "ratings": NEW_RATINGS,
        "comment": "Good session, thank you",
        "comment_visibility": "partner",
    },
    "POST /pairings/{pairing}/concerns": lambda s: {
        "category": "no_shows",
        "description": NEW_CONCERN,
    },
    "POST /concerns/{concern}/resolve": lambda s: {"resolution": NEW_RESOLUTION},
    "POST /concerns/{concern}/end-pairing": lambda s: {"resolution": NEW_RESOLUTION},
}

CONCERN_ACTIONS = ("/acknowledge", "/resolve", "/end-pairing")


def needs_if_match(cell: Cell) -> bool:
    """Changes of versioned records: goals (milestones included), check-ins, concerns.
    Private notes are not versioned (a version would tell the partner a note changed)."""
    return cell.method == "PATCH" or (
        cell.template.startswith("/concerns/") and cell.template.endswith(CONCERN_ACTIONS)
    )


def build_request(cell: Cell, s: Scenario) -> tuple[str, str, dict[str, Any]]:
    path = cell.template
    for name in placeholders(cell.template):
        path = path.replace("{" + name + "}", str(s.ids[name]))
    headers = dict(s.headers[cell.actor])
    if needs_if_match(cell):
        headers["If-Match"] = f'"v{s.versions[placeholders(cell.template)[0]]}"'
    kwargs: dict[str, Any] = {"headers": headers}
    if cell.request in BODIES:
        kwargs["json"] = BODIES[cell.request](s)
    elif cell.method == "POST":
        kwargs["json"] = {}
    return cell.method, API + path, kwargs


# ---------------------------------------------------------------------------------------------
# What every response must not show
# ---------------------------------------------------------------------------------------------


def check_confidential(cell: Cell, s: Scenario, url: str, response: httpx.Response) -> None:
    """No confidential text reaches anyone who may not read it, in any response; nor the id of
    a concern (unless the actor sent it: a 404 may name what was asked for)."""
    raw = response.text
    for marker, readers in CONFIDENTIAL.items():
        if cell.actor not in readers:
            assert marker not in raw, f"{cell}: {marker.split(':')[0]} leaked: {raw}"
    for name, readers in SECRET_RECORDS.items():
        secret = str(s.ids[name])
        if cell.actor not in readers and secret not in url:
            assert secret not in raw, f"{cell}: the existence of {name} leaked: {raw}"


def notes_expected(cell: Cell, response: httpx.Response) -> dict[tuple[str, str], str]:
    """The private notes stored after the request: the scenario's, changed only by their
    author's own allowed write."""
    notes = {
        (check_in, author): body
        for check_in, (*_, by_author) in CHECK_INS.items()
        for author, body in by_author.items()
    }
    if response.is_success:
        mine = ("check_in", cell.actor)
        if cell.request == "PUT /check-ins/{check_in}/private-note":
            notes[mine] = NEW_NOTE
        elif cell.request == "DELETE /check-ins/{check_in}/private-note":
            del notes[mine]
        elif cell.request == "POST /pairings/{pairing}/check-ins":
            notes[(response.json()["id"], cell.actor)] = NEW_PRIVATE
    return notes


async def notes_stored(db: Database, s: Scenario) -> dict[tuple[str, str], str]:
    async with db.session() as session:
        found = (await session.execute(select(CheckInPrivateNote))).scalars()
        return {
            (s.name_of(str(n.check_in_id)), s.name_of(str(n.author_employee_id))): n.body
            for n in found
        }


#: The records this matrix is about; their rows are compared whole, since some have no
#: version column (milestones, comments, private notes, feedback).
PROGRESS_TABLES = (
    "pairings",
    "goals",
    "goal_milestones",
    "goal_comments",
    "check_ins",
    "check_in_private_notes",
    "feedback",
    "concerns",
)


async def snapshot(db: Database) -> dict[str, Any]:
    """Part one's fingerprint (row counts and versions of every table) and a digest of every
    row of the progress tables: an edit that moves no version shows too."""
    out: dict[str, Any] = dict(await fingerprint(db))
    tables = {t.name: t for t in metadata.sorted_tables}
    async with db.session() as session:
        for name in PROGRESS_TABLES:
            table = tables[name]
            rows = await session.execute(select(table).order_by(*table.primary_key.columns))
            out["rows:" + name] = hashlib.sha256(repr(rows.all()).encode()).hexdigest()
    return out


def changed_tables(before: dict[str, Any], after: dict[str, Any]) -> set[str]:
    return {t for t in PROGRESS_TABLES if before["rows:" + t] != after["rows:" + t]}


# ---------------------------------------------------------------------------------------------
# What an allowed request must show
# ---------------------------------------------------------------------------------------------

ROLE = {"subject": "mentee", "partner": "mentor"}
#: Who reads the pairing's goals and check-ins (their members, its program team, readers).
PAIRING_READERS = ("subject", "partner", "pm_a", "admin", "read")
A_CONCERNS = {"concern", "resolved_concern"}

#: What a successful list returns, per actor (names of scenario records).
LIST_CONTENTS: dict[str, dict[str, set[str]]] = {
    "GET /pairings/{pairing}/goals": {a: {"goal", "solo"} for a in PAIRING_READERS},
    "GET /goals/{goal}/comments": {a: {"comment"} for a in PAIRING_READERS},
    "GET /pairings/{pairing}/check-ins": {
        a: {"check_in", "later_check_in"} for a in PAIRING_READERS
    },
    "GET /pairings/{pairing}/feedback": {
        a: {"subject_feedback", "partner_feedback"} for a in ("subject", "partner", "pm_a", "admin")
    },
    "GET /pairings/{pairing}/concerns": {
        "subject": A_CONCERNS,  # the ones they raised
        "partner": set(),  # the same list as if nobody had raised one
        "pm_a": A_CONCERNS,
        "admin": A_CONCERNS,
    },
    "GET /concerns": {
        "subject": A_CONCERNS,
        "partner": set(),
        "other": set(),
        "pm_a": A_CONCERNS,
        "pm_b": {"b_concern"},
        "admin": A_CONCERNS | {"b_concern"},
    },
}


@dataclass
class Answer:
    """An allowed request and what it returned."""

    cell: Cell
    s: Scenario
    response: httpx.Response
    db: Database

    @property
    def actor(self) -> str:
        return self.cell.actor

    @property
    def me(self) -> uuid.UUID | None:
        """The actor's employee id (None for a service client)."""
        return self.s.ids.get(self.cell.actor)

    def items(self) -> list[dict[str, Any]]:
        body = self.response.json()
        return list(body.get("items", [body]))

    def where(self, item: dict[str, Any]) -> str:
        return f"{self.cell}, {self.s.name_of(item.get('id', ''))}"

    def is_member(self, pairing: Pairing) -> bool:
        return self.me in (pairing.mentor_employee_id, pairing.mentee_employee_id)

    def is_team(self, program_id: uuid.UUID) -> bool:
        return is_team(self.s, self.actor, program_id)


async def stored(session: AsyncSession, model: Any, ids: list[Any]) -> dict[Any, Any]:
    found = await session.execute(select(model).where(col(model.id).in_(ids)))
    return {row.id: row for row in found.scalars()}


def ids_of(items: list[dict[str, Any]], key: str = "id") -> list[uuid.UUID]:
    return [uuid.UUID(item[key]) for item in items]


async def check_goals(a: Answer, items: list[dict[str, Any]]) -> None:
    """Goals have nothing confidential: they show what is stored."""
    async with a.db.session() as session:
        found = await stored(session, Goal, ids_of(items))
        steps = await session.execute(
            select(GoalMilestone)
            .where(col(GoalMilestone.goal_id).in_(list(found)))
            .order_by(col(GoalMilestone.position))
        )
    milestones: dict[uuid.UUID, list[tuple[str, bool]]] = {g: [] for g in found}
    for m in steps.scalars():
        milestones[m.goal_id].append((str(m.id), m.done))
    for item in items:
        goal = found[uuid.UUID(item["id"])]
        assert goal.pairing_id == a.s.ids["pairing"], a.where(item)
        shown = (item["title"], item["progress"], item["version"], item["partner_may_contribute"])
        assert shown == (goal.title, goal.progress, goal.version, goal.partner_may_contribute)
        assert [(m["id"], m["done"]) for m in item["milestones"]] == milestones[goal.id]


async def check_comments(a: Answer, items: list[dict[str, Any]]) -> None:
    async with a.db.session() as session:
        found = await stored(session, GoalComment, ids_of(items))
    for item in items:
        comment = found[uuid.UUID(item["id"])]
        goal = placeholders(a.cell.template)[0]
        assert item["goal_id"] == str(a.s.ids[goal]), a.where(item)
        assert (item["author_employee_id"], item["body"]) == (
            str(comment.author_employee_id),
            comment.body,
        ), a.where(item)


async def check_check_ins(a: Answer, items: list[dict[str, Any]]) -> None:
    """Shared notes for the two members only; a private note for its author only."""
    async with a.db.session() as session:
        found = await stored(session, CheckIn, ids_of(items))
        in_pairings = await stored(session, Pairing, [c.pairing_id for c in found.values()])
        mine: dict[uuid.UUID, str] = {}
        if a.me is not None:
            notes = await session.execute(
                select(CheckInPrivateNote).where(
                    col(CheckInPrivateNote.check_in_id).in_(list(found)),
                    col(CheckInPrivateNote.author_employee_id) == a.me,
                )
            )
            mine = {n.check_in_id: n.body for n in notes.scalars()}
    for item in items:
        check_in = found[uuid.UUID(item["id"])]
        member = a.is_member(in_pairings[check_in.pairing_id])
        assert member == (a.actor in MEMBERS), a.where(item)
        expected = check_in.shared_notes if member else None
        assert item["shared_notes"] == expected, f"{a.where(item)}: shared notes"
        assert item["private_note"] == mine.get(check_in.id), f"{a.where(item)}: private note"
        assert item["duration_minutes"] == check_in.duration_minutes, a.where(item)


async def check_private_notes(a: Answer, items: list[dict[str, Any]]) -> None:
    """A private note is answered to its author only, and it is theirs."""
    assert a.actor in MEMBERS, a.cell
    assert a.me is not None
    for item in items:
        async with a.db.session() as session:
            note = await session.get(CheckInPrivateNote, (uuid.UUID(item["check_in_id"]), a.me))
        assert note is not None, a.cell
        assert item["body"] == note.body, f"{a.cell}: not the actor's own note"


RATINGS_OF = {name: f"rating_{name}" for name in RATINGS}


async def check_feedback(a: Answer, items: list[dict[str, Any]]) -> None:
    """Ratings and the comment's audience for the author and the program team only (never the
    partner); the comment for the partner only when it was shared with them."""
    async with a.db.session() as session:
        found = await stored(session, Feedback, ids_of(items))
        in_pairings = await stored(session, Pairing, [f.pairing_id for f in found.values()])
    for item in items:
        entry = found[uuid.UUID(item["id"])]
        whole = a.me == entry.author_employee_id or a.is_team(entry.program_id)
        assert whole or a.is_member(in_pairings[entry.pairing_id]), a.where(item)
        ratings = {k: getattr(entry, column) for k, column in RATINGS_OF.items()}
        assert item["ratings"] == (ratings if whole else None), f"{a.where(item)}: ratings"
        again = entry.would_take_part_again if whole else None
        assert item["would_take_part_again"] == again, a.where(item)
        shared = entry.comment_visibility == "partner"
        comment = entry.comment if whole or shared else None
        assert item["comment"] == comment, f"{a.where(item)}: comment"
        visibility = entry.comment_visibility if whole else None
        assert item["comment_visibility"] == visibility, a.where(item)


CONCERN_TEAM_ONLY = ("acknowledged_by_id", "resolution", "resolved_by_id", "rematch_recommended")


async def check_concerns(a: Answer, items: list[dict[str, Any]]) -> None:
    """A concern reaches its raiser and the program team only; the team's handling (who, what
    was done, a rematch) the team only."""
    async with a.db.session() as session:
        found = await stored(session, Concern, ids_of(items))
    for item in items:
        concern = found[uuid.UUID(item["id"])]
        raiser = a.me == concern.raised_by_id
        team = a.is_team(concern.program_id) and not raiser
        assert raiser or team, f"{a.where(item)}: shown to someone who may not read it"
        assert item["description"] == concern.description, a.where(item)
        assert item["status"] == concern.status, a.where(item)
        for name in CONCERN_TEAM_ONLY:
            value = getattr(concern, name) if team else None
            shown = item[name]
            assert shown == (str(value) if isinstance(value, uuid.UUID) else value), (
                f"{a.where(item)}: {name}"
            )


#: The check of what each kind of record shows, by the word in the path that names it (the
#: first that matches: a goal's comments are comments, a check-in's private note a note).
VIEWS: tuple[tuple[str, Callable[[Answer, list[dict[str, Any]]], Awaitable[None]]], ...] = (
    ("private-note", check_private_notes),
    ("comments", check_comments),
    ("goals", check_goals),
    ("check-ins", check_check_ins),
    ("feedback", check_feedback),
    ("concerns", check_concerns),
)


def view_check(cell: Cell) -> Callable[[Answer, list[dict[str, Any]]], Awaitable[None]]:
    parts = cell.template.split("/")
    for word, check in VIEWS:
        if word in parts:
            return check
    raise AssertionError(f"no view check for {cell.request}: add one to VIEWS")


Expect = Callable[[Answer, dict[str, Any]], bool]


def _ticked(a: Answer, b: dict[str, Any]) -> bool:
    milestone = str(a.s.ids[placeholders(a.cell.template)[1]])
    [ticked] = [m for m in b["milestones"] if m["id"] == milestone]
    return bool(ticked["done"]) and ticked["done_by_id"] == str(a.me)


def _commented(a: Answer, b: dict[str, Any]) -> bool:
    return b["author_employee_id"] == str(a.me) and str(b["body"]).startswith("Second")


#: Per write: the progress tables it changes (exactly), and what its answer shows.
WRITES: dict[str, tuple[set[str], Expect]] = {
    "POST /pairings/{pairing}/goals": (
        {"goals", "goal_milestones"},
        lambda a, b: (
            (b["title"], b["owner_employee_id"], b["owner_role"])
            == (NEW_GOAL, str(a.me), ROLE[a.actor])
            and len(b["milestones"]) == 1
        ),
    ),
    "PATCH /goals/{goal}": ({"goals"}, lambda a, b: b["progress"] == 40),
    "PATCH /goals/{goal}/milestones/{milestone}": ({"goals", "goal_milestones"}, _ticked),
    "PATCH /goals/{solo}/milestones/{solo_step}": (
        {"goals", "goal_milestones"},
        _ticked,
    ),
    "POST /goals/{goal}/comments": ({"goal_comments"}, _commented),
    "POST /goals/{solo}/comments": ({"goal_comments"}, _commented),
    "POST /pairings/{pairing}/check-ins": (
        {"check_ins", "check_in_private_notes"},
        lambda a, b: (
            (b["logged_by_id"], b["shared_notes"], b["private_note"])
            == (str(a.me), NEW_SHARED, NEW_PRIVATE)
        ),
    ),
    "PATCH /check-ins/{check_in}": ({"check_ins"}, lambda a, b: b["duration_minutes"] == 50),
    # The check-in itself is untouched: the partner cannot tell that a note was written.
    "PUT /check-ins/{check_in}/private-note": (
        {"check_in_private_notes"},
        lambda a, b: b["body"] == NEW_NOTE,
    ),
    "DELETE /check-ins/{check_in}/private-note": ({"check_in_private_notes"}, lambda a, b: True),
    "POST /pairings/{pairing}/feedback": (
        {"feedback"},
        lambda a, b: (
            (b["author_employee_id"], b["check_in_id"], b["ratings"])
            == (str(a.me), str(a.s.ids["later_check_in"]), NEW_RATINGS)
        ),
    ),
    # The pairing is untouched (its version included): the partner cannot tell.
    "POST /pairings/{pairing}/concerns": (
        {"concerns"},
        lambda a, b: (
            (b["raised_by_id"], b["description"], b["status"]) == (str(a.me), NEW_CONCERN, "open")
        ),
    ),
    "POST /concerns/{concern}/acknowledge": (
        {"concerns"},
        lambda a, b: (b["status"], b["acknowledged_by_id"]) == ("acknowledged", str(a.me)),
    ),
    "POST /concerns/{concern}/resolve": (
        {"concerns"},
        lambda a, b: (
            (b["status"], b["resolution"], b["resolved_by_id"])
            == ("resolved", NEW_RESOLUTION, str(a.me))
        ),
    ),
    "POST /concerns/{concern}/end-pairing": (
        {"concerns", "pairings"},
        lambda a, b: (b["status"], b["pairing_ended"]) == ("resolved", True),
    ),
}


async def _pairing_ended_without_fault(a: Answer) -> None:
    async with a.db.session() as session:
        pairing = await session.get(Pairing, a.s.ids["pairing"])
    assert pairing is not None
    assert (pairing.state, pairing.ended_by) == ("ended", "program_manager")


#: Further checks of what a write stored.
STORED_AFTER: dict[str, Callable[[Answer], Awaitable[None]]] = {
    "POST /concerns/{concern}/end-pairing": _pairing_ended_without_fault,
}


def _concern_reasons(a: Answer, reasons: list[dict[str, Any]] | str) -> None:
    """The scenario's pairing has an open concern and nothing else wrong: the program team is
    told, with the pairing at risk; a reader sees it healthy, without a trace of the concern."""
    codes = reasons.split(";") if isinstance(reasons, str) else [r["code"] for r in reasons]
    team = a.actor in TEAM_A
    assert [c for c in codes if c] == (["open_concern"] if team else []), f"{a.cell}: {codes}"


def _status(a: Answer) -> str:
    return "at_risk" if a.actor in TEAM_A else "healthy"


async def _check_health(a: Answer) -> None:
    body = a.response.json()
    assert (body["pairing_id"], body["status"]) == (str(a.s.ids["pairing"]), _status(a))
    _concern_reasons(a, body["reasons"])


async def _check_health_list(a: Answer) -> None:
    [item] = a.response.json()["items"]
    assert (item["pairing_id"], item["status"]) == (str(a.s.ids["pairing"]), _status(a))
    _concern_reasons(a, item["reasons"])


async def _check_report(a: Answer) -> None:
    body = a.response.json()
    assert body["program_id"] == str(a.s.ids["program_a"])
    assert (body["pairings"]["active"], body["pairings"]["declined"]) == (1, 1)
    at_risk = [(h["pairing_id"], h["status"]) for h in body["at_risk"]]
    assert at_risk == ([(str(a.s.ids["pairing"]), "at_risk")] if a.actor in TEAM_A else [])
    for h in body["at_risk"]:
        _concern_reasons(a, h["reasons"])


async def _check_report_csv(a: Answer) -> None:
    assert a.response.headers["content-type"].startswith("text/csv")
    rows = {r["pairing_id"]: r for r in csv.DictReader(io.StringIO(a.response.text))}
    assert set(rows) == {str(a.s.ids["pairing"]), str(a.s.ids["declined"])}
    live = rows[str(a.s.ids["pairing"])]
    assert live["health_status"] == _status(a)
    _concern_reasons(a, live["health_reasons"])


#: Health and reports: aggregates and assessments, checked on their own terms.
OVERSIGHT: dict[str, Callable[[Answer], Awaitable[None]]] = {
    "GET /pairings/{pairing}/health": _check_health,
    "GET /programs/{program_a}/pairing-health": _check_health_list,
    "GET /programs/{program_a}/report": _check_report,
    "GET /programs/{program_a}/report.csv": _check_report_csv,
}


async def check_success(
    cell: Cell, s: Scenario, response: httpx.Response, db: Database, changed: set[str]
) -> None:
    a = Answer(cell, s, response, db)
    request = cell.request
    if cell.method == "GET":
        assert changed == set(), f"{cell}: a read changed {changed}"
    else:
        assert request in WRITES, f"no success check for {request}: add one to WRITES"
        assert changed == WRITES[request][0], f"{cell}: changed {sorted(changed)}"
    if request in STORED_AFTER:
        await STORED_AFTER[request](a)
    if request in OVERSIGHT:
        await OVERSIGHT[request](a)
        return
    if response.status_code == 204:
        assert response.content == b""
        return
    body = response.json()
    await view_check(cell)(a, a.items())
    if request in LIST_CONTENTS:
        got = {s.name_of(item["id"]) for item in body["items"]}
        assert got == LIST_CONTENTS[request][cell.actor], f"{cell}: got {sorted(got)}"
        return
    if "version" in body:  # a versioned record: its ETag
        assert response.headers["etag"] == f'"v{body["version"]}"', cell
    if cell.method == "GET":
        target = placeholders(cell.template)[-1]
        key = "check_in_id" if cell.template.endswith("/private-note") else "id"
        assert body[key] == str(s.ids[target]), cell
        return
    assert WRITES[request][1](a, body), f"{cell}: {body}"
    if response.status_code == 201:
        assert response.headers["location"], cell
    if needs_if_match(cell):
        target = placeholders(cell.template)[0]
        assert body["version"] == s.versions[target] + 1, "a change makes a new version"


# ---------------------------------------------------------------------------------------------
# The tests
# ---------------------------------------------------------------------------------------------


def test_the_table_is_complete() -> None:
    assert ACTORS == pairings_matrix.ACTORS
    requests = {c.request for c in CELLS}
    assert set(LIST_CONTENTS) | set(BODIES) | set(WRITES) | set(STORED_AFTER) <= requests
    for cell in CELLS:
        if cell.request not in OVERSIGHT:
            view_check(cell)  # every row says what its records may show
        if cell.expected < 300:
            if cell.request in LIST_CONTENTS:
                assert cell.actor in LIST_CONTENTS[cell.request], cell
            elif cell.method != "GET":
                assert cell.request in WRITES, cell
    readers = set().union(*CONFIDENTIAL.values(), *SECRET_RECORDS.values())
    assert readers <= set(ACTORS)


@pytest.mark.parametrize("cell", CELLS, ids=str)
async def test_security_matrix(cell: Cell, client: httpx.AsyncClient, db: Database) -> None:
    scenario = await build_scenario(db)
    method, url, kwargs = build_request(cell, scenario)
    before = await snapshot(db)
    response = await client.request(method, url, **kwargs)
    after = await snapshot(db)

    assert response.status_code == cell.expected, (
        f"{cell}: expected {cell.expected}, got {response.status_code}: {response.text}"
    )
    check_confidential(cell, scenario, url, response)
    assert await notes_stored(db, scenario) == notes_expected(cell, response), cell
    if response.is_success:
        await check_success(cell, scenario, response, db, changed_tables(before, after))
        return
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["status"] == cell.expected
    if cell.expected == 401:
        assert response.headers["www-authenticate"].startswith("Bearer")
    assert after == before, f"{cell} was refused but changed stored data"


SCENARIO_COUNTS = {
    "pairings": 3,  # part two's declined proposal, {pairing}, {b_pairing}
    "goals": 3,
    "goal_milestones": 4,
    "goal_comments": 2,
    "check_ins": 3,
    "check_in_private_notes": 3,
    "feedback": 3,
    "concerns": 3,
}


async def test_the_scenario_is_what_the_matrix_assumes(db: Database) -> None:
    s = await build_scenario(db)
    async with db.session() as session:
        counts = {
            table: await session.scalar(select(func.count()).select_from(text(table)))
            for table in SCENARIO_COUNTS
        }
        live = [await session.get(Pairing, s.ids[name]) for name in LIVE]
        states = {c.status for c in (await session.execute(select(Concern))).scalars()}
    assert counts == SCENARIO_COUNTS
    for pairing in live:
        assert pairing is not None
        assert pairing.state == "active"
        assert pairing.activated_at is not None
        assert (utcnow() - pairing.activated_at).days == LIVE_DAYS
    assert states == {"open", "resolved"}
    assert await notes_stored(db, s) == {
        ("check_in", "subject"): SUBJECT_NOTE,
        ("check_in", "partner"): PARTNER_NOTE,
        ("b_check_in", "b_mentee"): B_NOTE,
    }
