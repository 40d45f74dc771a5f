"""What identity providers actually send, made into what RFC 7644 describes, before scim2-models
reads it.

scim2-models already takes operation names in any case (Entra ID's ``Replace``), booleans written
as strings (``"active": "False"``), attribute paths as keys of a path-less PATCH value
(``name.givenName``, ``urn:…:enterprise:2.0:User:department``) and filters matching nothing (the
entry is added). What it refuses, and this module rewrites:

- the manager written as a bare id (``"manager": "<id>"``, or an ``add`` whose value is the id),
  or as a one-element list (``[{"$ref": null, "value": "<id>"}]``); only its ``value`` counts,
  ``$ref`` and ``displayName`` being derived from it;
- a ``remove`` of the manager carrying the manager it removes as its value;
- enterprise and Revmentor attributes named without their schema URN (``"path": "manager"``);
- the lookup filter ``emails[type eq "work"].value eq "…"``, a PATCH path used as a filter,
  which means ``emails[type eq "work" and value eq "…"]``;
- a path-less value keyed by a path selecting values (``{"emails[type eq \"work\"].value":
  "…"}``), which scim2-models would drop: it is made an operation of its own, with that path.

A PATCH path naming an attribute the User schemas do not declare is an ``invalidPath``, as is
one in a schema nobody declares (``urn:bogus:attr``). One in another SCIM extension schema
(``urn:ietf:params:scim:schemas:extension:<name>:2.0:User:<attr>``, the form Entra ID gives
an administrator's own attributes) is ignored, like unknown attributes in a body.
"""

from __future__ import annotations

import re
from typing import Any, Final

from scim2_models import Path, SCIMException

from app.api.scim.errors import ScimError
from app.api.scim.models import CORE_USER, ENTERPRISE_USER, REVMENTOR_USER, ScimUser

_ENTERPRISE_NAMES: Final = frozenset(
    {"employeenumber", "costcenter", "organization", "division", "department", "manager"}
)
# "timeZone" is left out: written bare it is the core "timezone", the same stored value.
_REVMENTOR_NAMES: Final = frozenset({"joblevel", "location", "hiredate", "terminationdate"})
_OWN_SCHEMAS: Final = tuple(s.lower() for s in (CORE_USER, ENTERPRISE_USER, REVMENTOR_USER))
#: Where SCIM extension schemas are named, identity providers' own included.
_EXTENSIONS: Final = "urn:ietf:params:scim:schemas:extension:"
_MANAGER: Final = f"{ENTERPRISE_USER}:manager".lower()
# attr[inner].sub op value, the whole filter, with one plain value: nothing else is rewritten.
_PATH_AS_FILTER: Final = re.compile(
    r"^\s*(?P<attr>[A-Za-z][\w:.\-]*)\[(?P<inner>[^\[\]]+)\]\.(?P<sub>[A-Za-z][\w\-]*)"
    r"\s+(?P<op>eq|ne|co|sw|ew|gt|ge|lt|le)\s+"
    r'(?P<value>"(?:[^"\\]|\\.)*"|-?[0-9][0-9.eE+\-]*|true|false|null)\s*$',
    re.IGNORECASE,
)


def lookup_filter(text: str) -> str:
    """A filter with the PATCH-path form some clients look users up with made a filter."""
    match = _PATH_AS_FILTER.match(text)
    if match is None:
        return text
    return f"{match['attr']}[({match['inner']}) and {match['sub']} {match['op']} {match['value']}]"


def qualify(path: str) -> str:
    """The path with an enterprise or Revmentor attribute written bare given its schema URN."""
    text = path.strip()
    if text.lower().startswith("urn:"):
        return text
    head = text.split(".", 1)[0].split("[", 1)[0].lower()
    if head in _ENTERPRISE_NAMES:
        return f"{ENTERPRISE_USER}:{text}"
    if head in _REVMENTOR_NAMES:
        return f"{REVMENTOR_USER}:{text}"
    return text


def _is_foreign(path: str) -> bool:
    """Whether a path is in an extension schema other than the User's: ignored, not refused."""
    lowered = path.lower()
    return lowered.startswith(_EXTENSIONS) and not lowered.startswith(_OWN_SCHEMAS)


def _manager(value: Any) -> Any:
    """The manager as ``{"value": id}`` whichever way it was written."""
    if isinstance(value, list) and len(value) == 1:
        value = value[0]
    if isinstance(value, str):
        return {"value": value}
    if isinstance(value, dict):
        inner = next((v for k, v in value.items() if k.lower() == "value"), None)
        return {"value": inner} if inner is not None else None
    return value


def _key(mapping: dict[str, Any], name: str) -> str | None:
    """The key of ``mapping`` naming ``name`` (attribute names are case-insensitive)."""
    return next((k for k in mapping if k.lower() == name.lower()), None)


def _enterprise_manager(extension: Any) -> Any:
    if isinstance(extension, dict) and (key := _key(extension, "manager")) is not None:
        return {**extension, key: _manager(extension[key])}
    return extension


def resource(payload: dict[str, Any]) -> dict[str, Any]:
    """A POST or PUT body with the manager written as RFC 7643 has it."""
    key = _key(payload, ENTERPRISE_USER)
    if key is None:
        return payload
    return {**payload, key: _enterprise_manager(payload[key])}


def _check_path(path: str) -> None:
    if _is_foreign(path):
        return
    try:
        parsed = Path[ScimUser](path)
    except SCIMException:  # a malformed path: scim2-models reports it with the operation
        return
    if parsed.model is None and parsed.resolve() is None:
        raise ScimError(400, f"{path!r} is not an attribute of the User schemas", "invalidPath")


def _value_object(value: dict[str, Any]) -> dict[str, Any]:
    """A path-less value: keys qualified, the manager (under any spelling) normalised."""
    out: dict[str, Any] = {}
    for raw_key, item in value.items():
        key = qualify(raw_key)
        if key.lower() == _MANAGER:
            item = _manager(item)
        elif key.lower() == ENTERPRISE_USER.lower():
            item = _enterprise_manager(item)
        out[key] = item
    return out


def _selects_values(key: str) -> bool:
    """Whether a key of a path-less value is a path selecting values of a User attribute."""
    if "[" not in key or _is_foreign(key):
        return False
    try:
        parsed = Path[ScimUser](key)
    except SCIMException:
        return False
    return parsed.value_filter is not None and parsed.resolve() is not None


def _split(operation: Any) -> list[Any]:
    """A path-less add or replace with one operation more per key selecting values, that key
    its path; keys selecting values of attributes nobody declares stay, to be ignored."""
    if not isinstance(operation, dict):
        return [operation]
    op_key, path_key, value_key = (_key(operation, n) for n in ("op", "path", "value"))
    op = operation.get(op_key) if op_key else None
    path = operation.get(path_key) if path_key else None
    value = operation.get(value_key) if value_key else None
    pathless = path is None or (isinstance(path, str) and not path.strip())
    adds = isinstance(op, str) and op.lower() in ("add", "replace")
    if not (pathless and adds and value_key is not None and isinstance(value, dict)):
        return [operation]
    selections = {k: v for k, v in value.items() if _selects_values(k)}
    if not selections:
        return [operation]
    rest = {k: v for k, v in value.items() if k not in selections}
    split = [{**operation, path_key or "path": k, value_key: v} for k, v in selections.items()]
    return [{**operation, value_key: rest}, *split] if rest else split


def _operation(operation: Any) -> Any:
    if not isinstance(operation, dict):
        return operation  # scim2-models reports it
    op_key, path_key, value_key = (_key(operation, n) for n in ("op", "path", "value"))
    result = dict(operation)
    path = operation.get(path_key) if path_key else None
    value = operation.get(value_key) if value_key else None
    if isinstance(path, str) and path.strip():
        path = qualify(path)
        _check_path(path)
        result[path_key or "path"] = path
        if path.lower() == _MANAGER and value_key is not None:
            op = str(operation.get(op_key) or "").lower() if op_key else ""
            if op == "remove":
                # The manager is one person: removing it needs no selection.
                del result[value_key]
            else:
                result[value_key] = _manager(value)
    elif isinstance(value, dict) and value_key is not None:
        result[value_key] = _value_object(value)
    return result


def patch(payload: dict[str, Any]) -> dict[str, Any]:
    """A PatchOp body with each operation's path and value rewritten as described above."""
    key = _key(payload, "Operations")
    operations = payload.get(key) if key else None
    if not isinstance(operations, list):
        return payload
    rewritten = [_operation(part) for o in operations for part in _split(o)]
    return {**payload, key or "Operations": rewritten}
