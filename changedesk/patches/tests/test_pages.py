"""The patch pages as people meet them: who may see and do what, the board, a patch's steps
through its forms, vendors and feeds, compliance and its statement, the deadlines, the
patch run, and the query counts of the lists."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from changedesk.accounts.choices import Role
from changedesk.changes.models import Change
from changedesk.conftest import member
from changedesk.patches import services
from changedesk.patches.models import Patch, PatchEvent, Source, today_in
from changedesk.patches.tests.conftest import new_patch, take
from changedesk.patches.views.board import second_tuesday
from changedesk.standard.tests.conftest import CONTENT, approve

PAGES = [
    ("patches:board", ()),
    ("patches:list", ()),
    ("patches:vendors", ()),
    ("patches:compliance", ()),
]


@pytest.fixture
def viewer(school):
    return member("vera", school, [Role.VIEWER])


def _get(client, user, url, status=200):
    client.force_login(user)
    response = client.get(url)
    assert response.status_code == status, response.content[:500]
    return response


@pytest.mark.parametrize("name,args", PAGES)
def test_every_member_sees_the_pages(client, name, args, viewer, patch):
    response = _get(client, viewer, reverse(name, args=args))
    assert b"Patches" in response.content or b"patch" in response.content


@pytest.mark.parametrize("name,args", PAGES)
def test_signed_out_people_are_sent_to_sign_in(client, db, name, args):
    response = client.get(reverse(name, args=args))
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"] or "login" in response["Location"]


def test_another_schools_patch_and_vendor_are_not_found(client, oscar, patch, vendor):
    _get(client, oscar, patch.get_absolute_url(), 404)
    _get(client, oscar, vendor.get_absolute_url(), 404)
    _get(client, oscar, reverse("patches:statement", args=[patch.school.slug]), 404)
    response = _get(client, oscar, reverse("patches:list"))
    assert patch.title.encode() not in response.content


@pytest.mark.parametrize(
    "name", ["patches:create", "patches:vendor_create", "patches:run", "patches:import"]
)
def test_writing_pages_are_forbidden_without_the_role(client, name, viewer, olivia, fiona):
    for person in (viewer, olivia, fiona):
        _get(client, person, reverse(name), 403)


def test_policy_page_needs_a_manager(client, school, viewer, sam, pam):
    url = reverse("patches:policy", args=[school.slug])
    _get(client, viewer, url, 403)
    _get(client, sam, url)
    _get(client, pam, url)


def test_the_board_shows_the_months_patches_by_state_and_patch_tuesday(client, pam, patch):
    response = _get(client, pam, reverse("patches:board"))
    today = today_in(patch.school)
    body = response.content.decode()
    tuesday = second_tuesday(today.year, today.month)
    assert tuesday.strftime("%Y-%m-%d") in body
    assert "col-available" in body and patch.title in body
    assert response.context["columns"][0].patches == [patch]


def test_second_tuesday():
    assert second_tuesday(2026, 12) == date(2026, 12, 8)
    assert second_tuesday(2027, 6) == date(2027, 6, 8)
    assert second_tuesday(2026, 9) == date(2026, 9, 8)
    assert second_tuesday(2027, 2) == date(2027, 2, 9)
    assert second_tuesday(2026, 3) == date(2026, 3, 10)


def test_a_patch_goes_through_its_steps_on_its_page(client, pam, patch, pilot, laptops, team):
    client.force_login(pam)
    act = reverse("patches:act", args=[patch.pk])
    # Assess: deploy it, as critical, on both items.
    response = client.post(
        act,
        {"step": "assess", "decision": "deploy", "severity": "critical",
         "items": [pilot.pk, laptops.pk]},
    )  # fmt: skip
    assert response.status_code == 302
    patch.refresh_from_db()
    assert patch.state == "assessed" and patch.severity_confirmed
    # A test with nothing named is refused on the form, nothing written.
    response = client.post(act, {"step": "test"})
    assert response.status_code == 400
    assert "Name the machines" in response.content.decode()
    assert PatchEvent.objects.filter(patch=patch).count() == 2
    response = client.post(act, {"step": "test", "test-passed": [pilot.pk], "test-notes": "OK"})
    assert response.status_code == 302
    patch.refresh_from_db()
    assert patch.state == "tested"
    page = _get(client, pam, patch.get_absolute_url()).content.decode()
    assert "Pilot laptop ICT-01" in page and "Put it on an RFC" in page


def test_defer_with_a_reason_from_the_page(client, pam, patch):
    client.force_login(pam)
    act = reverse("patches:act", args=[patch.pk])
    later = today_in(patch.school) + timedelta(days=10)
    response = client.post(act, {"step": "assess", "decision": "defer", "severity": "high"})
    assert response.status_code == 400
    assert "Say why it is deferred" in response.content.decode()
    response = client.post(
        act,
        {"step": "assess", "decision": "defer", "severity": "high",
         "reason": "Breaks the MIS client", "defer_until": later.isoformat()},
    )  # fmt: skip
    assert response.status_code == 302
    patch.refresh_from_db()
    assert (patch.state, patch.defer_until, patch.reason) == (
        "deferred",
        later,
        "Breaks the MIS client",
    )


def test_a_viewer_cannot_take_a_step(client, viewer, patch):
    client.force_login(viewer)
    response = client.post(
        reverse("patches:act", args=[patch.pk]),
        {"step": "assess", "decision": "deploy", "severity": "high"},
    )
    assert response.status_code == 403
    patch.refresh_from_db()
    assert patch.state == "available"


def test_add_a_patch_by_hand_and_edit_it(client, pam, vendor, pilot, school):
    client.force_login(pam)
    released = today_in(school) - timedelta(days=2)
    response = client.post(
        reverse("patches:create"),
        {"school": school.slug, "vendor": vendor.pk, "title": "Chrome 131 security fix",
         "release_date": released.isoformat(), "severity": "high", "cves": "CVE-2026-1234",
         "items": [pilot.pk]},
    )  # fmt: skip
    assert response.status_code == 302, response.content.decode()[:2000]
    patch = Patch.objects.get(title="Chrome 131 security fix")
    assert patch.due_on == released + timedelta(days=14)
    response = client.post(
        reverse("patches:edit", args=[patch.pk]),
        {"vendor": vendor.pk, "title": "Chrome 131 security fix", "severity": "low",
         "release_date": released.isoformat(), "cves": "not a cve"},
    )  # fmt: skip
    assert response.status_code == 400
    assert "is not a CVE id" in response.content.decode()


def test_vendor_and_feed_pages(client, pam, vendor, settings):
    client.force_login(pam)
    response = client.post(
        reverse("patches:source_create", args=[vendor.pk]),
        {"kind": "feed", "location": "ftp://example.org/feed", "is_active": "on"},
    )
    assert response.status_code == 400
    response = client.post(
        reverse("patches:source_create", args=[vendor.pk]),
        {"kind": "feed", "location": "https://example.org/security.rss", "is_active": "on"},
    )
    assert response.status_code == 302
    source = Source.objects.get(vendor=vendor)
    Source.objects.filter(pk=source.pk).update(
        state="failing", error="The server answered 503 Service Unavailable.", failures=2,
        failing_since=timezone.now(),
    )  # fmt: skip
    page = _get(client, pam, vendor.get_absolute_url()).content.decode()
    assert "The last fetch failed" in page and "503 Service Unavailable" in page
    assert client.post(reverse("patches:source_check", args=[source.pk])).status_code == 302


def test_compliance_and_statement(client, pam, patch, school):
    page = _get(client, pam, reverse("patches:compliance") + f"?school={school.slug}")
    assert page.context["report"].total.applicable == 1
    statement = _get(client, pam, reverse("patches:statement", args=[school.slug]))
    body = statement.content.decode()
    assert "Patch compliance statement" in body and patch.title in body
    bad = _get(client, pam, reverse("patches:compliance") + "?start=2026-05-01&end=2026-01-01", 400)
    assert "On or after the start" in bad.content.decode()


def test_policy_saves_and_moves_due_dates(client, sam, patch, school):
    client.force_login(sam)
    response = client.post(
        reverse("patches:policy", args=[school.slug]),
        {"critical_days": 7, "high_days": 14, "medium_days": 30, "low_days": 60},
    )
    assert response.status_code == 302
    patch.refresh_from_db()
    assert patch.due_on == patch.release_date + timedelta(days=7)
    response = client.post(
        reverse("patches:policy", args=[school.slug]),
        {"critical_days": 0, "high_days": 14, "medium_days": 30, "low_days": 60},
    )
    assert response.status_code == 400


def test_the_patch_run_from_the_page(client, pam, patch, team, school, laptops, pilot):
    template = approve(
        services.standard.create_template(school, pam, dict(CONTENT), items=[pilot, laptops]),
        team,
    )
    take(patch, "tested", pam)
    client.force_login(pam)
    page = _get(client, pam, reverse("patches:run") + f"?school={school.slug}")
    slots = page.context["slots"]
    assert slots, "a safe slot is offered"
    start = slots[0].url.split("planned_start=")[1].split("&")[0].replace("%3A", ":")
    response = client.post(
        reverse("patches:run"),
        {"school": school.slug, "template": template.pk, "patches": [patch.pk],
         "planned_start": start},
    )  # fmt: skip
    assert response.status_code == 302, response.content.decode()[:3000]
    patch.refresh_from_db()
    change = Change.objects.get(pk=patch.change_id)
    assert patch.state == "scheduled" and change.is_standard and change.state == "approved"
    rfc_page = _get(client, pam, change.get_absolute_url()).content.decode()
    assert "Patches it deploys" in rfc_page and patch.title in rfc_page


@pytest.mark.parametrize("name", ["patches:list", "patches:board"])
def test_list_query_counts_do_not_grow(client, name, pam, vendor, school, other_school):
    def count() -> int:
        client.force_login(pam)
        with CaptureQueriesContext(connection) as queries:
            assert client.get(reverse(name)).status_code == 200
        return len(queries)

    new_patch(school, pam, vendor, title="One")
    few = count()
    for n in range(20):
        new_patch(school, pam, vendor, title=f"Patch {n}", severity=("high", "low")[n % 2])
    assert count() == few
    assert few <= 25


@pytest.mark.parametrize(
    "path",
    [
        "/patches/?month=0001-01",
        "/patches/?month=9999-12",
        "/patches/compliance/?end=0001-01-01",
        "/patches/compliance/?start=2000-01-01",
        "/patches/all/?month=9999-12",
        "/patches/all/?vendor=99999999999999999999",
    ],
)
def test_odd_page_input_is_never_a_500(client, pam, patch, path):
    client.force_login(pam)
    assert client.get(path).status_code in (200, 400)


def test_a_huge_id_in_a_form_is_a_form_error(client, pam, patch, school):
    client.force_login(pam)
    huge = "99999999999999999999"
    act = reverse("patches:act", args=[patch.pk])
    response = client.post(act, {"step": "assess", "decision": "deploy", "severity": "high",
                                 "items": [huge]})  # fmt: skip
    assert response.status_code == 400
    response = client.post(
        reverse("patches:run"),
        {"school": school.slug, "template": huge, "patches": [huge], "planned_start": ""},
    )
    assert response.status_code == 400


def test_compliance_across_schools_costs_the_same_for_many(client, pam, patch, school):
    from changedesk.accounts.models import School
    from changedesk.accounts.services import set_membership

    def count() -> int:
        client.force_login(pam)
        with CaptureQueriesContext(connection) as queries:
            response = client.get(reverse("patches:compliance"))
        assert response.status_code == 200
        return len(queries), response

    set_membership(pam, School.objects.create(name="Second", slug="second"), [Role.VIEWER])
    two, response = count()
    totals = dict((s.slug, t) for s, t in response.context["totals"])
    assert totals[school.slug].applicable == 1 and totals["second"].applicable == 0
    for n in range(6):
        set_membership(pam, School.objects.create(name=f"S{n}", slug=f"s{n}"), [Role.VIEWER])
    eight, response = count()
    assert len(response.context["totals"]) == 8
    assert eight == two


def test_an_items_patches_page_says_what_it_runs(client, pam, patch, pilot, oscar, team):
    from changedesk.patches import workflow
    from changedesk.patches.models import Installation

    patch = take(patch, "tested", pam)
    Patch.objects.filter(pk=patch.pk).update(state="verified", deployed_on=patch.release_date)
    workflow.perform(patch.pk, "close", pam, {"version": "Build 22631.4460"})
    assert Installation.objects.filter(item=pilot).count() == 1
    url = reverse("patches:item", args=[pilot.pk])
    body = _get(client, pam, url).content.decode()
    assert "Build 22631.4460" in body and patch.title in body
    _get(client, oscar, url, 404)


def test_the_statement_keeps_a_downgraded_or_deferred_patch_in_view(client, pam, school, vendor):
    from changedesk.patches import workflow

    released = today_in(school) - timedelta(days=20)
    lowered = new_patch(
        school, pam, vendor, title="Lowered", reference="KB1", release_date=released
    )
    workflow.perform(lowered.pk, "assess", pam, {"severity": "low"})
    waiting = new_patch(
        school, pam, vendor, title="Waiting", reference="KB2", release_date=released
    )
    later = (today_in(school) + timedelta(days=5)).isoformat()
    workflow.perform(waiting.pk, "defer", pam, {"reason": "Breaks the MIS", "defer_until": later})

    body = _get(client, pam, reverse("patches:statement", args=[school.slug])).content.decode()

    assert "Lowered" in body and "the vendor: critical" in body
    assert "Waiting" in body and "past its deadline" in body and "Breaks the MIS" in body
