"""Fixtures for the SCIM tests: an identity provider's token and small request helpers."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlmodel import col

from app.db.engine import Database
from app.db.models import Employee
from tests.factories import Factory, Service

SCIM_JSON = "application/scim+json"
CORE = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
REVMENTOR = "urn:revmentor:params:scim:schemas:extension:revmentor:2.0:User"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
LIST_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"


@pytest.fixture
async def idp(factory: Factory) -> Service:
    """An identity provider's provisioning token (a Revmentor API token with the scim scope)."""
    return await factory.service("scim", name="okta")


def headers(service: Service, **extra: str) -> dict[str, str]:
    """Bearer token plus the SCIM content type, as Okta and Entra ID send them."""
    return {**service.headers, "Content-Type": SCIM_JSON, **extra}


def patch_body(*operations: dict[str, Any]) -> dict[str, Any]:
    """A PatchOp message."""
    return {"schemas": [PATCH_OP], "Operations": list(operations)}


def assert_scim_error(
    response: httpx.Response, status: int, scim_type: str | None = None
) -> dict[str, Any]:
    """The response is an RFC 7644 Error message with this status (a string) and scimType."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(SCIM_JSON)
    body: dict[str, Any] = response.json()
    assert body["schemas"] == [ERROR]
    assert body["status"] == str(status)
    assert body.get("scimType") == scim_type, body
    assert body["detail"]
    return body


async def stored(db: Database, user_id: str | uuid.UUID) -> Employee:
    """The employee row behind a SCIM user, read straight from the database."""
    async with db.session() as session:
        row = await session.scalar(
            select(Employee).where(col(Employee.id) == uuid.UUID(str(user_id)))
        )
    assert row is not None
    return row


async def create_user(
    client: httpx.AsyncClient, service: Service, body: dict[str, Any]
) -> dict[str, Any]:
    """POST /Users and return the created user."""
    response = await client.post("/scim/v2/Users", headers=headers(service), json=body)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def okta_user(n: int | str = 1, **overrides: Any) -> dict[str, Any]:
    """A user as Okta creates it (its SCIM 2.0 test payload, with a real e-mail domain)."""
    body: dict[str, Any] = {
        "schemas": [CORE],
        "userName": f"test.user{n}@example.com",
        "name": {"givenName": "Test", "familyName": f"User{n}"},
        "emails": [{"primary": True, "value": f"test.user{n}@example.com", "type": "work"}],
        "displayName": f"Test User{n}",
        "locale": "en-US",
        "externalId": f"00ujl29u0le5T6Aj10h{n}",
        "groups": [],
        "password": "1mz050nq",
        "active": True,
    }
    body.update(overrides)
    return body


def entra_user(n: int | str = 1, **overrides: Any) -> dict[str, Any]:
    """A user as Microsoft Entra ID creates it (default attribute mappings)."""
    body: dict[str, Any] = {
        "schemas": [CORE, ENTERPRISE],
        "externalId": f"0a21f0f2-8d2a-4f8e-bf98-7363c4aed4e{n}",
        "userName": f"alex.wilber{n}@contoso.com",
        "active": True,
        "displayName": f"Alex Wilber{n}",
        "title": "Marketing Assistant",
        "emails": [{"primary": True, "type": "work", "value": f"alex.wilber{n}@contoso.com"}],
        "meta": {"resourceType": "User"},
        "name": {"formatted": f"Alex Wilber{n}", "familyName": f"Wilber{n}", "givenName": "Alex"},
        "phoneNumbers": [{"type": "mobile", "value": "+1 858 555 0110"}],
        "addresses": [{"type": "work", "formatted": "Seattle, WA", "primary": False}],
        "roles": [],
        ENTERPRISE: {"department": "Marketing", "employeeNumber": f"10000{n}"},
    }
    body.update(overrides)
    return body
