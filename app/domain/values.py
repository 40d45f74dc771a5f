"""Value types shared by inputs: tags, time zones, and the strict input base model."""

from __future__ import annotations

import re
import zoneinfo
from datetime import date, datetime, time
from functools import lru_cache
from typing import Annotated, Any

from email_validator import SPECIAL_USE_DOMAIN_NAMES
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    EmailStr,
    Field,
    PlainValidator,
    StringConstraints,
    TypeAdapter,
    WithJsonSchema,
    model_validator,
)


class StrictInput(BaseModel):
    """Base of every input model: unknown fields are an error, strings are trimmed."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @model_validator(mode="before")
    @classmethod
    def _no_nul_characters(cls, data: Any) -> Any:
        # PostgreSQL text cannot hold U+0000; refuse it here with a clear error, not a 500.
        if _contains_nul(data):
            raise ValueError("text must not contain NUL (U+0000) characters")
        return data


def _contains_nul(value: Any) -> bool:
    # A loop, not recursion: bulk pushes check a thousand records per request.
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return True
        elif isinstance(item, dict):
            pending.extend(item)
            pending.extend(item.values())
        elif isinstance(item, list | tuple):
            pending.extend(item)
    return False


@lru_cache(maxsize=1)
def _time_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def _check_time_zone(value: str) -> str:
    if value not in _time_zones():
        raise ValueError(f"'{value}' is not an IANA time zone (e.g. Europe/Berlin)")
    return value


def _normalise_tags(values: list[str]) -> list[str]:
    seen: dict[str, str] = {}
    for value in values:
        cleaned = " ".join(value.split())
        if cleaned and cleaned.casefold() not in seen:
            seen[cleaned.casefold()] = cleaned
    return list(seen.values())


TimeZone = Annotated[str, AfterValidator(_check_time_zone)]
Tag = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
Tags = Annotated[list[Tag], Field(max_length=50), AfterValidator(_normalise_tags)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
ShortText = Annotated[str, StringConstraints(max_length=200)]


# JSON is typed: a string is not a number, a number not a date. Pydantic's lax mode would turn
# "5" into 5 and 0 into 1970-01-01, silently accepting what a client did not mean.
def _json_int(value: object) -> object:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("must be an integer")
    if isinstance(value, float) and not value.is_integer():
        raise ValueError("must be a whole number")
    return int(value)


def _json_number(value: object) -> object:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("must be a number")
    return value


def _json_bool(value: object) -> object:
    if not isinstance(value, bool):
        raise ValueError("must be true or false")
    return value


def _json_string(value: object) -> object:
    if not isinstance(value, str):
        raise ValueError("must be a string")
    return value


Int = Annotated[int, BeforeValidator(_json_int)]
Number = Annotated[float, BeforeValidator(_json_number)]
Bool = Annotated[bool, BeforeValidator(_json_bool)]


_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_ISO_TIME = re.compile(r"^\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?$")


_EMAIL = TypeAdapter(EmailStr)
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_PLAIN_EMAIL = re.compile(
    # Every top-level domain begins and ends with a letter.
    rf"^({_ATOM}(?:\.{_ATOM})*)@((?:{_LABEL}\.)+[A-Za-z](?:[A-Za-z0-9-]{{0,61}}[A-Za-z])?)$"
)


_SPECIAL_USE = re.compile(
    r"(?:^|\.)(?:" + "|".join(re.escape(d) for d in SPECIAL_USE_DOMAIN_NAMES) + r")$"
)


def _check_email(value: object) -> object:
    """The rules of ``EmailStr``, with a fast path for the plain ASCII addresses nearly every
    directory holds (a bulk push checks a thousand at a time); anything else, and every
    address the fast path would doubt, goes through the full validator."""
    if isinstance(value, str) and len(value) <= 254:
        match = _PLAIN_EMAIL.match(value)
        if match and len(match[1]) <= 64:
            domain = match[2].lower()
            # "--" may make a label an IDNA one (a hyphen in its third and fourth places, as
            # in "xn--"), which only the full validator judges.
            if "--" not in domain and not _SPECIAL_USE.search(domain):
                return f"{match[1]}@{domain}"
    return _EMAIL.validate_python(value)


#: A work e-mail address, validated like ``pydantic.EmailStr`` (domain lower-cased).
Email = Annotated[
    str, PlainValidator(_check_email), WithJsonSchema({"type": "string", "format": "email"})
]


def _date_text(value: object) -> object:
    # Python callers may pass a date; JSON must say YYYY-MM-DD (pydantic would also take
    # "86400" as a Unix timestamp).
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if not isinstance(value, str) or not _ISO_DATE.match(value):
        raise ValueError("must be a date written YYYY-MM-DD")
    return value


def _time_text(value: object) -> object:
    if isinstance(value, time):
        return value
    if not isinstance(value, str) or not _ISO_TIME.match(value):
        raise ValueError("must be a time of day written HH:MM")
    return value


Date = Annotated[date, BeforeValidator(_date_text)]
Time = Annotated[time, BeforeValidator(_time_text)]
