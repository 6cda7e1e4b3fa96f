"""The licence log's pages and API as people meet them: who may see and do what, the forms
and their refusals, the filters and the summary, the CSV export and import, and the query
counts of the lists."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from rest_framework.test import APIClient

from changedesk.accounts.choices import Role
from changedesk.accounts.services import set_membership
from changedesk.configuration.models import ConfigurationItem, ItemKind
from changedesk.conftest import member
from changedesk.releases import licence_import
from changedesk.releases.models import Licence, LicenceAssignment
from changedesk.releases.services import licences as services

pytestmark = pytest.mark.django_db

API = "/api/v1/licences/"


@pytest.fixture
def tom(school):
    return member("tom", school, [Role.VIEWER])


@pytest.fixture
def licence(school, rachel):
    return services.save_licence(
        school, rachel, {"product": "Minecraft Education", "kind": "per_user", "seats": 3}
    )


@pytest.fixture
def everyone(rachel, bella, isaac, sam, fiona, tom, oscar, olivia):
    return {
        "rachel": rachel, "bella": bella, "isaac": isaac, "sam": sam, "fiona": fiona,
        "tom": tom, "oscar": oscar, "olivia": olivia,
    }  # fmt: skip


WRITERS = {"rachel", "sam"}
MEMBERS = {"rachel", "bella", "isaac", "sam", "fiona", "tom", "olivia"}


def _as(client, user):
    client.force_login(user)
    return client


# --- Reading. ---


@pytest.mark.parametrize("who", sorted(MEMBERS | {"oscar"}))
def test_who_reads_the_log_and_a_licence(client, everyone, licence, who):
    _as(client, everyone[who])
    assert client.get(reverse("releases:licences")).status_code == 200
    response = client.get(licence.get_absolute_url())
    assert response.status_code == (200 if who in MEMBERS else 404)
    if who in MEMBERS:
        shown = b"Give it out" in response.content
        assert shown == (who in WRITERS)
    listed = client.get(reverse("releases:licences")).content
    assert (b"Minecraft Education" in listed) == (who in MEMBERS)


def test_signed_out_people_are_sent_to_sign_in(client, licence):
    for url in (
        reverse("releases:licences"),
        licence.get_absolute_url(),
        reverse("releases:licence_create"),
        reverse("releases:licence_import"),
        reverse("releases:licence_export"),
    ):
        response = client.get(url)
        assert response.status_code == 302 and "login" in response["Location"], url


# --- Writing on the pages. ---


@pytest.mark.parametrize("who", sorted(MEMBERS | {"oscar"}))
def test_who_may_add_edit_and_give_out(client, everyone, licence, who):
    _as(client, everyone[who])
    allowed = who in WRITERS
    create = client.get(reverse("releases:licence_create"))
    assert create.status_code == (200 if allowed else 403)
    edit = client.post(
        reverse("releases:licence_edit", args=[licence.pk]),
        {"product": "Minecraft Education", "kind": "per_user", "seats": "4", "notice_days": "60",
         "is_active": "on"},
    )  # fmt: skip
    assert edit.status_code == (302 if allowed else 403 if who in MEMBERS else 404)
    give = client.post(reverse("releases:licence_assign", args=[licence.pk]), {"person": "Ann"})
    assert give.status_code == (302 if allowed else 403 if who in MEMBERS else 404)
    licence.refresh_from_db()
    assert (licence.seats == 4) == allowed
    assert LicenceAssignment.objects.filter(person="Ann").exists() == allowed
    imports = client.get(reverse("releases:licence_import"))
    assert imports.status_code == (200 if allowed else 403)


def test_adding_a_licence_and_its_refusals(client, rachel, school):
    _as(client, rachel)
    url = reverse("releases:licence_create")
    bad = client.post(
        url,
        {"product": "Adobe", "kind": "subscription", "seats": "", "notice_days": "60",
         "bought_on": "2026-09-01", "expires_on": "2026-08-01"},
    )  # fmt: skip
    assert bad.status_code == 400
    assert b"only a site licence may leave it blank" in bad.content
    assert b"It cannot expire before it was bought." in bad.content
    assert not Licence.objects.exists()
    nonsense = client.post(url, {"product": "X", "kind": "x", "seats": "-3", "notice_days": "z"})
    assert nonsense.status_code == 400
    good = client.post(
        url,
        {"product": "Adobe", "kind": "subscription", "seats": "25", "notice_days": "60",
         "bought_on": "2026-09-01", "expires_on": "2027-08-31", "is_active": "on"},
    )  # fmt: skip
    assert good.status_code == 302
    made = Licence.objects.get()
    assert good["Location"] == made.get_absolute_url() and made.created_by == rachel


def test_lowering_seats_below_the_holders_says_it_is_over_allocated(client, rachel, licence):
    for name in "ABC":
        services.assign(licence, rachel, {"person": name})
    _as(client, rachel)
    response = client.post(
        reverse("releases:licence_edit", args=[licence.pk]),
        {"product": licence.product, "kind": "per_user", "seats": "2", "notice_days": "60",
         "is_active": "on"},
        follow=True,
    )  # fmt: skip
    assert b"over-allocated: 3 holders for 2 seats" in response.content
    assert b"Over-allocated: 3 holders for 2 seats" in response.content


def test_giving_out_and_taking_back_on_the_page(client, rachel, fiona, licence, laptop, bella):
    _as(client, rachel)
    url = reverse("releases:licence_assign", args=[licence.pk])
    assert client.post(url, {"user": fiona.pk}).status_code == 302
    wrong = client.post(url, {"item": laptop.pk})
    assert wrong.status_code == 400 and b"per-user licence" in wrong.content
    two = client.post(url, {"person": "Ann", "user": fiona.pk})
    assert two.status_code == 400 and b"Give only one holder" in two.content
    huge = client.post(url, {"item": "99999999999999999999999"})
    assert huge.status_code == 400
    client.post(url, {"person": "Ann"})
    client.post(url, {"person": "Bob"})
    full = client.post(url, {"person": "Cat"})
    assert full.status_code == 400
    assert "All 3 seats are taken: free one or add seats." in full.content.decode()
    holder = LicenceAssignment.objects.get(person="Ann")
    remove = reverse("releases:licence_assignment_remove", args=[holder.pk])
    _as(client, bella)
    assert client.post(remove).status_code == 403
    _as(client, rachel)
    assert client.get(remove).status_code == 405
    assert client.post(remove).status_code == 302
    assert not LicenceAssignment.objects.filter(pk=holder.pk).exists()


def test_an_outsider_cannot_take_back_another_schools_holder(client, rachel, oscar, licence):
    holder = services.assign(licence, rachel, {"person": "Ann"})
    _as(client, oscar)
    remove = reverse("releases:licence_assignment_remove", args=[holder.pk])
    assert client.post(remove).status_code == 404
    assert LicenceAssignment.objects.filter(pk=holder.pk).exists()


# --- The list: filters, summary, export, query counts. ---


def _crowd(school, rachel):
    today = services.today_in(school)
    over = services.save_licence(
        school, rachel, {"product": "Over", "kind": "per_user", "seats": 2}
    )
    for name in "AB":
        services.assign(over, rachel, {"person": name})
    services.save_licence(school, rachel, {"seats": 1}, over)
    for n in range(2):
        services.save_licence(
            school, rachel,
            {"product": f"Soon {n}", "kind": "site", "expires_on": today + timedelta(days=5)},
        )  # fmt: skip
    services.save_licence(school, rachel, {"product": "Fine", "kind": "site"})


def test_the_summary_links_to_the_filtered_lists(client, school, rachel):
    _crowd(school, rachel)
    _as(client, rachel)
    page = client.get(reverse("releases:licences")).content.decode()
    assert "1 over-allocated" in page and "2 expiring" in page
    assert "?status=over_allocated" in page
    over = client.get(reverse("releases:licences") + "?status=over_allocated").content.decode()
    assert "Over" in over and "Soon 0" not in over and "Fine" not in over
    soon = client.get(reverse("releases:licences") + "?status=expiring&q=soon").content.decode()
    assert "Soon 0" in soon and "Soon 1" in soon and ">Over<" not in soon
    bad = client.get(reverse("releases:licences") + "?status=nonsense")
    assert bad.status_code == 400 and "Select a valid choice" in bad.content.decode()
    kind = client.get(reverse("releases:licences") + "?kind=per_user").content.decode()
    assert "Over" in kind and "Fine" not in kind


def test_the_export_streams_the_filtered_log(client, school, rachel, oscar):
    _crowd(school, rachel)
    Licence.objects.filter(product="Fine").update(supplier="=HYPERLINK(1)")
    _as(client, rachel)
    response = client.get(reverse("releases:licence_export") + "?status=expiring")
    assert response.status_code == 200 and response.streaming
    text = b"".join(response.streaming_content).decode()
    assert text.splitlines()[0].startswith("id,school,product")
    assert "Soon 0" in text and "Over" not in text
    everything = b"".join(client.get(reverse("releases:licence_export")).streaming_content)
    assert b"'=HYPERLINK(1)" in everything
    assert client.get(reverse("releases:licence_export") + "?status=x").status_code == 400
    _as(client, oscar)
    theirs = b"".join(client.get(reverse("releases:licence_export")).streaming_content)
    assert b"Soon" not in theirs


@pytest.mark.parametrize("schools", [1, 2])
def test_the_list_costs_the_same_however_many_rows_and_schools(
    client, school, other_school, rachel, django_assert_max_num_queries, schools
):
    if schools == 2:
        set_membership(rachel, other_school, [Role.RELEASE_MANAGER])
        services.save_licence(other_school, rachel, {"product": "Theirs", "kind": "site"})
    for n in range(30):
        lic = services.save_licence(
            school, rachel, {"product": f"Product {n:02d}", "kind": "per_user", "seats": 4}
        )
        services.assign(lic, rachel, {"person": "Ann"})
    _as(client, rachel)
    client.get(reverse("releases:licences"))  # the session, warmed
    with django_assert_max_num_queries(9):
        response = client.get(reverse("releases:licences") + "?status=under_used")
    assert response.status_code == 200 and b"Product 29" in response.content
    with django_assert_max_num_queries(9):
        client.get(reverse("releases:licences"))


def test_the_detail_page_costs_few_queries(client, rachel, licence, django_assert_max_num_queries):
    for name in "AB":
        services.assign(licence, rachel, {"person": name})
    _as(client, rachel)
    client.get(licence.get_absolute_url())
    with django_assert_max_num_queries(10):
        response = client.get(licence.get_absolute_url())
    assert b"Take it back" in response.content


# --- Import. ---


CSV = (
    "product,kind,seats,bought_on,expires_on,supplier,order_reference,notes,assigned_to\n"
    "Windows 11 Education,per device,3,2026-09-01,2027-08-31,Trust,TR-1,,ICT-01;Laptop ICT-02\n"
    "Office,per user,5,01/09/2026,31/08/2027,Trust,TR-1,,tom;Mrs Patel\n"
    "SMART Notebook,site,,,,SMART,SM-1,Every board,\n"
)


@pytest.fixture
def laptops(school):
    return [
        ConfigurationItem.objects.create(
            school=school, name=f"Laptop ICT-0{n}", kind=ItemKind.OTHER, identifier=f"ICT-0{n}"
        )
        for n in (1, 2)
    ]


def test_the_preview_writes_nothing_and_says_what_it_would_do(school, laptops, tom):
    preview = licence_import.parse(school, CSV)
    assert preview.ok, preview.errors
    assert len(preview.to_create) == 3 and not preview.to_update
    assert [len(r.holders) for r in preview.rows] == [2, 2, 0]
    assert not Licence.objects.exists()


def test_the_import_is_all_or_nothing_and_updates(school, rachel, laptops, tom, bella):
    with pytest.raises(Exception) as refused:
        licence_import.apply(school, bella, CSV)
    assert "release manager" in str(refused.value)
    assert licence_import.apply(school, rachel, CSV) == (3, 0)
    windows = Licence.objects.get(product="Windows 11 Education")
    assert windows.assignments.count() == 2 and windows.seats == 3
    office = Licence.objects.get(product="Office")
    assert {a.holder for a in office.assignments.all()} == {"Mrs Patel", str(tom)}
    again = CSV.replace("per device,3,", "per device,10,").replace(
        "Trust,TR-1,,ICT", "Trust2,TR-1,,ICT"
    )
    assert licence_import.apply(school, rachel, again) == (0, 3)
    windows.refresh_from_db()
    assert windows.seats == 10 and windows.supplier == "Trust2"
    assert windows.assignments.count() == 2  # the holders it had stay, once
    broken = again.replace("Office,per user,5", "Office,per user,1") + "New one,per user,2,,,,,,\n"
    with pytest.raises(Exception) as refused:
        licence_import.apply(school, rachel, broken)
    assert "nothing was imported" in str(refused.value)
    assert not Licence.objects.filter(product="New one").exists()
    assert Licence.objects.get(product="Office").seats == 5


@pytest.mark.parametrize(
    "text,column",
    [
        ("product,kind\nX,lifetime\n", "kind"),
        ("product,kind,seats\nX,per user,\n", "seats"),
        ("product,kind,seats\nX,per user,many\n", "seats"),
        ("product,kind,seats,expires_on\nX,site,,31/02/2027\n", "expires_on"),
        ("product,kind,seats,bought_on,expires_on\nX,site,,2027-01-02,2027-01-01\n", "expires_on"),
        ("product,kind,seats,assigned_to\nX,per device,2,Nowhere\n", "assigned_to"),
        ("product,kind,seats,assigned_to\nX,per device,1,ICT-01;ICT-02\n", "assigned_to"),
        ("product,kind,seats,assigned_to\nX,per user,5,ICT-01\n", "assigned_to"),
        ("product,kind,order_reference\nX,site,A\nX,site,A\n", "order_reference"),
        (",kind\nX,site\n", ""),
        ("product,kind,colour\nX,site,red\n", ""),
        ("seats\n3\n", ""),
        ("product,kind\n", ""),
        ("", ""),
    ],
)
def test_problems_are_listed_by_row_and_column(school, laptops, text, column):
    preview = licence_import.parse(school, text)
    assert not preview.ok
    assert column in {e.field for e in preview.errors}


def test_an_update_leaves_the_columns_the_file_does_not_have(school, rachel):
    licence_import.apply(school, rachel, CSV.replace(",ICT-01;Laptop ICT-02", ","))
    text = "product,kind,order_reference,supplier\nWindows 11 Education,per device,TR-1,Trust3\n"
    preview = licence_import.parse(school, text)
    assert preview.ok, preview.errors
    assert licence_import.apply(school, rachel, text) == (0, 1)
    windows = Licence.objects.get(product="Windows 11 Education")
    assert windows.supplier == "Trust3" and windows.seats == 3
    assert str(windows.expires_on) == "2027-08-31"


def test_too_many_rows_are_refused(school):
    text = "product,kind\n" + "".join(f"P{n},site\n" for n in range(licence_import.MOST_ROWS + 1))
    preview = licence_import.parse(school, text)
    assert not preview.ok and "more than 2,000" in preview.errors[0].message


def test_the_import_page_previews_then_imports(client, school, rachel, laptops, tom):
    _as(client, rachel)
    url = reverse("releases:licence_import")
    upload = SimpleUploadedFile("licences.csv", CSV.encode(), content_type="text/csv")
    preview = client.post(url, {"action": "preview", "file": upload})
    assert preview.status_code == 200 and b"Import 3 licences" in preview.content
    assert not Licence.objects.exists()
    done = client.post(url, {"action": "import", "csv": CSV, "school": school.slug})
    assert done.status_code == 302 and Licence.objects.count() == 3
    bad = SimpleUploadedFile("l.csv", b"product,kind\nX,odd\n", content_type="text/csv")
    shown = client.post(url, {"action": "preview", "file": bad})
    assert b"Give the kind" in shown.content and b"Import 1" not in shown.content
    refused = client.post(url, {"action": "import", "csv": "product,kind\nX,odd\n"})
    assert refused.status_code == 400 and Licence.objects.count() == 3
    binary = SimpleUploadedFile("l.csv", b"\xff\xfe\x00", content_type="text/csv")
    assert client.post(url, {"action": "preview", "file": binary}).status_code == 400


# --- The API. ---


def api(user=None):
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


def test_the_api_lists_with_the_figures_and_filters(school, rachel, tom, oscar):
    _crowd(school, rachel)
    rows = api(tom).get(API).json()["results"]
    by = {r["product"]: r for r in rows}
    assert by["Over"]["used"] == 2 and by["Over"]["over_allocated"] and by["Over"]["free"] == 0
    assert by["Soon 0"]["expiring"] and not by["Fine"]["expiring"] and by["Fine"]["free"] is None
    over = api(tom).get(API, {"status": "over_allocated"}).json()["results"]
    assert [r["product"] for r in over] == ["Over"]
    assert api(tom).get(API, {"status": "bad"}).status_code == 400
    assert api(tom).get(API, {"kind": "bad"}).status_code == 400
    assert api(oscar).get(API).json()["results"] == []
    assert api().get(API).status_code in (401, 403)
    one = Licence.objects.get(product="Over")
    assert api(oscar).get(f"{API}{one.pk}/").status_code == 404
    assert api(tom).get(f"{API}{one.pk}/").json()["over_allocated"] is True


@pytest.mark.parametrize("who", sorted(MEMBERS | {"oscar"}))
def test_the_api_permission_matrix(everyone, school, licence, who):
    client = api(everyone[who])
    created = client.post(
        API, {"school": school.slug, "product": "SIMS", "kind": "site"}, format="json"
    )
    edited = client.patch(f"{API}{licence.pk}/", {"seats": 9}, format="json")
    given = client.post(f"{API}{licence.pk}/assignments/", {"person": "Ann"}, format="json")
    listed = client.get(f"{API}{licence.pk}/assignments/")
    if who in WRITERS:
        assert (created.status_code, edited.status_code, given.status_code) == (201, 200, 201)
        holder = given.json()
        assert holder["person"] == "Ann" and holder["holder"] == "Ann"
        assert listed.json()[0]["id"] == holder["id"]
        gone = client.delete(f"/api/v1/licence-assignments/{holder['id']}/")
        assert gone.status_code == 204 and not LicenceAssignment.objects.exists()
    elif who in MEMBERS:
        assert (created.status_code, edited.status_code, given.status_code) == (403, 403, 403)
        assert listed.status_code == 200
    else:
        assert created.status_code == 400 and "school" in created.json()
        assert (edited.status_code, given.status_code, listed.status_code) == (404, 404, 404)


def test_the_api_refuses_bad_input(school, rachel, licence, fiona, laptop, oscar):
    client = api(rachel)
    for body, field in [
        ({"school": school.slug, "product": "X", "kind": "per_user"}, "seats"),
        ({"school": school.slug, "product": "X", "kind": "odd", "seats": 2}, "kind"),
        ({"school": school.slug, "product": "X", "kind": "site", "seats": "2"}, "seats"),
        ({"school": school.slug, "product": "X", "kind": "site", "used": 3}, "used"),
        ({"school": school.slug, "product": "X", "kind": "site", "colour": 1}, "colour"),
        ({"school": school.slug, "product": "X", "kind": "site", "bought_on": "2027-02-01",
          "expires_on": "2027-01-01"}, "expires_on"),
        ({"school": "hillside", "product": "X", "kind": "site"}, "school"),
    ]:  # fmt: skip
        response = client.post(API, body, format="json")
        assert response.status_code == 400, (body, response.json())
        assert field in response.json(), (body, response.json())
    assert client.patch(f"{API}{licence.pk}/", {"school": "x"}, format="json").status_code == 400
    holders = f"{API}{licence.pk}/assignments/"
    for body, field in [
        ({"item": laptop.pk}, "item"),
        ({"user": "nobody"}, "user"),
        ({"user": oscar.username}, "user"),
        ({"person": 3}, "person"),
        ({"item": "x"}, "item"),
        ({"person": "A", "user": fiona.username}, "person"),
        ({}, "person"),
    ]:
        response = client.post(holders, body, format="json")
        assert response.status_code == 400, (body, response.json())
        assert field in response.json(), (body, response.json())
    for name in "ABC":
        assert client.post(holders, {"person": name}, format="json").status_code == 201
    full = client.post(holders, {"user": fiona.username}, format="json")
    assert full.status_code == 400
    assert full.json()["detail"] == "All 3 seats are taken: free one or add seats."
    lowered = client.patch(f"{API}{licence.pk}/", {"seats": 2}, format="json")
    assert lowered.status_code == 200 and lowered.json()["over_allocated"] is True
    assert client.delete("/api/v1/licence-assignments/999999/").status_code == 404
    assert client.get(f"{API}999999999999999999999/").status_code == 404


def test_the_api_list_costs_the_same_for_more_rows(school, rachel, django_assert_max_num_queries):
    for n in range(25):
        lic = services.save_licence(
            school, rachel, {"product": f"P{n:02d}", "kind": "per_user", "seats": 4}
        )
        services.assign(lic, rachel, {"person": "Ann"})
    client = api(rachel)
    with django_assert_max_num_queries(10):
        response = client.get(API, {"status": "under_used"})
    assert response.status_code == 200 and response.json()["count"] == 25


def test_ids_beyond_any_row_are_not_found(client, rachel):
    _as(client, rachel)
    huge = "99999999999999999999999"
    assert client.get(f"/releases/licences/{huge}/").status_code == 404
    assert client.get(f"/releases/licences/{huge}/edit/").status_code == 404
    assert client.post(f"/releases/licences/{huge}/assign/", {"person": "A"}).status_code == 404
    assert client.post(f"/releases/licences/assignments/{huge}/remove/").status_code == 404
    assert api(rachel).get(f"{API}{huge}/").status_code == 404
    assert api(rachel).delete(f"/api/v1/licence-assignments/{huge}/").status_code == 404
