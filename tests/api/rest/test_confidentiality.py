"""Leak proofs: what is confidential in a pairing reaches only the people allowed to read it.

One scenario holds every kind of confidential text, each a unique marker: check-ins with
shared notes and private notes of both members, feedback comments of both visibilities,
concerns raised by one member and the team's resolution. Every actor then calls every GET
route of the whole ``/api/v1`` API (walked from the app's own route table, path parameters
filled from the scenario, every page of every list followed), and each marker must appear in
the answers of exactly the actors allowed to read it (access table in app/domain/access.py):

- a private note: its author only (not the partner, not the team, not admins);
- shared notes: the two members only;
- a feedback comment for the program team: its author, the program's managers and admins;
  shared with the partner: those and the partner;
- a concern's description: its raiser, the program's managers and admins who are not in the
  pairing; its resolution: the program's managers and admins only;
- readers, audit clients, other participants and other programs' managers: nothing;
- an HRIS run's report (the records a sync pushed and why they were refused): admins and the
  HRIS sync client only, who in turn read nothing of a pairing.

The partner never learns that a concern exists: every GET answer they get is byte-identical
before and after a concern is raised and handled. The audit log holds none of the texts.
"""

from __future__ import annotations

import itertools
import re
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select
from sqlmodel import col

from app.db.engine import Database
from app.db.models import ApiToken, Enrollment, MatchingRun, PairingRequest
from app.db.types import utcnow
from app.domain.tokens import hash_token
from tests.api.rest.test_route_protection import endpoints
from tests.factories import Factory, Paired, Person, Service

API = "/api/v1"
#: Headers that differ on every response whatever the data (correlation, clock).
VOLATILE_HEADERS = {"x-request-id", "date"}
#: Every walked request carries this request id, so that problem documents (which quote it)
#: compare equal from one walk to the next.
REQUEST_ID = str(uuid.uuid4())
#: Fields that change on every read whatever happened in between: the report's clock, and
#: the caller's own token use (the walk itself uses it).
VOLATILE_FIELDS = re.compile(r'"(generated_at|last_used_at)":("[^"]*"|null)')

#: GET routes of /api/v1 that the scenario cannot fill, and why. Every other GET route is
#: called by every actor; a route added later fails ``test_every_get_route_is_walked`` until
#: it is filled here or skipped on purpose.
SKIPPED: dict[str, str] = {}

PATH_PARAM = re.compile(r"\{([^}]+)\}")


def marker(name: str) -> str:
    """A text no response could contain by chance."""
    return f"{name}-{uuid.uuid4().hex}"


# ---------------------------------------------------------------------------------------------
# The scenario
# ---------------------------------------------------------------------------------------------


@dataclass
class Scenario:
    paired: Paired  # the pairing under test: mentor and mentee
    neighbour: Paired  # another pairing in the same program
    other_manager: Person  # manages another program
    stranger: Person  # enrolled nowhere
    admin: Person
    reader: Service
    auditor: Service
    hris: Service
    ids: dict[str, list[str]] = field(default_factory=dict)
    markers: dict[str, str] = field(default_factory=dict)
    #: marker name -> the actors who may read it
    allowed: dict[str, set[str]] = field(default_factory=dict)

    @property
    def actors(self) -> dict[str, Any]:
        return {
            "mentor": self.paired.mentor,
            "mentee": self.paired.mentee,
            "neighbour": self.neighbour.mentor,
            "stranger": self.stranger,
            "manager": self.paired.manager,
            "other_manager": self.other_manager,
            "admin": self.admin,
            "reader": self.reader,
            "auditor": self.auditor,
            "hris": self.hris,
        }

    def add(self, name: str, allowed: set[str]) -> str:
        self.markers[name] = marker(name)
        self.allowed[name] = allowed
        return self.markers[name]


TEAM = {"manager", "admin"}


async def post(client: httpx.AsyncClient, who: Any, url: str, body: Any, **headers: str) -> Any:
    response = await client.post(url, headers={**who.headers, **headers}, json=body)
    assert response.status_code in (200, 201), f"{url}: {response.text}"
    return response.json()


async def build(client: httpx.AsyncClient, factory: Factory, db: Database) -> Scenario:
    """The program, its pairings and everything in them, confidential texts included."""
    paired = await factory.paired(activated_days_ago=20)
    neighbour = await factory.paired(
        program=paired.program, manager=paired.manager, activated_days_ago=20
    )
    other = await factory.paired(activated_days_ago=5)
    s = Scenario(
        paired=paired,
        neighbour=neighbour,
        other_manager=other.manager,
        stranger=await factory.person(),
        admin=await factory.admin(),
        reader=await factory.service("read", name="dashboard"),
        auditor=await factory.service("audit:read", name="siem"),
        hris=await factory.service("hris:write", name="workday-sync"),
    )
    mentor, mentee, pid = paired.mentor, paired.mentee, paired.id
    today = utcnow().date().isoformat()

    # Check-ins: shared notes and private notes of both members.
    c1 = await post(
        client,
        mentor,
        f"{API}/pairings/{pid}/check-ins",
        {
            "met_on": today,
            "duration_minutes": 45,
            "mode": "video",
            "topics": ["Slack"],
            "shared_notes": s.add("shared-1", {"mentor", "mentee"}),
            "private_note": s.add("private-mentor-1", {"mentor"}),
        },
    )
    c2 = await post(
        client,
        mentee,
        f"{API}/pairings/{pid}/check-ins",
        {
            "met_on": today,
            "duration_minutes": 30,
            "mode": "chat",
            "shared_notes": s.add("shared-2", {"mentor", "mentee"}),
            "private_note": s.add("private-mentee-2", {"mentee"}),
        },
    )
    for check_in, author, name in (
        (c1, mentee, "private-mentee-1"),
        (c2, mentor, "private-mentor-2"),
    ):
        response = await client.put(
            f"{API}/check-ins/{check_in['id']}/private-note",
            headers=author.headers,
            json={"body": s.add(name, {"mentor" if author is mentor else "mentee"})},
        )
        assert response.status_code == 200, response.text

    # Feedback: comments for the team only and shared with the partner, by both members.
    everyone_in_it = {"mentor", "mentee"} | TEAM
    for check_in, author, role, visibility in (
        (c1, mentor, "mentor", "program_team"),
        (c1, mentee, "mentee", "partner"),
        (c2, mentor, "mentor", "partner"),
        (c2, mentee, "mentee", "program_team"),
    ):
        allowed = {role} | TEAM if visibility == "program_team" else everyone_in_it
        await post(
            client,
            author,
            f"{API}/pairings/{pid}/feedback",
            {
                "kind": "check_in",
                "check_in_id": check_in["id"],
                "ratings": {
                    "value": 2,
                    "mutual_respect": 3,
                    "psychological_safety": 2,
                    "clarity": 4,
                },
                "comment": s.add(f"feedback-{visibility}-{role}", allowed),
                "comment_visibility": visibility,
            },
        )

    # Goals (readable by members, team and readers) with a comment, for the routes to walk.
    goal = await post(
        client, mentee, f"{API}/pairings/{pid}/goals", {"title": "Use AI assistants daily"}
    )
    await post(client, mentor, f"{API}/goals/{goal['id']}/comments", {"body": "Try it today"})

    # Concerns raised by the mentee: one resolved, one left open.
    resolved = await post(
        client,
        mentee,
        f"{API}/pairings/{pid}/concerns",
        {"category": "patronised", "description": s.add("concern-1", {"mentee"} | TEAM)},
    )
    acknowledged = await post(
        client,
        paired.manager,
        f"{API}/concerns/{resolved['id']}/acknowledge",
        None,
        **{"If-Match": f'"v{resolved["version"]}"'},
    )
    await post(
        client,
        paired.manager,
        f"{API}/concerns/{resolved['id']}/resolve",
        {"resolution": s.add("resolution-1", set(TEAM)), "rematch_recommended": True},
        **{"If-Match": f'"v{acknowledged["version"]}"'},
    )
    still_open = await post(
        client,
        mentee,
        f"{API}/pairings/{pid}/concerns",
        {"category": "no_shows", "description": s.add("concern-2", {"mentee"} | TEAM)},
    )

    # The neighbouring pairing's own confidential texts.
    n_check_in = await post(
        client,
        neighbour.mentor,
        f"{API}/pairings/{neighbour.id}/check-ins",
        {
            "met_on": today,
            "duration_minutes": 30,
            "mode": "in_person",
            "shared_notes": s.add("neighbour-shared", {"neighbour"}),
            "private_note": s.add("neighbour-private", {"neighbour"}),
        },
    )
    n_concern = await post(
        client,
        neighbour.mentee,
        f"{API}/pairings/{neighbour.id}/concerns",
        {"category": "conflict", "description": s.add("neighbour-concern", set(TEAM))},
    )

    # Pairings that closed: the end note and the decline reason stay with the program team
    # (and whoever declined, who is not one of the actors here).
    ended = await factory.paired(
        program=paired.program, manager=paired.manager, activated_days_ago=10
    )
    await post(
        client,
        ended.mentee,
        f"{API}/pairings/{ended.id}/end",
        {"reason": "other", "note": s.add("end-note", set(TEAM))},
        **{"If-Match": f'"v{ended.pairing.version}"'},
    )
    declined = await factory.paired(
        program=paired.program, manager=paired.manager, state="proposed"
    )
    await post(
        client,
        declined.mentee,
        f"{API}/pairings/{declined.id}/decline",
        {"reason": s.add("decline-reason", set(TEAM))},
        **{"If-Match": f'"v{declined.pairing.version}"'},
    )

    # An HRIS push with a record refused: the run's report names it and says why.
    sync = await post(
        client,
        s.hris,
        f"{API}/hris/employees:batch",
        {
            "source": "workday",
            "records": [
                {
                    "external_id": s.add("hris-refused", {"admin", "hris"}),
                    "modified_at": "2025-03-01T09:00:00Z",
                    "email": "new.hire@example.com",
                    "given_name": "New",
                    "family_name": "Hire",
                }
            ],
        },
    )
    assert sync["counts"] == {"invalid": 1}

    # Records no route of the scenario creates: a matching run and a pairing request.
    async with db.session() as session:
        run = MatchingRun(
            program_id=paired.program.id,
            status="succeeded",
            dry_run=True,
            priority="participation",
        )
        session.add(run)
        enrollments = {
            e.employee_id: e
            for e in (
                await session.execute(
                    select(Enrollment).where(col(Enrollment.program_id) == paired.program.id)
                )
            ).scalars()
        }
        request = PairingRequest(
            program_id=paired.program.id,
            requester_enrollment_id=enrollments[neighbour.mentee.id].id,
            requested_enrollment_id=enrollments[mentor.id].id,
            requester_employee_id=neighbour.mentee.id,
            requested_employee_id=mentor.id,
            status="declined",
        )
        session.add(request)
        tokens = [
            t.id
            for t in (
                await session.execute(
                    select(ApiToken).where(
                        col(ApiToken.token_hash).in_(
                            [hash_token(p.token) for p in (mentor, mentee, paired.manager)]
                        )
                    )
                )
            ).scalars()
        ]
        await session.commit()
        run_id, request_id = str(run.id), str(request.id)

    s.ids = {
        "employee_id": [str(p.id) for p in (mentor, mentee, neighbour.mentor, paired.manager)],
        "program_id": [str(paired.program.id), str(other.program.id)],
        "enrollment_id": [
            str(enrollments[p.id].id) for p in (mentor, mentee, neighbour.mentor, neighbour.mentee)
        ],
        "run_id": [run_id, str(sync["run_id"])],  # a matching run and an HRIS run
        "pairing_id": [str(p.id) for p in (paired, neighbour, ended, declined, other)],
        "request_id": [request_id],
        "goal_id": [str(goal["id"])],
        "check_in_id": [str(c1["id"]), str(c2["id"]), str(n_check_in["id"])],
        "concern_id": [str(resolved["id"]), str(still_open["id"]), str(n_concern["id"])],
        "token_id": [str(t) for t in tokens],
    }
    return s


# ---------------------------------------------------------------------------------------------
# Walking the API
# ---------------------------------------------------------------------------------------------


def get_routes(app: FastAPI) -> list[str]:
    return sorted(
        {e.path for e in endpoints(app) if e.method == "GET" and e.path.startswith(f"{API}/")}
    )


def urls_for(path: str, ids: dict[str, list[str]]) -> list[str]:
    names = PATH_PARAM.findall(path)
    if any(n not in ids for n in names):
        return []
    urls = []
    for values in itertools.product(*(ids[n] for n in names)):
        url = path
        for n, v in zip(names, values, strict=True):
            url = url.replace("{" + n + "}", v)
        urls.append(url)
    return urls


@dataclass(frozen=True)
class Answer:
    url: str
    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes

    @property
    def text(self) -> str:
        return " ".join(f"{k}: {v}" for k, v in self.headers) + "\n" + self.body.decode()


async def fetch(client: httpx.AsyncClient, who: Any, url: str) -> list[Answer]:
    """The answer to a GET, and for a list every further page."""
    answers: list[Answer] = []
    target = httpx.URL(url)
    params: dict[str, Any] = dict(target.params)  # the query given, then the next cursor
    url = str(target.copy_with(query=None))
    while True:
        response = await client.get(
            url, headers={**who.headers, "X-Request-ID": REQUEST_ID}, params=params
        )
        assert response.status_code < 500, f"{url}: {response.status_code} {response.text}"
        headers = tuple(
            sorted((k, v) for k, v in response.headers.items() if k not in VOLATILE_HEADERS)
        )
        answers.append(Answer(str(response.url), response.status_code, headers, response.content))
        next_cursor = None
        if response.status_code == 200 and response.headers["content-type"].startswith(
            "application/json"
        ):
            body = response.json()
            if isinstance(body, dict):
                next_cursor = body.get("next_cursor")
        if not next_cursor:
            return answers
        params = {**params, "cursor": next_cursor}
        assert len(answers) < 100, f"{url}: too many pages"


async def walk(
    client: httpx.AsyncClient, app: FastAPI, who: Any, ids: dict[str, list[str]]
) -> list[Answer]:
    """Every GET route of the API that the ids fill, as ``who``."""
    answers: list[Answer] = []
    for path in get_routes(app):
        for url in urls_for(path, ids):
            answers += await fetch(client, who, url)
    return answers


def seen_by(answers: dict[str, list[Answer]], text: str) -> dict[str, list[str]]:
    """Which actors got ``text``, and in which answers."""
    return {
        name: [a.url for a in got if text in a.text]
        for name, got in answers.items()
        if any(text in a.text for a in got)
    }


# ---------------------------------------------------------------------------------------------
# The proofs
# ---------------------------------------------------------------------------------------------


def test_every_get_route_is_walked(app: FastAPI) -> None:
    """Each GET route is filled from the scenario or skipped on purpose (none stale)."""
    fillable = {
        "employee_id",
        "program_id",
        "enrollment_id",
        "run_id",
        "pairing_id",
        "request_id",
        "goal_id",
        "check_in_id",
        "concern_id",
        "token_id",
    }
    routes = get_routes(app)
    assert set(SKIPPED) <= set(routes), "a skipped route no longer exists"
    unfilled = [
        r for r in routes if r not in SKIPPED and not set(PATH_PARAM.findall(r)) <= fillable
    ]
    assert unfilled == [], "fill these routes' parameters in the scenario, or skip them on purpose"
    must_walk = {
        f"{API}/pairings",
        f"{API}/concerns",
        f"{API}/audit-events",
        f"{API}/programs/{{program_id}}/report",
        f"{API}/programs/{{program_id}}/report.csv",
        f"{API}/programs/{{program_id}}/pairing-health",
        f"{API}/pairings/{{pairing_id}}/health",
        f"{API}/check-ins/{{check_in_id}}/private-note",
        f"{API}/hris/runs",
        f"{API}/hris/runs/{{run_id}}",
    }
    assert must_walk <= set(routes) - set(SKIPPED)


async def test_confidential_texts_reach_only_their_readers(
    client: httpx.AsyncClient, factory: Factory, db: Database, app: FastAPI
) -> None:
    s = await build(client, factory, db)
    answers = {name: await walk(client, app, who, s.ids) for name, who in s.actors.items()}

    # The walk reached real content: each actor got some 200s, the team the report.
    for name, got in answers.items():
        assert any(a.status == 200 for a in got), name
    report_csv = f"{API}/programs/{s.paired.program.id}/report.csv"
    assert any(a.url.endswith(report_csv) and a.status == 200 for a in answers["manager"])

    problems = []
    for name, text in s.markers.items():
        seen = seen_by(answers, text)
        if set(seen) != s.allowed[name]:
            leaked = {who: urls for who, urls in seen.items() if who not in s.allowed[name]}
            missing = sorted(s.allowed[name] - set(seen))
            problems.append(f"{name}: leaked to {leaked}; not readable by {missing}")
    assert problems == [], "\n".join(problems)


async def test_the_audit_log_holds_none_of_the_texts(
    client: httpx.AsyncClient, factory: Factory, db: Database
) -> None:
    s = await build(client, factory, db)
    for who in (s.admin, s.auditor):
        pages = await fetch(client, who, f"{API}/audit-events?limit=100")
        assert all(p.status == 200 for p in pages)
        log = "\n".join(p.body.decode() for p in pages)
        # The walk saw the log of the scenario; concern events are for admins only.
        assert ("concern.raised" in log) == (who is s.admin)
        assert "feedback.given" in log
        assert "check_in.logged" in log
        for name, text in s.markers.items():
            assert text not in log, f"{name} is in the audit log"


async def snapshot(
    client: httpx.AsyncClient, app: FastAPI, who: Person, ids: dict[str, list[str]]
) -> dict[str, Answer]:
    """Every GET answer ``who`` gets, keyed by URL with the concern ids made anonymous."""
    answers = await walk(client, app, who, ids)
    anonymous = dict.fromkeys(ids["concern_id"], "<concern>")

    def scrub(text: str) -> str:
        for concern_id, placeholder in anonymous.items():
            text = text.replace(concern_id, placeholder)
        return VOLATILE_FIELDS.sub(r'"\1":"<volatile>"', text)

    return {
        scrub(a.url): Answer(
            scrub(a.url),
            a.status,
            # The body is compared whole; its length may differ with a scrubbed clock.
            tuple((k, scrub(v)) for k, v in a.headers if k != "content-length"),
            scrub(a.body.decode()).encode(),
        )
        for a in answers
    }


async def test_the_partner_sees_nothing_change_when_a_concern_is_raised_and_handled(
    client: httpx.AsyncClient, factory: Factory, db: Database, app: FastAPI
) -> None:
    s = await build(client, factory, db)
    partner, raiser, manager = s.paired.mentor, s.paired.mentee, s.paired.manager
    pairing_url = f"{API}/pairings/{s.paired.id}"
    # Before: the concern ids are ids of nothing yet (random ones in their place).
    ids = {**s.ids, "concern_id": [str(uuid.uuid4())]}
    etag_before = (await client.get(pairing_url, headers=partner.headers)).headers["etag"]
    before = await snapshot(client, app, partner, ids)

    concern = await post(
        client,
        raiser,
        f"{API}/pairings/{s.paired.id}/concerns",
        {"category": "conflict", "description": marker("fresh-concern")},
    )
    ids["concern_id"] = [str(concern["id"])]
    raised = await snapshot(client, app, partner, ids)
    assert (await client.get(pairing_url, headers=partner.headers)).headers["etag"] == etag_before

    acknowledged = await post(
        client,
        manager,
        f"{API}/concerns/{concern['id']}/acknowledge",
        None,
        **{"If-Match": f'"v{concern["version"]}"'},
    )
    await post(
        client,
        manager,
        f"{API}/concerns/{concern['id']}/resolve",
        {"resolution": marker("fresh-resolution")},
        **{"If-Match": f'"v{acknowledged["version"]}"'},
    )
    handled = await snapshot(client, app, partner, ids)
    assert (await client.get(pairing_url, headers=partner.headers)).headers["etag"] == etag_before

    assert len(before) > 30
    for after in (raised, handled):
        assert after.keys() == before.keys()
        changed = [url for url in before if before[url] != after[url]]
        assert changed == [], f"the partner can tell a concern was raised from: {changed}"


@pytest.mark.parametrize("partner_role", ["mentor", "mentee"])
async def test_an_admin_who_is_the_partner_learns_nothing_of_a_concern(
    client: httpx.AsyncClient, factory: Factory, app: FastAPI, partner_role: str
) -> None:
    """In their own pairing an admin is a member: a concern about it stays hidden from them,
    wherever they look (the audit log, which admins read, included)."""
    admin = await factory.admin(
        job_level=2 if partner_role == "mentor" else 9,
        department="Engineering" if partner_role == "mentor" else "Finance",
    )
    paired = await factory.paired(activated_days_ago=5, **{partner_role: admin})
    raiser = paired.mentee if partner_role == "mentor" else paired.mentor
    ids: dict[str, list[str]] = {
        "employee_id": [str(paired.mentor.id), str(paired.mentee.id)],
        "program_id": [str(paired.program.id)],
        "pairing_id": [str(paired.id)],
        "concern_id": [str(uuid.uuid4())],
    }
    before = await snapshot(client, app, admin, ids)
    description = marker("admin-partner-concern")
    concern = await post(
        client,
        raiser,
        f"{API}/pairings/{paired.id}/concerns",
        {"category": "patronised", "description": description},
    )
    ids["concern_id"] = [str(concern["id"])]
    raised = await snapshot(client, app, admin, ids)
    acknowledged = await post(
        client,
        paired.manager,
        f"{API}/concerns/{concern['id']}/acknowledge",
        None,
        **{"If-Match": f'"v{concern["version"]}"'},
    )
    resolution = marker("admin-partner-resolution")
    await post(
        client,
        paired.manager,
        f"{API}/concerns/{concern['id']}/resolve",
        {"resolution": resolution},
        **{"If-Match": f'"v{acknowledged["version"]}"'},
    )
    handled = await snapshot(client, app, admin, ids)
    assert any(a.url.endswith("/audit-events") and a.status == 200 for a in handled.values())
    for after in (raised, handled):
        seen = str([a.text for a in after.values()])
        assert description not in seen
        assert resolution not in seen
        assert after.keys() == before.keys()
        changed = [url for url in before if before[url] != after[url]]
        assert changed == [], f"an admin partner can tell a concern was raised from: {changed}"
