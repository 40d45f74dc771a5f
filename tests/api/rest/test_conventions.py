"""REST conventions every endpoint follows: problems, pagination, ETags, idempotency, limits."""

from __future__ import annotations

import json
import uuid

import httpx
import pytest
from sqlalchemy import func, select

from app.db.models import Employee, Program
from app.main import create_app

PROBLEM = "application/problem+json"


def employee_body(n: int = 1, **extra: object) -> dict[str, object]:
    return {
        "email": f"new.person{n}@example.com",
        "given_name": "New",
        "family_name": f"Person{n}",
        "job_level": 4,
        **extra,
    }


async def count(db, model) -> int:
    async with db.session() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


# --- problem documents -------------------------------------------------------------------


async def test_unknown_route_is_a_404_problem(client, factory) -> None:
    admin = await factory.admin()
    response = await client.get("/api/v1/nothing-here", headers=admin.headers)
    assert response.status_code == 404
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    assert body["status"] == 404
    assert body["type"].endswith("not-found")


async def test_wrong_method_is_a_405_problem_listing_the_allowed_ones(client, factory) -> None:
    admin = await factory.admin()
    response = await client.put("/api/v1/employees", headers=admin.headers, json={})
    assert response.status_code == 405
    assert response.headers["content-type"] == PROBLEM
    assert set(response.headers["allow"].split(", ")) == {"GET", "POST"}


async def test_validation_errors_name_the_field_and_change_nothing(client, factory, db) -> None:
    admin = await factory.admin()
    before = await count(db, Employee)
    response = await client.post(
        "/api/v1/employees",
        headers=admin.headers,
        json=employee_body(job_level="senior", time_zone="Mars/Olympus"),
    )
    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM
    fields = {e["field"] for e in response.json()["errors"]}
    assert fields == {"body.job_level", "body.time_zone"}
    assert await count(db, Employee) == before


@pytest.mark.parametrize("forbidden", ["id", "version", "created_at", "role", "email_key"])
async def test_unknown_or_read_only_fields_are_refused(client, factory, db, forbidden) -> None:
    admin = await factory.admin()
    before = await count(db, Employee)
    response = await client.post(
        "/api/v1/employees",
        headers=admin.headers,
        json=employee_body(**{forbidden: "x"}),
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == f"body.{forbidden}"
    assert await count(db, Employee) == before


async def test_role_cannot_be_changed_on_an_enrollment(client, factory) -> None:
    person = await factory.person()
    program = await factory.program()
    enrollment = await factory.enrollment(person, program, role="mentee")
    response = await client.patch(
        f"/api/v1/enrollments/{enrollment.id}",
        headers={**person.headers, "If-Match": f'"v{enrollment.version}"'},
        json={"role": "mentor"},
    )
    assert response.status_code == 422
    again = await client.get(f"/api/v1/enrollments/{enrollment.id}", headers=person.headers)
    assert again.json()["role"] == "mentee"
    assert again.json()["version"] == enrollment.version


async def test_malformed_json_is_a_problem(client, factory) -> None:
    admin = await factory.admin()
    response = await client.post(
        "/api/v1/employees",
        headers={**admin.headers, "content-type": "application/json"},
        content=b'{"email": ',
    )
    assert response.status_code in (400, 422)
    assert response.headers["content-type"] == PROBLEM


async def test_business_rule_errors_name_the_rule(client, factory) -> None:
    admin = await factory.admin()
    program = await factory.program()
    response = await client.post(
        f"/api/v1/programs/{program.id}/transitions",
        headers={**admin.headers, "If-Match": f'"v{program.version}"'},
        json={"to": "completed"},
    )
    assert response.status_code == 409
    body = response.json()
    assert body["rule"] == "program_transition"
    assert body["current_status"] == "enrolling"
    assert "enrolling" in body["detail"]


async def test_an_unexpected_error_is_a_500_problem_without_internals(settings, db) -> None:
    app = create_app(settings)
    app.state.db = db

    @app.get("/api/v1/explode")
    async def explode() -> None:
        raise RuntimeError("secret internals: password=hunter2")

    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
        response = await c.get("/api/v1/explode")
    assert response.status_code == 500
    assert response.headers["content-type"] == PROBLEM
    assert "hunter2" not in response.text
    assert "Traceback" not in response.text
    assert response.json()["request_id"]


async def test_nul_characters_are_refused_not_crashed_on(client, factory) -> None:
    admin = await factory.admin()
    body = await client.post(
        "/api/v1/employees", headers=admin.headers, json=employee_body(given_name="A\u0000B")
    )
    assert body.status_code == 422
    query = await client.get("/api/v1/employees?department=a%00b", headers=admin.headers)
    assert query.status_code == 400
    assert query.headers["content-type"] == PROBLEM


# --- body size ----------------------------------------------------------------------------


async def test_bodies_over_one_mebibyte_are_refused_with_413(client, factory, db) -> None:
    admin = await factory.admin()
    before = await count(db, Employee)
    big = json.dumps(employee_body(job_title="x" * (1024 * 1024 + 10))).encode()
    response = await client.post(
        "/api/v1/employees",
        headers={**admin.headers, "content-type": "application/json"},
        content=big,
    )
    assert response.status_code == 413
    assert response.headers["content-type"] == PROBLEM
    # Like every problem: where, and the request id to quote to support.
    assert response.json()["instance"] == "/api/v1/employees"
    assert response.json()["request_id"] == response.headers["x-request-id"]

    async def chunks():  # no Content-Length: the limit is enforced while reading
        for _ in range(20):
            yield b" " * (64 * 1024)
        yield json.dumps(employee_body()).encode()

    streamed = await client.post(
        "/api/v1/employees",
        headers={**admin.headers, "content-type": "application/json"},
        content=chunks(),
    )
    assert streamed.status_code == 413
    assert await count(db, Employee) == before


# --- pagination ---------------------------------------------------------------------------


async def test_cursor_pagination_walks_every_item_once(client, factory) -> None:
    admin = await factory.admin(department="People")
    for n in range(7):
        await factory.employee(department="Sales", family_name=f"Seller{n}")
    seen: list[str] = []
    url = "/api/v1/employees?department=Sales&limit=3"
    pages = 0
    while url:
        response = await client.get(url, headers=admin.headers)
        assert response.status_code == 200
        body = response.json()
        assert len(body["items"]) <= 3
        seen += [e["id"] for e in body["items"]]
        pages += 1
        if body["next_cursor"]:
            link = response.headers["link"]
            assert link.endswith('rel="next"')
            assert body["next_cursor"] in link
            url = link[link.index("<") + 1 : link.index(">")].replace("http://testserver", "")
        else:
            assert "link" not in response.headers
            url = ""
    assert pages == 3
    assert len(seen) == len(set(seen)) == 7


@pytest.mark.parametrize("query", ["limit=0", "limit=101", "cursor=not-a-cursor"])
async def test_bad_paging_parameters_are_refused(client, factory, query) -> None:
    admin = await factory.admin()
    response = await client.get(f"/api/v1/employees?{query}", headers=admin.headers)
    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM


# --- ETag and If-Match --------------------------------------------------------------------


async def test_changes_need_the_current_etag(client, factory) -> None:
    admin = await factory.admin()
    employee = await factory.employee()
    url = f"/api/v1/employees/{employee.id}"
    got = await client.get(url, headers=admin.headers)
    etag = got.headers["etag"]
    assert etag == '"v1"'

    missing = await client.patch(url, headers=admin.headers, json={"job_title": "Lead"})
    assert missing.status_code == 428
    assert missing.headers["content-type"] == PROBLEM

    malformed = await client.patch(
        url, headers={**admin.headers, "If-Match": "v1"}, json={"job_title": "Lead"}
    )
    assert malformed.status_code == 422

    ok = await client.patch(
        url, headers={**admin.headers, "If-Match": etag}, json={"job_title": "Lead"}
    )
    assert ok.status_code == 200
    assert ok.headers["etag"] == '"v2"'
    assert ok.json()["job_title"] == "Lead"

    stale = await client.patch(
        url, headers={**admin.headers, "If-Match": etag}, json={"job_title": "Boss"}
    )
    assert stale.status_code == 412
    assert stale.json()["current_version"] == 2
    final = await client.get(url, headers=admin.headers)
    assert final.json()["job_title"] == "Lead"

    star = await client.patch(
        url, headers={**admin.headers, "If-Match": "*"}, json={"job_title": "Principal"}
    )
    assert star.status_code == 200


async def test_actions_on_a_resource_need_if_match_too(client, factory) -> None:
    admin = await factory.admin()
    employee = await factory.employee()
    url = f"/api/v1/employees/{employee.id}"
    action = f"{url}/deactivate"
    assert (await client.post(action, headers=admin.headers)).status_code == 428
    done = await client.post(action, headers={**admin.headers, "If-Match": '"v1"'})
    assert done.status_code == 200
    assert done.json()["active"] is False
    # Never hard-deleted: the record is still there, inactive.
    assert (await client.get(url, headers=admin.headers)).json()["active"] is False


# --- Idempotency-Key ----------------------------------------------------------------------


async def test_a_retried_post_replays_the_first_response(client, factory, db) -> None:
    admin = await factory.admin()
    headers = {**admin.headers, "Idempotency-Key": "create-grace-1"}
    body = {"name": "Grace's cohort"}
    first = await client.post("/api/v1/programs", headers=headers, json=body)
    assert first.status_code == 201
    before = await count(db, Program)
    second = await client.post("/api/v1/programs", headers=headers, json=body)
    assert second.status_code == 201
    assert second.json() == first.json()
    assert second.headers["location"] == first.headers["location"]
    assert second.headers["idempotent-replayed"] == "true"
    assert await count(db, Program) == before == 1


async def test_reusing_a_key_for_another_request_is_a_422(client, factory, db) -> None:
    admin = await factory.admin()
    headers = {**admin.headers, "Idempotency-Key": "k-1"}
    assert (
        await client.post("/api/v1/programs", headers=headers, json={"name": "A"})
    ).status_code == 201
    reused = await client.post("/api/v1/programs", headers=headers, json={"name": "B"})
    assert reused.status_code == 422
    assert reused.json()["type"].endswith("idempotency-key-reused")
    assert reused.json()["instance"] == "/api/v1/programs"
    assert reused.json()["request_id"] == reused.headers["x-request-id"]
    assert await count(db, Program) == 1


async def test_keys_belong_to_the_credential_that_sent_them(client, factory, db) -> None:
    first_admin = await factory.admin()
    second_admin = await factory.admin()
    body = {"name": "Same body"}
    for admin in (first_admin, second_admin):
        response = await client.post(
            "/api/v1/programs", headers={**admin.headers, "Idempotency-Key": "shared"}, json=body
        )
        assert response.status_code == 201
        assert "idempotent-replayed" not in response.headers
    assert await count(db, Program) == 2


async def test_validation_failures_are_replayed_but_server_errors_are_not(client, factory) -> None:
    admin = await factory.admin()
    headers = {**admin.headers, "Idempotency-Key": "bad-1"}
    first = await client.post("/api/v1/programs", headers=headers, json={"name": ""})
    second = await client.post("/api/v1/programs", headers=headers, json={"name": ""})
    assert first.status_code == second.status_code == 422
    assert second.headers["idempotent-replayed"] == "true"


async def test_posts_without_a_key_are_not_deduplicated(client, factory, db) -> None:
    admin = await factory.admin()
    for _ in range(2):
        response = await client.post("/api/v1/programs", headers=admin.headers, json={"name": "X"})
        assert response.status_code == 201
    assert await count(db, Program) == 2


# --- operations ---------------------------------------------------------------------------


async def test_request_ids_are_echoed_or_generated(client) -> None:
    mine = uuid.uuid4().hex
    echoed = await client.get("/healthz", headers={"X-Request-ID": mine})
    assert echoed.headers["x-request-id"] == mine
    generated = await client.get("/healthz")
    assert len(generated.headers["x-request-id"]) == 32


async def test_health_readiness_and_metrics(client, factory) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["database"] == "ok"
    admin = await factory.admin()
    await client.get("/api/v1/employees", headers=admin.headers)
    metrics = await client.get("/metrics")
    assert metrics.status_code == 200
    assert 'revmentor_http_requests_total{method="GET",route="/api/v1/employees",status="200"}' in (
        metrics.text
    )


async def test_problem_request_id_matches_the_response_header(client) -> None:
    response = await client.get("/api/v1/me", headers={"X-Request-ID": "a" * 32})
    assert response.status_code == 401
    assert response.json()["request_id"] == "a" * 32


async def test_expired_idempotency_keys_are_purged_and_reusable(client, factory, db) -> None:
    from datetime import timedelta

    from sqlalchemy import update

    from app.api.middleware import purge_expired_idempotency_records
    from app.db.models import IdempotencyRecord
    from app.db.types import utcnow

    admin = await factory.admin()
    headers = {**admin.headers, "Idempotency-Key": "old-key"}
    assert (await client.post("/api/v1/programs", headers=headers, json={"name": "A"})).is_success
    async with db.session() as session:
        await session.execute(
            update(IdempotencyRecord).values(expires_at=utcnow() - timedelta(seconds=1))
        )
        await session.commit()
    # An expired key is a new request again, even with another body.
    again = await client.post("/api/v1/programs", headers=headers, json={"name": "B"})
    assert again.status_code == 201
    assert "idempotent-replayed" not in again.headers
    async with db.session() as session:
        await session.execute(
            update(IdempotencyRecord).values(expires_at=utcnow() - timedelta(seconds=1))
        )
        await session.commit()
    assert await purge_expired_idempotency_records(db) == 1
    assert await count(db, IdempotencyRecord) == 0
