"""Reading the files schools really keep: encodings, separators, title rows, merged
headers, blank lines and every way of writing a date."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from changedesk.spreadsheets import reading
from changedesk.spreadsheets.columns import guess_mapping, known
from changedesk.spreadsheets.dates import parse_when
from changedesk.spreadsheets.importer import ImportRefused
from changedesk.spreadsheets.tests import files

LONDON = ZoneInfo("Europe/London")


def test_a_semicolon_csv_in_windows_1252_keeps_its_pound_and_its_accent():
    table = reading.read_table(files.semicolon_cp1252(), "log.csv", 100)
    assert table[0][:3] == ["Ref", "Title", "Date raised"]
    assert table[1][1] == "Replace café till"
    assert table[1][6] == "Cost £120"
    assert table[2] == []  # the blank line, kept to number the rows as the file does


def test_a_utf8_file_loses_its_byte_order_mark():
    table = reading.read_table(files.utf8_bom(), "log.csv", 100)
    assert table[0][0] == "Ref"
    assert table[1][1] == "Replace café till"


def test_the_header_is_found_under_a_title_and_joined_with_a_merged_cell_above():
    table = reading.read_table(files.ugly_xlsx(), "log.xlsx", 100)
    header = reading.find_header(table, known)
    assert header.row == 2
    assert header.names[:5] == ["RFC No", "Change", "Date logged", "Start", "End"]
    assert guess_mapping(header.names, {}) == [
        "reference",
        "title",
        "raised",
        "planned_start",
        "planned_end",
        "state",
        "outcome",
        "originator",
    ]


def test_a_two_row_header_names_a_column_by_both_rows():
    table = [["", "Planned", None, ""], ["Title", "Start", "Finish date", "Result"]]
    # "Start" alone is known; "Finish date" is not, "Planned Finish date" neither: left out.
    header = reading.find_header(table, known)
    assert header.names == ["Title", "Start", "Finish date", "Result"]
    # A merged "Raised" over "By" and "On", "Implemented" over "By": each column by both.
    table = [
        ["Change log"],
        ["", "Raised", None, "Implemented"],
        ["Title", "By", "On", "By"],
        ["Swap the switch", "olivia", "05/03/2024", "ivan"],
    ]
    header = reading.find_header(table, known)
    assert header.row == 2
    assert header.names == ["Title", "Raised By", "Raised On", "Implemented By"]
    assert guess_mapping(header.names, {}) == ["title", "originator", "raised", "implementer"]


def test_a_file_naming_no_known_column_is_refused():
    with pytest.raises(ImportRefused, match="names the columns"):
        reading.find_header([["foo", "bar"], ["1", "2"]], known)
    with pytest.raises(ImportRefused, match="empty"):
        reading.find_header([[], []], known)


def test_a_broken_workbook_is_refused_not_a_crash():
    with pytest.raises(ImportRefused, match="Excel workbook"):
        reading.read_table(b"PK\x03\x04 not really a zip", "log.xlsx", 100)


def test_a_saved_mapping_is_offered_before_the_guess_and_no_field_is_taken_twice():
    names = ["Ref", "Ticket", "Title", "Subject"]
    assert guess_mapping(names, {"ticket": "reference", "ref": ""}) == [
        "",
        "reference",
        "title",
        "",
    ]


@pytest.mark.parametrize(
    ("cell", "expected", "day_only"),
    [
        ("05/03/2024", datetime(2024, 3, 5), True),  # British: the 5th of March
        ("5/3/24", datetime(2024, 3, 5), True),
        ("05/03/2024 18:30", datetime(2024, 3, 5, 18, 30), False),
        ("2024-03-05", datetime(2024, 3, 5), True),
        ("2024-03-05T18:30", datetime(2024, 3, 5, 18, 30), False),
        ("5th March 2024", datetime(2024, 3, 5), True),
        ("5 Mar 2024 09:15", datetime(2024, 3, 5, 9, 15), False),
        ("05.03.2024", datetime(2024, 3, 5), True),
        (45356, datetime(2024, 3, 5), True),  # an Excel serial number
        (45356.75, datetime(2024, 3, 5, 18, 0), False),
        ("45356", datetime(2024, 3, 5), True),
        (datetime(2024, 3, 5, 18, 30), datetime(2024, 3, 5, 18, 30), False),
        (date(2024, 3, 5), datetime(2024, 3, 5), True),
    ],
)
def test_dates_are_read_every_way_a_school_writes_them(cell, expected, day_only):
    moment, alone = parse_when(cell, LONDON)
    assert moment == expected.replace(tzinfo=LONDON)
    assert alone is day_only


@pytest.mark.parametrize("cell", ["31/02/2024", "next Tuesday", "13/13/2024", 12, "2024-02-31"])
def test_what_is_not_a_date_is_said_to_be_none(cell):
    assert parse_when(cell, LONDON) is None


def test_every_kind_of_cell_reads_as_text_for_the_preview():
    from datetime import time

    assert reading.cell_text(datetime(2024, 3, 5, 18, 30)) == "2024-03-05 18:30:00"
    assert reading.cell_text(datetime(2024, 3, 5)) == "2024-03-05"
    assert reading.cell_text(date(2024, 3, 5)) == "2024-03-05"
    assert reading.cell_text(time(18, 30)) == "18:30:00"
    assert reading.cell_text(3.0) == "3"
    assert reading.cell_text(None) == ""
    assert reading.cell_text(True) == "True"


def test_a_time_alone_is_not_a_date():
    from datetime import time

    assert parse_when(time(18, 30), LONDON) is None
