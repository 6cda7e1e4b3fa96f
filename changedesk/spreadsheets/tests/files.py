"""Ugly change logs as schools keep them, built in the tests."""

from __future__ import annotations

import io
from datetime import date, datetime

from openpyxl import Workbook

CSV_ROWS = [
    ["Ref", "Title", "Date raised", "Status", "Outcome", "Planned start", "Notes"],
    [
        "CL-1",
        "Replace café till",
        "05/03/2024",
        "Closed",
        "Successful",
        "06/03/2024 18:00",
        "Cost £120",
    ],
    [],
    ["CL-2", "Swap projector", "12/03/2024", "Cancelled", "", "", ""],
]


def semicolon_cp1252(rows: list[list[str]] = CSV_ROWS) -> bytes:
    """A CSV as Excel saves it in much of Europe: semicolons, Windows-1252."""
    return "\r\n".join(";".join(row) for row in rows).encode("cp1252")


def utf8_bom(rows: list[list[str]] = CSV_ROWS) -> bytes:
    return ("\ufeff" + "\r\n".join(",".join(row) for row in rows)).encode("utf-8")


def ugly_xlsx() -> bytes:
    """A title row, a two-row header with merged cells ("Planned" over "Start" and "End"),
    date cells, an Excel serial number, a blank row."""
    book = Workbook()
    sheet = book.active
    sheet.append(["Greenfield ICT change log 2023-24"])
    sheet.merge_cells("A1:H1")
    sheet.append(["", "", "", "Planned", None, "", "", ""])
    sheet.merge_cells("D2:E2")
    sheet.append(
        ["RFC No", "Change", "Date logged", "Start", "End", "Status", "Result", "Raised by"]
    )
    sheet.append(
        [
            "OLD-7",
            "Upgrade the Wi-Fi controller",
            datetime(2023, 9, 4, 10, 30),
            datetime(2023, 9, 8, 17, 0),
            datetime(2023, 9, 8, 19, 0),
            "Complete",
            "Success",
            "olivia",
        ]
    )
    sheet.append([None, None, None, None, None, None, None, None])
    # 45200 is 1 October 2023, as an Excel serial number in a plain number cell.
    sheet.append(
        [
            "OLD-8",
            "New printer in the office",
            45200,
            date(2023, 10, 2),
            date(2023, 10, 2),
            "Closed",
            "partial",
            "Olivia Okafor",
        ]
    )
    sheet.append(
        ["OLD-9", "Trial of a new MIS report", "15/11/2023", None, None, "Withdrawn", None, None]
    )
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
