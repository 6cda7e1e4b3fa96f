"""The change log as XLSX (typed cells, the CSV's columns and filters, the same scope) and a
school's archive (every table, README.txt, only its own school, only its administrator)."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from datetime import datetime

from django.urls import reverse
from openpyxl import load_workbook

from changedesk.changes.services import create_change
from changedesk.changes.views import CSV_COLUMNS
from changedesk.conftest import REQUEST, advance
from changedesk.spreadsheets import importer
from changedesk.spreadsheets.tests import files

XLSX = reverse("spreadsheets:changes_xlsx")


def workbook(response):
    assert response.status_code == 200, response.content[:300]
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    assert "attachment" in response["Content-Disposition"]
    data = b"".join(response.streaming_content)
    return load_workbook(io.BytesIO(data)).active


def test_the_xlsx_has_the_csvs_columns_typed_cells_and_a_frozen_header(
    client, team, school, draft, oscar
):
    closed = advance(
        create_change(school, team["olivia"], {**REQUEST, "title": "Done"}), team, "closed"
    )
    formula = create_change(school, team["olivia"], {**REQUEST, "title": '=HYPERLINK("x")'})
    create_change(oscar.memberships.get().school, oscar, dict(REQUEST))  # not Greenfield's
    client.force_login(team["sam"])

    sheet = workbook(client.get(XLSX))

    rows = list(sheet.iter_rows(values_only=True))
    header = list(rows[0])
    assert header == [name for name, _, _ in CSV_COLUMNS]
    assert sheet.freeze_panes == "A2"
    assert len(rows) == 4  # the header and Greenfield's three RFCs, not Hillside's
    by_title = {row[header.index("title")]: dict(zip(header, row, strict=True)) for row in rows[1:]}
    done = by_title["Done"]
    closed.refresh_from_db()
    start = done["planned_start"]
    assert isinstance(start, datetime)  # a date cell, in the school's local time
    assert start == closed.planned_start.astimezone(school.zone).replace(tzinfo=None)
    assert isinstance(done["created_at"], datetime)
    assert done["emergency"] is False  # a yes/no cell, not the text "no"
    assert done["outcome"] == "succeeded"
    assert done["reference"] == f"greenfield:{closed.reference}"
    # A title that looks like a formula is kept as text, never run.
    cell = next(c for c in sheet.iter_rows(min_row=2) for c in c if c.value == formula.title)
    assert cell.data_type == "s"


def test_the_xlsx_takes_the_change_logs_filters(client, team, school, draft):
    advance(
        create_change(school, team["olivia"], {**REQUEST, "title": "Closed one"}), team, "closed"
    )
    client.force_login(team["olivia"])
    sheet = workbook(client.get(XLSX, {"state": "closed"}))
    titles = [row[2] for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert titles == ["Closed one"]
    sheet = workbook(client.get(XLSX, {"q": "Closed one"}))
    assert [row[2] for row in sheet.iter_rows(min_row=2, values_only=True)] == ["Closed one"]
    bad = client.get(XLSX, {"state": "nonsense"})
    assert bad.status_code == 400


def test_the_xlsx_needs_signing_in(client, db):
    response = client.get(XLSX)
    assert response.status_code == 302
    assert "/accounts/login" in response["Location"]


def archive(client, slug="greenfield"):
    response = client.get(reverse("spreadsheets:archive", args=[slug]))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    return zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))


def test_the_archive_holds_every_table_of_the_school_and_says_what_each_is(
    client, team, school, draft, oscar
):
    advance(draft, team, "closed")
    create_change(oscar.memberships.get().school, oscar, {**REQUEST, "title": "Hillside's"})
    importer.apply(_checked(school, team["sam"]), team["sam"])
    client.force_login(team["sam"])

    zipped = archive(client)

    names = set(zipped.namelist())
    expected = {
        "README.txt",
        "school.json",
        "members.csv",
        "members.json",
        "changes.csv",
        "changes.json",
        "change_events.csv",
        "change_events.json",
        "change_items.csv",
        "change_items.json",
        "items.csv",
        "items.json",
        "calendar_periods.csv",
        "calendar_periods.json",
        "maintenance_windows.csv",
        "maintenance_windows.json",
        "school_calendar.json",
        "notices.csv",
        "notices.json",
        "meetings.csv",
        "meetings.json",
        "agenda_items.csv",
        "agenda_items.json",
        "report_snapshots.json",
        "report_decisions.csv",
        "report_decisions.json",
    }
    assert names == expected
    readme = zipped.read("README.txt").decode()
    for name in expected - {"README.txt"}:
        assert name.split(".")[0] in readme
    changes = json.loads(zipped.read("changes.json"))
    assert [c["title"] for c in changes] == [draft.title, "Replace café till", "Swap projector"]
    assert changes[0]["reference"] == "RFC-0001"
    assert changes[0]["originator__username"] == "olivia"
    kinds = [e["kind"] for e in changes[0]["events"]]
    assert kinds[0] == "create" and kinds[-1] == "close"
    assert [e["kind"] for e in changes[1]["events"]] == ["imported"]
    assert changes[1]["events"][0]["data"]["reference"] == "CL-1"
    text = zipped.read("changes.csv").decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [r["reference"] for r in rows] == ["RFC-0001", "RFC-0002", "RFC-0003"]
    assert "Hillside's" not in text
    events = list(csv.DictReader(io.StringIO(zipped.read("change_events.csv").decode("utf-8-sig"))))
    assert len(events) == len(changes[0]["events"]) + 2
    assert all(e["hash"] for e in events)
    members = json.loads(zipped.read("members.json"))
    assert {m["username"] for m in members} == set(team)
    assert json.loads(zipped.read("school.json"))["slug"] == "greenfield"


def _checked(school, sam):
    job = importer.start(school, sam, files.utf8_bom(), "log.csv")
    return importer.check(job, sam, job.mapping)


def test_control_characters_an_xlsx_cannot_hold_are_dropped_not_a_500(client, team, school):
    create_change(school, team["olivia"], {**REQUEST, "title": "Bell\x07 and\x0b tab"})
    client.force_login(team["olivia"])
    sheet = workbook(client.get(XLSX))
    assert [row[2] for row in sheet.iter_rows(min_row=2, values_only=True)] == ["Bell and tab"]


def test_the_archive_s_csv_files_keep_formulas_as_text(client, team, school):
    create_change(
        school,
        team["olivia"],
        {**REQUEST, "title": "x;=cmd|' /C calc'!A0", "description": "\uff1dHYPERLINK(1)"},
    )
    client.force_login(team["sam"])

    text = archive(client).read("changes.csv").decode("utf-8-sig")

    # Every cell quoted (no ";" splits one into a formula), a formula-like start escaped.
    assert "\"x;=cmd|' /C calc'!A0\"" in text
    assert '"\'\uff1dHYPERLINK(1)"' in text
    assert "\n\uff1d" not in text and ",\uff1d" not in text
