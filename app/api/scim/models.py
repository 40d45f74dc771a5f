"""The SCIM resources Revmentor speaks, built on scim2-models, and the discovery documents
(ServiceProviderConfig, ResourceTypes, Schemas) that describe them.

A SCIM User is an employee. The core User schema, the enterprise extension and Revmentor's own
extension (job level, location, time zone, hire and termination dates) are what is stored; the
published core schema lists only the attributes Revmentor keeps. Other core attributes an identity
provider maps by default (phoneNumbers, addresses, locale, nickName, password…) are accepted and
ignored, so a stock Okta or Entra ID configuration provisions without errors.

Groups are not supported: reverse-mentoring programs are not directory groups, and who takes part
in a program is each employee's own opt-in, never an identity provider's group membership. So
``/ResourceTypes`` lists only User, and ``/Groups`` answers a 404 saying so.
"""

from __future__ import annotations

from datetime import date, datetime
from functools import cache
from typing import Annotated, Any, Final

from pydantic import BeforeValidator, Field
from scim2_models import URI as UriReference
from scim2_models import (
    URN,
    Attribute,
    AuthenticationScheme,
    Bulk,
    CaseExact,
    ChangePassword,
    ComplexAttribute,
    ETag,
    Extension,
    Filter,
    Mutability,
    Pagination,
    Patch,
    Reference,
    Required,
    ResourceType,
    Schema,
    SchemaExtension,
    ScimPolicy,
    ServiceProviderConfig,
    Sort,
    Uniqueness,
    User,
)
from scim2_models import External as ExternalReference

CORE_USER: Final = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE_USER: Final = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
REVMENTOR_USER: Final = "urn:revmentor:params:scim:schemas:extension:revmentor:2.0:User"
ERROR: Final = "urn:ietf:params:scim:api:messages:2.0:Error"
LIST_RESPONSE: Final = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
SEARCH_REQUEST: Final = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
PATCH_OP: Final = "urn:ietf:params:scim:api:messages:2.0:PatchOp"

#: The most resources one list response holds (``count`` is capped to it).
MAX_RESULTS: Final = 200
#: The page size when a client sends no ``count``.
DEFAULT_COUNT: Final = 100
#: The job level given to people an identity provider creates without one: Okta and Entra ID
#: know nothing of seniority, and every employee needs a level. An admin or the HRIS sync sets
#: the real one; SCIM updates that do not send a level keep it.
DEFAULT_JOB_LEVEL: Final = 1

#: How much of the specification's strictness is relaxed for the identity providers' payloads:
#: unknown attributes and extensions are dropped (custom IdP mappings), a PATCH ``remove`` may
#: select values by its ``value`` and a value filter matching nothing adds the entry (both as
#: Microsoft Entra ID sends them).
POLICY: Final = ScimPolicy(
    unknown=ScimPolicy.Unknown.ignore,
    remove_value_as_filter=ScimPolicy.RemoveValue.apply,
    unmatched_path_filter=ScimPolicy.UnmatchedPathFilter.create,
)


def _whole_number(value: object) -> object:
    # JSON true is not a level; lax parsing would read it as 1.
    if isinstance(value, bool):
        raise ValueError("must be an integer")
    return value


def _calendar_day(value: object) -> object:
    # Identity providers hold dates as date-times ("2024-03-01T00:00:00Z"): the day is what counts.
    if isinstance(value, str) and len(value) > 10 and value[10] in "Tt ":
        return value[:10]
    if isinstance(value, datetime):
        return value.date()
    return value


Day = Annotated[date | None, BeforeValidator(_calendar_day)]


class Manager(ComplexAttribute):
    """The employee's manager."""

    value: Annotated[str | None, CaseExact.true] = None
    """The SCIM id of the manager (their Revmentor id). The manager's externalId is accepted too,
    and a reference to someone not provisioned yet is kept and linked when they arrive."""

    ref: Reference[User] | None = Field(  # type: ignore[type-arg]
        None, serialization_alias="$ref", validation_alias="$ref"
    )
    """The URI of the manager's SCIM resource."""

    display_name: Annotated[str | None, Mutability.read_only] = None
    """The manager's displayName."""


class EnterpriseUser(Extension):
    """Enterprise User (RFC 7643 section 4.3)."""

    # scim2-models ships this extension with manager.value and manager.$ref required, which
    # refuses the manager Entra ID sends ({"value": id}); RFC 7643 only recommends them.
    __schema__ = URN(ENTERPRISE_USER)

    employee_number: str | None = None
    """Identifier of the employee in the organisation (HR number)."""

    cost_center: str | None = None
    """The employee's cost center."""

    organization: str | None = None
    """The employee's organization."""

    division: str | None = None
    """The employee's division."""

    department: str | None = None
    """The employee's department."""

    manager: Manager | None = None
    """The employee's manager."""


class RevmentorUser(Extension):
    """What reverse mentoring needs to know about an employee beyond the standard schemas."""

    __schema__ = URN(REVMENTOR_USER)

    job_level: Annotated[int | None, BeforeValidator(_whole_number)] = None
    """Seniority, an integer from 0 to 30 (higher is more senior): mentors are more junior than
    their mentees. Defaults to 1 when a user is created without it; updates that leave it out
    keep the stored level."""

    location: str | None = None
    """Where the employee works (office or city)."""

    time_zone: str | None = None
    """The employee's IANA time zone, e.g. Europe/Berlin (the same value as the core
    ``timezone``). Defaults to UTC; updates that leave it out keep the stored zone."""

    hire_date: Day = None
    """The day the employee was hired, written YYYY-MM-DD (a date-time is read as its day)."""

    termination_date: Day = None
    """The employee's last day, written YYYY-MM-DD: on that day they are deactivated."""


ScimUser = User[EnterpriseUser | RevmentorUser]

# --------------------------------------------------------------------------------------------
# Discovery documents

#: Core User attributes Revmentor stores, with the sub-attributes it keeps.
_CORE_ATTRIBUTES: dict[str, set[str] | None] = {
    "userName": None,
    "name": {"givenName", "familyName"},
    "displayName": None,
    "title": None,
    "timezone": None,
    "active": None,
    "emails": {"value", "type", "primary"},
}
_DESCRIPTIONS = {
    "userName": "The employee's work e-mail address, unique (case-insensitive).",
    "name": "The employee's name; givenName and familyName are required.",
    "displayName": "The name shown in Revmentor; defaults to 'givenName familyName'.",
    "title": "The employee's job title.",
    "timezone": "The employee's IANA time zone (the same value as the Revmentor timeZone).",
    "active": "Whether the employee is active. Deactivation withdraws their enrollments and "
    "ends their open pairings.",
    "emails": "The work e-mail, which is the userName: responses carry that one address. A "
    "request may send a list where one is primary or of type work; userName wins when both "
    "are sent and differ, and a PATCH changing only the work e-mail changes userName too.",
}


def _user_schema() -> Schema:
    attributes: list[Attribute] = []
    for attribute in ScimUser.to_schema().attributes or []:
        name = attribute.name or ""
        if name not in _CORE_ATTRIBUTES:
            continue
        kept = _CORE_ATTRIBUTES[name]
        update: dict[str, Any] = {"description": _DESCRIPTIONS[name]}
        if kept is not None:
            update["sub_attributes"] = [
                sub.model_copy(
                    update={"required": Required.true} if name == "name" else {}, deep=True
                )
                for sub in attribute.sub_attributes or []
                if sub.name in kept
            ]
        if name in ("userName", "name"):
            update["required"] = Required.true
        if name == "userName":
            update["uniqueness"] = Uniqueness.server
        attributes.append(attribute.model_copy(update=update, deep=True))
    return Schema(
        id=CORE_USER,
        name="User",
        description="An employee of the organisation",
        attributes=attributes,
    )


def _extension_schema(model: type[Extension], name: str, description: str) -> Schema:
    schema = model.to_schema()
    return schema.model_copy(update={"name": name, "description": description})


def _message_schema(model: Any, description: str, *, without: str | None = None) -> Schema:
    schema: Schema = model.to_schema()
    attributes = [a for a in schema.attributes or [] if a.name != without]
    return schema.model_copy(update={"description": description, "attributes": attributes})


@cache
def schemas() -> tuple[Schema, ...]:
    """Every schema ``/Schemas`` publishes: the User schemas and those describing discovery."""
    return (
        _user_schema(),
        _extension_schema(EnterpriseUser, "EnterpriseUser", "Enterprise User"),
        _extension_schema(
            RevmentorUser,
            "RevmentorUser",
            "What reverse mentoring needs to know about an employee beyond the standard "
            "schemas: seniority, location, time zone and employment dates.",
        ),
        _message_schema(
            # RFC 7643 section 5: the configuration has no id.
            ServiceProviderConfig,
            "Service Provider Configuration",
            without="id",
        ),
        _message_schema(ResourceType, "Resource Type"),
        _message_schema(Schema, "Describes a schema: its attributes and their qualities"),
    )


def user_resource_type() -> ResourceType:
    """The one resource type Revmentor serves: User (employees)."""
    return ResourceType(
        id="User",
        name="User",
        description="An employee of the organisation",
        endpoint=Reference[UriReference]("/Users"),
        schema_=Reference[UriReference](CORE_USER),
        schema_extensions=[
            SchemaExtension(schema_=Reference[UriReference](ENTERPRISE_USER), required=False),
            SchemaExtension(schema_=Reference[UriReference](REVMENTOR_USER), required=False),
        ],
    )


def service_provider_config() -> ServiceProviderConfig:
    """What this SCIM service supports, stated honestly."""
    return ServiceProviderConfig(
        patch=Patch(supported=True),
        bulk=Bulk(supported=False, max_operations=0, max_payload_size=0),
        filter=Filter(supported=True, max_results=MAX_RESULTS),
        change_password=ChangePassword(supported=False),
        sort=Sort(supported=True),
        etag=ETag(supported=True),
        pagination=Pagination(
            cursor=False,
            index=True,
            default_pagination_method=Pagination.DefaultPaginationMethod.index,
            default_page_size=DEFAULT_COUNT,
            max_page_size=MAX_RESULTS,
        ),
        authentication_schemes=[
            AuthenticationScheme(
                type=AuthenticationScheme.Type.oauthbearertoken,
                name="OAuth Bearer Token",
                description=(
                    "Authorization: Bearer <token>, with a Revmentor API token (rvm_…) issued "
                    "with the 'scim' scope (or an identity provider's bearer JWT, once "
                    "configured)."
                ),
                spec_uri=Reference[ExternalReference]("https://www.rfc-editor.org/info/rfc6750"),
                primary=True,
            )
        ],
    )
