"""A PatchOp read and applied to a user's SCIM representation (RFC 7644 section 3.5.2).

scim2-models does the applying, under the identity providers' :data:`~app.api.scim.models.POLICY`;
this module reads the message, applies its operations one by one so that a failure is reported
for the operation at fault, and names failures as RFC 7644 does. Comparing the result with what is
stored is :func:`app.api.scim.mapping.changes_for_patch`'s part.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError
from scim2_models import Context, InvalidValueException, PatchOp, PatchOperation, Path

from app.api.scim import quirks
from app.api.scim.errors import ScimError
from app.api.scim.models import PATCH_OP, POLICY, ScimUser
from app.api.scim.protocol import require_schema
from app.api.scim.validation import scim_error

Operation = PatchOperation[ScimUser]


def read(payload: dict[str, Any]) -> list[Operation]:
    """The operations of a PatchOp body, with the identity providers' spellings made RFC 7644's."""
    require_schema(payload, PATCH_OP)
    try:
        message = PatchOp[ScimUser].model_validate(
            quirks.patch(payload), scim_ctx=Context.RESOURCE_PATCH_REQUEST, scim_policy=POLICY
        )
    except ValidationError as exc:
        raise scim_error(exc) from None
    return list(message.operations or [])


def apply(operations: list[Operation], user: ScimUser) -> ScimUser:
    """A copy of ``user`` with the operations applied in order (the first failure is raised)."""
    patched = user.model_copy(deep=True)
    for operation in operations:
        _apply_one(operation, patched)
    return patched


def _apply_one(operation: Operation, user: ScimUser) -> None:
    # Built unchecked: the operation was checked with the message it came in.
    single = PatchOp[ScimUser].model_construct(operations=[operation])
    try:
        single.patch(user, scim_policy=POLICY)  # leaves the user as it was when it fails
    except ValidationError as exc:
        raise scim_error(exc) from None
    except InvalidValueException as exc:
        # scim2-models reports a value the User refuses with pydantic's whole report as text;
        # the report itself is the cause.
        if isinstance(exc.__cause__, ValidationError):
            raise scim_error(exc.__cause__) from None
        selection = _unmatched_selection(operation, user)
        if selection is not None:
            # The policy adds the value an unmatched filter describes (Entra ID's
            # emails[type eq "work"].value on a user without one), but this filter describes
            # a value other than the one written: RFC 7644 3.5.2.3 makes that noTarget.
            raise ScimError(
                400, f"{operation.path}: no value of {selection} matches the filter", "noTarget"
            ) from None
        raise


def _unmatched_selection(operation: Operation, user: ScimUser) -> str | None:
    """The attribute an add or replace selects values of by a filter, when none match."""
    path = operation.path
    if operation.op == PatchOperation.Op.remove or path is None or path.value_filter is None:
        return None
    attribute = f"{path.schema}:{path.parts[0]}" if path.schema else path.parts[0]
    selected = Path[ScimUser](f"{attribute}[{path.value_filter}]").get(user, strict=False)
    return None if selected else attribute
