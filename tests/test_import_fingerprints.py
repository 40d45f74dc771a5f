"""A CSV row's fingerprint stands for the record the row makes: a re-import settles a row whose
fingerprint is the stored one as unchanged without reading it, so two rows with one fingerprint
must never make different records (the time apart, which is compared on its own)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from app.importing.columns import ColumnMap, map_columns
from app.importing.export import RECORD_FIELDS

HEADER = [
    "external_id",
    "email",
    "given_name",
    "family_name",
    "job_level",
    "active",
    "job_title",
    "modified_at",
    "notes",  # not read
]
WIDTH = len(HEADER)
TIME = HEADER.index("modified_at")

# Cells that convert alike or nearly so: blanks and spaces, numbers spelt two ways, status
# words in any case, separators and quotes a fingerprint must not confuse with its own.
_CELL = st.sampled_from(
    ["", " ", "a", "A", " a", "a,b", "a\x1fb", '"', "1", "1.0", "01", "yes", "Y", "no", "Active"]
) | st.text(max_size=3)
_ROW = st.lists(_CELL, min_size=WIDTH, max_size=WIDTH)


def _columns(header: list[str]) -> ColumnMap:
    return map_columns(header, fields=RECORD_FIELDS, explicit={})


def _record(columns: ColumnMap, cells: list[str]) -> dict[str, object]:
    record = columns.record(cells)
    record.pop("modified_at", None)
    return record


@settings(max_examples=400, deadline=None)
@given(row=_ROW, changes=st.dictionaries(st.integers(0, WIDTH - 1), _CELL, max_size=3))
def test_rows_whose_records_differ_have_different_fingerprints(
    row: list[str], changes: dict[int, str]
) -> None:
    columns = _columns(HEADER)
    other = list(row)
    for position, cell in changes.items():
        other[position] = cell

    if _record(columns, row) != _record(columns, other):
        assert columns.fingerprint(row, WIDTH) != columns.fingerprint(other, WIDTH)
    if all(position in (TIME, HEADER.index("notes")) for position in changes):
        # Only the time, or a column nobody reads: the same row for a re-import.
        assert columns.fingerprint(row, WIDTH) == columns.fingerprint(other, WIDTH)


@settings(max_examples=100, deadline=None)
@given(row=_ROW, order=st.permutations(range(WIDTH)))
def test_the_column_order_of_a_file_does_not_change_a_rows_fingerprint(
    row: list[str], order: list[int]
) -> None:
    moved = _columns([HEADER[i] for i in order])

    assert moved.fingerprint([row[i] for i in order], WIDTH) == _columns(HEADER).fingerprint(
        row, WIDTH
    )


def test_missing_trailing_cells_are_blank_and_cells_past_the_header_have_no_fingerprint() -> None:
    columns = _columns(HEADER)
    full = ["E1", "a@example.com", "Ann", "Lee", "3", "", "", "", ""]

    assert columns.fingerprint(full[:5], WIDTH) == columns.fingerprint(full, WIDTH)
    assert columns.fingerprint([*full, " "], WIDTH) == columns.fingerprint(full, WIDTH)
    # A stray separator shifted the row: it is refused, so it must be read, never settled.
    assert columns.fingerprint([*full, "surplus"], WIDTH) is None
