"""Importing patches from CSV: the preview (`importer.parse`), the import, all or nothing
(`importer.apply`), who may, the page's flow and what an import costs in queries."""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape

import pytest
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from changedesk.accounts.choices import Role
from changedesk.accounts.services import set_membership
from changedesk.configuration.models import ConfigurationItem
from changedesk.conftest import member
from changedesk.lib.errors import InvalidAction, NotPermitted
from changedesk.patches import importer
from changedesk.patches.models import Patch, PatchEvent, PatchPolicy, Vendor, today_in

pytestmark = pytest.mark.django_db

URL = reverse("patches:import")
HEADER = "vendor,product,title,reference,cves,release_date,severity,link,description,items"


@pytest.fixture
def day(school):
    """A release date three days ago, as YYYY-MM-DD."""
    return (today_in(school) - timedelta(days=3)).isoformat()


@pytest.fixture
def good(day, pilot, laptops):
    return (
        f"{HEADER}\n"
        f'Microsoft,Windows 11,Cumulative update,KB5040001,"cve-2026-21001, CVE-2026-21002",'
        f"{day},important,https://msrc.microsoft.com/,Monthly rollup,"
        "Pilot laptop ICT-01;staff laptops\n"
        f"Adobe,Acrobat Reader,Security update for Acrobat,APSB26-01,,{day},,,,\n"
    )


def row_errors(preview, row=None):
    return [(e.row, e.field) for e in preview.errors if row is None or e.row == row]


# --- parse ---


def test_a_good_file_is_previewed_with_nothing_written(school, vendor, good, pilot, laptops):
    preview = importer.parse(school, good)
    assert preview.ok, preview.errors
    assert [r.number for r in preview.to_create] == [2, 3]
    assert preview.new_vendors == ["Adobe"]
    first, second = preview.rows
    assert first.vendor == vendor and not first.new_vendor
    assert second.vendor is None and second.new_vendor
    assert first.data["severity"] == "high"  # "important" is high
    assert second.data["severity"] == "medium"  # the default
    assert first.items == [pilot, laptops]  # names in any case
    assert Patch.objects.count() == 0 and Vendor.objects.count() == 1


def test_apply_adds_every_patch_and_the_new_vendor(school, pam, vendor, good, pilot, laptops):
    assert importer.apply(school, pam, good) == 2
    adobe = Vendor.objects.get(school=school, name="Adobe")
    ms = Patch.objects.get(reference="KB5040001")
    assert ms.vendor == vendor and ms.severity == "high" and ms.state == "available"
    assert ms.cves == "CVE-2026-21001, CVE-2026-21002"  # as create_patch keeps them
    assert ms.link == "https://msrc.microsoft.com/" and ms.description == "Monthly rollup"
    assert set(ms.items.all()) == {pilot, laptops}
    assert ms.created_by == pam
    assert ms.due_on == PatchPolicy.of(school).due_on(ms.release_date, "high")
    acrobat = Patch.objects.get(reference="APSB26-01")
    assert acrobat.vendor == adobe and acrobat.severity == "medium"
    assert not acrobat.items.exists()
    assert PatchEvent.objects.filter(kind="create").count() == 2


def test_a_semicolon_file_with_a_bom_and_day_first_dates(school, pam, vendor, laptops):
    when = today_in(school) - timedelta(days=10)
    text = (
        "\ufeffVendor;Title;Reference;Release Date;Severity;Items\n"
        f"Microsoft;Edge update;KB1;{when:%d/%m/%Y};Critical;Staff laptops\n"
        f'Microsoft;"Office; monthly";KB2;{when:%Y-%m-%d};low;\n'
    )
    preview = importer.parse(school, text)
    assert preview.ok, preview.errors
    assert preview.columns == ("vendor", "title", "reference", "release_date", "severity", "items")
    assert [r.data["release_date"] for r in preview.rows] == [when, when]
    assert importer.apply(school, pam, text) == 2
    assert Patch.objects.get(reference="KB2").title == "Office; monthly"
    assert list(Patch.objects.get(reference="KB1").items.all()) == [laptops]


def test_spaces_and_underscores_and_case_in_column_names(school, day):
    text = f"VENDOR, Title ,release_date\nMicrosoft,Update,{day}\n"
    preview = importer.parse(school, text)
    assert preview.ok, preview.errors
    assert preview.columns == ("vendor", "title", "release_date")


def test_an_unknown_column_is_an_error_naming_it(school, day):
    preview = importer.parse(school, f"vendor,title,release_date,Colour,size\nMS,T,{day},red,1\n")
    assert not preview.ok
    assert len(preview.errors) == 1 and not preview.rows
    message = preview.errors[0].message
    assert "Unknown columns: Colour, size" in message
    assert preview.errors[0].row == 1


def test_a_missing_required_column_is_an_error(school, day):
    preview = importer.parse(school, "vendor,reference\nMicrosoft,KB1\n")
    assert len(preview.errors) == 1
    assert "title, release_date" in preview.errors[0].message


def test_missing_required_values_are_row_errors(school, day):
    text = f"vendor,title,release_date\n,Update,{day}\nMicrosoft,,{day}\nMicrosoft,Update,\n"
    preview = importer.parse(school, text)
    assert row_errors(preview) == [(2, "vendor"), (3, "title"), (4, "release_date")]
    assert all(r.status == "problem" for r in preview.rows)


def test_bad_dates_severity_cve_link_and_lengths(school, day):
    future = (today_in(school) + timedelta(days=30)).isoformat()
    text = (
        "vendor,title,release_date,severity,cves,link,reference\n"
        f"Microsoft,A,31/02/2026,high,,,\n"
        f"Microsoft,B,{day},urgent,,,\n"
        f"Microsoft,C,{day},low,CVE-26-1,,\n"
        f"Microsoft,D,{day},,,not a link,\n"
        f"Microsoft,E,{future},,,,\n"
        f"Microsoft,{'x' * 301},{day},,,,{'r' * 101}\n"
    )
    preview = importer.parse(school, text)
    assert row_errors(preview) == [
        (2, "release_date"),
        (3, "severity"),
        (4, "cves"),
        (5, "link"),
        (6, "release_date"),
        (7, "title"),
        (7, "reference"),
    ]
    messages = {(e.row, e.field): e.message for e in preview.errors}
    assert "YYYY-MM-DD or DD/MM/YYYY" in messages[(2, "release_date")]
    assert "“urgent” is not a severity" in messages[(3, "severity")]
    assert "CVE-26-1" in messages[(4, "cves")]
    assert messages[(6, "release_date")] == "Not more than a week ahead."


def test_an_unknown_or_retired_item_is_a_row_error(school, day, pilot, laptops, other_school):
    ConfigurationItem.objects.create(school=school, name="Old server", is_active=False)
    ConfigurationItem.objects.create(school=other_school, name="Hillside laptops")
    text = (
        "vendor,title,release_date,items\n"
        f"Microsoft,A,{day},Pilot laptop ICT-01; Printers\n"
        f"Microsoft,B,{day},Old server\n"
        f"Microsoft,C,{day},Hillside laptops\n"
    )
    preview = importer.parse(school, text)
    assert row_errors(preview) == [(2, "items"), (3, "items"), (4, "items")]
    assert "no item called “Printers”" in preview.errors[0].message
    assert "Retired" in preview.errors[1].message


def test_an_item_named_twice_is_one_item_and_extra_cells_are_an_error(school, day, laptops):
    text = (
        "vendor,title,release_date,items\n"
        f"Microsoft,A,{day},Staff laptops; STAFF LAPTOPS\n"
        f"Microsoft,B,{day},,surplus\n"
    )
    preview = importer.parse(school, text)
    assert preview.rows[0].items == [laptops]
    assert [(e.row, e.field, e.message) for e in preview.errors] == [
        (3, "", "This row has 5 cells but there are 4 columns.")
    ]


def test_columns_repeated_or_unnamed_are_errors(school, day):
    preview = importer.parse(school, f"vendor,title,,release_date,Title\nMS,A,,{day},B\n")
    assert len(preview.errors) == 1
    message = preview.errors[0].message
    assert "Column 3 of the first row has no name" in message
    assert "More than one column is called title" in message


def test_more_than_the_most_rows_is_one_clear_error(school, day):
    text = "vendor,title,release_date\n" + f"Microsoft,Update,{day}\n" * (importer.MOST_ROWS + 1)
    preview = importer.parse(school, text)
    assert len(preview.errors) == 1 and not preview.rows
    assert f"more than {importer.MOST_ROWS:,}" in preview.errors[0].message
    exactly = "vendor,title,release_date\n" + f"Microsoft,Update,{day}\n" * importer.MOST_ROWS
    assert importer.parse(school, exactly).ok


def test_unreadable_files_are_one_clear_error(school, day):
    for text, words in [
        ("", "empty"),
        ("vendor,title,release_date\n", "no patches"),
        (f'vendor,title,release_date\nMS,"never closed,{day}\n', "never closed"),
        ("vendor,title\x00,release_date\n", "NUL"),
    ]:
        preview = importer.parse(school, text)
        assert len(preview.errors) == 1, text
        assert words in preview.errors[0].message


def test_row_numbers_are_the_files_and_blank_rows_are_skipped(school, day):
    text = f"vendor,title,release_date\n\nMicrosoft,A,{day}\n,,\nMicrosoft,,{day}\n"
    preview = importer.parse(school, text)
    assert [r.number for r in preview.rows] == [3, 5]
    assert row_errors(preview) == [(5, "title")]


def test_a_patch_already_there_is_skipped_not_an_error(school, pam, vendor, patch, day):
    text = (
        "vendor,title,reference,release_date\n"
        f"microsoft,The same patch,kb5031234,{day}\n"  # the fixture's, in other case
        f"Microsoft,A new one,KB5040002,{day}\n"
        f"Microsoft,No reference,,{day}\n"
    )
    preview = importer.parse(school, text)
    assert preview.ok
    assert [r.number for r in preview.already_there] == [2]
    assert [r.number for r in preview.to_create] == [3, 4]
    assert importer.apply(school, pam, text) == 2
    assert Patch.objects.filter(reference__iexact="KB5031234").count() == 1
    # Imported again: the patches with a reference are there; one without is added again.
    again = importer.parse(school, text)
    assert [r.number for r in again.already_there] == [2, 3]


def test_a_reference_twice_in_the_file_is_an_error(school, day):
    text = f"vendor,title,reference,release_date\nAdobe,A,APSB-1,{day}\nadobe,B,apsb-1,{day}\n"
    preview = importer.parse(school, text)
    assert [(e.row, e.field, e.message) for e in preview.errors] == [
        (3, "reference", "Row 2 has the same vendor and reference.")
    ]
    assert preview.new_vendors == ["Adobe"]  # one new vendor, however it is spelt


def test_a_vendor_of_another_school_is_a_new_vendor_here(school, other_school, pam, day):
    Vendor.objects.create(school=other_school, name="Adobe")
    assert importer.apply(school, pam, f"vendor,title,release_date\nAdobe,A,{day}\n") == 1
    assert Vendor.objects.filter(name="Adobe").count() == 2
    assert Patch.objects.get().vendor.school == school


def test_one_bad_row_and_nothing_is_written(school, pam, vendor, good, day):
    bad = good + f"Mozilla,Firefox,Firefox 140,MFSA-1,,{day},catastrophic,,,\n"
    vendors, patches, events = (
        Vendor.objects.count(),
        Patch.objects.count(),
        PatchEvent.objects.count(),
    )
    with pytest.raises(InvalidAction) as refused:
        importer.apply(school, pam, bad)
    assert "1 problem" in refused.value.message
    assert "Row 4" in refused.value.fields["file"]
    assert (Vendor.objects.count(), Patch.objects.count(), PatchEvent.objects.count()) == (
        vendors,
        patches,
        events,
    )


def test_a_failure_while_writing_undoes_every_row(school, pam, vendor, good, monkeypatch):
    from changedesk.patches import services

    real = services.create_patch
    calls = []

    def second_fails(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise InvalidAction("Some fields need correcting.", {"title": "No."})
        return real(*args, **kwargs)

    monkeypatch.setattr(services, "create_patch", second_fails)
    with pytest.raises(InvalidAction, match="Row 3"):
        importer.apply(school, pam, good)
    assert not Patch.objects.exists()
    assert not Vendor.objects.filter(name="Adobe").exists()


def test_only_a_patch_manager_may_apply(school, sam, good, oscar):
    viewer = member("vera", school, [Role.VIEWER])
    for person in (viewer, oscar):
        with pytest.raises(NotPermitted):
            importer.apply(school, person, good)
    assert importer.apply(school, sam, good) == 2


# --- the page ---


def upload(client, text, school="", name="patches.csv"):
    data = {
        "action": "preview",
        "file": SimpleUploadedFile(name, text.encode("utf-8"), content_type="text/csv"),
    }
    if school:
        data["school"] = school
    return client.post(URL, data)


def hidden_csv(response) -> str:
    found = re.search(r'<input type="hidden" name="csv" value="([^"]*)"', response.content.decode())
    assert found, "no import button"
    return unescape(found.group(1))


def test_who_may_open_the_page(client, school, pam, sam, oscar):
    response = client.get(URL)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))
    viewer = member("vera", school, [Role.VIEWER])
    for person, status in [(oscar, 403), (viewer, 403), (pam, 200), (sam, 200)]:
        client.force_login(person)
        assert client.get(URL).status_code == status, person.username
        assert upload(client, "vendor,title,release_date\n").status_code == status


def test_upload_preview_then_import(client, school, pam, vendor, good):
    client.force_login(pam)
    page = client.get(URL)
    html = page.content.decode()
    assert 'accept=".csv,text/csv"' in html
    assert 'type="hidden" name="school" value="greenfield"' in html  # one school: no choice
    assert "release_date" in html
    preview = upload(client, good)
    assert preview.status_code == 200
    html = preview.content.decode()
    assert "Import 2 patches" in html
    assert "Security update for Acrobat" in html
    assert 'id="row-3"' in html and "(new)" in html
    assert not Patch.objects.exists()
    done = client.post(
        URL, {"action": "import", "school": "greenfield", "csv": hidden_csv(preview)}
    )
    assert done.status_code == 302
    assert done["Location"] == reverse("patches:list")
    assert Patch.objects.filter(school=school).count() == 2
    assert Vendor.objects.filter(school=school, name="Adobe").exists()
    assert [str(m) for m in get_messages(done.wsgi_request)] == [
        "Imported 2 patches into Greenfield Primary."
    ]


def test_a_file_with_problems_shows_them_and_offers_no_import(client, pam, vendor, good, day):
    client.force_login(pam)
    response = upload(client, good + f"Mozilla,Firefox,,MFSA-1,,{day},,,,\n")
    html = response.content.decode()
    assert response.status_code == 200
    assert "1 problem in the file" in html
    assert 'href="#row-4"' in html
    assert 'name="csv"' not in html


def test_a_file_already_imported_offers_nothing_to_import(client, pam, vendor, patch, day):
    client.force_login(pam)
    response = upload(client, f"vendor,title,reference,release_date\nMicrosoft,A,KB5031234,{day}\n")
    html = response.content.decode()
    assert "Nothing to import" in html
    assert 'name="csv"' not in html


def test_the_import_checks_the_posted_file_again(client, school, pam, vendor, day):
    client.force_login(pam)
    tampered = f"vendor,title,release_date\nMicrosoft,A,{day}\nMicrosoft,B,not a date\n"
    response = client.post(URL, {"action": "import", "school": "greenfield", "csv": tampered})
    assert response.status_code == 400
    assert "Nothing was imported" in response.content.decode()
    assert not Patch.objects.exists()


def test_a_school_the_person_does_not_manage_is_refused(client, school, other_school, pam, good):
    client.force_login(pam)
    response = client.post(URL, {"action": "import", "school": "hillside", "csv": good})
    assert response.status_code == 400
    assert not Patch.objects.exists()


def test_someone_managing_two_schools_chooses_one(client, school, other_school, pam, good, day):
    set_membership(pam, other_school, [Role.PATCH_ADMINISTRATOR])
    client.force_login(pam)
    html = client.get(URL).content.decode()
    assert '<select name="school"' in html and "Hillside Academy" in html
    preview = upload(client, f"vendor,title,release_date\nAdobe,A,{day}\n", school="hillside")
    assert "Check the import into Hillside Academy" in preview.content.decode()
    client.post(URL, {"action": "import", "school": "hillside", "csv": hidden_csv(preview)})
    assert Patch.objects.get().school == other_school


def test_a_file_too_big_or_not_utf8_is_refused_on_the_form(client, pam, settings):
    client.force_login(pam)
    response = upload(client, "x" * (importer.MOST_BYTES + 1))
    assert response.status_code == 400
    assert "at most 2 MB" in response.content.decode()
    latin = client.post(
        URL,
        {"action": "preview", "file": SimpleUploadedFile("p.csv", "vendor,café".encode("latin-1"))},
    )
    assert latin.status_code == 400
    assert "not UTF-8" in latin.content.decode()
    missing = client.post(URL, {"action": "preview"})
    assert missing.status_code == 400
    assert "Choose the CSV file" in missing.content.decode()


# --- what it costs ---


def _file(school, rows: int, start: int = 0) -> str:
    day = (today_in(school) - timedelta(days=2)).isoformat()
    lines = [HEADER]
    for n in range(start, start + rows):
        vendor = ("Microsoft", "Adobe", "Mozilla")[n % 3]
        lines.append(
            f"{vendor},Product,Update {n},REF-{n},CVE-2026-{10000 + n},{day},high,,,"
            "Pilot laptop ICT-01;Staff laptops"
        )
    return "\n".join(lines) + "\n"


def _queries(school, pam, text) -> tuple[int, list[str]]:
    with CaptureQueriesContext(connection) as captured:
        importer.apply(school, pam, text)
    return len(captured.captured_queries), [q["sql"] for q in captured.captured_queries]


def test_apply_costs_a_few_queries_a_row_and_no_lookups_per_row(
    school, pam, vendor, pilot, laptops
):
    """A patch a row (its policy, the row, its items, its event: create_patch's own), but
    the school's vendors, items and patches are each read once for the whole file."""
    from changedesk.accounts.permissions import with_roles

    pam = with_roles(pam)
    hundred, _ = _queries(school, pam, _file(school, 100))  # adds Adobe and Mozilla
    two_hundred, sql = _queries(school, pam, _file(school, 200, start=100))
    per_row = (two_hundred - hundred) / 100
    assert per_row <= 8, per_row
    assert two_hundred <= 10 + 8 * 200, two_hundred
    selects = [q for q in sql if q.startswith("SELECT")]
    vendor_reads = [q for q in selects if 'FROM "patches_vendor"' in q]
    item_lookups = [
        q
        for q in selects
        if 'FROM "configuration_configurationitem"' in q and "patches_patch_items" not in q
    ]
    patch_lookups = [q for q in selects if 'FROM "patches_patch"' in q]
    assert len(vendor_reads) == 1, vendor_reads
    assert len(item_lookups) == 1, item_lookups
    assert len(patch_lookups) == 1, patch_lookups
    assert Patch.objects.count() == 300
