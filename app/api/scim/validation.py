"""Validation errors as SCIM errors a client can act on.

Pydantic reports a refused value with the server's own vocabulary: model classes
(``User[EnterpriseUser, RevmentorUser]``), Python field names (``hire_date``), and a link to its
documentation. An identity provider's administrator reads the SCIM attribute instead, written as
RFC 7644 section 3.10 does (``name.givenName``, ``urn:…:User:hireDate``, ``emails[0].value``),
followed by what is wrong with it in a few words.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from functools import cache
from typing import Any, Final, get_args, get_origin

from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo
from pydantic_core import ErrorDetails
from scim2_models import Error, Extension

from app.api.scim.errors import ScimError
from app.api.scim.models import ScimUser

#: How common pydantic errors read, by their type.
_PROBLEMS: Final = {
    "string_type": "must be a string",
    "int_type": "must be an integer",
    "int_parsing": "must be an integer",
    "int_from_float": "must be an integer",
    "bool_type": "must be true or false",
    "bool_parsing": "must be true or false",
    "date_type": "must be a date written YYYY-MM-DD",
    "date_parsing": "must be a date written YYYY-MM-DD",
    "date_from_datetime_parsing": "must be a date written YYYY-MM-DD",
    "date_from_datetime_inexact": "must be a date written YYYY-MM-DD",
    "datetime_type": "must be a date-time such as 2024-03-01T09:00:00Z",
    "datetime_parsing": "must be a date-time such as 2024-03-01T09:00:00Z",
    "datetime_from_date_parsing": "must be a date-time such as 2024-03-01T09:00:00Z",
    "list_type": "must be a list",
    "dict_type": "must be an object",
    "model_type": "must be an object",
    "model_attributes_type": "must be an object",
    "missing": "is required",
    "extra_forbidden": "is not an attribute of the schema",
}
#: Pydantic's other messages start "Input should be …", "String should have …": read as "must".
_SHOULD = re.compile(r"^(?:Input|String|Value|List|Dictionary|Decimal|Number|Data) should ")
#: What pydantic puts before the message a validator raised.
_VALIDATOR_PREFIXES: Final = ("Value error, ", "Assertion failed, ")


def problem(error: ErrorDetails) -> str:
    """What is wrong with a value, in a few words and without naming it."""
    known = _PROBLEMS.get(error["type"])
    if known is not None:
        return known
    text = error["msg"].strip()
    for prefix in _VALIDATOR_PREFIXES:
        text = text.removeprefix(prefix)
    text = _SHOULD.sub("must ", text)
    # "value is not a valid email address" follows the attribute it is about.
    text = re.sub(r"^[Vv]alue (?=is |must )", "", text)
    if text[:1].isupper() and not text[1:2].isupper():  # "Expected …", not "IANA …"
        text = text[0].lower() + text[1:]
    return " ".join(text.split())  # a message on several lines becomes one


def scim_error(exc: ValidationError) -> ScimError:
    """The SCIM error for the first problem scim2-models or pydantic found in a payload."""
    errors = exc.errors(include_url=False)
    if not errors:
        return ScimError(400, "the request is not valid", "invalidValue")
    first = errors[0]
    if first["type"].startswith("scim_"):
        # Raised by scim2-models as a SCIM error: its keyword and wording are already SCIM's.
        context = first.get("ctx") or {}
        return ScimError(context.get("status", 400), first["msg"], context.get("scim_type"))
    name = attribute(exc.title, first["loc"])
    keyword = Error.from_validation_error(first).scim_type or "invalidValue"
    return ScimError(400, f"{name}: {problem(first)}" if name else problem(first), keyword)


def attribute(title: str, location: Sequence[int | str]) -> str:
    """The SCIM path of the value at ``location`` in the model pydantic titles its error with.

    A PATCH re-validates the part of the user it changed (a ``Name``, the Revmentor extension),
    so the location is relative to that part; a request body's is relative to the User, and
    written with the names the client sent.
    """
    model, path = _parts().get(title, (None, ""))
    for part in location:
        if isinstance(part, int):
            path += f"[{part}]"
            continue
        field = _field(model, part)
        if field is None and ("[" in part or "(" in part):
            continue  # pydantic's name for the member of a union it tried, not an attribute
        name = part if field is None else _scim_name(part, field)
        path = _join(path, name, after_extension=_is_extension(model))
        model = next(_models_in(field.annotation), None) if field is not None else None
    return path


@cache
def _parts() -> dict[str, tuple[type[BaseModel], str]]:
    """Every model a User is made of, by its name (pydantic's error title), with its path."""
    found: dict[str, tuple[type[BaseModel], str]] = {ScimUser.__name__: (ScimUser, "")}
    pending: list[tuple[type[BaseModel], str]] = [(ScimUser, "")]
    while pending:
        model, path = pending.pop()
        for name, field in model.model_fields.items():
            for inner in _models_in(field.annotation):
                if inner.__name__ not in found:
                    inner_path = _join(
                        path, _scim_name(name, field), after_extension=_is_extension(model)
                    )
                    found[inner.__name__] = (inner, inner_path)
                    pending.append((inner, inner_path))
    return found


def _models_in(annotation: Any) -> Iterator[type[BaseModel]]:
    """The models an annotation holds (through ``X | None``, ``list[X]``, ``Annotated``)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        yield annotation
    elif get_origin(annotation) is not None:
        for argument in get_args(annotation):
            yield from _models_in(argument)


def _field(model: type[BaseModel] | None, part: str) -> FieldInfo | None:
    """The field a location part names: by Python name (a re-validation) or by alias (a body)."""
    if model is None:
        return None
    fields = model.model_fields
    if part in fields:
        return fields[part]
    lowered = part.lower()
    return next(
        (f for f in fields.values() if (f.serialization_alias or "").lower() == lowered), None
    )


def _scim_name(name: str, field: FieldInfo) -> str:
    # scim2-models gives every attribute its SCIM name as alias, extensions their schema URN.
    return field.serialization_alias or field.alias or name


def _is_extension(model: type[BaseModel] | None) -> bool:
    return model is not None and issubclass(model, Extension)


def _join(path: str, name: str, *, after_extension: bool) -> str:
    if not path:
        return name
    return f"{path}:{name}" if after_extension else f"{path}.{name}"
