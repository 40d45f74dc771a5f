"""Reading an HRIS export's columns: which column holds which record field, and cell values.

Nothing here touches the database or the domain, so the CLI can build its help from it cheaply.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from operator import itemgetter

import orjson
import xxhash

#: Header spellings taken for a field besides its own name. Headers are compared ignoring case,
#: spaces, underscores and hyphens, so "Employee ID", "employee_id" and "employeeId" are one.
ALIASES: dict[str, tuple[str, ...]] = {
    "external_id": ("employee id", "worker id"),
    "email": ("work email", "email address"),
    "given_name": ("first name",),
    "family_name": ("last name", "surname"),
    "display_name": ("full name",),
    "job_title": ("title",),
    "job_level": ("level", "grade"),
    "manager_external_id": ("manager id",),
    "hire_date": ("start date",),
    "modified_at": ("last modified", "updated at"),
}

#: The columns a file must have: without them no row could ever be valid.
REQUIRED_COLUMNS = ("external_id", "email", "given_name", "family_name", "job_level")

#: The words an ``active`` cell may hold (any case): HR exports write a status as often as a flag.
TRUE_WORDS = frozenset({"true", "yes", "y", "1", "active"})
FALSE_WORDS = frozenset({"false", "no", "n", "0", "inactive", "terminated"})
# Spreadsheets write whole numbers as "5.0"; anything else is left for validation to refuse.
_WHOLE_NUMBER = re.compile(r"^[+-]?\d+(\.0*)?$")


#: The mark of a row's fingerprint (see ``ColumnMap.fingerprint``). A new mark is due whenever
#: the same cells would make a different record (a conversion of ``cell_value`` changes): rows
#: stored under the old one are then checked and written again once.
FINGERPRINT_SCHEME = "csv1:"


class MappingProblem(ValueError):
    """The file's header cannot be mapped onto record fields."""


def normalise(header: str) -> str:
    """A header as it is compared: no case, spaces, underscores or hyphens."""
    return re.sub(r"[\s_\-]+", "", header).casefold()


def parse_mappings(items: Iterable[str], *, fields: Sequence[str]) -> dict[str, str]:
    """``field=Column`` options as ``{field: column}``."""
    mapping: dict[str, str] = {}
    for item in items:
        name, sep, column = item.partition("=")
        name, column = name.strip(), column.strip()
        if not sep or not name or not column:
            raise MappingProblem(f"--map {item!r}: write it as field=Column")
        if name not in fields:
            raise MappingProblem(
                f"--map {item!r}: {name} is not a record field; fields: {', '.join(fields)}"
            )
        if name in mapping:
            raise MappingProblem(f"--map {item!r}: {name} is mapped twice")
        mapping[name] = column
    return mapping


@dataclass(frozen=True)
class ColumnMap:
    """Which column of the file each record field is read from."""

    positions: dict[str, int]
    ignored: tuple[str, ...]

    def record(self, cells: Sequence[str]) -> dict[str, object]:
        """A row's record, its cells turned into the JSON-like values the record expects.

        Blank cells are left out: not set, so optional fields are None and defaults apply.
        """
        record: dict[str, object] = {}
        width = len(cells)
        for name, position, converted in self._plan:
            text = cells[position].strip() if position < width else ""
            if text:
                record[name] = cell_value(name, text) if converted else text
        return record

    @cached_property
    def _plan(self) -> tuple[tuple[str, int, bool], ...]:
        # Most cells are text as they are; only a few fields convert (a file has 100,000 rows).
        return tuple((name, at, name in _CONVERTED) for name, at in self.positions.items())

    def fingerprint(self, cells: Sequence[str], width: int) -> str | None:
        """A fingerprint of the cells a row's record is made of, its time left out (a row
        that only moved on in time says nothing new), for a file ``width`` columns wide.

        Equal fingerprints mean equal records: the same field read from the same text, in
        whatever column order. The row is not mapped to compute it, which is the point: an
        unchanged row of a re-import is settled without ever becoming a record. A row with
        cells beyond the header's has none (it is refused, and must be checked).
        """
        count = len(cells)
        if count != width:
            if count > width:
                if any(cell.strip() for cell in cells[width:]):
                    return None
            else:
                cells = [*cells, *[""] * (width - count)]
        pick, seed = self._fingerprinted
        canonical = orjson.dumps(pick(cells))
        return FINGERPRINT_SCHEME + xxhash.xxh3_128_hexdigest(canonical, seed=seed)

    @cached_property
    def _fingerprinted(self) -> tuple[Callable[[Sequence[str]], object], int]:
        fields = sorted(name for name in self.positions if name != "modified_at")
        # Which cell is which field is in the seed, so the cells alone are hashed per row.
        seed = xxhash.xxh3_64_intdigest(orjson.dumps([FINGERPRINT_SCHEME, fields]))
        return itemgetter(*(self.positions[name] for name in fields)), seed


def map_columns(
    header: Sequence[str], *, fields: Sequence[str], explicit: dict[str, str]
) -> ColumnMap:
    """Map a header onto record fields: ``explicit`` first, then each field's own name or one
    of its ``ALIASES``; refuse a header without the required columns."""
    names = [h.strip() for h in header]
    positions: dict[str, int] = {}
    for name, column in explicit.items():
        positions[name] = _find_explicit(names, column, name)
    taken = set(positions.values())
    for name in fields:
        if name in positions:
            continue
        position = _find_default(names, name, taken)
        if position is not None:
            positions[name] = position
            taken.add(position)
    missing = [name for name in REQUIRED_COLUMNS if name not in positions]
    if missing:
        raise MappingProblem(
            "the file has no column for "
            + ", ".join(f"{m} (looked for {_spellings(m)})" for m in missing)
            + "; name one with --map FIELD=COLUMN. The header is: "
            + ", ".join(repr(n) for n in names)
        )
    ignored = tuple(n for i, n in enumerate(names) if i not in taken and n)
    return ColumnMap(positions=positions, ignored=ignored)


def _find_explicit(names: list[str], column: str, field: str) -> int:
    exact = [i for i, n in enumerate(names) if n == column]
    found = exact or [i for i, n in enumerate(names) if n.casefold() == column.casefold()]
    if not found:
        raise MappingProblem(
            f"--map {field}={column}: the file has no column {column!r}; its header is: "
            + ", ".join(repr(n) for n in names)
        )
    if len(found) > 1:
        raise MappingProblem(f"--map {field}={column}: the header has {len(found)} such columns")
    return found[0]


def _find_default(names: list[str], field: str, taken: set[int]) -> int | None:
    # The field's own name wins over an alias, so a file with both "email" and "Work Email"
    # reads "email" and ignores the other.
    for spelling in (field, *ALIASES.get(field, ())):
        key = normalise(spelling)
        found = [i for i, n in enumerate(names) if normalise(n) == key and i not in taken]
        if len(found) > 1:
            raise MappingProblem(
                f"the header has {len(found)} columns that could be {field} ("
                + ", ".join(repr(names[i]) for i in found)
                + f"); choose one with --map {field}=COLUMN"
            )
        if found:
            return found[0]
    return None


def _spellings(field: str) -> str:
    return " or ".join(repr(s) for s in (field, *ALIASES.get(field, ())))


#: The fields whose cells ``cell_value`` converts; every other cell stays text.
_CONVERTED = frozenset({"active", "job_level", "modified_at"})


def cell_value(field: str, text: str) -> object:
    """One non-blank cell as the record wants it; a value that does not convert is passed on
    as it is, so validation refuses the row with its reason."""
    if field == "active":
        word = text.casefold()
        if word in TRUE_WORDS:
            return True
        if word in FALSE_WORDS:
            return False
        return text
    if field == "job_level":
        if _WHOLE_NUMBER.match(text):
            return int(float(text)) if "." in text else int(text)
        return text
    if field == "modified_at":
        return timestamp(text)
    # Dates stay text: the record checks them as YYYY-MM-DD and names the field when they
    # are not.
    return text


def timestamp(text: str) -> object:
    """An ISO 8601 time; one without an offset (or a bare date) is taken as UTC."""
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        return text
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def describe_columns() -> str:
    """The header spellings recognised by default, one field a line, for the CLI's help."""
    lines = [
        f"{field}: {', '.join(repr(a) for a in aliases)}" for field, aliases in ALIASES.items()
    ]
    return "\n".join(lines)
