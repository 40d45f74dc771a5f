"""The meeting cadence on a pairing: when the next check-in is due, and when it is overdue."""

from __future__ import annotations

from datetime import timedelta

import httpx

from app.db.types import utcnow
from tests.factories import Factory

API = "/api/v1"


async def test_a_live_pairing_shows_when_its_next_check_in_is_due(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    paired = await factory.paired(activated_days_ago=20, meeting_cadence_days=14)
    today = utcnow().date()
    started = today - timedelta(days=20)

    body = (await client.get(f"{API}/pairings/{paired.id}", headers=paired.mentee.headers)).json()
    assert body["cadence"] == {
        "cadence_days": 14,
        "last_check_in_on": None,
        "next_check_in_due_on": (started + timedelta(days=14)).isoformat(),
        "overdue": True,
    }

    met_on = today - timedelta(days=3)
    logged = await client.post(
        f"{API}/pairings/{paired.id}/check-ins",
        headers=paired.mentor.headers,
        json={"met_on": met_on.isoformat(), "duration_minutes": 45, "mode": "video"},
    )
    assert logged.status_code == 201, logged.text
    for person in (paired.mentor, paired.mentee, paired.manager):
        body = (await client.get(f"{API}/pairings/{paired.id}", headers=person.headers)).json()
        assert body["cadence"] == {
            "cadence_days": 14,
            "last_check_in_on": met_on.isoformat(),
            "next_check_in_due_on": (met_on + timedelta(days=14)).isoformat(),
            "overdue": False,
        }


async def test_the_due_date_follows_the_latest_meeting_not_the_latest_logged(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    paired = await factory.paired(activated_days_ago=40, meeting_cadence_days=7)
    today = utcnow().date()
    for days_ago in (5, 30):  # the older meeting is logged last
        response = await client.post(
            f"{API}/pairings/{paired.id}/check-ins",
            headers=paired.mentee.headers,
            json={
                "met_on": (today - timedelta(days=days_ago)).isoformat(),
                "duration_minutes": 30,
                "mode": "chat",
            },
        )
        assert response.status_code == 201, response.text
    listed = (
        await client.get(
            f"{API}/pairings?program_id={paired.program.id}", headers=paired.manager.headers
        )
    ).json()["items"]
    assert [p["cadence"]["last_check_in_on"] for p in listed] == [
        (today - timedelta(days=5)).isoformat()
    ]
    assert listed[0]["cadence"]["next_check_in_due_on"] == (today + timedelta(days=2)).isoformat()


async def test_only_active_pairings_have_a_cadence(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    for state in ("proposed", "paused", "completed", "ended"):
        paired = await factory.paired(state=state, activated_days_ago=10)
        body = (
            await client.get(f"{API}/pairings/{paired.id}", headers=paired.mentee.headers)
        ).json()
        assert body["state"] == state
        assert body["cadence"] is None


async def test_a_pause_is_not_a_missed_meeting(client: httpx.AsyncClient, factory: Factory) -> None:
    paired = await factory.paired(activated_days_ago=40, meeting_cadence_days=7)
    url = f"{API}/pairings/{paired.id}"
    health_url = f"{url}/health"
    assert [
        r["code"]
        for r in (await client.get(health_url, headers=paired.manager.headers)).json()["reasons"]
    ] == ["overdue_check_in"]

    for action in ("pause", "resume"):
        current = await client.get(url, headers=paired.mentee.headers)
        changed = await client.post(
            f"{url}/{action}",
            headers={**paired.mentee.headers, "If-Match": current.headers["etag"]},
        )
        assert changed.status_code == 200, changed.text

    today = utcnow().date()
    body = changed.json()
    assert body["resumed_at"] is not None
    assert body["cadence"]["next_check_in_due_on"] == (today + timedelta(days=7)).isoformat()
    assert body["cadence"]["overdue"] is False
    health = (await client.get(health_url, headers=paired.manager.headers)).json()
    assert (health["status"], health["reasons"]) == ("healthy", [])
