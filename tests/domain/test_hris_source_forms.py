"""Records pushed in their source's own form (as the CSV import pushes its rows): a form
whose fingerprint and time are the stored ones is settled without being read, on either
database (PostgreSQL compares them in the database)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from app.db.engine import Database
from app.db.models import Employee
from app.domain import hris
from app.domain.hris.records import SourceRecord
from tests.api.rest.test_hris_push import record, stamp
from tests.domain.support import reload, service

SYNC = service("hris:write")


class Form(SourceRecord):
    """A record in a made-up source form, fingerprinted by that source."""

    __slots__ = ("reads", "values")

    def __init__(self, fingerprint: str, values: dict[str, Any]) -> None:
        at = values.get("modified_at")
        super().__init__(
            values.get("external_id"),
            datetime.fromisoformat(at) if isinstance(at, str) else None,
            fingerprint,
        )
        self.values = values
        self.reads = 0

    def fields(self) -> dict[str, Any]:
        self.reads += 1
        return self.values


async def push(
    db: Database, records: list[Any], source: str = "workday"
) -> tuple[list[tuple[str, str | None]], list[hris.RecordResult]]:
    """A delta push: each record's outcome and reason, and the results."""
    async with db.session() as session:
        _run, results = await hris.push_delta(session, SYNC, source=source, records=records)
        await session.commit()
    return [(r.outcome, r.reason) for r in results], results


async def stored(db: Database, form: Form) -> Employee:
    async with db.session() as session:
        _run, results = await hris.push_delta(session, SYNC, source="workday", records=[form])
        await session.commit()
    assert results[0].outcome == "created"
    assert results[0].employee_id is not None
    return await reload(db, Employee, results[0].employee_id)


async def test_the_same_fingerprint_at_the_same_time_is_unchanged_and_not_read(
    db: Database,
) -> None:
    person = await stored(db, Form("form:1", record("f-1", at=10)))
    again = Form("form:1", record("f-1", at=10))

    outcomes, results = await push(db, [again])

    assert outcomes == [("unchanged", None)]
    assert results[0].employee_id == person.id
    assert again.reads == 0


async def test_the_same_fingerprint_at_an_older_time_is_stale(db: Database) -> None:
    await stored(db, Form("form:1", record("f-1", at=10)))
    older = Form("form:1", record("f-1", at=5))

    outcomes, _ = await push(db, [older])

    assert outcomes == [("stale", f"the stored record is newer ({stamp(10)})")]
    assert older.reads == 0


async def test_a_newer_time_or_another_fingerprint_is_read_and_applied(db: Database) -> None:
    person = await stored(db, Form("form:1", record("f-1", at=10)))
    moved_on = Form("form:1", record("f-1", at=20))
    edited = Form("form:2", record("f-2", at=30, job_title="CTO"))
    other = await stored(db, Form("form:x", record("f-2", at=10, job_title="Analyst")))

    outcomes, _ = await push(db, [moved_on, edited])

    # The same fingerprint says nothing new: the record is kept, only its time moves on.
    assert outcomes == [("unchanged", None), ("updated", None)]
    assert moved_on.reads > 0
    assert edited.reads > 0
    assert (await reload(db, Employee, other.id)).job_title == "CTO"
    kept = await reload(db, Employee, person.id)
    assert kept.source_modified_at == datetime.fromisoformat(stamp(20))


async def test_a_person_another_source_keeps_is_not_settled_by_this_ones_fingerprint(
    db: Database,
) -> None:
    await stored(db, Form("form:1", record("f-1", at=10)))
    from_elsewhere = Form("form:1", record("f-1", at=10))

    outcomes, _ = await push(db, [from_elsewhere], source="bamboohr")

    assert from_elsewhere.reads > 0  # checked in full, not settled as the other's unchanged
    assert outcomes[0][0] != "unchanged"


async def test_a_form_matching_a_record_pushed_through_the_api_is_unchanged(
    db: Database,
) -> None:
    sent = record("f-1", at=10)
    _, results = await push(db, [sent])
    assert results[0].outcome == "created"
    same = Form("form:1", dict(sent))

    outcomes, results_again = await push(db, [same])

    assert outcomes == [("unchanged", None)]
    assert results_again[0].employee_id == results[0].employee_id


async def test_forms_without_a_time_or_named_twice_are_read(db: Database) -> None:
    await stored(db, Form("form:1", record("f-1", at=10)))
    untimed = Form("form:1", {**record("f-1", at=10), "modified_at": None})
    first, second = Form("form:1", record("f-1", at=10)), Form("form:1", record("f-1", at=10))

    outcomes, _ = await push(db, [untimed])
    twice, _ = await push(db, [first, second])

    assert outcomes[0][0] == "invalid"
    assert untimed.reads > 0
    # Named twice, a person's records are weighed against each other, read in full.
    assert first.reads > 0
    assert second.reads > 0
    # The later applies, and says what is stored already, by the fingerprint it came with.
    assert twice == [
        ("stale", "record 1 of this push is about the same person and as new"),
        ("unchanged", None),
    ]


async def test_newcomers_among_unchanged_forms_are_created(db: Database) -> None:
    await stored(db, Form("form:1", record("f-1", at=10)))
    page = [Form("form:1", record("f-1", at=10)), Form("form:9", record("f-9", at=10))]

    outcomes, results = await push(db, page)

    assert [outcome for outcome, _ in outcomes] == ["unchanged", "created"]
    assert results[1].employee_id is not None
