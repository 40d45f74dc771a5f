"""HRIS delta pushes: records upserted by external id, each reported on its own.

The helpers at the top are shared by the other ``test_hris_*`` files.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import orjson
import pytest
from sqlalchemy import func, select, update
from sqlmodel import col

from app.db.engine import Database
from app.db.models import Employee, HrisRun
from app.domain.hris import records as records_module
from tests.factories import Factory, Person, Service

API = "/api/v1"
#: The source's clock: ``at=n`` in ``record`` is ``n`` minutes after this.
T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)


def stamp(minutes: int) -> str:
    return (T0 + timedelta(minutes=minutes)).isoformat()


def record(external_id: str, *, at: int = 0, **fields: Any) -> dict[str, Any]:
    """A valid HRIS record; ``fields`` override or add to it."""
    data: dict[str, Any] = {
        "external_id": external_id,
        "modified_at": stamp(at),
        "email": f"{external_id}@example.com",
        "given_name": external_id.title(),
        "family_name": "Example",
        "job_level": 3,
    }
    data.update(fields)
    return data


async def push(
    client: httpx.AsyncClient,
    who: Person | Service,
    records: list[Any],
    *,
    source: str = "workday",
    expected: int = 200,
    **headers: str,
) -> Any:
    """A delta push; returns the answer's body."""
    response = await client.post(
        f"{API}/hris/employees:batch",
        headers={**who.headers, **headers},
        json={"source": source, "records": records},
    )
    assert response.status_code == expected, response.text
    return response.json()


def outcomes(body: dict[str, Any]) -> list[str]:
    return [r["outcome"] for r in body["results"]]


async def read_employee(
    client: httpx.AsyncClient, admin: Person, employee_id: str | uuid.UUID
) -> Any:
    response = await client.get(f"{API}/employees/{employee_id}", headers=admin.headers)
    assert response.status_code == 200, response.text
    return response.json()


async def stored(db: Database, external_id: str) -> Employee | None:
    """The employee with this external id, as stored now."""
    async with db.session() as session:
        stmt = select(Employee).where(col(Employee.external_id) == external_id)
        return (await session.execute(stmt)).scalar_one_or_none()


async def count_rows(db: Database, model: type[Any]) -> int:
    async with db.session() as session:
        return await session.scalar(select(func.count()).select_from(model)) or 0


async def hris_client(factory: Factory) -> Service:
    return await factory.service("hris:write", name="workday-sync")


# ---------------------------------------------------------------------------------------------
# Created, updated, unchanged, stale
# ---------------------------------------------------------------------------------------------


async def test_a_push_creates_people_with_every_field_the_source_sends(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    hris, admin = await hris_client(factory), await factory.admin()
    boss = record("e-100", job_level=9, job_title="CFO")
    full = record(
        "e-101",
        email="Ada.Lovelace@Example.com",
        given_name="Ada",
        family_name="Lovelace",
        display_name="Ada L.",
        job_title="Analyst",
        job_level=4,
        department="Finance",
        division="Corporate",
        organization="Example GmbH",
        cost_center="CC-4711",
        employee_number="000123",
        location="Berlin",
        time_zone="Europe/Berlin",
        manager_external_id="e-100",
        hire_date="2021-04-01",
        active=True,
    )
    body = await push(client, hris, [boss, full])

    assert outcomes(body) == ["created", "created"]
    assert body["counts"] == {"created": 2}
    assert [r["index"] for r in body["results"]] == [0, 1]
    assert [r["external_id"] for r in body["results"]] == ["e-100", "e-101"]
    assert all(r["field"] is None and r["reason"] is None for r in body["results"])
    expected_keys = ["index", "external_id", "outcome", "employee_id", "field", "reason"]
    assert all(list(r) == expected_keys for r in body["results"])
    assert set(body) == {"run_id", "counts", "results"}
    boss_id, ada_id = (r["employee_id"] for r in body["results"])
    assert str(uuid.UUID(ada_id)) == ada_id  # the canonical text form

    ada = await read_employee(client, admin, ada_id)
    assert {k: ada[k] for k in full if k not in ("modified_at", "active", "email")} == {
        k: v for k, v in full.items() if k not in ("modified_at", "active", "email")
    }
    assert ada["email"] == "Ada.Lovelace@example.com"  # the domain is case-insensitive
    assert ada["manager_id"] == boss_id
    assert ada["source"] == "workday"
    assert ada["active"] is True
    assert ada["skills"] == []
    assert ada["is_admin"] is False
    boss_view = await read_employee(client, admin, boss_id)
    assert boss_view["display_name"] == "E-100 Example"  # made from the names
    assert boss_view["time_zone"] == "UTC"
    assert boss_view["manager_id"] is None
    # The run is recorded as a finished delta run.
    run = await client.get(f"{API}/hris/runs/{body['run_id']}", headers=hris.headers)
    assert run.status_code == 200
    assert (run.json()["kind"], run.json()["status"]) == ("delta", "committed")


async def test_a_later_push_updates_what_changed_and_leaves_the_rest_alone(
    client: httpx.AsyncClient, factory: Factory, db: Database
) -> None:
    hris, admin = await hris_client(factory), await factory.admin()
    first = await push(client, hris, [record("e-1", at=0), record("e-2", at=0)])
    ids = [r["employee_id"] for r in first["results"]]
    before = [await read_employee(client, admin, i) for i in ids]

    second = await push(
        client,
        hris,
        [record("e-1", at=5, job_title="Team Lead", job_level=5), record("e-2", at=5)],
    )
    assert outcomes(second) == ["updated", "unchanged"]
    assert second["counts"] == {"updated": 1, "unchanged": 1}
    assert [r["employee_id"] for r in second["results"]] == ids

    changed, same = [await read_employee(client, admin, i) for i in ids]
    assert (changed["job_title"], changed["job_level"]) == ("Team Lead", 5)
    assert changed["version"] == before[0]["version"] + 1
    assert same == before[1]  # nothing written: same version, same updated_at
    assert await count_rows(db, Employee) == 3  # the admin and the two


async def test_an_older_record_is_stale_and_a_newer_one_applies(
    client: httpx.AsyncClient, factory: Factory, db: Database
) -> None:
    hris, admin = await hris_client(factory), await factory.admin()
    [created] = (await push(client, hris, [record("e-1", at=10, job_title="Analyst")]))["results"]

    older = await push(client, hris, [record("e-1", at=5, job_title="Intern")])
    [stale] = older["results"]
    assert stale["outcome"] == "stale"
    assert stale["employee_id"] == created["employee_id"]
    assert stale["field"] is None
    assert stamp(10)[:19] in stale["reason"]  # names the stored record's time
    assert older["counts"] == {"stale": 1}
    assert (await read_employee(client, admin, created["employee_id"]))["job_title"] == "Analyst"

    newer = await push(client, hris, [record("e-1", at=20, job_title="Senior Analyst")])
    assert outcomes(newer) == ["updated"]
    assert (await read_employee(client, admin, created["employee_id"]))["job_title"] == (
        "Senior Analyst"
    )
    employee = await stored(db, "e-1")
    assert employee is not None
    assert employee.source_modified_at == T0 + timedelta(minutes=20)


async def test_a_newer_push_of_the_same_content_is_unchanged_but_moves_the_clock(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    """A record the source re-sent without changes writes nothing, but what it was stamped with
    is remembered: a copy older than it is stale afterwards."""
    hris, admin = await hris_client(factory), await factory.admin()
    [created] = (await push(client, hris, [record("e-1", at=0, job_title="Analyst")]))["results"]
    before = await read_employee(client, admin, created["employee_id"])

    same = await push(client, hris, [record("e-1", at=30, job_title="Analyst")])
    assert outcomes(same) == ["unchanged"]
    assert await read_employee(client, admin, created["employee_id"]) == before

    # Stamped between the first push and the re-send: older than what is stored now.
    late = await push(client, hris, [record("e-1", at=15, job_title="Intern")])
    assert outcomes(late) == ["stale"]
    assert (await read_employee(client, admin, created["employee_id"]))["job_title"] == "Analyst"


async def test_an_equal_timestamp_with_the_same_content_is_unchanged(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    hris = await hris_client(factory)
    await push(client, hris, [record("e-1", at=0)])
    assert outcomes(await push(client, hris, [record("e-1", at=0)])) == ["unchanged"]


async def test_the_order_a_source_writes_its_fields_in_changes_nothing(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    hris = await hris_client(factory)
    sent = record("e-1", at=0, job_title="Analyst", department="Sales")
    await push(client, hris, [sent])
    reordered = dict(reversed(list(sent.items())))
    assert list(reordered) != list(sent)

    assert outcomes(await push(client, hris, [reordered])) == ["unchanged"]
    assert outcomes(await push(client, hris, [{**reordered, "department": "Legal"}])) == ["updated"]


def _first_scheme(values: tuple[Any, ...]) -> str:
    return hashlib.sha256(repr(values).encode()).hexdigest()


def _second_scheme(values: tuple[Any, ...]) -> str:
    return "2:" + hashlib.blake2b(orjson.dumps(values), digest_size=16).hexdigest()


@pytest.mark.parametrize("earlier_scheme", [_first_scheme, _second_scheme])
async def test_fingerprints_stored_before_the_current_scheme_still_settle_unchanged_records(
    client: httpx.AsyncClient,
    factory: Factory,
    db: Database,
    earlier_scheme: Callable[[tuple[Any, ...]], str],
) -> None:
    """People synced before the fingerprint scheme changed carry an earlier scheme's
    fingerprint (SHA-256 of the field values' ``repr``, then BLAKE2b of them as JSON):
    re-sending them unchanged writes nothing and reports them unchanged, as before the
    upgrade; a real change still applies."""
    hris, admin = await hris_client(factory), await factory.admin()
    sent = [record("e-1", at=0, job_title="Analyst"), record("e-2", at=0)]
    created = (await push(client, hris, sent))["results"]
    async with db.session() as session:
        for raw in sent:
            values = (*map(raw.get, records_module._FINGERPRINTED), len(raw))
            await session.execute(
                update(Employee)
                .where(col(Employee.external_id) == raw["external_id"])
                .values(source_digest=earlier_scheme(values))
            )
        await session.commit()
    before = await read_employee(client, admin, created[0]["employee_id"])

    again = await push(client, hris, sent)
    assert outcomes(again) == ["unchanged", "unchanged"]
    # Same content stamped later: still unchanged, only the clock moves.
    later = await push(client, hris, [record("e-1", at=30, job_title="Analyst")])
    assert outcomes(later) == ["unchanged"]
    assert await read_employee(client, admin, created[0]["employee_id"]) == before

    changed = await push(client, hris, [record("e-2", at=40, job_title="Lead")])
    assert outcomes(changed) == ["updated"]
    assert (await read_employee(client, admin, created[1]["employee_id"]))["job_title"] == "Lead"


# ---------------------------------------------------------------------------------------------
# Invalid records: reported one by one, the valid ones kept
# ---------------------------------------------------------------------------------------------


async def test_invalid_records_are_reported_with_field_and_reason_and_the_rest_is_kept(
    client: httpx.AsyncClient, factory: Factory, db: Database
) -> None:
    hris, admin = await hris_client(factory), await factory.admin()
    taken = await factory.employee(email="taken@example.com", external_id="hand-1")
    no_level = record("e-3")
    del no_level["job_level"]
    records: list[Any] = [
        record("e-0"),  # valid
        record("e-1", email="not an e-mail"),
        record("e-2", job_level="senior"),
        no_level,
        record("e-4", active="yes"),
        record("e-0", at=-5, job_title="Older copy"),  # the same person twice, older
        record("e-6", email="Taken@Example.com"),
        42,
        "e-8",
        record("e-9", hire_date="01.02.2020"),
        record("e-10", modified_at="2025-03-01T09:00:00"),  # no time zone
        record("e-11", favourite_colour="blue"),
        record("e-12", job_level=2),  # valid
    ]
    body = await push(client, hris, records)

    results = body["results"]
    assert [r["index"] for r in results] == list(range(len(records)))
    assert outcomes(body) == ["created", *["invalid"] * 4, "stale", *["invalid"] * 6, "created"]
    assert body["counts"] == {"created": 2, "invalid": 10, "stale": 1}
    expected = {  # index: (external id, field, words of the reason)
        1: ("e-1", "email", "email"),
        2: ("e-2", "job_level", "integer"),
        3: ("e-3", "job_level", "required"),
        4: ("e-4", "active", "true or false"),
        5: ("e-0", None, "record 0 of this push is about the same person and newer"),
        6: ("e-6", "email", "already belongs to employee hand-1"),
        7: (None, "record", "dictionary"),
        8: (None, "record", "dictionary"),
        9: ("e-9", "hire_date", "YYYY-MM-DD"),
        10: ("e-10", "modified_at", "timezone"),
        11: ("e-11", "favourite_colour", "not permitted"),
    }
    for index, (external_id, field, words) in expected.items():
        result = results[index]
        assert result["external_id"] == external_id, result
        assert result["field"] == field, result
        assert words.lower() in result["reason"].lower(), result
        assert result["employee_id"] is None, result

    # The valid ones are stored, the invalid ones are not; the e-mail's owner is untouched.
    for index in (0, 12):
        view = await read_employee(client, admin, results[index]["employee_id"])
        assert view["external_id"] == records[index]["external_id"]
    assert (await stored(db, "e-0")).job_title is None  # type: ignore[union-attr]
    for external_id in ("e-1", "e-2", "e-3", "e-4", "e-6", "e-9", "e-10", "e-11"):
        assert await stored(db, external_id) is None, external_id
    owner = await read_employee(client, admin, taken.id)
    assert (owner["external_id"], owner["version"], owner["source"]) == ("hand-1", 1, None)
    assert await count_rows(db, Employee) == 4  # admin, the e-mail's owner, two created


async def test_a_record_with_a_nul_character_is_refused_on_its_own(
    client: httpx.AsyncClient, factory: Factory, db: Database
) -> None:
    """PostgreSQL text cannot hold U+0000: such a record is reported, not a 500 for all."""
    hris = await hris_client(factory)
    body = await push(client, hris, [record("e-1", given_name="Ada\x00"), record("e-2")])
    refused, kept = body["results"]
    assert (refused["outcome"], refused["external_id"]) == ("invalid", "e-1")
    assert "NUL" in refused["reason"]
    assert kept["outcome"] == "created"
    assert await stored(db, "e-1") is None


@pytest.mark.parametrize(
    ("modified_at", "why"),
    [
        ("9999-12-31T23:59:59-01:00", "between the years 1 and 9999"),
        ("0001-01-01T00:00:00+01:00", "between the years 1 and 9999"),
        ("9999-12-31T23:59:59+00:00", "in the future"),
    ],
)
async def test_a_time_out_of_range_or_in_the_future_is_refused_on_its_own(
    client: httpx.AsyncClient, factory: Factory, db: Database, modified_at: str, why: str
) -> None:
    """A last-modified time past what a UTC time can hold is one bad record, not a failed
    push; one far in the future would make every later real change of that person stale."""
    hris = await hris_client(factory)
    for expected_last in ("created", "unchanged"):
        body = await push(client, hris, [record("e-1", modified_at=modified_at), record("e-2")])
        refused, kept = body["results"]
        assert (refused["outcome"], refused["field"]) == ("invalid", "modified_at")
        assert why in refused["reason"]
        assert kept["outcome"] == expected_last
    assert await stored(db, "e-1") is None


async def test_an_offset_postgresql_cannot_hold_is_read_as_the_instant_it_names(
    client: httpx.AsyncClient, factory: Factory, db: Database
) -> None:
    """ISO 8601 allows offsets to ±23:59, PostgreSQL stores ±15:59: the instant is what counts."""
    hris = await hris_client(factory)
    body = await push(client, hris, [record("e-1", modified_at="2025-01-01T00:00:00-23:59")])
    assert outcomes(body) == ["created"]
    person = await stored(db, "e-1")
    assert person is not None
    assert person.source_modified_at == datetime(2025, 1, 1, 23, 59, tzinfo=UTC)


async def test_a_source_clock_a_little_ahead_is_accepted(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    hris = await hris_client(factory)
    ahead = (datetime.now(UTC) + timedelta(hours=2)).isoformat()
    body = await push(client, hris, [record("e-1", modified_at=ahead)])
    assert outcomes(body) == ["created"]


async def test_integers_beyond_64_bits_are_judged_record_by_record(
    client: httpx.AsyncClient, factory: Factory, db: Database
) -> None:
    """A number too large for the fast JSON parser and fingerprint still gets a per-record
    answer, and the records around it are kept (pushed twice: the second time unchanged)."""
    hris = await hris_client(factory)
    records = [
        record("e-1", job_level=10**20),
        record("e-2", cost_center_note=10**30),
        record("e-3"),
    ]
    for expected_last in ("created", "unchanged"):
        body = await push(client, hris, records)
        assert outcomes(body) == ["invalid", "invalid", expected_last]
        assert [r["field"] for r in body["results"][:2]] == ["job_level", "cost_center_note"]
    assert await stored(db, "e-1") is None


@pytest.mark.parametrize(
    ("first_at", "second_at", "kept", "why"),
    [(0, 5, 1, "newer"), (5, 0, 0, "newer"), (5, 5, 1, "as new")],
)
async def test_the_same_person_twice_in_one_push_keeps_the_newest_record(
    client: httpx.AsyncClient,
    factory: Factory,
    db: Database,
    first_at: int,
    second_at: int,
    kept: int,
    why: str,
) -> None:
    """As if the two were pushed one after the other: the newer applies, of equal times the
    later one; however a sync job or an import splits its records into pushes."""
    hris = await hris_client(factory)
    body = await push(
        client,
        hris,
        [
            record("e-1", at=first_at, job_title="First"),
            record("e-1", at=second_at, job_title="Second"),
        ],
    )
    results = body["results"]
    assert results[kept]["outcome"] == "created"
    superseded = results[1 - kept]
    assert (superseded["outcome"], superseded["external_id"]) == ("stale", "e-1")
    assert superseded["reason"] == f"record {kept} of this push is about the same person and {why}"
    stored_person = await stored(db, "e-1")
    assert stored_person is not None
    assert stored_person.job_title == ("First", "Second")[kept]


async def test_an_e_mail_taken_by_another_synced_employee_is_refused(
    client: httpx.AsyncClient, factory: Factory, db: Database
) -> None:
    hris = await hris_client(factory)
    await push(client, hris, [record("e-1", email="shared@example.com")])
    body = await push(
        client, hris, [record("e-2", email="shared@example.com"), record("e-3", at=1)]
    )
    first, second = body["results"]
    assert (first["outcome"], first["field"]) == ("invalid", "email")
    assert "e-1" in first["reason"]
    assert second["outcome"] == "created"
    assert await stored(db, "e-2") is None


async def test_an_e_mail_kept_by_a_former_employee_says_how_to_free_it(
    client: httpx.AsyncClient, factory: Factory, db: Database
) -> None:
    hris = await hris_client(factory)
    await push(client, hris, [record("old-1", email="jsmith@example.com", active=False)])
    body = await push(client, hris, [record("new-1", email="jsmith@example.com")])
    [refused] = body["results"]
    assert (refused["outcome"], refused["field"]) == ("invalid", "email")
    assert refused["reason"] == (
        "e-mail jsmith@example.com already belongs to employee old-1 "
        "(inactive: an admin can change their e-mail to free it)"
    )


async def test_two_records_of_one_push_with_the_same_e_mail_keep_the_first(
    client: httpx.AsyncClient, factory: Factory, db: Database
) -> None:
    hris = await hris_client(factory)
    body = await push(
        client,
        hris,
        [record("e-1", email="same@example.com"), record("e-2", email="SAME@example.com")],
    )
    assert outcomes(body) == ["created", "invalid"]
    assert body["results"][1]["field"] == "email"
    assert "record 0" in body["results"][1]["reason"]
    assert await stored(db, "e-2") is None


async def test_an_external_id_of_another_source_is_refused_not_taken_over(
    client: httpx.AsyncClient, factory: Factory, db: Database
) -> None:
    """Two HRIS sources may both have a person "1001": the second never overwrites (nor,
    with an older time, outdates) the first's."""
    hris = await hris_client(factory)
    await push(client, hris, [record("1001", at=10, given_name="Alice")], source="workday")
    for at in (20, 0):
        body = await push(
            client,
            hris,
            [record("1001", at=at, given_name="Bob", email="bob@example.com"), record("1002")],
            source="bamboohr",
        )
        refused, kept = body["results"]
        assert (refused["outcome"], refused["field"]) == ("invalid", "external_id")
        assert "synced from workday" in refused["reason"]
        assert refused["employee_id"] is None
        assert kept["outcome"] in ("created", "unchanged")
    alice = await stored(db, "1001")
    assert alice is not None
    assert (alice.given_name, alice.source) == ("Alice", "workday")
    # Its own source still keeps it current.
    body = await push(client, hris, [record("1001", at=30, given_name="Alicia")])
    assert outcomes(body) == ["updated"]


async def test_more_than_a_thousand_records_are_refused_whole(
    client: httpx.AsyncClient, factory: Factory, db: Database
) -> None:
    hris = await hris_client(factory)
    records = [record(f"e-{n}") for n in range(1001)]
    response = await client.post(
        f"{API}/hris/employees:batch",
        headers=hris.headers,
        json={"source": "workday", "records": records},
    )
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert "records" in response.text
    assert await count_rows(db, Employee) == 0
    assert await count_rows(db, HrisRun) == 0

    # A thousand is the limit, not over it.
    body = await push(client, hris, records[:1000])
    assert body["counts"] == {"created": 1000}
    assert await count_rows(db, Employee) == 1000


async def test_a_push_needs_a_valid_source_and_a_list_of_records(
    client: httpx.AsyncClient, factory: Factory, db: Database
) -> None:
    hris = await hris_client(factory)
    for body in (
        {"source": "", "records": [record("e-1")]},
        {"source": "work day!", "records": [record("e-1")]},
        {"records": [record("e-1")]},
        {"source": "workday"},
        {"source": "workday", "records": {"e-1": record("e-1")}},
        {"source": "workday", "records": [record("e-1")], "dry_run": True},
    ):
        response = await client.post(f"{API}/hris/employees:batch", headers=hris.headers, json=body)
        assert response.status_code == 422, body
    assert await count_rows(db, Employee) == 0


# ---------------------------------------------------------------------------------------------
# Idempotency, adoption, hand edits
# ---------------------------------------------------------------------------------------------


async def test_a_retried_push_with_the_same_idempotency_key_replays_the_answer(
    client: httpx.AsyncClient, factory: Factory, db: Database
) -> None:
    hris = await hris_client(factory)
    records = [record("e-1"), record("e-2", email="broken")]
    first = await client.post(
        f"{API}/hris/employees:batch",
        headers={**hris.headers, "Idempotency-Key": "sync-2025-03-01"},
        json={"source": "workday", "records": records},
    )
    assert first.status_code == 200, first.text
    assert outcomes(first.json()) == ["created", "invalid"]

    retry = await client.post(
        f"{API}/hris/employees:batch",
        headers={**hris.headers, "Idempotency-Key": "sync-2025-03-01"},
        json={"source": "workday", "records": records},
    )
    assert retry.status_code == 200
    assert retry.headers["idempotent-replayed"] == "true"
    assert retry.json() == first.json()  # created again, the same run: a replay
    assert await count_rows(db, Employee) == 1
    assert await count_rows(db, HrisRun) == 1

    # The same key for another push is a mistake, not a replay.
    reused = await client.post(
        f"{API}/hris/employees:batch",
        headers={**hris.headers, "Idempotency-Key": "sync-2025-03-01"},
        json={"source": "workday", "records": [record("e-3")]},
    )
    assert reused.status_code == 422
    assert await stored(db, "e-3") is None


async def test_a_person_added_by_hand_is_adopted_by_their_e_mail(
    client: httpx.AsyncClient, factory: Factory, db: Database
) -> None:
    hris, admin = await hris_client(factory), await factory.admin()
    hand_made = await factory.employee(
        email="grace.hopper@example.com", job_title="Engineer", skills=["COBOL"]
    )
    body = await push(
        client,
        hris,
        [record("e-7", email="Grace.Hopper@example.com", job_title="Rear Admiral", job_level=9)],
    )
    [result] = body["results"]
    assert result["outcome"] == "updated"
    assert result["employee_id"] == str(hand_made.id)

    view = await read_employee(client, admin, hand_made.id)
    assert (view["external_id"], view["source"]) == ("e-7", "workday")
    assert (view["job_title"], view["job_level"]) == ("Rear Admiral", 9)
    assert view["skills"] == ["COBOL"]  # the person's own fields are not the source's
    assert await count_rows(db, Employee) == 2

    # From now on the source's id finds them.
    again = await push(client, hris, [record("e-7", at=1, email="grace@example.com")])
    assert outcomes(again) == ["updated"]
    assert (await read_employee(client, admin, hand_made.id))["email"] == "grace@example.com"


async def test_a_person_with_another_external_id_is_not_adopted(
    client: httpx.AsyncClient, factory: Factory, db: Database
) -> None:
    hris = await hris_client(factory)
    await factory.employee(email="grace@example.com", external_id="legacy-7")
    body = await push(client, hris, [record("e-7", email="grace@example.com")])
    assert (body["results"][0]["outcome"], body["results"][0]["field"]) == ("invalid", "email")
    assert await stored(db, "e-7") is None


async def test_a_hand_deactivation_lasts_until_the_source_sends_a_changed_record(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    """Someone deactivated by hand (they left; the HRIS has not caught up) is not brought back
    by the nightly re-send of their old record, only by news from the source."""
    hris, admin = await hris_client(factory), await factory.admin()
    [created] = (await push(client, hris, [record("e-1")]))["results"]
    employee_id = created["employee_id"]
    response = await client.post(
        f"{API}/employees/{employee_id}/deactivate", headers={**admin.headers, "If-Match": "*"}
    )
    assert response.status_code == 200, response.text

    assert outcomes(await push(client, hris, [record("e-1", at=10)])) == ["unchanged"]
    assert (await read_employee(client, admin, employee_id))["active"] is False

    body = await push(client, hris, [record("e-1", at=20, job_title="Analyst")])
    assert outcomes(body) == ["updated"]
    assert (await read_employee(client, admin, employee_id))["active"] is True


async def test_a_hand_edit_is_overwritten_by_the_next_push_of_the_same_record(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    hris, admin = await hris_client(factory), await factory.admin()
    source_record = record("e-1", job_title="Analyst", department="Finance")
    [created] = (await push(client, hris, [source_record]))["results"]
    view = await read_employee(client, admin, created["employee_id"])

    edited = await client.patch(
        f"{API}/employees/{created['employee_id']}",
        headers={**admin.headers, "If-Match": f'"v{view["version"]}"'},
        json={"job_title": "Chief Vibes Officer", "skills": ["Excel"]},
    )
    assert edited.status_code == 200, edited.text
    assert edited.json()["job_title"] == "Chief Vibes Officer"

    # The source sends the very same record again: the directory follows the source.
    body = await push(client, hris, [source_record])
    assert outcomes(body) == ["updated"]
    after = await read_employee(client, admin, created["employee_id"])
    assert after["job_title"] == "Analyst"
    assert after["skills"] == ["Excel"]  # not a source field: the edit stays
    assert after["version"] == edited.json()["version"] + 1

    # And once in step again, a re-send is unchanged.
    assert outcomes(await push(client, hris, [source_record])) == ["unchanged"]
