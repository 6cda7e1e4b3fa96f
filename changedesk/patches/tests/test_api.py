"""Patch management in the REST API: the permission matrix, each endpoint's round trip (a
patch taken through its whole cycle, its RFC's outcome deploying it), the patch run, the
compliance report, the deadlines, the CSV export, bad input, and the list's query count."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from changedesk.accounts.choices import Role
from changedesk.accounts.services import set_membership
from changedesk.changes.models import Change
from changedesk.changes.services import create_change
from changedesk.changes.workflow import perform as perform_change
from changedesk.configuration.models import ConfigurationItem
from changedesk.conftest import REQUEST, advance, member
from changedesk.patches import compliance, services, workflow
from changedesk.patches.models import (
    Installation,
    Patch,
    PatchCheck,
    PatchEvent,
    PatchPolicy,
    Source,
    Vendor,
    today_in,
)
from changedesk.patches.tests.conftest import new_patch, take
from changedesk.standard import services as standard
from changedesk.standard.tests.conftest import CONTENT, approve

pytestmark = pytest.mark.django_db


def _items(school):
    """Every item of the school: an RFC deploying patches names what they apply to."""
    from changedesk.configuration.models import ConfigurationItem

    return list(ConfigurationItem.objects.filter(school=school))


PATCHES = "/api/v1/patches/"
VENDORS = "/api/v1/vendors/"
SOURCES = "/api/v1/vendor-sources/"
POLICIES = "/api/v1/patch-policies/"
RUN = f"{PATCHES}run/"
COMPLIANCE = f"{PATCHES}compliance/"
EXPORT = f"{PATCHES}export/"
PATCH_FIELDS = {
    "id", "url", "school", "vendor", "vendor_name", "product", "title", "reference", "cves",
    "release_date", "severity", "vendor_severity", "severity_confirmed", "link", "description",
    "items", "state", "due_on", "overdue", "days_left", "reason", "defer_until", "change",
    "change_reference", "deployed_on", "on_time", "created_at", "updated_at", "actions",
}  # fmt: skip
SOURCE_STATUS = {
    "id", "kind", "location", "product", "is_active", "state", "error", "failures",
    "checked_at", "succeeded_at", "failing_since", "next_check_at", "entries_found",
}  # fmt: skip
FEED = "https://updates.example.com/security.xml"


def client_for(user=None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


def detail(patch: Patch, what: str = "") -> str:
    return f"{PATCHES}{patch.pk}/" + (f"{what}/" if what else "")


def window(days: int = 8, hour: int = 18):
    """A start the school calendar accepts (as the standard changes' tests plan theirs)."""
    return (timezone.now() + timedelta(days=days)).replace(
        hour=hour, minute=0, second=0, microsecond=0
    )


def ago(school, days: int) -> str:
    return (today_in(school) - timedelta(days=days)).isoformat()


def act(user, patch: Patch, body: dict):
    return client_for(user).post(detail(patch, "actions"), body)


@pytest.fixture
def viewer(school):
    """Vera: a member who reads everything and decides nothing."""
    return member("vera", school, [Role.VIEWER])


@pytest.fixture
def source(school, pam, vendor):
    return services.save_source(school, pam, {"vendor": vendor, "kind": "feed", "location": FEED})


@pytest.fixture
def hillside_vendor(other_school):
    return Vendor.objects.create(school=other_school, name="Hillside's vendor")


@pytest.fixture
def rfc(team, school, pilot, laptops) -> Change:
    """An approved RFC of the school touching its items, to deploy patches."""
    change = create_change(school, team["olivia"], dict(REQUEST), items=_items(school))
    return advance(change, team, "approved")


def patch_body(school, vendor, /, **changes) -> dict:
    return {
        "school": "greenfield",
        "vendor": vendor.pk,
        "product": "Windows 11",
        "title": "Cumulative update for Windows 11",
        "reference": "KB5031234",
        "cves": "CVE-2026-21001, cve-2026-21002",
        "release_date": ago(school, 2),
        "severity": "high",
        "link": "https://support.example.com/kb5031234",
        "description": "The month's security fixes.",
        **changes,
    }


# --- Who may: the permission matrix. ---


def test_anonymous_callers_are_refused_everywhere(school, patch, vendor, source):
    client = client_for()
    for url in (
        PATCHES, detail(patch), detail(patch, "history"), EXPORT, f"{COMPLIANCE}?school=greenfield",
        VENDORS, f"{VENDORS}{vendor.pk}/", SOURCES, f"{SOURCES}{source.pk}/",
        f"{POLICIES}greenfield/",
    ):  # fmt: skip
        assert client.get(url).status_code in (401, 403), url
    writes = [
        (client.post, PATCHES, patch_body(school, vendor)),
        (client.patch, detail(patch), {"title": "Mine"}),
        (client.post, detail(patch, "actions"), {"action": "assess"}),
        (client.post, RUN, {}),
        (client.post, VENDORS, {"school": "greenfield", "name": "Adobe"}),
        (client.patch, f"{VENDORS}{vendor.pk}/", {"name": "Other"}),
        (client.post, SOURCES, {"vendor": vendor.pk, "kind": "web", "location": FEED}),
        (client.patch, f"{SOURCES}{source.pk}/", {"product": "Office"}),
        (client.delete, f"{SOURCES}{source.pk}/", None),
        (client.post, f"{SOURCES}{source.pk}/check/", None),
        (client.put, f"{POLICIES}greenfield/", {"critical_days": 7}),
    ]
    for method, url, body in writes:
        assert method(url, body).status_code in (401, 403), url
    patch.refresh_from_db()
    assert patch.state == "available" and patch.title == "Cumulative update for Windows 11"
    assert Patch.objects.count() == 1 and Vendor.objects.count() == 1
    assert Source.objects.count() == 1 and not PatchPolicy.objects.exists()


def test_another_schools_member_sees_nothing_and_finds_nothing(
    school, patch, vendor, source, oscar
):
    client = client_for(oscar)
    for url in (PATCHES, VENDORS, SOURCES, f"{PATCHES}?school=greenfield"):
        response = client.get(url)
        assert response.status_code == 200, url
        assert response.json()["count"] == 0 and response.json()["results"] == []
    for url in (
        detail(patch), detail(patch, "history"), f"{VENDORS}{vendor.pk}/",
        f"{SOURCES}{source.pk}/", f"{POLICIES}greenfield/", f"{COMPLIANCE}?school=greenfield",
    ):  # fmt: skip
        assert client.get(url).status_code == 404, url
    assert client.patch(detail(patch), {"title": "Mine"}).status_code == 404
    response = client.post(detail(patch, "actions"), {"action": "assess"})
    assert response.status_code == 404
    assert response.json()["detail"] == "No such patch among your schools."
    assert client.patch(f"{VENDORS}{vendor.pk}/", {"name": "Mine"}).status_code == 404
    assert client.patch(f"{SOURCES}{source.pk}/", {"product": "x"}).status_code == 404
    assert client.delete(f"{SOURCES}{source.pk}/").status_code == 404
    assert client.post(f"{SOURCES}{source.pk}/check/").status_code == 404
    assert client.put(f"{POLICIES}greenfield/", {"critical_days": 7}).status_code == 404
    rows = list(csv.reader(io.StringIO(_csv(client.get(EXPORT)))))
    assert rows == [list(rows[0])]  # the header alone
    # Naming this school's vendor or patches in a write of their own is a field error.
    response = client.post(PATCHES, {**patch_body(school, vendor), "school": "hillside"})
    assert response.status_code == 400 and "vendor" in response.json()
    response = client.post(SOURCES, {"vendor": vendor.pk, "kind": "web", "location": FEED})
    assert response.status_code == 400 and "vendor" in response.json()
    patch.refresh_from_db()
    assert patch.state == "available" and Patch.objects.count() == 1


@pytest.mark.parametrize("who", ["viewer", "ian", "olivia"])
def test_a_member_without_the_role_reads_but_may_not_write(
    request, school, pam, patch, vendor, source, who
):
    user = request.getfixturevalue(who) if who == "viewer" else request.getfixturevalue("team")[who]
    client = client_for(user)
    listed = client.get(PATCHES).json()
    assert [p["id"] for p in listed["results"]] == [patch.pk]
    assert listed["results"][0]["actions"] == []
    for url in (detail(patch), detail(patch, "history"), f"{VENDORS}{vendor.pk}/",
                f"{SOURCES}{source.pk}/", f"{POLICIES}greenfield/",
                f"{COMPLIANCE}?school=greenfield", EXPORT):  # fmt: skip
        assert client.get(url).status_code == 200, url
    assert client.post(PATCHES, patch_body(school, vendor)).status_code == 403
    assert client.patch(detail(patch), {"title": "Other"}).status_code == 403
    response = act(user, patch, {"action": "assess"})
    assert response.status_code == 403 and "patch administrator" in response.json()["detail"]
    assert client.post(VENDORS, {"school": "greenfield", "name": "Adobe"}).status_code == 403
    assert client.patch(f"{VENDORS}{vendor.pk}/", {"notes": "x"}).status_code == 403
    body = {"vendor": vendor.pk, "kind": "web", "location": FEED}
    assert client.post(SOURCES, body).status_code == 403
    assert client.patch(f"{SOURCES}{source.pk}/", {"product": "x"}).status_code == 403
    assert client.post(f"{SOURCES}{source.pk}/check/").status_code == 403
    assert client.delete(f"{SOURCES}{source.pk}/").status_code == 403
    assert client.patch(f"{POLICIES}greenfield/", {"critical_days": 7}).status_code == 403
    patch.refresh_from_db()
    assert patch.state == "available" and patch.title == "Cumulative update for Windows 11"
    assert patch.events.count() == 1 and Patch.objects.count() == 1
    assert Vendor.objects.count() == 1 and Source.objects.get().product == ""
    assert not PatchPolicy.objects.exists()


def test_the_school_administrator_keeps_the_records_but_does_not_take_the_cycle(
    school, sam, vendor, patch
):
    client = client_for(sam)
    response = client.post(VENDORS, {"school": "greenfield", "name": "Adobe"})
    assert response.status_code == 201, response.content
    response = client.post(PATCHES, patch_body(school, vendor, reference="KB1"))
    assert response.status_code == 201, response.content
    response = client.put(
        f"{POLICIES}greenfield/",
        {"critical_days": 7, "high_days": 7, "medium_days": 30, "low_days": 30,
         "nudge_overdue": True},
    )  # fmt: skip
    assert response.status_code == 200, response.content
    assert client.get(detail(patch)).json()["actions"] == []
    assert act(sam, patch, {"action": "assess"}).status_code == 403
    patch.refresh_from_db()
    assert patch.state == "available"


def test_what_each_person_may_do_now_is_in_actions(school, team, pam, patch):
    def actions(user):
        return client_for(user).get(detail(patch)).json()["actions"]

    assert actions(pam) == ["assess", "defer", "not_applicable"]
    assert actions(team["olivia"]) == []
    take(patch, "assessed", pam)
    assert actions(pam) == ["defer", "not_applicable", "test"]
    assert actions(team["olivia"]) == ["test"] and actions(team["ivan"]) == ["test"]
    assert actions(team["ian"]) == []


def test_an_implementer_records_tests_and_verifications_only(school, team, pam, patch, pilot):
    olivia = team["olivia"]
    assert act(olivia, patch, {"action": "assess"}).status_code == 403
    take(patch, "assessed", pam)
    results = [{"item": pilot.pk, "result": "passed", "notes": "Fine"}]
    response = act(olivia, patch, {"action": "test", "results": results})
    assert response.status_code == 200, response.content
    assert response.json()["state"] == "tested"
    response = act(
        olivia, patch, {"action": "defer", "reason": "No", "defer_until": ago(school, -9)}
    )
    assert response.status_code == 403
    assert Patch.objects.get().state == "tested"


# --- The cycle, through the actions endpoint. ---


def test_a_patch_through_its_whole_cycle(school, team, pam, patch, pilot, laptops, rfc):
    olivia = team["olivia"]
    response = act(
        pam, patch, {"action": "assess", "severity": "high", "items": [laptops.pk, pilot.pk],
                     "comment": "Staff laptops and the pilot."},
    )  # fmt: skip
    assert response.status_code == 200, response.content
    shown = response.json()
    assert shown["state"] == "assessed" and shown["severity"] == "high"
    assert shown["severity_confirmed"] is True and shown["items"] == sorted([pilot.pk, laptops.pk])
    results = [{"item": pilot.pk, "result": "passed", "notes": "Restarted once."}]
    response = act(olivia, patch, {"action": "test", "results": results})
    assert response.status_code == 200, response.content
    assert response.json()["state"] == "tested"
    assert PatchCheck.objects.get().notes == "Restarted once."
    response = act(pam, patch, {"action": "schedule", "change": rfc.pk})
    assert response.status_code == 200, response.content
    shown = response.json()
    assert shown["state"] == "scheduled" and shown["change"] == rfc.pk
    assert shown["change_reference"] == rfc.reference and shown["deployed_on"] is None
    # A person may not deploy it: the RFC's outcome does.
    response = act(pam, patch, {"action": "deploy"})
    assert response.status_code == 403, response.content
    perform_change(rfc.pk, "record_outcome", olivia, data={"outcome": "succeeded"})
    shown = client_for(pam).get(detail(patch)).json()
    assert shown["state"] == "deployed" and shown["deployed_on"] == today_in(school).isoformat()
    assert shown["on_time"] is True and shown["overdue"] is False and shown["days_left"] is None
    assert shown["actions"] == ["verify"]
    results = [{"item": laptops.pk, "result": "passed"}, {"item": pilot.pk, "result": "passed"}]
    response = act(olivia, patch, {"action": "verify", "results": results})
    assert response.status_code == 200 and response.json()["state"] == "verified"
    response = act(pam, patch, {"action": "close", "version": "Windows 11 26100.4349"})
    assert response.status_code == 200, response.content
    assert response.json()["state"] == "closed" and response.json()["actions"] == []
    installed = Installation.objects.order_by("item_id")
    assert [(i.item_id, i.version) for i in installed] == sorted(
        [(pilot.pk, "Windows 11 26100.4349"), (laptops.pk, "Windows 11 26100.4349")]
    )

    events = client_for(team["ian"]).get(detail(patch, "history")).json()
    assert [e["kind"] for e in events] == [
        "create", "assess", "test", "schedule", "deploy", "verify", "close",
    ]  # fmt: skip
    assert set(events[0]) == {
        "kind", "from_state", "to_state", "actor", "change", "comment", "data", "created_at",
    }  # fmt: skip
    assert events[0]["from_state"] is None and events[0]["to_state"] == "available"
    assert [e["actor"] for e in events] == ["pam", "pam", "olivia", "pam", "olivia", "olivia",
                                            "pam"]  # fmt: skip
    assert events[1]["comment"] == "Staff laptops and the pilot."
    assert events[1]["data"]["severity"] == "high"
    assert events[2]["data"]["results"][0]["item"] == pilot.pk
    assert events[3]["change"] == events[4]["change"] == rfc.pk
    assert events[4]["from_state"] == "scheduled" and events[4]["to_state"] == "deployed"
    assert events[6]["data"]["version"] == "Windows 11 26100.4349"


def test_defer_not_applicable_and_reassess(school, pam, patch):
    until = ago(school, -30)
    response = act(
        pam, patch, {"action": "defer", "reason": "Breaks the MIS", "defer_until": until}
    )
    assert response.status_code == 200, response.content
    shown = response.json()
    assert shown["state"] == "deferred" and shown["reason"] == "Breaks the MIS"
    assert shown["defer_until"] == until and shown["days_left"] is None
    response = act(pam, patch, {"action": "reassess"})
    assert response.status_code == 200 and response.json()["state"] == "available"
    response = act(pam, patch, {"action": "not_applicable", "reason": "No such laptops here."})
    assert response.status_code == 200 and response.json()["state"] == "not_applicable"
    assert response.json()["defer_until"] is None


def test_taking_a_patch_off_its_rfc(school, pam, patch, draft):
    take(patch, "scheduled", pam, change=draft)
    response = act(pam, patch, {"action": "unschedule", "comment": "Wrong RFC"})
    assert response.status_code == 200, response.content
    assert response.json()["state"] == "tested" and response.json()["change"] is None


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"action": "explode"}, "action"),
        ({}, "action"),
        ({"action": "test", "results": []}, "action"),  # not while it is available
        ({"action": "assess", "severity": "urgent"}, "severity"),
        ({"action": "assess", "items": [99999999]}, "items"),
        ({"action": "assess", "items": ["3"]}, "items"),
        ({"action": "assess", "items": "all"}, "items"),
        ({"action": "assess", "reason": "Not for assess"}, "reason"),
        ({"action": "assess", "colour": "blue"}, "colour"),
        ({"action": "assess", "comment": 5}, "comment"),
        ({"action": "assess", "comment": "x" * 5001}, "comment"),
        ({"action": "defer"}, "reason"),
        ({"action": "defer", "reason": "Later"}, "defer_until"),
        ({"action": "defer", "reason": "Later", "defer_until": "soon"}, "defer_until"),
        ({"action": "defer", "reason": "Later", "defer_until": "2020-01-01"}, "defer_until"),
        ({"action": "not_applicable", "reason": "  "}, "reason"),
        ({"action": "close", "version": "1.0"}, "action"),
    ],
)
def test_bad_input_to_an_action_is_a_400_and_changes_nothing(pam, patch, body, field):
    response = act(pam, patch, body)
    assert response.status_code == 400, response.content
    assert field in response.json() and response.json()["detail"]
    patch.refresh_from_db()
    assert patch.state == "available" and patch.severity == "critical"
    assert patch.events.count() == 1


@pytest.mark.parametrize(
    ("results", "field"),
    [
        (None, "results"),
        ([], "results"),
        ("all", "results"),
        ([{"item": "PILOT", "result": "passed"}], "results"),
        ([{"item": 99999999, "result": "passed"}], "results"),
        ([{"item": 0, "result": "passed"}], "results"),
        ([{"result": "passed"}], "results"),
        ([{"item": "pilot", "result": "maybe"}], "results"),
        ([{"item": "pilot", "result": "passed", "colour": "blue"}], "results"),
        ([{"item": "pilot", "result": "failed", "notes": "Blue screen"}], "results"),
        ([{"item": "hillside", "result": "passed"}], "results"),
    ],
)
def test_bad_results_are_a_400_and_record_nothing(pam, patch, pilot, other_school, results, field):
    take(patch, "assessed", pam)
    server = ConfigurationItem.objects.create(school=other_school, name="Hillside server")
    named = {"pilot": pilot.pk, "hillside": server.pk}
    if isinstance(results, list):
        results = [
            {**row, "item": named.get(row.get("item"), row.get("item"))} if "item" in row else row
            for row in results
        ]
    body = {"action": "test"} if results is None else {"action": "test", "results": results}
    response = act(pam, patch, body)
    assert response.status_code == 400, response.content
    assert field in response.json()
    patch.refresh_from_db()
    assert patch.state == "assessed" and not PatchCheck.objects.exists()
    assert patch.events.count() == 2


def test_a_failed_test_names_the_way_on(pam, patch, pilot):
    take(patch, "assessed", pam)
    results = [{"item": pilot.pk, "result": "failed", "notes": "Blue screen"}]
    response = act(pam, patch, {"action": "test", "results": results})
    assert response.status_code == 400
    assert "Defer it" in response.json()["detail"] and "results" in response.json()


def test_scheduling_needs_an_open_rfc_of_the_school(
    school, team, pam, patch, oscar, other_school, rfc
):
    take(patch, "tested", pam)
    theirs = create_change(other_school, oscar, dict(REQUEST))
    perform_change(rfc.pk, "record_outcome", team["olivia"], data={"outcome": "succeeded"})
    for body in (
        {"action": "schedule"},
        {"action": "schedule", "change": theirs.pk},
        {"action": "schedule", "change": rfc.pk},  # carried out already
        {"action": "schedule", "change": "RFC-0001"},
    ):
        response = act(pam, patch, body)
        assert response.status_code == 400, body
        assert "change" in response.json(), body
    patch.refresh_from_db()
    assert patch.state == "tested" and patch.change is None


# --- Patches: create, read, edit. ---


def test_a_patch_administrator_enters_a_patch(school, pam, vendor, pilot, laptops):
    body = patch_body(school, vendor, items=[pilot.pk, laptops.pk])
    response = client_for(pam).post(PATCHES, body)
    assert response.status_code == 201, response.content
    shown = response.json()
    assert set(shown) == PATCH_FIELDS
    patch = Patch.objects.get()
    assert shown["id"] == patch.pk and shown["school"] == "greenfield"
    assert shown["url"] == f"http://testserver{patch.get_absolute_url()}"
    assert shown["vendor"] == vendor.pk and shown["vendor_name"] == "Microsoft"
    assert shown["cves"] == ["CVE-2026-21001", "CVE-2026-21002"]
    assert shown["items"] == sorted([pilot.pk, laptops.pk])
    assert shown["state"] == "available" and shown["severity"] == "high"
    assert shown["severity_confirmed"] is False
    release = today_in(school) - timedelta(days=2)
    assert shown["release_date"] == release.isoformat()
    assert shown["due_on"] == (release + timedelta(days=14)).isoformat()
    assert shown["days_left"] == 12 and shown["overdue"] is False
    assert shown["change"] is None and shown["change_reference"] is None
    assert shown["on_time"] is None and shown["deployed_on"] is None
    assert shown["reason"] == "" and shown["defer_until"] is None
    assert shown["actions"] == ["assess", "defer", "not_applicable"]
    assert client_for(pam).get(detail(patch)).json() == shown
    assert list(patch.events.values_list("kind", "actor__username")) == [("create", "pam")]


def test_cves_may_be_given_as_a_list(school, pam, vendor):
    body = patch_body(school, vendor, cves=["CVE-2026-1234", "cve-2026-99999"])
    response = client_for(pam).post(PATCHES, body)
    assert response.status_code == 201, response.content
    assert response.json()["cves"] == ["CVE-2026-1234", "CVE-2026-99999"]
    response = client_for(pam).post(PATCHES, patch_body(school, vendor, cves=[], title="B"))
    assert response.status_code == 201 and response.json()["cves"] == []


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"title": ""}, "title"),
        ({"title": 12}, "title"),
        ({"title": "x" * 301}, "title"),
        ({"vendor": 99999999}, "vendor"),
        ({"vendor": "1"}, "vendor"),
        ({"vendor": "hillside"}, "vendor"),
        ({"release_date": "yesterday"}, "release_date"),
        ({"release_date": "2001-01-01"}, "release_date"),
        ({"release_date": "2999-01-01"}, "release_date"),
        ({"severity": "urgent"}, "severity"),
        ({"cves": "CVE-12"}, "cves"),
        ({"cves": "KB5031234"}, "cves"),
        ({"cves": [1]}, "cves"),
        ({"cves": {"id": "CVE-2026-21001"}}, "cves"),
        ({"items": [99999999]}, "items"),
        ({"items": "all"}, "items"),
        ({"items": ["hillside"]}, "items"),
        ({"link": "not a link"}, "link"),
        ({"state": "closed"}, "state"),
        ({"due_on": "2030-01-01"}, "due_on"),
        ({"school": "hillside"}, "school"),
        ({"school": None}, "school"),
        ({"colour": "blue"}, "colour"),
        ({"description": "nul \x00 here"}, "detail"),
    ],
)
def test_bad_input_to_create_is_a_400_with_field_errors(
    school, pam, vendor, hillside_vendor, other_school, change, field
):
    server = ConfigurationItem.objects.create(school=other_school, name="Hillside server")
    named = {"hillside": hillside_vendor.pk}
    if change.get("vendor") == "hillside":
        change = {"vendor": named["hillside"]}
    if change.get("items") == ["hillside"]:
        change = {"items": [server.pk]}
    response = client_for(pam).post(PATCHES, patch_body(school, vendor, **change))
    assert response.status_code == 400, response.content
    assert field in response.json() and response.json()["detail"]
    assert not Patch.objects.exists() and not PatchEvent.objects.exists()


def test_a_missing_field_is_named(school, pam, vendor):
    for name in ("vendor", "title", "release_date", "school"):
        body = {k: v for k, v in patch_body(school, vendor).items() if k != name}
        response = client_for(pam).post(PATCHES, body)
        assert response.status_code == 400, name
        assert name in response.json(), name
    assert not Patch.objects.exists()


def test_editing_a_patch_moves_its_deadline(school, pam, patch, pilot, vendor):
    client = client_for(pam)
    response = client.patch(
        detail(patch), {"severity": "low", "release_date": ago(school, 3), "items": [pilot.pk]}
    )
    assert response.status_code == 200, response.content
    shown = response.json()
    release = today_in(school) - timedelta(days=3)
    assert shown["severity"] == "low" and shown["items"] == [pilot.pk]
    assert shown["due_on"] == (release + timedelta(days=30)).isoformat()
    edit = patch.events.get(kind="edit")
    assert edit.actor == pam and edit.data["changed"]["severity"] == "low"
    assert edit.data["changed"]["items"] == [pilot.pk]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"state": "closed"}, "state"),
        ({"school": "hillside"}, "school"),
        ({"vendor": 99999999}, "vendor"),
        ({"title": ""}, "title"),
        ({"cves": "nonsense"}, "cves"),
        ({"release_date": "2001-01-01"}, "release_date"),
        ({"deployed_on": "2026-01-01"}, "deployed_on"),
        ({"colour": "blue"}, "colour"),
    ],
)
def test_bad_input_to_an_edit_changes_nothing(pam, patch, change, field):
    response = client_for(pam).patch(detail(patch), {"title": "New title", **change})
    assert response.status_code == 400, response.content
    assert field in response.json()
    patch.refresh_from_db()
    assert patch.title == "Cumulative update for Windows 11" and patch.events.count() == 1


def test_a_deployed_patch_is_not_edited(school, team, pam, patch, rfc):
    take(patch, "scheduled", pam, change=rfc)
    perform_change(rfc.pk, "record_outcome", team["olivia"], data={"outcome": "succeeded"})
    response = client_for(pam).patch(detail(patch), {"title": "Rewritten"})
    assert response.status_code == 400 and "state" in response.json()
    patch.refresh_from_db()
    assert patch.title == "Cumulative update for Windows 11"


def test_unknown_ids_are_not_found(pam):
    client = client_for(pam)
    for url in (f"{PATCHES}99999999/", f"{PATCHES}abc/", f"{VENDORS}99999999/",
                f"{SOURCES}99999999/", f"{PATCHES}99999999/history/",
                f"{POLICIES}nowhere/"):  # fmt: skip
        assert client.get(url).status_code == 404, url


# --- The list: filters and paging. ---


@pytest.fixture
def spread(school, pam, vendor, pilot):
    """Four patches: one overdue (critical, 20 days old), one in time (low, this month),
    one deferred, one of last year."""
    today = today_in(school)
    old = new_patch(school, pam, vendor, [pilot], title="Old critical", reference="KB1",
                    release_date=today - timedelta(days=20), cves="CVE-2026-11111")  # fmt: skip
    fresh = new_patch(school, pam, vendor, [pilot], title="Office update", reference="KB2",
                      product="Office", severity="low", release_date=today)  # fmt: skip
    deferred = new_patch(school, pam, vendor, [pilot], title="Deferred driver",
                         reference="KB3", release_date=today - timedelta(days=40))  # fmt: skip
    workflow.perform(
        deferred.pk, "defer", pam, {"reason": "Later", "defer_until": today + timedelta(days=9)}
    )
    last_year = new_patch(school, pam, vendor, [], title="Last year's", reference="KB4",
                          severity="medium", release_date=today - timedelta(days=365))  # fmt: skip
    return {"old": old, "fresh": fresh, "deferred": deferred, "last_year": last_year}


def test_the_list_is_newest_release_first_and_filters(school, pam, spread, other_school):
    client = client_for(pam)

    def ids(query: str = "") -> list[int]:
        response = client.get(PATCHES + query)
        assert response.status_code == 200, response.content
        return [p["id"] for p in response.json()["results"]]

    s = {name: p.pk for name, p in spread.items()}
    assert ids() == [s["fresh"], s["old"], s["deferred"], s["last_year"]]
    assert ids("?state=deferred") == [s["deferred"]]
    assert ids("?state=deferred&state=available") == ids()
    assert ids("?severity=low") == [s["fresh"]]
    assert ids("?severity=critical&severity=medium") == [s["old"], s["deferred"], s["last_year"]]
    assert ids("?overdue=true") == [s["old"], s["last_year"]]
    assert ids("?overdue=false") == [s["fresh"], s["deferred"]]
    assert ids("?q=office") == [s["fresh"]]
    assert ids("?q=KB3") == [s["deferred"]]
    assert ids("?q=CVE-2026-11111") == [s["old"]]
    month = spread["last_year"].release_date.strftime("%Y-%m")
    assert ids(f"?month={month}") == [s["last_year"]]
    assert ids("?school=greenfield&vendor=" + str(spread["old"].vendor_id)) == ids()
    assert ids("?school=hillside") == []
    assert ids("?state=&severity=&q=&month=") == ids()
    assert ids("?page_size=2&page=2") == [s["deferred"], s["last_year"]]
    listed = client.get(PATCHES + "?overdue=true").json()
    assert listed["count"] == 2 and all(p["overdue"] for p in listed["results"])
    assert listed["results"][0]["days_left"] == -6


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("state=retired", "state"),
        ("severity=urgent", "severity"),
        ("overdue=perhaps", "overdue"),
        ("month=2026-13", "month"),
        ("month=March", "month"),
        ("vendor=abc", "vendor"),
        ("q=" + "x" * 201, "q"),
        ("page_size=0", "page_size"),
    ],
)
def test_a_bad_filter_is_a_400(pam, patch, query, field):
    response = client_for(pam).get(f"{PATCHES}?{query}")
    assert response.status_code == 400, response.content
    assert field in response.json()
    assert client_for(pam).get(f"{EXPORT}?{query}").status_code in (
        (400,) if field != "page_size" else (200,)
    )


def _count_list_queries(user) -> int:
    client = client_for(user)
    client.get(PATCHES)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(PATCHES)
    assert response.status_code == 200
    return len(queries)


def _write(school, pam, vendor, items, count: int, change=None) -> None:
    for n in range(count):
        patch = new_patch(school, pam, vendor, items, title=f"Patch {n}", reference=f"KB{n}")
        if n % 3 == 1:
            take(patch, "scheduled" if change else "tested", pam, change=change)


def test_the_list_costs_the_same_for_2_or_20_patches(
    school, pam, vendor, pilot, laptops, draft, other_school
):
    _write(school, pam, vendor, [pilot, laptops], 2, change=draft)
    few = _count_list_queries(pam)
    _write(school, pam, vendor, [pilot, laptops], 18, change=draft)
    assert _count_list_queries(pam) == few
    assert few <= 8, few
    # And for someone of two schools.
    set_membership(pam, other_school, [Role.PATCH_ADMINISTRATOR])
    two = _count_list_queries(pam)
    theirs = services.save_vendor(other_school, pam, {"name": "Apple"})
    server = ConfigurationItem.objects.create(school=other_school, name="Hillside server")
    _write(other_school, pam, theirs, [server], 5)
    assert _count_list_queries(pam) == two
    assert client_for(pam).get(PATCHES).json()["count"] == 25


# --- The patch run. ---


@pytest.fixture
def approved(school, team, pilot, laptops):
    template = standard.create_template(
        school, team["olivia"], dict(CONTENT), items=[pilot, laptops]
    )
    return approve(template, team)


def test_the_patch_run_raises_a_standard_change_for_tested_patches(
    school, team, pam, vendor, pilot, laptops, approved
):
    first = take(new_patch(school, pam, vendor, [pilot, laptops]), "tested", pam)
    second = take(new_patch(school, pam, vendor, [laptops], title="Office"), "tested", pam)
    start = window()
    body = {"template": approved.pk, "patches": [first.pk, second.pk],
            "planned_start": start.isoformat()}  # fmt: skip
    response = client_for(pam).post(RUN, body)
    assert response.status_code == 201, response.content
    shown = response.json()
    change = Change.objects.get(pk=shown["change"])
    assert set(shown) == {"change", "reference", "url", "patches"}
    assert shown["reference"] == change.reference
    assert shown["url"] == f"http://testserver{change.get_absolute_url()}"
    assert shown["patches"] == sorted([first.pk, second.pk])
    assert change.is_standard and change.state == "approved" and change.planned_start == start
    assert change.originator == pam
    for patch in (first, second):
        patch.refresh_from_db()
        assert patch.state == "scheduled" and patch.change == change
    listed = client_for(pam).get(f"{PATCHES}?change={change.pk}").json()
    assert listed["count"] == 2
    assert {p["change_reference"] for p in listed["results"]} == {change.reference}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"template": None}, "template"),
        ({"template": 99999999}, "template"),
        ({"template": "1"}, "template"),
        ({"patches": []}, "patches"),
        ({"patches": ["1"]}, "patches"),
        ({"patches": [99999999]}, "patches"),
        ({"patches": "untested"}, "patches"),
        ({"planned_start": "2030-03-01T18:00:00"}, "planned_start"),
        ({"planned_start": "9999-12-31T23:00:00+00:00"}, "planned_start"),
        ({"planned_end": "tomorrow"}, "planned_end"),
        ({"colour": "blue"}, "colour"),
    ],
)
def test_bad_input_to_the_run_is_a_400_and_leaves_no_rfc(
    school, team, pam, vendor, patch, approved, body, field
):
    tested = take(new_patch(school, pam, vendor, list(patch.items.all()), title="T"), "tested", pam)
    ids = [patch.pk] if body.get("patches") == "untested" else [tested.pk]
    body = {"template": approved.pk, "patches": ids, "planned_start": window().isoformat(), **body}
    if body["patches"] == "untested":
        body["patches"] = ids
    if body.get("template") is None:
        body.pop("template")
    before = Change.objects.count()
    response = client_for(pam).post(RUN, body)
    assert response.status_code == 400, response.content
    assert field in response.json()
    assert Change.objects.count() == before
    assert not Patch.objects.filter(state="scheduled").exists()


def test_only_a_patch_administrator_who_may_raise_it_runs_it(
    school, team, pam, vendor, patch, approved, sam, viewer
):
    take(patch, "tested", pam)
    body = {"template": approved.pk, "patches": [patch.pk], "planned_start": window().isoformat()}
    before = Change.objects.count()
    for user in (team["olivia"], viewer, sam):
        response = client_for(user).post(RUN, body)
        assert response.status_code == 403, user
    # A patch administrator who is not an originator may not raise the template.
    polly = member("polly", school, [Role.PATCH_ADMINISTRATOR])
    assert client_for(polly).post(RUN, body).status_code == 403
    assert Change.objects.count() == before
    patch.refresh_from_db()
    assert patch.state == "tested"


# --- Compliance. ---


def test_the_compliance_report(school, pam, spread, viewer):
    response = client_for(viewer).get(f"{COMPLIANCE}?school=greenfield")
    assert response.status_code == 200, response.content
    report = response.json()
    today = today_in(school)
    assert report["school"] == "greenfield" and report["end"] == today.isoformat()
    assert report["start"] == (today - timedelta(days=compliance.DEFAULT_DAYS)).isoformat()
    assert report["deadlines"] == {"critical": 14, "high": 14, "medium": 30, "low": 30}
    total = report["total"]
    assert (total["overdue"], total["in_time"], total["deferred"]) == (1, 1, 1)
    assert total["applicable"] == 3 and total["percent_on_time"] == 0
    assert report["by_severity"]["low"]["in_time"] == 1
    assert report["deferred"][0]["patch"] == spread["deferred"].pk
    year = (today - timedelta(days=400)).isoformat()
    response = client_for(pam).get(f"{COMPLIANCE}?school=greenfield&start={year}")
    assert response.json()["total"]["overdue"] == 2
    day = spread["last_year"].release_date.isoformat()
    response = client_for(pam).get(f"{COMPLIANCE}?school=greenfield&start={day}&end={day}")
    assert response.json()["total"]["applicable"] == 1


@pytest.mark.parametrize(
    ("query", "status", "field"),
    [
        ("", 400, "school"),
        ("school=", 400, "school"),
        ("school=nowhere", 404, None),
        ("school=hillside", 404, None),
        ("school=greenfield&start=2026-02-30", 400, "start"),
        ("school=greenfield&end=soon", 400, "end"),
        ("school=greenfield&start=2026-03-02&end=2026-03-01", 400, "end"),
        ("school=greenfield&start=2020-01-01&end=2026-01-01", 400, "end"),
        ("school=greenfield&start=0001-01-01&end=0001-01-02", 200, None),
        ("school=greenfield&end=0001-01-02", 200, None),
    ],
)
def test_bad_compliance_queries(pam, other_school, query, status, field):
    response = client_for(pam).get(f"{COMPLIANCE}?{query}")
    assert response.status_code == status, response.content
    if field:
        assert field in response.json()


# --- The school's deadlines. ---


def test_the_policy_is_read_and_set(school, pam, patch, viewer):
    response = client_for(viewer).get(f"{POLICIES}greenfield/")
    assert response.status_code == 200, response.content
    assert response.json() == {
        "school": "greenfield", "critical_days": 14, "high_days": 14, "medium_days": 30,
        "low_days": 30, "nudge_overdue": True, "updated_at": None,
    }  # fmt: skip
    body = {"critical_days": 7, "high_days": 10, "medium_days": 30, "low_days": 60,
            "nudge_overdue": False}  # fmt: skip
    response = client_for(pam).put(f"{POLICIES}greenfield/", body)
    assert response.status_code == 200, response.content
    assert {k: response.json()[k] for k in body} == body
    assert response.json()["updated_at"] is not None
    patch.refresh_from_db()
    assert patch.due_on == patch.release_date + timedelta(days=7)
    response = client_for(pam).patch(f"{POLICIES}greenfield/", {"critical_days": 3})
    assert response.status_code == 200 and response.json()["high_days"] == 10
    assert (
        client_for(pam).get(detail(patch)).json()["due_on"]
        == (patch.release_date + timedelta(days=3)).isoformat()
    )


@pytest.mark.parametrize(
    ("method", "body", "field"),
    [
        ("put", {"critical_days": 7}, "high_days"),
        ("patch", {"critical_days": 0}, "critical_days"),
        ("patch", {"critical_days": 366}, "critical_days"),
        ("patch", {"critical_days": "14"}, "critical_days"),
        ("patch", {"critical_days": 7.5}, "critical_days"),
        ("patch", {"nudge_overdue": "yes"}, "nudge_overdue"),
        ("patch", {"school": "hillside"}, "school"),
        ("patch", {"updated_at": "2026-01-01T00:00:00Z"}, "updated_at"),
        ("patch", {"weekly_days": 7}, "weekly_days"),
    ],
)
def test_bad_deadlines_are_a_400_and_change_nothing(pam, patch, method, body, field):
    response = getattr(client_for(pam), method)(f"{POLICIES}greenfield/", body)
    assert response.status_code == 400, response.content
    assert field in response.json()
    assert not PatchPolicy.objects.exists()
    patch.refresh_from_db()
    assert patch.due_on == patch.release_date + timedelta(days=14)


# --- The export. ---


def _csv(response) -> str:
    assert response.status_code == 200, response
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="patches-')
    return b"".join(response.streaming_content).decode()


def test_the_export_is_the_filtered_list_as_csv(school, pam, spread, draft):
    take(spread["old"], "scheduled", pam, change=draft)
    new_patch(school, pam, spread["old"].vendor, [], title="=HYPERLINK(1)", reference="KB9",
              release_date=today_in(school) - timedelta(days=50))  # fmt: skip
    rows = list(csv.reader(io.StringIO(_csv(client_for(pam).get(EXPORT)))))
    assert rows[0] == [
        "id", "school", "vendor", "product", "title", "reference", "cves", "release_date",
        "severity", "state", "due_on", "deployed_on", "on_time", "change", "link",
    ]  # fmt: skip
    assert len(rows) == 6
    old = spread["old"]
    row = next(r for r in rows if r[0] == str(old.pk))
    assert row[1:7] == ["greenfield", "Microsoft", "Windows 11", "Old critical", "KB1",
                        "CVE-2026-11111"]  # fmt: skip
    assert row[7] == old.release_date.isoformat() and row[8:10] == ["critical", "scheduled"]
    assert row[10] == old.due_on.isoformat() and row[11:13] == ["", ""]
    assert row[13] == draft.reference
    assert [r[4] for r in rows if r[5] == "KB9"] == ["'=HYPERLINK(1)"]
    rows = list(csv.reader(io.StringIO(_csv(client_for(pam).get(f"{EXPORT}?severity=low")))))
    assert [r[0] for r in rows[1:]] == [str(spread["fresh"].pk)]


def test_the_export_is_csv_whatever_the_client_accepts(pam, patch):
    response = client_for(pam).get(EXPORT, HTTP_ACCEPT="text/csv")
    assert len(list(csv.reader(io.StringIO(_csv(response))))) == 2
    response = client_for(pam).get(f"{EXPORT}?state=retired", HTTP_ACCEPT="text/csv")
    assert response.status_code == 400 and response["Content-Type"] == "application/json"
    assert "state" in response.json()


def test_a_source_list_filter_refuses_an_id_no_database_holds(pam, source):
    response = client_for(pam).get(f"{SOURCES}?vendor=99999999999999999999999")
    assert response.status_code == 400 and "vendor" in response.json()


def test_the_export_streams_in_chunks(school, pam, vendor, monkeypatch):
    from changedesk.patches import export

    monkeypatch.setattr(export, "EXPORT_CHUNK", 2)
    for n in range(5):
        new_patch(school, pam, vendor, [], title=f"P{n}", reference=f"KB{n}")
    response = client_for(pam).get(EXPORT)
    chunks = list(response.streaming_content)
    assert len(chunks) == 1 + 3  # the header, then 2 + 2 + 1 rows
    assert b"".join(chunks).decode().count("\n") == 6


def test_a_deployed_patch_is_on_time_in_the_export(school, team, pam, patch, rfc):
    take(patch, "scheduled", pam, change=rfc)
    perform_change(rfc.pk, "record_outcome", team["olivia"], data={"outcome": "succeeded"})
    rows = list(csv.reader(io.StringIO(_csv(client_for(pam).get(f"{EXPORT}?state=deployed")))))
    assert rows[1][11:13] == [today_in(school).isoformat(), "yes"]


# --- Vendors and their sources. ---


def test_vendors_with_their_sources(school, pam, vendor, source, oscar, other_school):
    services.save_source(
        school, pam, {"vendor": vendor, "kind": "web", "location": "https://example.com/kb"}
    )
    Vendor.objects.create(school=other_school, name="Theirs")
    response = client_for(pam).get(VENDORS)
    assert response.status_code == 200, response.content
    [shown] = response.json()["results"]
    assert shown["id"] == vendor.pk and shown["school"] == "greenfield"
    assert shown["name"] == "Microsoft" and shown["products"] == ["Windows 11", "Office"]
    assert [s["kind"] for s in shown["sources"]] == ["feed", "web"]
    assert set(shown["sources"][0]) >= SOURCE_STATUS
    feed = shown["sources"][0]
    assert feed["location"] == FEED and feed["state"] == "new" and feed["failures"] == 0
    assert feed["entries_found"] == 0 and feed["checked_at"] is None
    assert client_for(pam).get(f"{VENDORS}{vendor.pk}/").json() == shown
    assert client_for(pam).get(f"{VENDORS}?q=micro").json()["count"] == 1
    assert client_for(pam).get(f"{VENDORS}?q=adobe").json()["count"] == 0
    assert client_for(oscar).get(VENDORS).json()["results"][0]["name"] == "Theirs"


def test_adding_and_editing_a_vendor(school, pam):
    client = client_for(pam)
    reader = "Acrobat Reader"
    body = {"school": "greenfield", "name": "Adobe", "products": [reader, reader],
            "website": "https://www.adobe.com", "notes": "Patch Tuesday too."}  # fmt: skip
    response = client.post(VENDORS, body)
    assert response.status_code == 201, response.content
    shown = response.json()
    assert shown["products"] == ["Acrobat Reader"] and shown["sources"] == []
    url = f"{VENDORS}{shown['id']}/"
    response = client.patch(url, {"notes": "", "products": []})
    assert response.status_code == 200 and response.json()["products"] == []
    response = client.post(VENDORS, {"school": "greenfield", "name": "adobe"})
    assert response.status_code == 400 and "name" in response.json()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": ""}, "name"),
        ({"name": 7}, "name"),
        ({"products": "Reader"}, "products"),
        ({"products": [3]}, "products"),
        ({"products": ["x" * 201]}, "products"),
        ({"website": "adobe"}, "website"),
        ({"school": "hillside"}, "school"),
        ({"sources": []}, "sources"),
        ({"colour": "blue"}, "colour"),
    ],
)
def test_bad_input_to_a_vendor_is_a_400(school, pam, oscar, body, field):
    response = client_for(pam).post(VENDORS, {"school": "greenfield", "name": "Adobe", **body})
    assert response.status_code == 400, response.content
    assert field in response.json()
    assert not Vendor.objects.exists()


def test_sources_are_added_edited_checked_and_removed(school, pam, vendor, oscar):
    client = client_for(pam)
    response = client.post(SOURCES, {"vendor": vendor.pk, "kind": "feed", "location": FEED,
                                     "product": "Windows 11"})  # fmt: skip
    assert response.status_code == 201, response.content
    shown = response.json()
    assert shown["school"] == "greenfield" and shown["vendor"] == vendor.pk
    assert shown["vendor_name"] == "Microsoft" and shown["state"] == "new"
    assert shown["is_active"] is True and shown["product"] == "Windows 11"
    url = f"{SOURCES}{shown['id']}/"
    response = client.post(
        SOURCES, {"vendor": vendor.pk, "kind": "mailing_list", "location": "mailto:kb@example.com"}
    )
    assert response.status_code == 201 and response.json()["location"] == "kb@example.com"
    listing = client.get(f"{SOURCES}?vendor={vendor.pk}&school=greenfield").json()
    assert listing["count"] == 2
    assert client.get(f"{SOURCES}?school=hillside").json()["count"] == 0
    # A failing feed whose address changes is fetched afresh.
    Source.objects.filter(pk=shown["id"]).update(state="failing", failures=3, error="Timeout",
                                                 is_active=False)  # fmt: skip
    response = client.post(f"{url}check/")
    assert response.status_code == 200, response.content
    assert response.json()["is_active"] is True
    response = client.patch(url, {"location": "https://updates.example.com/new.xml"})
    assert response.status_code == 200, response.content
    assert response.json()["state"] == "new" and response.json()["failures"] == 0
    web = Source.objects.get(kind="mailing_list")
    response = client.post(f"{SOURCES}{web.pk}/check/")
    assert response.status_code == 400 and "kind" in response.json()
    assert client.delete(url).status_code == 204
    assert client.get(url).status_code == 404
    assert Source.objects.count() == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"vendor": 99999999}, "vendor"),
        ({"vendor": "hillside"}, "vendor"),
        ({"kind": "telegram"}, "kind"),
        ({"location": "ftp://example.com/feed"}, "location"),
        ({"location": "http://127.0.0.1/feed"}, "location"),
        ({"location": ""}, "location"),
        ({"kind": "mailing_list", "location": "not an address"}, "location"),
        ({"is_active": "yes"}, "is_active"),
        ({"state": "ok"}, "state"),
        ({"failures": 0}, "failures"),
    ],
)
def test_bad_input_to_a_source_is_a_400(school, pam, vendor, hillside_vendor, body, field):
    if body.get("vendor") == "hillside":
        body = {"vendor": hillside_vendor.pk}
    full = {"vendor": vendor.pk, "kind": "feed", "location": FEED, **body}
    response = client_for(pam).post(SOURCES, full)
    assert response.status_code == 400, response.content
    assert field in response.json()
    assert not Source.objects.exists()


def test_the_schema_names_every_endpoint():
    from changedesk.tests.test_api_schema_fuzz import the_schema

    paths = the_schema()["paths"]
    for path in (
        "/api/v1/vendors/", "/api/v1/vendors/{id}/", "/api/v1/vendor-sources/",
        "/api/v1/vendor-sources/{id}/", "/api/v1/vendor-sources/{id}/check/",
        "/api/v1/patches/", "/api/v1/patches/{id}/", "/api/v1/patches/{id}/actions/",
        "/api/v1/patches/{id}/history/", "/api/v1/patches/run/", "/api/v1/patches/compliance/",
        "/api/v1/patches/export/", "/api/v1/patch-policies/{slug}/",
    ):  # fmt: skip
        assert path in paths, path
    assert "text/csv" in paths["/api/v1/patches/export/"]["get"]["responses"]["200"]["content"]
