"""HRIS run reports: what each push did, who pushed it, how long it took, and the list of runs."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import httpx
import pytest

from tests.api.rest.test_hris_push import API, hris_client, push, record
from tests.api.rest.test_hris_snapshots import act, get_run, open_run, people, push_page
from tests.factories import Factory, Person, Service


def seconds_between(report: dict[str, Any]) -> float:
    started = datetime.fromisoformat(report["created_at"])
    finished = datetime.fromisoformat(report["finished_at"])
    return (finished - started).total_seconds()


async def test_a_snapshot_report_sums_its_pages_and_lists_their_errors(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    hris = await hris_client(factory)
    await push(client, hris, people(4))
    run = await open_run(client, hris)
    assert run["pushed_by"] == "service workday-sync"
    assert (run["pages"], run["records"], run["counts"], run["errors"]) == (0, 0, {}, [])
    assert (run["finished_at"], run["duration_seconds"]) == (None, None)

    await push_page(
        client,
        hris,
        run["id"],
        [record("w-0"), record("w-1", job_title="Lead"), record("x-1", email="nope")],
    )
    await push_page(
        client,
        hris,
        run["id"],
        [record("w-2"), record("w-3"), record("x-2"), {"external_id": "x-3"}, 7],
    )
    open_report = await get_run(client, hris, run["id"])
    assert open_report["status"] == "open"
    assert (open_report["pages"], open_report["records"], open_report["error_count"]) == (2, 8, 3)
    assert open_report["counts"] == {"unchanged": 3, "updated": 1, "created": 1, "invalid": 3}
    assert open_report["duration_seconds"] is None
    errors = open_report["errors"]
    assert [(e["page"], e["index"], e["external_id"], e["field"]) for e in errors] == [
        (1, 2, "x-1", "email"),
        (2, 3, "x-3", "modified_at"),
        (2, 4, None, "record"),
    ]
    assert all(e["reason"] for e in errors)
    assert "email" in errors[0]["reason"]
    assert "job_level" in errors[1]["reason"]  # every missing field is named

    committed = await act(client, hris, run["id"], "commit")
    report = await get_run(client, hris, run["id"])
    assert report == committed
    assert report["status"] == "committed"
    assert report["finished_at"] is not None
    assert report["duration_seconds"] == pytest.approx(seconds_between(report), abs=0.001)
    assert report["duration_seconds"] >= 0
    assert report["counts"] == open_report["counts"]


async def test_a_delta_push_is_a_finished_run_with_its_report(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    hris = await hris_client(factory)
    body = await push(client, hris, [record("e-1"), record("e-2", job_level=-1)])
    report = await get_run(client, hris, body["run_id"])
    assert (report["kind"], report["status"], report["source"]) == ("delta", "committed", "workday")
    assert (report["pages"], report["records"], report["error_count"]) == (1, 2, 1)
    assert report["counts"] == body["counts"] == {"created": 1, "invalid": 1}
    [error] = report["errors"]
    assert (error["page"], error["index"], error["external_id"], error["field"]) == (
        1,
        1,
        "e-2",
        "job_level",
    )
    assert error["reason"] == body["results"][1]["reason"]
    assert report["pushed_by"] == "service workday-sync"
    assert report["duration_seconds"] is not None
    assert report["active_before"] is None
    assert report["to_deactivate"] is None


async def test_the_report_names_who_pushed(client: httpx.AsyncClient, factory: Factory) -> None:
    admin = await factory.admin()
    other_job = await factory.service("hris:write", name="successfactors-nightly")
    by_admin = await push(client, admin, [record("e-1")])
    by_job = await push(client, other_job, [record("e-2")], source="sap")
    assert (await get_run(client, admin, by_admin["run_id"]))["pushed_by"] == (
        f"employee {admin.id}"
    )
    assert (await get_run(client, admin, by_job["run_id"]))["pushed_by"] == (
        "service successfactors-nightly"
    )


async def test_the_report_keeps_the_first_thousand_errors_and_counts_them_all(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    hris = await hris_client(factory)
    run = await open_run(client, hris)
    broken = [record(f"b-{n}", job_level="high") for n in range(1000)]
    await push_page(client, hris, run["id"], broken)
    await push_page(client, hris, run["id"], [record("b-1000", job_level="high")])
    report = await get_run(client, hris, run["id"])
    assert report["error_count"] == 1001
    assert report["counts"] == {"invalid": 1001}
    assert len(report["errors"]) == 1000
    assert report["errors"][-1]["external_id"] == "b-999"


# ---------------------------------------------------------------------------------------------
# Listing runs
# ---------------------------------------------------------------------------------------------


async def make_runs(client: httpx.AsyncClient, hris: Service) -> dict[str, str]:
    """Runs of two sources, oldest first: their ids by name."""
    ids: dict[str, str] = {}
    ids["workday-delta"] = (await push(client, hris, [record("e-1")]))["run_id"]
    ids["sap-delta"] = (await push(client, hris, [record("s-1")], source="sap"))["run_id"]
    sap = await open_run(client, hris, source="sap")
    await act(client, hris, sap["id"], "abort")
    ids["sap-aborted"] = sap["id"]
    ids["workday-committed"] = (await open_run(client, hris))["id"]
    await push_page(client, hris, ids["workday-committed"], [record("e-1")])
    assert (await act(client, hris, ids["workday-committed"], "commit"))["status"] == "committed"
    ids["workday-open"] = (await open_run(client, hris))["id"]
    return ids


async def listed(
    client: httpx.AsyncClient, who: Person | Service, **params: Any
) -> list[dict[str, Any]]:
    response = await client.get(f"{API}/hris/runs", headers=who.headers, params=params)
    assert response.status_code == 200, response.text
    return response.json()["items"]  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, ["workday-open", "workday-committed", "sap-aborted", "sap-delta", "workday-delta"]),
        ({"source": "workday"}, ["workday-open", "workday-committed", "workday-delta"]),
        ({"kind": "delta"}, ["sap-delta", "workday-delta"]),
        ({"kind": "snapshot"}, ["workday-open", "workday-committed", "sap-aborted"]),
        ({"status": "committed"}, ["workday-committed", "sap-delta", "workday-delta"]),
        ({"status": "aborted"}, ["sap-aborted"]),
        ({"source": "sap", "kind": "snapshot"}, ["sap-aborted"]),
        ({"source": "workday", "status": "open"}, ["workday-open"]),
        ({"source": "bamboo"}, []),
        ({"status": "held"}, []),
    ],
)
async def test_runs_are_listed_newest_first_and_filtered(
    client: httpx.AsyncClient,
    factory: Factory,
    params: dict[str, str],
    expected: list[str],
) -> None:
    hris = await hris_client(factory)
    ids = await make_runs(client, hris)
    names = {v: k for k, v in ids.items()}
    items = await listed(client, hris, **params)
    assert [names[item["id"]] for item in items] == expected
    for item in items:
        assert "errors" not in item  # the list is a summary; a run's report has them
        assert item["pushed_by"] == "service workday-sync"


async def test_the_run_list_is_paginated_with_a_cursor(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    hris, admin = await hris_client(factory), await factory.admin()
    ids = await make_runs(client, hris)
    seen: list[str] = []
    params: dict[str, Any] = {"limit": 2}
    for _ in range(5):
        response = await client.get(f"{API}/hris/runs", headers=admin.headers, params=params)
        assert response.status_code == 200
        body = response.json()
        assert len(body["items"]) <= 2
        seen += [item["id"] for item in body["items"]]
        if body["next_cursor"] is None:
            assert "link" not in response.headers
            break
        assert 'rel="next"' in response.headers["link"]
        params = {"limit": 2, "cursor": body["next_cursor"]}
    assert seen == list(reversed(ids.values()))


@pytest.mark.parametrize(
    "params",
    [{"kind": "full"}, {"status": "done"}, {"limit": 0}, {"limit": 101}, {"cursor": "garbage"}],
)
async def test_bad_list_parameters_are_a_422(
    client: httpx.AsyncClient, factory: Factory, params: dict[str, Any]
) -> None:
    hris = await hris_client(factory)
    response = await client.get(f"{API}/hris/runs", headers=hris.headers, params=params)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")


async def test_reading_runs_without_the_scope_says_what_was_refused(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    reader = await factory.service("read", name="dashboard")
    for path in ("/hris/runs", f"/hris/runs/{'0' * 8}-0000-7000-8000-{'0' * 12}"):
        response = await client.get(f"{API}{path}", headers=reader.headers)
        assert response.status_code == 403, response.text
        assert "reading HRIS runs" in response.json()["detail"]
