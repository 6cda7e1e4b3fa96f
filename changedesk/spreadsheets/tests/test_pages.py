"""The spreadsheets pages: who may (the school's administrator imports and archives; anyone
signed in exports their own RFCs), the import's steps as a person clicks through them, and
what each page costs in queries."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from changedesk.changes.models import Change
from changedesk.spreadsheets.models import ChangeImport, ImportState
from changedesk.spreadsheets.tests import files

UPLOAD = reverse("spreadsheets:upload", args=["greenfield"])


def upload(client, data: bytes, name: str = "log.xlsx"):
    return client.post(UPLOAD, {"file": SimpleUploadedFile(name, data)})


def job_url(job: ChangeImport) -> str:
    return reverse("spreadsheets:job", args=["greenfield", job.pk])


def test_the_administrator_uploads_chooses_columns_checks_and_imports(client, team):
    client.force_login(team["sam"])
    response = upload(client, files.ugly_xlsx())
    job = ChangeImport.objects.get()
    assert response.status_code == 302
    assert response["Location"] == job_url(job)

    page = client.get(job_url(job))
    assert page.status_code == 200
    assert "Upgrade the Wi-Fi controller" in page.text  # the rows, to choose the columns by
    assert 'value="planned_start" selected' in page.text  # the guess, offered

    mapping = {f"column_{i}": field for i, field in enumerate(job.mapping)}
    checked = client.post(job_url(job), mapping)
    assert checked.status_code == 302
    page = client.get(job_url(job))
    assert "Import 3 RFCs" in page.text

    done = client.post(reverse("spreadsheets:apply", args=["greenfield", job.pk]))
    assert done.status_code == 302
    assert Change.objects.filter(school__slug="greenfield").count() == 3
    page = client.get(job_url(job))
    assert "RFC-0001 to RFC-0003" in page.text


def test_the_preview_shows_the_rows_problems_and_no_import_button(client, team):
    client.force_login(team["sam"])
    rows = [["Title", "Date raised"], ["Fine", "01/02/2024"], ["Broken", "31/02/2024"]]
    upload(client, files.utf8_bom(rows), "log.csv")
    job = ChangeImport.objects.get()
    client.post(job_url(job), {"column_0": "title", "column_1": "raised"})
    page = client.get(job_url(job))
    assert "1 problem in the file" in page.text
    assert "“31/02/2024” is not a date" in page.text
    assert "Import 2" not in page.text
    refused = client.post(reverse("spreadsheets:apply", args=["greenfield", job.pk]))
    assert refused.status_code == 302
    assert not Change.objects.exists()


def test_a_bad_mapping_is_shown_on_the_form(client, team):
    client.force_login(team["sam"])
    upload(client, files.utf8_bom(), "log.csv")
    job = ChangeImport.objects.get()
    response = client.post(job_url(job), {"column_0": "title", "column_1": "title"})
    assert response.status_code == 400
    assert "More than one column is mapped to title" in response.text
    job.refresh_from_db()
    assert job.state == ImportState.UPLOADED


def test_a_file_that_cannot_be_read_is_an_error_on_the_form(client, team, monkeypatch):
    from changedesk.spreadsheets import row_checks

    client.force_login(team["sam"])
    response = upload(client, b"PK\x03\x04garbage", "log.xlsx")
    assert response.status_code == 400
    assert "cannot be read as an Excel workbook" in response.text
    response = client.post(UPLOAD, {})
    assert response.status_code == 400
    monkeypatch.setattr(row_checks, "MAX_BYTES", 10)
    response = upload(client, files.utf8_bom(), "log.csv")
    assert response.status_code == 400
    assert "Split it into smaller files" in response.text
    assert not ChangeImport.objects.exists()


@pytest.mark.parametrize(
    ("who", "status"),
    [("sam", 200), ("olivia", 403), ("fiona", 403), ("hilda", 404), (None, 302)],
)
def test_who_may_import_and_archive(client, team, hilda, who, status):
    people = {**team, "hilda": hilda}
    job = ChangeImport.objects.create(
        school=team["sam"].memberships.get().school,
        created_by=team["sam"],
        content=b"x",
        columns=["Title"],
        mapping=["title"],
        preview=[],
    )
    if who:
        client.force_login(people[who])
    pages = [
        UPLOAD,
        job_url(job),
        reverse("spreadsheets:archive", args=["greenfield"]),
    ]
    for url in pages:
        response = client.get(url)
        assert response.status_code == status, url
        if status == 302:
            assert "/accounts/login" in response["Location"]
    applied = client.post(reverse("spreadsheets:apply", args=["greenfield", job.pk]))
    # The administrator is sent back to the import (its columns are not checked yet).
    assert applied.status_code == (302 if who == "sam" else status)
    job.refresh_from_db()
    assert job.state == ImportState.UPLOADED  # nobody else moved it on


def test_the_index_offers_the_schools_one_administers(client, team):
    client.force_login(team["sam"])
    page = client.get(reverse("spreadsheets:index"))
    assert UPLOAD in page.text
    client.force_login(team["olivia"])
    page = client.get(reverse("spreadsheets:index"))
    assert page.status_code == 200
    assert UPLOAD not in page.text
    assert reverse("spreadsheets:changes_xlsx") in page.text


def test_the_pages_cost_a_fixed_number_of_queries(client, team, django_assert_max_num_queries):
    client.force_login(team["sam"])
    upload(client, files.utf8_bom(), "log.csv")
    job = ChangeImport.objects.get()
    client.post(job_url(job), {f"column_{i}": f for i, f in enumerate(job.mapping)})
    with django_assert_max_num_queries(8):
        assert client.get(reverse("spreadsheets:index")).status_code == 200
    with django_assert_max_num_queries(10):
        assert client.get(UPLOAD).status_code == 200
    with django_assert_max_num_queries(10):
        assert client.get(job_url(job)).status_code == 200
    # Applying: a fixed number of queries, however many rows (bulk writes; a small file
    # is applied in the request, through the worker's claim: the confirmation, the claim,
    # the uploader and their roles, the school's lock, the file, the members, the
    # references, the numbers, then per batch of rows 3 writes, the result; 6 savepoints).
    with django_assert_max_num_queries(31):
        client.post(reverse("spreadsheets:apply", args=["greenfield", job.pk]))
    assert Change.objects.count() == 2


def test_an_imported_rfc_shows_where_it_came_from_on_its_page(client, team, school):
    from changedesk.spreadsheets import importer

    rows = [
        ["Ref", "Title", "Type", "Status", "Date closed"],
        ["OLD-1", "Nightly backup check", "Standard", "Closed", "04/03/2024"],
        ["OLD-2", "Emergency firewall fix", "Emergency", "Implemented", ""],
    ]
    sam = team["sam"]
    job = importer.start(school, sam, files.utf8_bom(rows), "log.csv")
    importer.apply(importer.check(job, sam, job.mapping), sam)
    client.force_login(team["olivia"])
    for change in Change.objects.filter(school=school):
        page = client.get(change.get_absolute_url())
        assert page.status_code == 200
        assert "Imported from a change log" in page.text
        assert "of log.csv, where it was OLD-" in page.text
    standard, emergency = Change.objects.order_by("number")
    assert (standard.is_standard, standard.is_emergency) == (True, False)
    assert (emergency.is_standard, emergency.is_emergency) == (False, True)
    assert standard.events.get().data["closed"] == "2024-03-04"
    assert "Closed on 2024-03-04, as the file says" in client.get(standard.get_absolute_url()).text
    listing = client.get(reverse("changes:list"))
    assert "Nightly backup check" in listing.text


def test_the_index_costs_the_same_for_one_school_and_for_ten(client, team):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from changedesk.accounts.choices import Role
    from changedesk.accounts.services import create_school, set_membership

    sam = team["sam"]
    client.force_login(sam)
    with CaptureQueriesContext(connection) as one:
        client.get(reverse("spreadsheets:index"))
    for n in range(9):
        set_membership(sam, create_school(f"School {n}", f"school-{n}"), [Role.SCHOOL_ADMIN])
    with CaptureQueriesContext(connection) as ten:
        page = client.get(reverse("spreadsheets:index"))
    assert page.text.count("import a change log") == 10
    assert len(ten) == len(one)


def test_the_exports_cost_the_same_however_many_rfcs(
    client, team, school, draft, django_assert_max_num_queries
):
    from changedesk.changes.services import create_change
    from changedesk.conftest import REQUEST

    client.force_login(team["sam"])
    for _ in range(5):
        create_change(school, team["olivia"], dict(REQUEST))
    with django_assert_max_num_queries(8):
        response = client.get(reverse("spreadsheets:changes_xlsx"))
        b"".join(response.streaming_content)
    # The archive: two reads a table (its CSV and its JSON), a chunk of rows at a time.
    with django_assert_max_num_queries(36):
        response = client.get(reverse("spreadsheets:archive", args=["greenfield"]))
        b"".join(response.streaming_content)
