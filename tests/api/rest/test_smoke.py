from __future__ import annotations


async def test_admin_creates_and_reads_an_employee(client, factory) -> None:
    admin = await factory.admin()
    response = await client.post(
        "/api/v1/employees",
        headers=admin.headers,
        json={
            "email": "Grace.Hopper@Example.com",
            "given_name": "Grace",
            "family_name": "Hopper",
            "job_level": 9,
            "department": "Research",
        },
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["display_name"] == "Grace Hopper"
    assert response.headers["etag"] == '"v1"'
    got = await client.get(response.headers["location"], headers=admin.headers)
    assert got.status_code == 200
    assert got.json()["email"] == "Grace.Hopper@example.com"
