"""One HRIS record: what a source may send about a person, validated on its own."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import orjson
import xxhash
from pydantic import (
    AfterValidator,
    AwareDatetime,
    Field,
    StringConstraints,
    ValidationError,
    model_validator,
)

from app.db.types import utcnow
from app.domain.values import Bool, Date, Email, Int, Name, ShortText, StrictInput, TimeZone

#: The most records one push may carry.
MAX_RECORDS = 1000

Code = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
ExternalId = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=255)]
SourceName = Annotated[
    str,
    StringConstraints(strip_whitespace=True, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"),
]

#: How far ahead of this server's clock a source's last-modified time may be. Clocks drift a
#: little; a time far in the future would make every later, real change look older than what
#: is stored, and be ignored as stale for ever.
MAX_CLOCK_SKEW = timedelta(days=1)


def _source_time(value: datetime) -> datetime:
    try:
        in_utc = value.astimezone(UTC)
    except OverflowError:  # e.g. 9999-12-31T23:59:59-01:00, past the year 9999 in UTC
        raise ValueError("must be a time between the years 1 and 9999 in UTC") from None
    if in_utc > utcnow() + MAX_CLOCK_SKEW:
        raise ValueError("must not be in the future (more than a day ahead of this server's clock)")
    # In UTC: Python takes offsets up to ±23:59, PostgreSQL only up to ±15:59.
    return in_utc


SourceTime = Annotated[AwareDatetime, AfterValidator(_source_time)]


class HrisRecord(StrictInput):
    """An employee as the source knows them. The source owns these fields; skills, interests and
    languages belong to the person and are never touched by a sync."""

    external_id: ExternalId = Field(description="The source's stable id for the person.")
    modified_at: SourceTime = Field(
        description="When the source last changed this record; older pushes are ignored. "
        "At most a day ahead of the server's clock."
    )
    email: Email
    given_name: Name
    family_name: Name
    display_name: Name | None = None
    job_title: ShortText | None = None
    job_level: Int = Field(ge=0, le=30, description="Seniority; higher is more senior.")
    department: ShortText | None = None
    division: ShortText | None = None
    organization: ShortText | None = None
    cost_center: Code | None = None
    employee_number: Code | None = None
    location: ShortText | None = None
    time_zone: TimeZone = "UTC"
    manager_external_id: ExternalId | None = Field(
        default=None, description="The manager's external id (linked when they arrive)."
    )
    hire_date: Date | None = None
    termination_date: Date | None = Field(
        default=None, description="In the past: deactivates now; in the future: on that day."
    )
    active: Bool = True

    @model_validator(mode="before")
    @classmethod
    def _no_nul_characters(cls, data: Any) -> Any:
        # A record is flat (unknown and nested fields fail their own checks), so one pass over
        # its values does; a bulk push checks a thousand records at a time (a plain loop costs
        # two thirds of a generator's).
        if isinstance(data, dict):
            for value in data.values():
                if isinstance(value, str) and "\x00" in value:
                    raise ValueError("text must not contain NUL (U+0000) characters")
        return data


#: The employee columns a source writes.
SOURCE_FIELDS = (
    "email",
    "given_name",
    "family_name",
    "display_name",
    "job_title",
    "job_level",
    "department",
    "division",
    "organization",
    "cost_center",
    "employee_number",
    "location",
    "time_zone",
    "manager_external_id",
    "hire_date",
    "termination_date",
)


def columns_of(record: HrisRecord) -> dict[str, Any]:
    """The employee column values a record stands for."""
    fields = record.__dict__  # the validated values, read directly (a thousand per push)
    values = {name: fields[name] for name in SOURCE_FIELDS}
    values["email"] = str(record.email)
    values["display_name"] = record.display_name or f"{record.given_name} {record.family_name}"
    return values


#: The mark of the current fingerprint scheme. Fingerprints stored under the earlier schemes
#: ("2:", BLAKE2b of the field values; unmarked, SHA-256 of their ``repr``) are still honoured,
#: so an upgrade rewrites nobody.
DIGEST_SCHEME = "3:"
_SECOND_SCHEME = "2:"

#: The fields the earlier schemes fingerprinted, in order, with the number of keys sent.
_FINGERPRINTED = tuple(name for name in HrisRecord.model_fields if name != "modified_at")


def digest_of(raw: dict[str, Any]) -> str:
    """A fingerprint of what a source sent, its timestamp left out: a record whose fingerprint
    equals the stored one says nothing new, and is settled without being parsed again.

    It covers every key the record came with and its value, in key order (so the order a
    source writes them in does not matter, and an unknown key makes a different fingerprint:
    the record is then checked in full). XXH3-128 is a hash made for this: no adversary gains
    from a collision (a source could only hide its own change), and it costs a fraction of a
    cryptographic one, for a thousand records a push.
    """
    try:
        canonical = orjson.dumps({**raw, "modified_at": None}, option=orjson.OPT_SORT_KEYS)
    except orjson.JSONEncodeError:  # what orjson cannot write (integers beyond 64 bits)
        canonical = repr(sorted((k, v) for k, v in raw.items() if k != "modified_at")).encode()
    return DIGEST_SCHEME + xxhash.xxh3_128_hexdigest(canonical)


def _earlier_values(raw: dict[str, Any]) -> tuple[Any, ...]:
    return (*map(raw.get, _FINGERPRINTED), len(raw))


def _second_scheme_digest(raw: dict[str, Any]) -> str:
    values = _earlier_values(raw)
    try:
        canonical = orjson.dumps(values)
    except orjson.JSONEncodeError:
        canonical = repr(values).encode()
    return _SECOND_SCHEME + hashlib.blake2b(canonical, digest_size=16).hexdigest()


def _first_scheme_digest(raw: dict[str, Any]) -> str:
    return hashlib.sha256(repr(_earlier_values(raw)).encode()).hexdigest()


def digest_matches(raw: dict[str, Any], stored: str | None, digest: str | None = None) -> bool:
    """Whether ``raw`` has the fingerprint ``stored``. ``digest``: raw's own, when known: its
    ``digest_of``, or a fingerprint its source took of its own form (see ``SourceRecord``)."""
    if stored is None:
        return False
    if stored == digest:
        return True
    if stored.startswith(DIGEST_SCHEME):
        # A record digest other than the one given cannot match; a source's own fingerprint
        # can stand beside it (a row first stored from the API, then imported from a file).
        return (digest is None or not digest.startswith(DIGEST_SCHEME)) and (
            stored == digest_of(raw)
        )
    if stored.startswith(_SECOND_SCHEME):
        return stored == _second_scheme_digest(raw)
    if ":" in stored:
        return False  # a source's own fingerprint, and not this record's
    return stored == _first_scheme_digest(raw)


class SourceRecord:
    """A record in its source's own form, such as a row of a CSV export, that the source has
    fingerprinted itself: the push reads its fields only if that fingerprint is not the one
    stored, so an unchanged row is never turned into a record at all.

    ``external_id`` is what ``external_id_of`` would read from the fields, ``modified_at`` the
    source's time if the form has a valid one. The ``fingerprint`` is marked with its scheme
    (``"csv1:..."``, never ``DIGEST_SCHEME``) and must change whenever the record made of the
    form would; a form without one is always read and checked. Plain attributes, not
    properties: a push reads them for a thousand records.
    """

    __slots__ = ("external_id", "fingerprint", "modified_at")

    def __init__(
        self, external_id: str | None, modified_at: datetime | None, fingerprint: str | None
    ) -> None:
        self.external_id = external_id
        self.modified_at = modified_at
        self.fingerprint = fingerprint

    def fields(self) -> dict[str, Any]:
        """The record made of the form, as a source would push it."""
        raise NotImplementedError


def reason_of(error: ValidationError) -> tuple[str | None, str]:
    """The first failing field and a sentence naming every problem, for a per-record result."""
    parts: list[str] = []
    first: str | None = None
    for detail in error.errors(include_url=False):
        where = ".".join(str(p) for p in detail["loc"]) or "record"
        first = first or where
        message = str(detail["msg"]).removeprefix("Value error, ")
        parts.append(f"{where}: {message}")
    return first, "; ".join(parts)
