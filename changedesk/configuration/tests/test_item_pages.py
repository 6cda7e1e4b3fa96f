"""The item pages: who may see and change what, the forms, retiring, and query counts."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from changedesk.accounts.choices import Role
from changedesk.accounts.services import set_membership
from changedesk.changes.items import set_change_items
from changedesk.changes.models import ChangeItem
from changedesk.changes.services import create_change
from changedesk.configuration.models import ConfigurationItem
from changedesk.configuration.services import create_item
from changedesk.configuration.tests.conftest import make_items
from changedesk.conftest import REQUEST

pytestmark = pytest.mark.django_db


def signed_in(client, user):
    client.force_login(user)
    return client


def page_urls(item) -> list[str]:
    return [
        reverse("configuration:list"),
        reverse("configuration:create"),
        reverse("configuration:detail", args=[item.pk]),
        reverse("configuration:edit", args=[item.pk]),
        reverse("configuration:import", args=[item.school.slug]),
    ]


def test_it_sends_anonymous_visitors_to_sign_in(client, switch):
    for url in page_urls(switch):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("accounts:login")), url
    response = client.post(reverse("configuration:status", args=[switch.pk]), {"action": "retire"})
    assert response.status_code == 302
    switch.refresh_from_db()
    assert switch.is_active


def test_it_hides_another_schools_items_from_an_outsider(client, switch, oscar):
    signed_in(client, oscar)
    for name in ("detail", "edit"):
        url = reverse(f"configuration:{name}", args=[switch.pk])
        assert client.get(url).status_code == 404, url
    status_url = reverse("configuration:status", args=[switch.pk])
    assert client.post(status_url, {"action": "retire"}).status_code == 404
    assert client.get(reverse("configuration:import", args=["greenfield"])).status_code == 404
    listing = client.get(reverse("configuration:list"))
    assert listing.status_code == 200
    assert b"ICT suite 2 switch" not in listing.content
    # An originator elsewhere may add items, but only to their own school.
    response = client.post(
        reverse("configuration:create") + "?school=greenfield", {"name": "Sneaky", "kind": "other"}
    )
    assert response.status_code == 404
    assert not ConfigurationItem.objects.filter(name="Sneaky").exists()


@pytest.mark.parametrize(
    ("persona", "reads", "manages", "imports"),
    [
        ("vera", True, False, False),  # viewer
        ("ian", True, False, False),  # initial approver
        ("olivia", True, True, False),  # originator
        ("sam", True, True, True),  # school administrator
    ],
)
def test_each_role_may_do_what_it_should(
    client, request, switch, team, vera, persona, reads, manages, imports
):
    user = request.getfixturevalue(persona)
    signed_in(client, user)
    assert client.get(reverse("configuration:list")).status_code == 200
    detail = client.get(reverse("configuration:detail", args=[switch.pk]))
    assert detail.status_code == 200
    assert (b">Edit</a>" in detail.content) is manages
    expected = 200 if manages else 403
    assert client.get(reverse("configuration:edit", args=[switch.pk])).status_code == expected
    assert client.get(reverse("configuration:create")).status_code == expected
    response = client.post(
        reverse("configuration:edit", args=[switch.pk]),
        {"name": "Renamed switch", "kind": "network_device", "users_affected": 30},
    )
    assert response.status_code == (302 if manages else 403)
    switch.refresh_from_db()
    assert (switch.name == "Renamed switch") is manages
    importing = client.get(reverse("configuration:import", args=["greenfield"]))
    assert importing.status_code == (200 if imports else 403)


def test_an_originator_adds_an_item_and_errors_go_next_to_fields(client, olivia, switch):
    signed_in(client, olivia)
    url = reverse("configuration:create")
    response = client.post(
        url,
        {"name": "", "kind": "server", "identifier": "sw-02", "users_affected": "-3"},
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "This field is required" in page
    response = client.post(url, {"name": "MIS server", "kind": "server", "identifier": "sw-02"})
    assert response.status_code == 400
    assert "ICT suite 2 switch already has the identifier SW-02" in response.content.decode()
    response = client.post(
        url,
        {
            "name": "MIS server",
            "kind": "server",
            "identifier": "SRV-MIS",
            "location": "Server room",
            "owner": olivia.pk,
            "users_affected": "120",
            "notes": "Runs the school's MIS.",
        },
    )
    item = ConfigurationItem.objects.get(identifier="SRV-MIS")
    assert response.status_code == 302
    assert response["Location"] == item.get_absolute_url()
    assert (item.owner, item.users_affected, item.kind) == (olivia, 120, "server")


def test_the_owner_must_belong_to_the_school(client, sam, oscar, switch):
    signed_in(client, sam)
    response = client.post(
        reverse("configuration:edit", args=[switch.pk]),
        {"name": "Switch", "kind": "network_device", "users_affected": 1, "owner": oscar.pk},
    )
    assert response.status_code == 400
    switch.refresh_from_db()
    assert switch.owner is None


def test_a_member_of_two_schools_chooses_where_the_item_goes(client, olivia, other_school):
    set_membership(olivia, other_school, [Role.SCHOOL_ADMIN])
    signed_in(client, olivia)
    chooser = client.get(reverse("configuration:create"))
    assert b"Greenfield Primary" in chooser.content and b"Hillside Academy" in chooser.content
    response = client.post(
        reverse("configuration:create") + "?school=hillside", {"name": "Wi-Fi", "kind": "service"}
    )
    assert response.status_code == 302
    assert ConfigurationItem.objects.get(name="Wi-Fi").school == other_school


def test_the_list_filters_by_school_kind_and_text(client, team, switch, school, other_school):
    sam = team["sam"]
    set_membership(sam, other_school, [Role.SCHOOL_ADMIN])
    create_item(school, sam, {"name": "MIS", "kind": "service", "notes": "Pupil records"})
    create_item(other_school, sam, {"name": "Hillside Wi-Fi", "kind": "service"})
    retired = create_item(school, sam, {"name": "Old fax", "kind": "other"})
    retired.is_active = False
    retired.save()
    signed_in(client, sam)

    def names(query: str) -> list[str]:
        response = client.get(reverse("configuration:list") + query)
        assert response.status_code == 200
        return [item.name for item in response.context["page"].object_list]

    assert names("") == ["ICT suite 2 switch", "MIS", "Hillside Wi-Fi"]
    assert names("?school=hillside") == ["Hillside Wi-Fi"]
    assert names("?kind=service") == ["MIS", "Hillside Wi-Fi"]
    assert names("?q=pupil") == ["MIS"]
    assert names("?q=sw-02") == ["ICT suite 2 switch"]
    assert names("?status=retired") == ["Old fax"]
    assert "Old fax" in names("?status=all")
    assert names("?kind=nonsense") == []


def test_the_list_is_paginated(client, sam, school):
    make_items(school, sam, 30)
    signed_in(client, sam)
    first = client.get(reverse("configuration:list"))
    assert len(first.context["page"].object_list) == 25
    second = client.get(reverse("configuration:list") + "?page=2")
    assert len(second.context["page"].object_list) == 5


def test_an_item_in_use_is_retired_not_deleted(client, team, switch, school):
    change = create_change(school, team["olivia"], dict(REQUEST))
    set_change_items(change, [switch], team["olivia"])
    signed_in(client, team["sam"])
    url = reverse("configuration:status", args=[switch.pk])
    response = client.post(url, {"action": "delete"}, follow=True)
    assert "retire it instead" in response.content.decode()
    assert ConfigurationItem.objects.filter(pk=switch.pk).exists()
    client.post(url, {"action": "retire"})
    switch.refresh_from_db()
    assert not switch.is_active
    detail = client.get(reverse("configuration:detail", args=[switch.pk]))
    assert b"Retired" in detail.content
    assert change.reference.encode() in detail.content
    client.post(url, {"action": "reinstate"})
    switch.refresh_from_db()
    assert switch.is_active


def test_an_unused_item_may_be_deleted(client, sam, switch):
    signed_in(client, sam)
    response = client.post(reverse("configuration:status", args=[switch.pk]), {"action": "delete"})
    assert response.status_code == 302
    assert not ConfigurationItem.objects.filter(pk=switch.pk).exists()


def test_a_viewer_cannot_retire(client, vera, switch):
    signed_in(client, vera)
    response = client.post(reverse("configuration:status", args=[switch.pk]), {"action": "retire"})
    assert response.status_code == 403
    switch.refresh_from_db()
    assert switch.is_active


def test_the_item_page_lists_the_changes_that_touched_it_newest_first(client, team, switch, school):
    olivia = team["olivia"]
    older = create_change(school, olivia, {**REQUEST, "title": "Older change"})
    newer = create_change(school, olivia, {**REQUEST, "title": "Newer change"})
    untouched = create_change(school, olivia, {**REQUEST, "title": "Unrelated change"})
    for change in (older, newer):
        set_change_items(change, [switch], olivia)
    signed_in(client, team["ian"])
    page = client.get(reverse("configuration:detail", args=[switch.pk])).content.decode()
    assert page.index("Newer change") < page.index("Older change")
    assert untouched.title not in page


# --- Query counts: the cost of a page does not grow with its rows. ---


def _count(client, url: str) -> int:
    client.get(url)  # the session is warm
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def test_the_list_costs_the_same_for_10_or_200_items(client, sam, school):
    signed_in(client, sam)
    make_items(school, sam, 10)
    url = reverse("configuration:list") + "?status=all"
    few = _count(client, url)
    make_items(school, sam, 190, prefix="LAPTOP")
    assert _count(client, url) == few


def test_the_item_page_costs_the_same_for_10_or_200_changes(client, team, switch, school):
    olivia = team["olivia"]

    def touch(count: int) -> None:
        changes = [create_change(school, olivia, dict(REQUEST)) for _ in range(count)]
        ChangeItem.objects.bulk_create([ChangeItem(change=c, item=switch) for c in changes])

    touch(10)
    signed_in(client, team["sam"])
    url = reverse("configuration:detail", args=[switch.pk])
    few = _count(client, url)
    touch(190)
    assert _count(client, url) == few


def test_users_affected_beyond_the_most_says_so_on_the_form(client, olivia):
    signed_in(client, olivia)
    response = client.post(
        reverse("configuration:create"),
        {"name": "MIS server", "kind": "server", "users_affected": "1" + "0" * 30},
    )
    assert response.status_code == 400
    assert "It must be at most 2,147,483,647." in response.content.decode()
