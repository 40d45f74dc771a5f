"""Reading an HRIS's CSV export row by row, and writing the rows it rejects.

Only the current row (and the batch being pushed) is ever held: the file streams through.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from itertools import islice
from pathlib import Path
from typing import IO, TYPE_CHECKING

from app.domain.hris.records import HrisRecord, SourceRecord
from app.importing.columns import (
    ColumnMap,
    MappingProblem,
    map_columns,
    parse_mappings,
    timestamp,
)

if TYPE_CHECKING:
    from app.importing.employees import ImportReport

#: The columns the errors file puts before the rejected row's own.
ERROR_COLUMNS = ("line", "external_id", "field", "reason")

#: The key under which a row's cells beyond the header reach validation, which refuses it.
EXTRA_CELLS = "extra_cells"

RECORD_FIELDS: tuple[str, ...] = tuple(HrisRecord.model_fields)


class ImportProblem(Exception):
    """The import could not start or finish; the message says why and how far it got."""

    def __init__(self, message: str, report: ImportReport | None = None) -> None:
        super().__init__(message)
        self.report = report


class Row(SourceRecord):
    """One data row of the file: where it starts, its cells, and the record made of them.

    The record is made when first needed: a row of a re-import that its fingerprint shows
    unchanged is settled without one.
    """

    __slots__ = ("_export", "_record", "cells", "line")

    def __init__(
        self,
        line: int,
        cells: list[str],
        export: EmployeeCsv,
        external_id: str | None,
        modified_at: datetime | None,
        fingerprint: str | None,
    ) -> None:
        self.external_id, self.modified_at, self.fingerprint = external_id, modified_at, fingerprint
        self.line = line
        self.cells = cells
        self._export = export
        self._record: dict[str, object] | None = None

    @property
    def record(self) -> dict[str, object]:
        if self._record is None:
            self._record = self._export.record_of(self.cells)
        return self._record

    def fields(self) -> dict[str, object]:
        return self.record


class EmployeeCsv:
    """An open export, its header mapped onto record fields, read one row at a time."""

    def __init__(
        self,
        path: Path,
        binary: IO[bytes],
        *,
        mappings: Sequence[str],
        modified_at_column: str | None,
        delimiter: str = ",",
    ) -> None:
        self.path = path
        self.delimiter = delimiter
        self.size = path.stat().st_size
        self._binary = binary
        # utf-8-sig drops the byte-order mark spreadsheet programs put first, which would
        # otherwise become part of the first column's name.
        self._text = io.TextIOWrapper(binary, encoding="utf-8-sig", newline="")
        #: Lines read so far (a quoted field may span several).
        self.line_num = 0
        self._pushed: str | None = None
        self._reader = csv.reader(self._quoted_lines(), delimiter=delimiter)
        self.header = self._read_header()
        explicit = parse_mappings(mappings, fields=RECORD_FIELDS)
        if modified_at_column is not None:
            if "modified_at" in explicit:
                raise MappingProblem(
                    "name modified_at with --map or --modified-at-column, not both"
                )
            explicit["modified_at"] = modified_at_column
        try:
            self.columns: ColumnMap = map_columns(
                self.header, fields=RECORD_FIELDS, explicit=explicit
            )
        except MappingProblem as exc:
            raise MappingProblem(f"{exc}{self._delimiter_hint()}") from exc
        self.default_modified_at: datetime | None = None
        if "modified_at" not in self.columns.positions:
            # Without a column, the export's own time stands for every row: a re-import of
            # the same file is unchanged, and an older file than what is stored is stale.
            mtime = path.stat().st_mtime
            self.default_modified_at = datetime.fromtimestamp(mtime, UTC)

    def _delimiter_hint(self) -> str:
        """A header read as one column that holds another separator was most likely written
        with it (spreadsheets in many locales separate cells with ';')."""
        if len(self.header) != 1:
            return ""
        for candidate, name in ((";", "';'"), ("\t", "tab"), ("|", "'|'"), (",", "','")):
            if candidate != self.delimiter and candidate in self.header[0]:
                return f". The header looks separated by {name}: add --delimiter {name}"
        return ""

    @property
    def modified_at_from(self) -> str:
        """Where the rows' modified_at comes from, for the report."""
        if self.default_modified_at is None:
            position = self.columns.positions["modified_at"]
            return f"column {self.header[position].strip()!r}"
        return f"the file's modification time ({self.default_modified_at.isoformat()})"

    @property
    def bytes_read(self) -> int:
        """How far into the file reading has got (by whole read-ahead chunks)."""
        return self._binary.tell()

    def _read_header(self) -> list[str]:
        for cells in self._rows():
            if any(c.strip() for c in cells):
                return cells
        raise ImportProblem(f"{self.path} is empty: it has no header row")

    def _rows(self) -> Iterator[list[str]]:
        """The file's rows as lists of cells, as the csv module reads them.

        A line without a quote character is a row of plain cells: it is split at the
        delimiter, several times faster than the csv module's reading of it character by
        character, with the same cells. A line with one (quoted cells may hold delimiters,
        doubled quotes and line breaks), or longer than the csv module takes, is read by it.
        """
        delimiter, reader, longest = self.delimiter, self._reader, csv.field_size_limit()
        # The faults come from reading the file: the rows yielded are not used inside this
        # block (a generator's consumer runs outside it).
        try:
            for line in self._text:
                self.line_num += 1
                if '"' not in line and len(line) <= longest:
                    yield line.rstrip("\r\n").split(delimiter)
                    continue
                self._pushed = line
                cells = next(reader, None)
                if cells is not None:
                    yield cells
        except UnicodeDecodeError as exc:
            raise ImportProblem(
                f"{self.path}, line {_first_undecodable_line(self.path)}: not UTF-8 text "
                "(save the file as CSV UTF-8)"
            ) from exc
        except csv.Error as exc:
            raise ImportProblem(f"{self.path}, line {self.line_num}: {exc}") from exc

    def _quoted_lines(self) -> Iterator[str]:
        """What the csv module reads: the line handed to it, then as many more as a quoted
        cell spanning lines needs."""
        while True:
            line, self._pushed = self._pushed, None
            if line is None:
                line = next(self._text, None)
                if line is None:
                    return
                self.line_num += 1
            yield line

    def record_of(self, cells: list[str]) -> dict[str, object]:
        """The record a row's cells make."""
        record = self.columns.record(cells)
        width = len(self.header)
        if len(cells) > width:
            extra = [c for c in cells[width:] if c.strip()]
            if extra:
                # A stray delimiter shifts every cell after it: refuse the row rather than
                # store values in the wrong fields. It is still pushed (and refused there),
                # so a snapshot counts the person as seen and does not deactivate them.
                record[EXTRA_CELLS] = extra
        if self.default_modified_at is not None:
            record["modified_at"] = self.default_modified_at
        return record

    def rows(self) -> Iterator[Row]:
        """The data rows, blank ones skipped, each with the line it starts on, and what a push
        reads of a row before its record: the external id, the time and the fingerprint (see
        ``ColumnMap.fingerprint``)."""
        positions, width = self.columns.positions, len(self.header)
        external_id, at = positions["external_id"], positions.get("modified_at", -1)
        fingerprint = self.columns.fingerprint
        file_time = self.default_modified_at  # for every row, if the file has no such column
        line = self.line_num + 1
        for cells in self._rows():
            start, line = line, self.line_num + 1
            count = len(cells)
            ext = cells[external_id].strip() if external_id < count else ""
            if not ext and not (cells and cells[0].strip()) and not "".join(cells).strip():
                continue  # a blank row
            if file_time is not None:
                modified_at: object = file_time
            else:
                modified_at = timestamp(cells[at].strip()) if 0 <= at < count else None
            yield Row(
                start,
                cells,
                self,
                ext if ext and len(ext) <= 255 else None,
                modified_at if isinstance(modified_at, datetime) else None,
                fingerprint(cells, width),
            )

    def batches(self, size: int) -> Iterator[list[Row]]:
        """The data rows in lists of at most ``size``."""
        rows = self.rows()
        while batch := list(islice(rows, size)):
            yield batch


def _first_undecodable_line(path: Path) -> int | str:
    # Decoding runs ahead of the csv reader by whole chunks, so its position says little;
    # UTF-8 never uses the newline byte inside a character, so lines can be checked one by one.
    with path.open("rb") as f:
        for number, line in enumerate(f, 1):
            try:
                line.decode("utf-8")
            except UnicodeDecodeError:
                return number
    return "?"


@contextmanager
def open_export(
    path: Path,
    *,
    mappings: Sequence[str] = (),
    modified_at_column: str | None = None,
    delimiter: str = ",",
) -> Iterator[EmployeeCsv]:
    """Open an export and map its header; a file that cannot be read or mapped is refused."""
    try:
        binary = path.open("rb")
    except OSError as exc:
        raise ImportProblem(f"cannot read {path}: {exc.strerror or exc}") from exc
    with binary:
        try:
            export = EmployeeCsv(
                path,
                binary,
                mappings=mappings,
                modified_at_column=modified_at_column,
                delimiter=delimiter,
            )
        except MappingProblem as exc:
            raise ImportProblem(str(exc)) from exc
        yield export


class ErrorsFile:
    """The rejected rows, written as their batches come back: where, why, and the row."""

    def __init__(self, path: Path, header: list[str], delimiter: str = ",") -> None:
        self.path = path
        self._file = path.open("w", newline="", encoding="utf-8")
        # The export's own separator: the rows can be fixed and imported again as they are.
        self._writer = csv.writer(self._file, delimiter=delimiter)
        self._writer.writerow([*ERROR_COLUMNS, *header])

    def write(self, row: Row, external_id: str | None, field: str | None, reason: str) -> None:
        self._writer.writerow([row.line, external_id or "", field or "", reason, *row.cells])

    def flush(self) -> None:
        self._file.flush()

    def close(self) -> None:
        self._file.close()


def errors_path_for(path: Path) -> Path:
    """Where the errors of ``people.csv`` go by default: ``people.errors.csv`` beside it."""
    return path.with_name(f"{path.stem}.errors.csv")


@contextmanager
def open_errors(export: EmployeeCsv, path: Path | None) -> Iterator[ErrorsFile]:
    """Create the errors file (``path``, or the default beside the export) before any push."""
    path = path or errors_path_for(export.path)
    if path.resolve() == export.path.resolve():
        raise ImportProblem("the errors file must not be the file being imported")
    try:
        errors = ErrorsFile(path, export.header, export.delimiter)
    except OSError as exc:
        raise ImportProblem(f"cannot write {path}: {exc.strerror or exc}") from exc
    try:
        yield errors
    finally:
        errors.close()


def extra_cells_reason(row: Row, width: int) -> str:
    """Why a row with more cells than the header is refused."""
    return (
        f"the row has {len(row.cells)} cells but the header has {width}: "
        "a stray delimiter or an unquoted comma?"
    )
