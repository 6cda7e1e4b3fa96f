"""Importing items from CSV through the pages: upload, preview with per-row errors, confirm,
all or nothing. Small files are checked and applied in the request, by the worker's steps
(test_item_import_jobs.py follows a large one through the worker)."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from changedesk.accounts.choices import Role
from changedesk.accounts.services import set_membership
from changedesk.configuration import importer
from changedesk.configuration.models import ConfigurationItem, ImportState, ItemImport
from changedesk.configuration.services import create_item

pytestmark = pytest.mark.django_db

URL = reverse("configuration:import", args=["greenfield"])
GOOD = (
    "name,kind,identifier,location,owner,users_affected,notes\n"
    "MIS server,server,SRV-MIS,Server room,olivia,120,Pupil records\n"
    '"ICT suite 2, 30 PCs",Device group,SUITE-2,Block B,,30,"Windows 11\nimaged yearly"\n'
    "Wi-Fi,service,,,,400,\n"
)


def upload(client, text: str | bytes, name: str = "items.csv"):
    data = text.encode() if isinstance(text, str) else text
    return client.post(URL, {"file": SimpleUploadedFile(name, data, content_type="text/csv")})


def preview(client, text: str | bytes):
    """Upload `text` and open the import's page: (the page, the import)."""
    response = upload(client, text)
    assert response.status_code == 302, response.content.decode()[:2000]
    job = ItemImport.objects.latest("id")
    assert response["Location"] == job_url(job)
    return client.get(job_url(job)), job


def job_url(job: ItemImport) -> str:
    return reverse("configuration:import_job", args=[job.school.slug, job.pk])


def confirm(client, job: ItemImport):
    return client.post(job_url(job))


@pytest.fixture
def admin_client(client, team):
    client.force_login(team["sam"])
    return client


def test_it_previews_then_imports_every_row(admin_client, team):
    page, job = preview(admin_client, GOOD)
    assert page.status_code == 200
    text = page.content.decode()
    assert "3 to add, 0 to update, 0 unchanged" in text
    assert "ICT suite 2, 30 PCs" in text
    assert "Import 3 rows" in text
    assert ConfigurationItem.objects.count() == 0  # nothing before the confirmation
    done = confirm(admin_client, job)
    assert done.status_code == 302
    assert done["Location"].startswith(reverse("configuration:list"))
    mis = ConfigurationItem.objects.get(identifier="SRV-MIS")
    assert (mis.name, mis.kind, mis.location, mis.owner, mis.users_affected, mis.notes) == (
        "MIS server",
        "server",
        "Server room",
        team["olivia"],
        120,
        "Pupil records",
    )
    suite = ConfigurationItem.objects.get(identifier="SUITE-2")
    assert suite.kind == "device_group"
    assert suite.notes == "Windows 11\nimaged yearly"
    assert ConfigurationItem.objects.get(name="Wi-Fi").identifier == ""
    job.refresh_from_db()
    assert (job.state, job.created_count, job.created_by) == (ImportState.DONE, 3, team["sam"])
    assert "Imported" in admin_client.get(job_url(job)).content.decode()


def test_it_updates_by_identifier_else_by_name_and_leaves_absent_columns(
    admin_client, team, school
):
    sam = team["sam"]
    mis = create_item(school, sam, {"name": "Old MIS", "identifier": "SRV-MIS", "notes": "keep"})
    wifi = create_item(
        school, sam, {"name": "Wi-Fi", "identifier": "WIFI-1", "location": "Everywhere"}
    )
    text = "identifier,name,users_affected\nSRV-MIS,MIS server,150\n,wi-fi,400\n,Printers,20\n"
    page, job = preview(admin_client, text)
    assert "1 to add, 2 to update, 0 unchanged" in page.content.decode()
    confirm(admin_client, job)
    mis.refresh_from_db()
    wifi.refresh_from_db()
    assert (mis.name, mis.users_affected, mis.notes) == ("MIS server", 150, "keep")
    # Matched by name (case aside): its identifier and location stay.
    assert (wifi.name, wifi.identifier, wifi.location, wifi.users_affected) == (
        "wi-fi",
        "WIFI-1",
        "Everywhere",
        400,
    )
    assert ConfigurationItem.objects.filter(name="Printers").exists()
    again, _ = preview(admin_client, text)
    assert "0 to add, 0 to update, 3 unchanged" in again.content.decode()


def test_it_lists_every_problem_by_row_and_column_and_saves_nothing(admin_client, team, school):
    create_item(school, team["sam"], {"name": "Twin", "identifier": ""})
    create_item(school, team["sam"], {"name": "Twin", "identifier": "TWIN-2"})
    text = (
        "name,kind,identifier,owner,users_affected\n"
        "Good one,server,G-1,,1\n"  # row 2: fine
        ",server,G-2,,1\n"  # row 3: no name
        "Bad kind,spaceship,G-3,,1\n"  # row 4
        "Bad owner,server,G-4,oscar,1\n"  # row 5: not a member
        "Bad count,server,G-5,,lots\n"  # row 6
        "Repeat,server,g-1,,1\n"  # row 7: same identifier as row 2
        "Twin,,,,\n"  # row 8: two items have this name
    )
    page, job = preview(admin_client, text)
    assert page.status_code == 200
    errors = {(e.row, e.field) for e in page.context["errors"]}
    assert errors == {
        (3, "name"),
        (4, "kind"),
        (5, "owner"),
        (6, "users_affected"),
        (7, "identifier"),
        (8, "name"),
    }
    text = page.content.decode()
    assert "6 problems in the file" in text
    assert "spaceship" in text and "Row 2 has the same identifier" in text
    assert "Import 7 rows" not in text
    # Confirming it anyway is refused, and writes nothing.
    refused = confirm(admin_client, job)
    assert refused.status_code == 302
    assert "problems" in admin_client.get(refused["Location"]).content.decode()
    assert ConfigurationItem.objects.count() == 2


def test_a_confirmation_that_fails_on_the_current_data_writes_nothing(admin_client, team, school):
    _, job = preview(admin_client, GOOD)
    # Between preview and confirmation, olivia leaves the school: row 2's owner is invalid.
    team["olivia"].memberships.all().delete()
    response = confirm(admin_client, job)
    assert response.status_code == 302
    assert response["Location"] == job_url(job)
    page = admin_client.get(job_url(job)).content.decode()
    assert "Not imported" in page and "No active member" in page
    assert "Nothing was imported" in page
    job.refresh_from_db()
    assert job.state == ImportState.FAILED
    assert ConfigurationItem.objects.count() == 0


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("name,kind\n".encode("utf-16"), "not UTF-8"),
        (b"caf\xe9,server\n", "not UTF-8"),
        (b"", "empty"),
        (b"\n  \n", "empty"),
        (b"MIS server,server,SRV-MIS\n", "first row must name the columns"),
        (b"name,colour\nMIS,blue\n", "Unknown column: colour"),
        (b"kind,identifier\nserver,SRV-1\n", "“name” is missing"),
        (b"name,name\nA,B\n", "appears more than once"),
        (b"name\n" + b"x" * (importer.MAX_BYTES + 1), "the most that can be imported"),
        (b"name\nA\x00B\n", "NUL"),
    ],
)
def test_it_refuses_a_file_it_cannot_read_with_a_clear_error(admin_client, content, message):
    response = upload(admin_client, content)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert ConfigurationItem.objects.count() == 0
    assert not ItemImport.objects.exists()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"name,kind\n", "no items under it"),
        (b'name,kind\nMIS server,server\n"ICT suite 2,device_group\nWi-Fi,service\n', "Row 3"),
    ],
)
def test_a_file_that_fails_its_check_says_why_on_its_page(admin_client, content, message):
    page, job = preview(admin_client, content)
    assert page.status_code == 200
    assert job.state == ImportState.FAILED
    assert message in page.content.decode()
    assert "Nothing was imported" in page.content.decode()
    assert "hx-get" not in page.content.decode()


def test_it_accepts_a_byte_order_mark_and_spreadsheet_trailing_cells(admin_client):
    _, job = preview(admin_client, "\ufeffName,Kind,,\nMIS,Server,,\n\n")
    confirm(admin_client, job)
    assert ConfigurationItem.objects.get().kind == "server"


def test_only_the_uploader_confirms_and_only_once(admin_client, team, school, other_school):
    _, job = preview(admin_client, GOOD)
    # Another administrator of the school sees it but may not confirm it.
    other = team["olivia"]
    set_membership(other, school, [Role.SCHOOL_ADMIN])
    client = Client()
    client.force_login(other)
    page = client.get(job_url(job)).content.decode()
    assert "may confirm this import" in page and "Import 3 rows" not in page
    assert client.post(job_url(job)).status_code == 403
    # The import is found under its own school only.
    wrong = reverse("configuration:import_job", args=[other_school.slug, job.pk])
    assert admin_client.post(wrong).status_code == 404
    assert ConfigurationItem.objects.count() == 0
    confirm(admin_client, job)
    assert ConfigurationItem.objects.count() == 3
    again = confirm(admin_client, job)
    assert again.status_code == 302
    assert "cannot be imported now" in admin_client.get(again["Location"]).content.decode()
    assert ConfigurationItem.objects.count() == 3


@pytest.mark.parametrize("method", ["get", "post"])
def test_only_a_school_administrator_may_import(client, team, oscar, method):
    sam = team["sam"]
    client.force_login(sam)
    _, job = preview(client, GOOD)
    client.logout()
    for url in (URL, job_url(job)):
        anonymous = getattr(client, method)(url)
        assert anonymous.status_code == 302 and "/accounts/login/" in anonymous["Location"]
    client.force_login(team["olivia"])  # an originator: manages items, does not import
    assert getattr(client, method)(URL).status_code == 403
    assert getattr(client, method)(job_url(job)).status_code == 403
    client.force_login(oscar)  # of another school
    assert getattr(client, method)(URL).status_code == 404
    assert getattr(client, method)(job_url(job)).status_code == 404
    assert ItemImport.objects.count() == 1
    assert ConfigurationItem.objects.count() == 0
    set_membership(team["olivia"], team["olivia"].memberships.get().school, [Role.SCHOOL_ADMIN])
    client.force_login(team["olivia"])
    assert upload(client, GOOD).status_code == 302


def test_a_post_without_a_file_is_a_form_error(admin_client):
    response = admin_client.post(URL, {})
    assert response.status_code == 400
    assert "This field is required" in response.content.decode()


def test_an_unclosed_quote_is_refused_with_its_row(school):
    # A lenient CSV reader would take the rest of the file as one cell of row 3.
    text = (
        'name,kind\nMIS server,server\n"ICT suite 2,device_group\nWi-Fi,service\nPrinters,other\n'
    )
    with pytest.raises(importer.ImportRefused, match="Row 3: a cell opens a quote"):
        importer.read(school, text)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("1" + "0" * 30, "It must be at most 2,147,483,647."),
        ("2147483648", "It must be at most 2,147,483,647."),
        ("9" * 5000, "It must be at most 2,147,483,647."),  # not read as a number at all
        ("12.5", "is not a whole number"),
        ("-3", "is not a whole number"),
    ],
)
def test_users_affected_out_of_range_says_the_most(admin_client, value, message):
    page, _ = preview(admin_client, f"name,users_affected\nMIS server,{value}\n")
    assert message in page.content.decode()


def test_the_row_limit_refuses_clearly(admin_client, monkeypatch):
    monkeypatch.setattr(importer, "MAX_ROWS", 3)
    rows = "".join(f"Item {n},other\n" for n in range(4))
    page, _ = preview(admin_client, "name,kind\n" + rows)
    assert "more than 3 rows" in page.content.decode()


def test_the_upload_page_lists_recent_imports(admin_client):
    preview(admin_client, GOOD)
    page = admin_client.get(URL).content.decode()
    assert "Recent imports" in page and "items.csv" in page
