"""What a change log may hold, and what the import refuses: ZIP bombs, too many columns,
too long cells, NUL characters, blank lines (which do not count as rows), standard changes
left open, dates after today, and a check that races with the import."""

from __future__ import annotations

import io
import zipfile
from datetime import timedelta

import pytest
from openpyxl import Workbook

from changedesk.lib.errors import InvalidAction
from changedesk.spreadsheets import importer, reading, row_checks
from changedesk.spreadsheets.importer import ImportRefused
from changedesk.spreadsheets.models import ChangeImport, ImportState
from changedesk.spreadsheets.tests import files
from changedesk.spreadsheets.tests.test_api import api_for, post_file


def csv_file(*lines: str) -> bytes:
    return "\r\n".join(lines).encode("utf-8")


def workbook(rows: list[list[object]]) -> bytes:
    book = Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


# --- XLSX archives that inflate too far. ---


def test_a_workbook_unpacking_to_more_than_the_cap_is_refused(monkeypatch):
    data = files.ugly_xlsx()
    unpacked = sum(entry.file_size for entry in zipfile.ZipFile(io.BytesIO(data)).infolist())
    monkeypatch.setattr(reading, "MAX_UNCOMPRESSED", unpacked - 1)
    with pytest.raises(ImportRefused, match="unpacks to"):
        reading.read_table(data, "log.xlsx", 100)


def test_a_part_compressed_far_more_than_a_spreadsheet_is_refused(monkeypatch):
    # A real workbook with its shared strings swapped for a long run of one letter, which
    # deflates about 1,000 to 1 (a bomb's 200 MB would be too slow to build: the caps are
    # lowered instead).
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(files.ugly_xlsx())) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as bomb,
    ):
        for entry in source.infolist():
            if entry.filename != "xl/sharedStrings.xml":
                bomb.writestr(entry, source.read(entry))
        bomb.writestr("xl/sharedStrings.xml", b"a" * 200_000)
    data = out.getvalue()
    monkeypatch.setattr(reading, "RATIO_FROM", 100_000)
    with pytest.raises(ImportRefused, match="compressed more than 100 to 1"):
        reading.read_table(data, "log.xlsx", 100)


def test_an_ordinary_workbook_is_under_the_caps():
    assert reading.read_table(files.ugly_xlsx(), "log.xlsx", 100)


def test_a_cell_longer_than_the_cap_is_refused_with_its_row_and_column():
    long = "x" * (reading.MAX_CELL_CHARS + 1)
    with pytest.raises(ImportRefused, match="Row 2, column 2 has 10,001 characters"):
        reading.read_table(csv_file("Title,Description", f"Swap,{long}"), "log.csv", 100)
    with pytest.raises(ImportRefused, match="Row 2, column 2 has 10,001 characters"):
        reading.read_table(workbook([["Title", "Description"], ["Swap", long]]), "l.xlsx", 100)


# --- Columns. ---


def test_a_header_wider_than_the_cap_is_refused():
    header = ",".join(["Title"] + [f"Extra {n}" for n in range(reading.MAX_COLUMNS)])
    with pytest.raises(ImportRefused, match="Row 1 has 201 columns; at most 200"):
        reading.read_table(csv_file(header, "Swap"), "log.csv", 100)


def test_a_sheet_wider_than_the_cap_is_refused():
    row: list[object] = ["Title"] + [f"Extra {n}" for n in range(reading.MAX_COLUMNS + 50)]
    with pytest.raises(ImportRefused, match="at most 200 can be imported"):
        reading.read_table(workbook([row, ["Swap"]]), "log.xlsx", 100)


def test_a_line_of_a_million_commas_is_refused(school, sam):
    data = csv_file("Title,Date raised", "Swap" + "," * 1_000_000 + "x")
    with pytest.raises(ImportRefused, match="more than 16,384 cells"):
        importer.start(school, sam, data, "log.csv")
    assert not ChangeImport.objects.exists()


def test_a_row_with_trailing_empty_cells_keeps_its_width_small():
    table = reading.read_table(csv_file("Title" + "," * 500, "Swap" + "," * 500), "log.csv", 9)
    assert table == [["Title"], ["Swap"]]


# --- NUL characters. ---


def test_a_nul_character_after_the_first_16_kb_is_refused(school, sam):
    data = csv_file("Title,Description", "Swap," + "x" * (20 * 1024) + "\x00y")
    with pytest.raises(ImportRefused, match="NUL characters"):
        importer.start(school, sam, data, "log.csv")
    with pytest.raises(ImportRefused, match="NUL characters"):
        reading.decode("é".encode("cp1252") + b" " * 20_000 + b"\x00")


def test_nul_is_dropped_from_a_workbooks_text():
    assert reading._trimmed(["a\x00b ", 3]) == ["ab", 3]


# --- Blank lines. ---


def test_blank_lines_do_not_count_against_the_row_limit():
    # 3 rows allowed, and 15 above the header: 61 lines with 4 rows in them are well in.
    lines = ["Title"] + (["Swap"] + [""] * 20) * 2 + ["Swap"] + [""] * 40
    table = reading.read_table(csv_file(*lines), "log.csv", 3)
    # Kept between rows (to number them as the file does); dropped at the end.
    assert len(table) == 44
    assert [row for row in table if row] == [["Title"], ["Swap"], ["Swap"], ["Swap"]]


def test_a_row_far_below_the_last_line_read_is_refused_and_blank_lines_there_are_not(
    monkeypatch,
):
    monkeypatch.setattr(reading, "MAX_LINES", 50)
    book = Workbook()
    sheet = book.active
    sheet["A1"], sheet["A2"], sheet["A51"] = "Title", "Swap", "Far down"
    out = io.BytesIO()
    book.save(out)
    with pytest.raises(ImportRefused, match="Row 51 is further down than 50"):
        reading.read_table(out.getvalue(), "log.xlsx", 100)
    lines = ["Title", "Swap"] + ["", ",,,"] * 50
    assert reading.read_table(csv_file(*lines), "log.csv", 100) == [["Title"], ["Swap"]]


def test_the_upload_counts_only_the_rows_with_something_in_them(school, sam):
    lines = ["Title"] + [f"Change {n}\r\n,," for n in range(5)]
    job = importer.start(school, sam, csv_file(*lines), "log.csv")
    assert job.rows == 5
    assert [row["number"] for row in job.preview] == [2, 4, 6, 8, 10]


def test_more_rows_than_the_limit_are_refused_at_the_upload(school, sam, monkeypatch):
    monkeypatch.setattr(row_checks, "MAX_ROWS", 3)
    with pytest.raises(ImportRefused, match="more than 3 rows"):
        importer.start(school, sam, csv_file("Title", "a", "b", "c", "d"), "log.csv")


# --- What the workflow could not carry on. ---


def errors_of(school, user, *lines: str) -> list[tuple[int, str, str]]:
    job = importer.start(school, user, csv_file(*lines), "log.csv")
    job = importer.check(job, user, job.mapping)
    return [(row, name, message) for row, name, message in job.errors]


@pytest.mark.parametrize("state", ["draft", "Awaiting initial approval", "approved"])
def test_a_standard_change_in_an_open_state_is_refused(school, sam, state):
    found = errors_of(school, sam, "Title,Type,Status", f"Swap toner,standard,{state}")
    assert [(row, name) for row, name, _ in found] == [(2, "type")]
    assert "only once it is over" in found[0][2]


@pytest.mark.parametrize("state", ["implemented", "closed", "rejected", "withdrawn"])
def test_a_standard_change_that_is_over_is_imported(school, sam, state):
    assert errors_of(school, sam, "Title,Type,Status", f"Swap toner,standard,{state}") == []


def test_a_date_after_today_at_the_school_is_refused_and_today_is_not(school, sam):
    today = importer.timezone.localdate(timezone=school.zone)
    tomorrow = (today + timedelta(days=1)).strftime("%d/%m/%Y")
    found = errors_of(
        school,
        sam,
        "Title,Date raised,Status,Date closed",
        f"Raised tomorrow,{tomorrow},,",
        f"Closed tomorrow,{today:%d/%m/%Y},,{tomorrow}",
        f"Today,{today:%d/%m/%Y},closed,{today:%d/%m/%Y}",
    )
    assert [(row, name) for row, name, _ in found] == [(2, "raised"), (3, "closed")]
    assert all("in the future" in message for _, _, message in found)


# --- A check racing with the import. ---


def test_a_check_cannot_reopen_an_import_that_finished_meanwhile(school, sam):
    job = importer.start(school, sam, csv_file("Title", "Swap"), "log.csv")
    job = importer.check(job, sam, job.mapping)
    # The check has read the import as previewed; meanwhile the import is applied.
    stale = ChangeImport.objects.get(pk=job.pk)
    assert importer.apply(job, sam).state == ImportState.DONE

    with pytest.raises(InvalidAction, match="This import is over"):
        importer.check(stale, sam, stale.mapping)
    assert ChangeImport.objects.get(pk=job.pk).state == ImportState.DONE


# --- Through the API: a 400 naming the file, nothing kept. ---


@pytest.mark.parametrize(
    ("data", "name", "said"),
    [
        (csv_file("Title,Date raised", "Swap" + "," * 1_000_000 + "x"), "log.csv", "cells"),
        (csv_file("Title", "Swap " + "x" * 20_000 + "\x00"), "log.csv", "NUL"),
        (files.ugly_xlsx(), "log.xlsx", "unpacks to"),
    ],
)
def test_a_refused_file_is_a_400_through_the_api(team, monkeypatch, data, name, said):
    monkeypatch.setattr(reading, "MAX_UNCOMPRESSED", 1000)
    response = post_file(api_for(team["sam"]), data, name)
    assert response.status_code == 400
    assert said in response.json()["file"][0]
    assert not ChangeImport.objects.exists()
