"""An RFC names the configuration items it touches; closing it records what changed on each.

Through the RFC pages and the RFC API: which items may be named and when, the history
event an edit of the items writes, and the per-item notes taken on closing (FITS step 9).
"""

from __future__ import annotations

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from changedesk.accounts.models import User
from changedesk.changes.choices import EventKind
from changedesk.changes.items import set_change_items
from changedesk.changes.models import Change, ChangeItem
from changedesk.changes.services import create_change, update_change
from changedesk.changes.workflow import perform
from changedesk.configuration.models import ConfigurationItem
from changedesk.configuration.services import create_item
from changedesk.conftest import REQUEST, advance, plan_data
from changedesk.lib.errors import InvalidAction, NotPermitted

pytestmark = pytest.mark.django_db

CLOSE = {"records_updated": True, "caused_incidents": False, "users_informed": True}


@pytest.fixture
def items(school, team) -> dict[str, ConfigurationItem]:
    sam = team["sam"]
    return {
        "switch": create_item(school, sam, {"name": "ICT suite 2 switch", "identifier": "SW-02"}),
        "mis": create_item(school, sam, {"name": "MIS server", "kind": "server"}),
        "wifi": create_item(school, sam, {"name": "Wi-Fi", "identifier": "WIFI"}),
    }


@pytest.fixture
def elsewhere(other_school, oscar) -> ConfigurationItem:
    return create_item(other_school, oscar, {"name": "Hillside server"})


def named(change: Change) -> set[str]:
    return {link.item.name for link in ChangeItem.objects.filter(change=change)}


def item_events(change: Change) -> list:
    return [e for e in change.events.order_by("sequence") if e.kind == EventKind.EDIT]


def api(user: User | None = None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_login(user)
    return client


# --- Naming items on the RFC form. ---


def test_the_originator_names_items_when_raising_an_rfc(client, team, items):
    client.force_login(team["olivia"])
    form = client.get(reverse("changes:create")).content.decode()
    assert "ICT suite 2 switch (SW-02)" in form and "MIS server" in form
    response = client.post(
        reverse("changes:create"),
        {**REQUEST, "initial_approver": team["ian"].pk, "items": [items["switch"].pk]},
    )
    assert response.status_code == 302
    change = Change.objects.get()
    assert named(change) == {"ICT suite 2 switch"}
    # One event, "Created", names them: no "Edited" right after it.
    assert item_events(change) == []
    [event] = change.events.all()
    assert event.kind == EventKind.CREATE
    assert {"field": "items", "before": [], "after": ["SW-02"]} in event.diffs
    assert event.actor == team["olivia"]


def test_editing_the_items_records_before_and_after(client, draft, team, items):
    set_change_items(draft, [items["switch"]], team["olivia"])
    client.force_login(team["olivia"])
    draft.refresh_from_db()
    response = client.post(
        reverse("changes:edit", args=[draft.pk]),
        {**REQUEST, "version": draft.version, "items": [items["mis"].pk, items["wifi"].pk],
         **{name: getattr(draft, name).pk for name in
            ("initial_approver", "peer_reviewer", "final_approver", "implementer")},
         "comment": "Wi-Fi controller too"},
    )  # fmt: skip
    assert response.status_code == 302
    assert named(draft) == {"MIS server", "Wi-Fi"}
    last = item_events(draft)[-1]
    # Named by identifier, or by name when an item has none.
    assert last.diffs == [{"field": "items", "before": ["SW-02"], "after": ["MIS server", "WIFI"]}]
    assert last.comment == "Wi-Fi controller too"
    page = client.get(draft.get_absolute_url()).content.decode()
    assert "MIS server" in page and "SW-02, " not in page
    assert "MIS server, WIFI" in page  # the history shows the lists, not Python reprs


def test_an_edit_that_changes_nothing_writes_no_event(draft, team, items):
    set_change_items(draft, [items["switch"]], team["olivia"])
    events = draft.events.count()
    set_change_items(draft, [items["switch"]], team["olivia"])
    assert draft.events.count() == events


def test_items_are_offered_only_while_the_plan_may_change(client, draft, team, items):
    client.force_login(team["olivia"])
    change = advance(draft, team, "planning")
    assert 'name="items"' in client.get(reverse("changes:edit", args=[change.pk])).content.decode()
    change = advance(change, team, "approved")
    # Approved: only the implementer may still be changed; the items went with the plan.
    page = client.get(reverse("changes:edit", args=[change.pk])).content.decode()
    assert 'name="items"' not in page
    with pytest.raises(InvalidAction) as refused:
        set_change_items(change, [items["mis"]], team["olivia"])
    assert "items" in refused.value.fields
    assert named(change) == set()


def test_an_emergency_changes_items_may_be_named_while_its_plan_is_completed(
    client, team, school, items
):
    olivia = team["olivia"]
    change = create_change(
        school,
        olivia,
        {**REQUEST, "is_emergency": True, "emergency_justification": "The switch is dead.",
         "initial_approver": team["ian"]},
    )  # fmt: skip
    perform(change.pk, "submit", olivia)
    perform(change.pk, "approve", team["ian"])
    change.refresh_from_db()
    assert change.state == "approved" and not change.ratified
    client.force_login(olivia)
    response = client.post(
        reverse("changes:edit", args=[change.pk]),
        {**{k: v.strftime("%Y-%m-%dT%H:%M") if hasattr(v, "strftime") else v
            for k, v in plan_data().items()},
         "final_approver": team["fiona"].pk, "peer_reviewer": team["peter"].pk,
         "version": change.version, "items": [items["switch"].pk]},
    )  # fmt: skip
    assert response.status_code == 302, response.content.decode()[:2000]
    assert named(change) == {"ICT suite 2 switch"}


def test_only_the_originator_names_items(draft, team, items):
    with pytest.raises(NotPermitted):
        set_change_items(draft, [items["switch"]], team["ian"])
    assert named(draft) == set()


def test_an_item_of_another_school_cannot_be_named(client, draft, team, elsewhere):
    client.force_login(team["olivia"])
    response = client.post(
        reverse("changes:edit", args=[draft.pk]),
        {**REQUEST, "version": draft.version, "items": [elsewhere.pk]},
    )
    assert response.status_code == 400
    assert named(draft) == set()
    with pytest.raises(InvalidAction):
        set_change_items(draft, [elsewhere], team["olivia"])


def test_a_retired_item_stays_on_an_rfc_but_cannot_be_added(client, draft, team, items):
    olivia = team["olivia"]
    set_change_items(draft, [items["switch"]], olivia)
    items["switch"].is_active = False
    items["switch"].save()
    items["mis"].is_active = False
    items["mis"].save()
    client.force_login(olivia)
    form = client.get(reverse("changes:edit", args=[draft.pk])).content.decode()
    assert "ICT suite 2 switch (SW-02) (retired)" in form
    assert "MIS server" not in form
    with pytest.raises(InvalidAction) as refused:
        set_change_items(draft, [items["switch"], items["mis"]], olivia)
    assert "retired" in refused.value.fields["items"]
    # Another edit of the RFC keeps the retired item it already names.
    draft.refresh_from_db()
    response = client.post(
        reverse("changes:edit", args=[draft.pk]),
        {**REQUEST, "title": "Renamed", "version": draft.version, "items": [items["switch"].pk]},
    )
    assert response.status_code == 302
    assert named(draft) == {"ICT suite 2 switch"}


def test_the_rfc_page_and_its_print_list_the_items(client, draft, team, items):
    set_change_items(draft, [items["switch"], items["mis"]], team["olivia"])
    client.force_login(team["ian"])
    page = client.get(draft.get_absolute_url()).content.decode()
    assert items["switch"].get_absolute_url() in page
    assert "MIS server" in page
    printed = client.get(reverse("changes:print", args=[draft.pk])).content.decode()
    assert "ICT suite 2 switch (SW-02); MIS server" in printed


# --- Closing: what changed on each item (FITS step 9). ---


def _implemented(draft: Change, team: dict[str, User], items: dict) -> Change:
    set_change_items(draft, [items["switch"], items["mis"]], team["olivia"])
    return advance(draft, team, "implemented")


def test_closing_from_the_page_records_what_changed_on_each_item(client, draft, team, items):
    change = _implemented(draft, team, items)
    client.force_login(team["olivia"])
    page = client.get(change.get_absolute_url()).content.decode()
    switch_field = f'name="item_{items["switch"].pk}"'
    assert switch_field in page
    assert "What changed on ICT suite 2 switch" in page
    response = client.post(
        reverse("changes:act", args=[change.pk]),
        {
            "action": "close",
            "version": change.version,
            "records_updated": "yes",
            "caused_incidents": "no",
            "users_informed": "yes",
            f"item_{items['switch'].pk}": "Replaced with the spare; firmware 3.2.",
            f"item_{items['mis'].pk}": "   ",
        },
    )
    assert response.status_code == 302
    change.refresh_from_db()
    assert change.state == "closed"
    switch_link = ChangeItem.objects.get(change=change, item=items["switch"])
    assert switch_link.what_changed == "Replaced with the spare; firmware 3.2."
    assert switch_link.recorded_by == team["olivia"]
    assert switch_link.recorded_at is not None
    mis_link = ChangeItem.objects.get(change=change, item=items["mis"])
    assert (mis_link.what_changed, mis_link.recorded_at) == ("", None)
    # The item's page lists the change and what it changed.
    item_page = client.get(items["switch"].get_absolute_url()).content.decode()
    assert change.reference in item_page
    assert "Replaced with the spare; firmware 3.2." in item_page
    printed = client.get(reverse("changes:print", args=[change.pk])).content.decode()
    assert "What changed on ICT suite 2 switch" in printed


def test_a_refused_close_records_no_notes(client, draft, team, items):
    change = _implemented(draft, team, items)
    client.force_login(team["olivia"])
    response = client.post(
        reverse("changes:act", args=[change.pk]),
        {
            "action": "close",
            "version": change.version,
            "records_updated": "no",  # the workflow refuses this
            "caused_incidents": "no",
            "users_informed": "yes",
            f"item_{items['switch'].pk}": "Replaced",
        },
    )
    assert response.status_code == 400
    change.refresh_from_db()
    assert change.state == "implemented"
    assert ChangeItem.objects.get(change=change, item=items["switch"]).what_changed == ""


def test_closing_through_the_api_records_item_changes(draft, team, items):
    change = _implemented(draft, team, items)
    response = api(team["olivia"]).post(
        f"/api/v1/changes/{change.pk}/actions/",
        {"action": "close", **CLOSE, "item_changes": {str(items["mis"].pk): "Patched to 9.1"}},
    )
    assert response.status_code == 200, response.json()
    assert response.json()["state"] == "closed"
    link = ChangeItem.objects.get(change=change, item=items["mis"])
    assert (link.what_changed, link.recorded_by) == ("Patched to 9.1", team["olivia"])


def test_the_notes_are_in_the_close_event_so_the_hash_chain_covers_them(draft, team, items):
    from changedesk.changes.history import verify_chain

    change = _implemented(draft, team, items)
    api(team["olivia"]).post(
        f"/api/v1/changes/{change.pk}/actions/",
        {"action": "close", **CLOSE, "item_changes": {str(items["mis"].pk): "Patched to 9.1"}},
    )
    close = change.events.get(kind="close")
    assert close.data["item_changes"] == {str(items["mis"].pk): "Patched to 9.1"}
    events = list(change.events.order_by("sequence"))
    assert verify_chain(change, events) is None
    # A note rewritten in the database no longer matches the event's hash.
    tampered = events[-1]
    tampered.data = {**tampered.data, "item_changes": {str(items["mis"].pk): "Nothing"}}
    assert tampered.compute_hash() != tampered.hash


@pytest.mark.parametrize("key", ["unknown", "other", "word"])
def test_closing_with_notes_for_items_the_rfc_does_not_name_is_refused(
    draft, team, items, elsewhere, key
):
    change = _implemented(draft, team, items)
    bad = {"unknown": "999999", "other": str(elsewhere.pk), "word": "switch"}[key]
    response = api(team["olivia"]).post(
        f"/api/v1/changes/{change.pk}/actions/",
        {"action": "close", **CLOSE, "item_changes": {bad: "Something"}},
    )
    assert response.status_code == 400
    assert "item_changes" in response.json()
    change.refresh_from_db()
    assert change.state == "implemented"  # the close was undone with the notes


def test_item_changes_go_only_with_the_close_action(draft, team, items):
    set_change_items(draft, [items["switch"]], team["olivia"])
    response = api(team["olivia"]).post(
        f"/api/v1/changes/{draft.pk}/actions/",
        {"action": "submit", "item_changes": {str(items["switch"].pk): "x"}},
    )
    assert response.status_code == 400
    assert "item_changes" in response.json()
    draft.refresh_from_db()
    assert draft.state == "draft"


# --- The RFC API's `items`. ---


def test_the_api_shows_and_sets_an_rfcs_items(draft, team, items):
    client = api(team["olivia"])
    assert client.get(f"/api/v1/changes/{draft.pk}/").json()["items"] == []
    response = client.patch(
        f"/api/v1/changes/{draft.pk}/",
        {"items": [items["wifi"].pk, items["switch"].pk], "comment": "Both go down"},
    )
    assert response.status_code == 200, response.json()
    assert item_events(draft)[-1].comment == "Both go down"
    assert response.json()["items"] == sorted([items["wifi"].pk, items["switch"].pk])
    assert named(draft) == {"Wi-Fi", "ICT suite 2 switch"}
    assert item_events(draft)[-1].diffs[0]["after"] == ["SW-02", "WIFI"]
    listed = client.get("/api/v1/changes/").json()["results"][0]
    assert listed["items"] == response.json()["items"]


def test_the_api_names_items_when_raising_an_rfc(team, school, items):
    response = api(team["olivia"]).post(
        "/api/v1/changes/", {"school": "greenfield", **REQUEST, "items": [items["mis"].pk]}
    )
    assert response.status_code == 201, response.json()
    assert response.json()["items"] == [items["mis"].pk]
    change = Change.objects.get(pk=response.json()["id"])
    assert [e.kind for e in change.events.all()] == [EventKind.CREATE]


def test_raising_an_rfc_with_an_item_it_cannot_use_writes_nothing(team, school, items, elsewhere):
    response = api(team["olivia"]).post(
        "/api/v1/changes/", {"school": "greenfield", **REQUEST, "items": [elsewhere.pk]}
    )
    assert response.status_code == 400
    assert "items" in response.json()
    assert not Change.objects.exists()


@pytest.mark.parametrize("value", [["1"], "3", [True], [0], [-1], {"id": 1}, [2**70], "elsewhere"])
def test_the_api_refuses_items_it_cannot_use(draft, team, items, elsewhere, value):
    if value == "elsewhere":
        value = [elsewhere.pk]
    response = api(team["olivia"]).patch(f"/api/v1/changes/{draft.pk}/", {"items": value})
    assert response.status_code == 400
    assert "items" in response.json()
    assert named(draft) == set()


def test_the_api_refuses_items_once_the_plan_is_locked(draft, team, items):
    change = advance(draft, team, "awaiting_initial_approval")
    response = api(team["olivia"]).patch(
        f"/api/v1/changes/{change.pk}/", {"items": [items["switch"].pk]}
    )
    assert response.status_code == 400
    assert "items" in response.json()


def test_the_api_lets_only_the_originator_set_items(draft, team, items):
    response = api(team["ian"]).patch(
        f"/api/v1/changes/{draft.pk}/", {"items": [items["switch"].pk]}
    )
    assert response.status_code == 403
    assert named(draft) == set()


def test_a_failed_field_edit_names_no_items(draft, team, items):
    # Fields and items are one edit: when the fields are refused, the items are not saved.
    update_change(draft.pk, team["olivia"], {"title": "Still a draft"})
    response = api(team["olivia"]).patch(
        f"/api/v1/changes/{draft.pk}/",
        {"items": [items["switch"].pk], "initial_approver": "peter"},
    )
    assert response.status_code == 400
    assert named(draft) == set()
