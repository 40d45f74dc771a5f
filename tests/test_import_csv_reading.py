"""Reading an export: the import splits a line without quotes at the delimiter itself and hands
the rest to the csv module, so whatever a file holds, its rows (their cells, and the line each
starts on) must be exactly what the csv module alone reads."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.importing.export import ImportProblem, open_export

HEADER = "external_id,email,given_name,family_name,job_level,modified_at"

# Quotes, delimiters of every kind, both line ends and a lone carriage return, spaces, a NUL
# and text beyond ASCII: what makes the two readers part ways if anything does.
_TEXT = st.text(alphabet=st.sampled_from(list('ab ,;|\t"\n\r\x00é€')), max_size=120)


def _expected(body: str, delimiter: str) -> list[tuple[int, list[str]]]:
    """The rows as the import read them with the csv module alone (blank ones skipped)."""
    reader = csv.reader(
        io.StringIO(HEADER.replace(",", delimiter) + "\n" + body, newline=""), delimiter=delimiter
    )
    next(reader)
    rows = []
    line = reader.line_num + 1
    for cells in reader:
        start, line = line, reader.line_num + 1
        if not (cells and cells[0].strip()) and not "".join(cells).strip():
            continue
        rows.append((start, cells))
    return rows


def _read(path: Path, delimiter: str) -> list[tuple[int, list[str]]]:
    with open_export(path, mappings=(), modified_at_column=None, delimiter=delimiter) as export:
        return [(row.line, row.cells) for row in export.rows()]


@settings(
    max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(body=_TEXT, delimiter=st.sampled_from([",", ";", "\t", "|"]))
def test_rows_are_what_the_csv_module_reads(tmp_path: Path, body: str, delimiter: str) -> None:
    path = tmp_path / "export.csv"
    path.write_bytes((HEADER.replace(",", delimiter) + "\n" + body).encode())
    assert _read(path, delimiter) == _expected(body, delimiter)


def test_a_quoted_cell_may_span_lines_and_hold_the_delimiter(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    path.write_text(
        f'{HEADER}\r\nE1,a@x.com,"Ann, Jr.",Lee,3,2026-01-01\r\n'
        'E2,b@x.com,"Bo\r\nb",Li,4,2026-01-01\r\n'
        "E3,c@x.com,Cy,Ng,5,2026-01-01\r\n",
        newline="",
    )
    assert _read(path, ",") == [
        (2, ["E1", "a@x.com", "Ann, Jr.", "Lee", "3", "2026-01-01"]),
        (3, ["E2", "b@x.com", "Bo\r\nb", "Li", "4", "2026-01-01"]),
        (5, ["E3", "c@x.com", "Cy", "Ng", "5", "2026-01-01"]),
    ]


def test_a_cell_longer_than_the_csv_module_takes_stops_the_import_at_its_line(
    tmp_path: Path,
) -> None:
    path = tmp_path / "export.csv"
    path.write_text(f"{HEADER}\nE1,a@x.com,Ann,Lee,3,2026-01-01\nE2,{'x' * 200_000},B,C,1,\n")
    with pytest.raises(ImportProblem, match="line 3: field larger than field limit"):
        _read(path, ",")


def test_a_quoted_cell_too_long_is_reported_on_the_line_it_ends(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    path.write_text(f'{HEADER}\nE1,"{"x" * 100_000}\n{"y" * 100_000}",B,C,1,\nE2,b,c,d,1,\n')
    with pytest.raises(ImportProblem, match="line 3: field larger than field limit"):
        _read(path, ",")
