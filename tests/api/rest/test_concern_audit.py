"""The audit log does not tell an admin who takes part in a pairing about a concern on it."""

from __future__ import annotations

import httpx

from tests.factories import Factory

API = "/api/v1"


async def test_an_admin_partner_finds_no_trace_of_the_concern_in_the_audit_log(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    admin_mentor = await factory.admin(job_level=2, department="People")
    paired = await factory.paired(mentor=admin_mentor)
    other_admin = await factory.admin()

    async def concern_events(headers: dict[str, str]) -> list[dict[str, object]]:
        response = await client.get(f"{API}/audit-events?entity_type=concern", headers=headers)
        assert response.status_code == 200, response.text
        return response.json()["items"]

    before = await client.get(f"{API}/audit-events", headers=admin_mentor.headers)
    raised = await client.post(
        f"{API}/pairings/{paired.id}/concerns",
        headers=paired.mentee.headers,
        json={"category": "patronised", "description": "Marker-7f3 they talk down to me"},
    )
    assert raised.status_code == 201, raised.text

    assert await concern_events(admin_mentor.headers) == []
    after = await client.get(f"{API}/audit-events", headers=admin_mentor.headers)
    assert [e["id"] for e in after.json()["items"]] == [e["id"] for e in before.json()["items"]]

    seen = await concern_events(other_admin.headers)
    assert [(e["action"], e["entity_id"]) for e in seen] == [
        ("concern.raised", raised.json()["id"])
    ]
    assert "Marker-7f3" not in str(seen)


async def test_an_audit_reading_service_gets_the_trail_without_concerns(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    paired = await factory.paired()
    auditor = await factory.service("audit:read")
    admin = await factory.admin()
    raised = await client.post(
        f"{API}/pairings/{paired.id}/concerns",
        headers=paired.mentee.headers,
        json={"category": "conflict", "description": "We argue in every meeting"},
    )
    assert raised.status_code == 201, raised.text

    trail = (await client.get(f"{API}/audit-events?limit=100", headers=auditor.headers)).json()
    assert trail["items"], "the rest of the trail is there"
    assert not [e for e in trail["items"] if e["entity_type"] == "concern"]
    assert raised.json()["id"] not in str(trail)
    for_admin = (await client.get(f"{API}/audit-events?limit=100", headers=admin.headers)).json()
    assert [e["action"] for e in for_admin["items"] if e["entity_type"] == "concern"] == [
        "concern.raised"
    ]
