"""Importing items from CSV: upload, preview with per-row errors, confirm, all or nothing."""

from __future__ import annotations

import re

import pytest
from django.core import signing
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from changedesk.accounts.choices import Role
from changedesk.accounts.services import set_membership
from changedesk.configuration import importer
from changedesk.configuration.models import ConfigurationItem
from changedesk.configuration.services import create_item
from changedesk.configuration.views import IMPORT_SALT

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


def payload_of(response) -> str:
    match = re.search(r'name="payload" value="([^"]+)"', response.content.decode())
    assert match, "the preview offers no confirmation"
    return match.group(1)


@pytest.fixture
def admin_client(client, team):
    client.force_login(team["sam"])
    return client


def test_it_previews_then_imports_every_row(admin_client, team):
    preview = upload(admin_client, GOOD)
    assert preview.status_code == 200
    page = preview.content.decode()
    assert "3 to add, 0 to update, 0 unchanged" in page
    assert "ICT suite 2, 30 PCs" in page
    assert ConfigurationItem.objects.count() == 0  # nothing before the confirmation
    done = admin_client.post(URL, {"payload": payload_of(preview)})
    assert done.status_code == 302
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


def test_it_updates_by_identifier_else_by_name_and_leaves_absent_columns(
    admin_client, team, school
):
    sam = team["sam"]
    mis = create_item(school, sam, {"name": "Old MIS", "identifier": "SRV-MIS", "notes": "keep"})
    wifi = create_item(
        school, sam, {"name": "Wi-Fi", "identifier": "WIFI-1", "location": "Everywhere"}
    )
    text = "identifier,name,users_affected\nSRV-MIS,MIS server,150\n,wi-fi,400\n,Printers,20\n"
    preview = upload(admin_client, text)
    assert "1 to add, 2 to update, 0 unchanged" in preview.content.decode()
    admin_client.post(URL, {"payload": payload_of(preview)})
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
    again = upload(admin_client, text)
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
    preview = upload(admin_client, text)
    assert preview.status_code == 400
    errors = {(e.row, e.field) for e in preview.context["errors"]}
    assert errors == {
        (3, "name"),
        (4, "kind"),
        (5, "owner"),
        (6, "users_affected"),
        (7, "identifier"),
        (8, "name"),
    }
    page = preview.content.decode()
    assert "spaceship" in page and "Row 2 has the same identifier" in page
    assert 'name="payload"' not in page
    assert ConfigurationItem.objects.count() == 2


def test_a_confirmation_that_fails_on_the_current_data_writes_nothing(admin_client, team, school):
    preview = upload(admin_client, GOOD)
    payload = payload_of(preview)
    # Between preview and confirmation, olivia leaves the school: row 2's owner is invalid.
    team["olivia"].memberships.all().delete()
    response = admin_client.post(URL, {"payload": payload})
    assert response.status_code == 400
    assert "No active member" in response.content.decode()
    assert ConfigurationItem.objects.count() == 0


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("name,kind\n".encode("utf-16"), "not UTF-8"),
        (b"caf\xe9,server\n", "not UTF-8"),
        (b"", "empty"),
        (b"MIS server,server,SRV-MIS\n", "first row must name the columns"),
        (b"name,colour\nMIS,blue\n", "Unknown column: colour"),
        (b"kind,identifier\nserver,SRV-1\n", "“name” is missing"),
        (b"name,name\nA,B\n", "appears more than once"),
        (b"name,kind\n", "no items under it"),
        (b"name\n" + b"x" * (importer.MAX_BYTES + 1), "the most that can be imported"),
        (b"name\nA\x00B\n", "NUL"),
    ],
)
def test_it_refuses_a_file_it_cannot_read_with_a_clear_error(admin_client, content, message):
    response = upload(admin_client, content)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert ConfigurationItem.objects.count() == 0


def test_it_accepts_a_byte_order_mark_and_spreadsheet_trailing_cells(admin_client):
    preview = upload(admin_client, "\ufeffName,Kind,,\nMIS,Server,,\n\n")
    assert preview.status_code == 200
    admin_client.post(URL, {"payload": payload_of(preview)})
    assert ConfigurationItem.objects.get().kind == "server"


def test_it_refuses_a_tampered_or_borrowed_confirmation(admin_client, team, other_school):
    preview = upload(admin_client, GOOD)
    payload = payload_of(preview)
    assert admin_client.post(URL, {"payload": payload[:-3] + "abc"}).status_code == 400
    forged = signing.dumps({"school": other_school.pk, "user": team["sam"].pk, "text": GOOD},
                           salt="wrong", compress=True)  # fmt: skip
    assert admin_client.post(URL, {"payload": forged}).status_code == 400
    someone_else = signing.dumps(
        {"school": other_school.pk, "user": team["sam"].pk, "text": GOOD},
        salt=IMPORT_SALT,
        compress=True,
    )
    response = admin_client.post(URL, {"payload": someone_else})
    assert response.status_code == 400
    assert "Nothing was imported" in response.content.decode()
    assert ConfigurationItem.objects.count() == 0


def test_only_a_school_administrator_may_import(client, team, oscar):
    client.force_login(team["olivia"])
    assert upload(client, GOOD).status_code == 403
    client.force_login(oscar)
    assert upload(client, GOOD).status_code == 404
    set_membership(team["olivia"], team["olivia"].memberships.get().school, [Role.SCHOOL_ADMIN])
    client.force_login(team["olivia"])
    assert upload(client, GOOD).status_code == 200


def test_a_post_without_a_file_is_a_form_error(admin_client):
    response = admin_client.post(URL, {})
    assert response.status_code == 400
    assert "This field is required" in response.content.decode()


def test_an_unclosed_quote_is_refused_with_its_row(admin_client, school):
    # A lenient CSV reader would take the rest of the file as one cell of row 3.
    text = (
        'name,kind\nMIS server,server\n"ICT suite 2,device_group\nWi-Fi,service\nPrinters,other\n'
    )
    response = upload(admin_client, text)
    assert response.status_code == 400
    assert "Row 3: a cell opens a quote" in response.content.decode()
    assert ConfigurationItem.objects.count() == 0
    with pytest.raises(importer.ImportRefused, match="Row 3"):
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
    response = upload(admin_client, f"name,users_affected\nMIS server,{value}\n")
    assert response.status_code == 400
    assert message in response.content.decode()


def test_the_row_and_size_limits_refuse_clearly(admin_client, monkeypatch):
    monkeypatch.setattr(importer, "MAX_ROWS", 3)
    rows = "".join(f"Item {n},other\n" for n in range(4))
    response = upload(admin_client, "name,kind\n" + rows)
    assert response.status_code == 400
    assert "more than 3 rows" in response.content.decode()
