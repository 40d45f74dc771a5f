"""HRIS pushes and the management chain: references to people not here yet, changes, cycles."""

from __future__ import annotations

from typing import Any

import httpx

from app.db.engine import Database
from tests.api.rest.test_hris_push import (
    hris_client,
    outcomes,
    push,
    read_employee,
    record,
    stored,
)
from tests.factories import Factory, Person

CYCLE = "cycle in the management chain"


async def manager_of(
    client: httpx.AsyncClient, admin: Person, employee_id: str
) -> tuple[str | None, str | None]:
    """(manager_id, manager_external_id) as an admin reads them."""
    view = await read_employee(client, admin, employee_id)
    return view["manager_id"], view["manager_external_id"]


def ids_of(body: dict[str, Any]) -> dict[str, str]:
    return {r["external_id"]: r["employee_id"] for r in body["results"] if r["employee_id"]}


async def test_a_manager_named_before_they_arrive_is_linked_when_they_do(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    hris, admin = await hris_client(factory), await factory.admin()
    first = await push(client, hris, [record("report", manager_external_id="boss")])
    assert outcomes(first) == ["created"]
    report = ids_of(first)["report"]
    assert await manager_of(client, admin, report) == (None, "boss")

    second = await push(client, hris, [record("boss", job_level=9)])
    assert outcomes(second) == ["created"]
    assert await manager_of(client, admin, report) == (ids_of(second)["boss"], "boss")
    chain = await client.get(f"/api/v1/employees/{report}/management-chain", headers=admin.headers)
    assert [m["id"] for m in chain.json()] == [ids_of(second)["boss"]]


async def test_a_manager_later_in_the_same_push_is_linked(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    hris, admin = await hris_client(factory), await factory.admin()
    body = await push(
        client,
        hris,
        [
            record("report", manager_external_id="middle"),
            record("middle", manager_external_id="top"),
            record("top", job_level=10),
        ],
    )
    assert outcomes(body) == ["created"] * 3
    ids = ids_of(body)
    assert await manager_of(client, admin, ids["report"]) == (ids["middle"], "middle")
    assert await manager_of(client, admin, ids["middle"]) == (ids["top"], "top")
    assert await manager_of(client, admin, ids["top"]) == (None, None)


async def test_a_manager_change_follows_the_source(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    hris, admin = await hris_client(factory), await factory.admin()
    ids = ids_of(
        await push(
            client,
            hris,
            [
                record("old-boss"),
                record("new-boss"),
                record("report", manager_external_id="old-boss"),
            ],
        )
    )
    assert (await manager_of(client, admin, ids["report"]))[0] == ids["old-boss"]

    moved = await push(client, hris, [record("report", at=1, manager_external_id="new-boss")])
    assert outcomes(moved) == ["updated"]
    assert await manager_of(client, admin, ids["report"]) == (ids["new-boss"], "new-boss")

    # A manager the directory does not know (yet): the old link does not linger.
    to_stranger = await push(client, hris, [record("report", at=2, manager_external_id="ghost")])
    assert outcomes(to_stranger) == ["updated"]
    assert await manager_of(client, admin, ids["report"]) == (None, "ghost")

    gone = await push(client, hris, [record("report", at=3)])
    assert outcomes(gone) == ["updated"]
    assert await manager_of(client, admin, ids["report"]) == (None, None)


async def test_being_ones_own_manager_is_refused(
    client: httpx.AsyncClient, factory: Factory, db: Database
) -> None:
    hris = await hris_client(factory)
    body = await push(client, hris, [record("loop", manager_external_id="loop"), record("ok")])
    refused, kept = body["results"]
    assert refused["outcome"] == "invalid"
    assert refused["field"] == "manager_external_id"
    assert "own manager" in refused["reason"]
    assert kept["outcome"] == "created"
    assert await stored(db, "loop") is None


async def test_a_cycle_within_one_push_is_refused_and_the_rest_kept(
    client: httpx.AsyncClient, factory: Factory, db: Database
) -> None:
    hris, admin = await hris_client(factory), await factory.admin()
    body = await push(
        client,
        hris,
        [
            record("a", manager_external_id="b"),
            record("b", manager_external_id="a"),
            record("x", manager_external_id="z"),
            record("y", manager_external_id="x"),
            record("z", manager_external_id="y"),
            record("fine", manager_external_id="boss"),
            record("boss"),
        ],
    )
    assert outcomes(body) == ["invalid"] * 5 + ["created", "created"]
    assert body["counts"] == {"invalid": 5, "created": 2}
    for result in body["results"][:5]:
        assert result["field"] == "manager_external_id", result
        assert CYCLE in result["reason"], result
    for external_id in ("a", "b", "x", "y", "z"):
        assert await stored(db, external_id) is None
    ids = ids_of(body)
    assert await manager_of(client, admin, ids["fine"]) == (ids["boss"], "boss")


async def test_a_cycle_across_pushes_is_refused(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    """The stored chain is top <- middle <- bottom; the top may not report to the bottom."""
    hris, admin = await hris_client(factory), await factory.admin()
    ids = ids_of(
        await push(
            client,
            hris,
            [
                record("top", job_title="CEO"),
                record("middle", manager_external_id="top"),
                record("bottom", manager_external_id="middle"),
            ],
        )
    )
    body = await push(
        client,
        hris,
        [record("top", at=1, job_title="Chair", manager_external_id="bottom"), record("new")],
    )
    refused, kept = body["results"]
    assert (refused["outcome"], refused["field"]) == ("invalid", "manager_external_id")
    assert CYCLE in refused["reason"]
    assert kept["outcome"] == "created"
    top = await read_employee(client, admin, ids["top"])
    assert (top["manager_id"], top["manager_external_id"], top["job_title"]) == (None, None, "CEO")
    assert (await manager_of(client, admin, ids["bottom"]))[0] == ids["middle"]


async def test_a_cycle_through_a_long_chain_is_refused(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    """No chain is too long to check: l-0 <- l-1 <- … <- l-249, and l-0 may not report to
    l-249."""
    hris, admin = await hris_client(factory), await factory.admin()
    chain = [record("l-0")] + [
        record(f"l-{n}", manager_external_id=f"l-{n - 1}") for n in range(1, 250)
    ]
    ids = ids_of(await push(client, hris, chain))
    body = await push(client, hris, [record("l-0", at=1, manager_external_id="l-249")])
    [refused] = body["results"]
    assert (refused["outcome"], refused["field"]) == ("invalid", "manager_external_id")
    assert CYCLE in refused["reason"]
    top = await read_employee(client, admin, ids["l-0"])
    assert top["manager_id"] is None


async def test_a_cycle_closed_by_an_arriving_manager_is_refused(
    client: httpx.AsyncClient, factory: Factory, db: Database
) -> None:
    """``a`` waits for its manager ``b``; ``b`` arrives naming ``a`` as its manager."""
    hris, admin = await hris_client(factory), await factory.admin()
    a = ids_of(await push(client, hris, [record("a", manager_external_id="b")]))["a"]

    body = await push(client, hris, [record("b", manager_external_id="a"), record("c")])
    refused, kept = body["results"]
    assert (refused["outcome"], refused["field"]) == ("invalid", "manager_external_id")
    assert CYCLE in refused["reason"]
    assert kept["outcome"] == "created"
    assert await stored(db, "b") is None
    assert await manager_of(client, admin, a) == (None, "b")  # still waiting, not linked

    # Once b arrives without the loop, a is linked to them.
    fixed = await push(client, hris, [record("b", at=1)])
    assert outcomes(fixed) == ["created"]
    assert await manager_of(client, admin, a) == (ids_of(fixed)["b"], "b")


async def test_a_cycle_through_a_hand_made_manager_is_refused(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    """The chain check follows every stored link, not only the source's own people."""
    hris, admin = await hris_client(factory), await factory.admin()
    ids = ids_of(await push(client, hris, [record("lead")]))
    hand_made = await factory.employee(external_id="hand-made", manager_id=ids["lead"])
    body = await push(client, hris, [record("lead", at=1, manager_external_id="hand-made")])
    assert outcomes(body) == ["invalid"]
    assert body["results"][0]["field"] == "manager_external_id"
    assert (await manager_of(client, admin, ids["lead"]))[0] is None
    assert (await manager_of(client, admin, str(hand_made.id)))[0] == ids["lead"]


async def test_a_waiting_report_is_linked_when_their_manager_is_adopted(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    """The manager was in the directory all along, added by hand: the first push of their
    record gives them the external id the report has been waiting for."""
    hris, admin = await hris_client(factory), await factory.admin()
    boss = await factory.employee(email="boss@example.com", job_level=9)
    report = ids_of(await push(client, hris, [record("report", manager_external_id="boss-1")]))
    assert await manager_of(client, admin, report["report"]) == (None, "boss-1")

    adopted = await push(client, hris, [record("boss-1", email="boss@example.com", job_level=9)])
    assert [(r["outcome"], r["employee_id"]) for r in adopted["results"]] == [
        ("updated", str(boss.id))
    ]
    assert await manager_of(client, admin, report["report"]) == (str(boss.id), "boss-1")
