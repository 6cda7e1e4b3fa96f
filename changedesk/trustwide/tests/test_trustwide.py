"""One change for many schools: raised once, decided by each school, acted on in bulk."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from changedesk.accounts.models import School
from changedesk.changes.choices import State
from changedesk.changes.history import verify_chain
from changedesk.changes.models import Change
from changedesk.changes.workflow import perform
from changedesk.lib.errors import InvalidAction, NotPermitted
from changedesk.schedule.models import CalendarPeriod
from changedesk.trustwide import services
from changedesk.trustwide.models import Child, ParentChange
from changedesk.trustwide.services import Placement
from changedesk.trustwide.tests.conftest import REQUEST

pytestmark = pytest.mark.django_db
LONDON = ZoneInfo("Europe/London")

PLAN = {
    "details": "1. Add the deny rule. 2. Test from a staff laptop. 3. Save the config.",
    "impact": "None expected; the firewall reloads its rules in a second.",
    "risk": "Low: a typo could block a wanted site until the rule is removed.",
    "fallback_plan": "Remove the rule and reload.",
}


def _api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def _raise(trust, tom, **placement):
    schools = services.schools_of(trust, None)
    parent, notes = services.raise_for_schools(
        trust, tom, dict(REQUEST), schools, Placement(**placement)
    )
    return parent, notes


def test_raising_makes_one_rfc_per_school_each_with_its_own_people(trust, heads, tom, rhys):
    parent, notes = _raise(trust, tom)
    assert parent.reference == "TC-0001"
    assert notes == []
    rows = services.children(parent)
    assert [r.school.slug for r in rows] == ["greenfield", "hillside", "llanfair"]
    for row in rows:
        change = row.change
        assert change.school_id == row.school.pk
        assert change.state == State.DRAFT
        assert change.originator == tom
        assert change.title == REQUEST["title"]
        # Each school's own approvers, the trust's peer reviewer everywhere.
        assert change.initial_approver == heads[row.school.slug]["initial"]
        assert change.final_approver == heads[row.school.slug]["head"]
        assert change.peer_reviewer == rhys
        assert verify_chain(change, list(change.events.order_by("sequence"))) is None
    # Numbered in each school's own sequence.
    assert {r.change.reference for r in rows} == {"RFC-0001"}
    second, _ = _raise(trust, tom)
    assert second.reference == "TC-0002"


def test_only_a_trust_technician_raises(trust, heads, tara, oscar, school):
    from changedesk.accounts import trusts
    from changedesk.accounts.choices import TrustRole

    trusts.set_trust_roles(trust, tara, [TrustRole.TRUST_ADMIN])
    for who in (tara, oscar, heads["greenfield"]["head"]):
        with pytest.raises(NotPermitted):
            services.raise_for_schools(trust, who, dict(REQUEST), [school])
    assert not ParentChange.objects.exists()
    assert not Change.objects.exists()


def test_raising_is_all_or_nothing(trust, heads, tom):
    bad = dict(REQUEST)
    start = timezone.now() + timedelta(days=9)
    with pytest.raises(InvalidAction) as refused:
        services.raise_for_schools(
            trust,
            tom,
            bad,
            services.schools_of(trust, None),
            Placement(start=start, end=start - timedelta(hours=1)),
        )
    assert "planned_end" in refused.value.fields
    assert "Greenfield Primary" in refused.value.fields["planned_end"]
    assert not ParentChange.objects.exists()
    assert not Change.objects.exists()


def test_a_school_outside_the_trust_is_refused(trust, tom):
    with pytest.raises(InvalidAction) as refused:
        services.schools_of(trust, ["greenfield", "elsewhere"])
    assert "elsewhere" in refused.value.fields["schools"]


def test_each_school_gets_its_own_next_safe_slot(trust, heads, tom, school, other_school):
    # Greenfield is frozen for the next three weeks: its slot comes after; Hillside's not.
    today = timezone.localdate()
    now = timezone.now()
    CalendarPeriod.objects.create(
        school=school,
        kind="freeze",
        name="Exam freeze",
        starts_at=now - timedelta(days=1),
        ends_at=now + timedelta(days=22),
        is_hard=True,
    )
    parent, notes = _raise(trust, tom, minutes=60)
    assert notes == []
    by_school = {r.school.slug: r.change for r in services.children(parent)}
    green, hill = by_school["greenfield"], by_school["hillside"]
    assert green.planned_start and hill.planned_start
    assert green.planned_end - green.planned_start == timedelta(hours=60 / 60)
    assert green.planned_start.astimezone(LONDON).date() > today + timedelta(days=21)
    assert hill.planned_start < green.planned_start


def _through_initial(parent, heads):
    for row in services.children(parent):
        perform(row.change_id, "approve", heads[row.school.slug]["initial"])


def test_a_parent_where_one_school_rejects_and_the_others_go_ahead(trust, heads, tom, rhys):
    parent, _ = _raise(trust, tom)
    rows = services.children(parent)
    submitted = services.act_on_many(parent, tom, "submit", rows)
    assert all(r.ok for r in submitted)
    _through_initial(parent, heads)
    start = timezone.now() + timedelta(days=10)
    copied = services.copy_plan(
        parent,
        tom,
        PLAN,
        services.children(parent),
        Placement(start=start, end=start + timedelta(hours=1)),
    )
    assert [r.ok for r in copied] == [True, True, True]
    planned = services.act_on_many(parent, tom, "submit_plan", services.children(parent))
    assert all(r.ok for r in planned), [r.message for r in planned]
    reviewed = services.act_on_many(parent, rhys, "approve", services.children(parent))
    assert all(r.ok for r in reviewed)
    # Each headteacher decides for their own school: one rejects.
    by_school = {r.school.slug: r for r in services.children(parent)}
    # A headteacher decides nothing for another school.
    with pytest.raises(NotPermitted):
        perform(by_school["llanfair"].change_id, "reject", heads["greenfield"]["head"], comment="x")
    perform(by_school["greenfield"].change_id, "approve", heads["greenfield"]["head"])
    perform(by_school["llanfair"].change_id, "approve", heads["llanfair"]["head"])
    perform(
        by_school["hillside"].change_id,
        "reject",
        heads["hillside"]["head"],
        comment="Our exams start that week.",
    )
    outcomes = services.act_on_many(
        parent, tom, "record_outcome", services.children(parent), data={"outcome": "succeeded"}
    )
    result = {r.school.slug: r for r in outcomes}
    assert result["greenfield"].ok and result["llanfair"].ok
    assert not result["hillside"].ok
    states = {r.school.slug: r.change.state for r in services.children(parent)}
    assert states == {
        "greenfield": State.IMPLEMENTED,
        "hillside": State.REJECTED,
        "llanfair": State.IMPLEMENTED,
    }
    matrix = services.matrix(parent)
    assert services.summary(matrix) == [("Implemented", 2), ("Rejected", 1)]


def test_copying_the_plan_keeps_an_rfc_whose_plan_was_submitted(trust, heads, tom, rhys):
    parent, _ = _raise(trust, tom)
    services.act_on_many(parent, tom, "submit", services.children(parent))
    _through_initial(parent, heads)
    start = timezone.now() + timedelta(days=10)
    window = Placement(start=start, end=start + timedelta(hours=1))
    services.copy_plan(parent, tom, PLAN, services.children(parent), window)
    first = services.chosen(parent, ["greenfield"])
    services.act_on_many(parent, tom, "submit_plan", first)
    again = services.copy_plan(
        parent, tom, {**PLAN, "details": "A new plan."}, services.children(parent), window
    )
    result = {r.school.slug: r for r in again}
    assert not result["greenfield"].ok
    assert "waiting for a decision" in result["greenfield"].message
    assert result["hillside"].ok
    green = Change.objects.get(pk=first[0].change_id)
    assert green.details == PLAN["details"]


# --- The API. ---


def test_api_raises_for_many_schools(trust, heads, tom):
    response = _api(tom).post(
        "/api/v1/changes/",
        {**REQUEST, "schools": ["greenfield", "llanfair"], "submit": True},
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["reference"] == "TC-0001"
    assert body["trust"] == trust.slug
    assert [c["school"] for c in body["children"]] == ["greenfield", "llanfair"]
    assert {c["state"] for c in body["children"]} == {"awaiting_initial_approval"}
    assert body["children"][0]["waiting_on"] == {
        "task": "decide whether it may be planned",
        "person": "init_greenfield",
    }
    assert body["children"][0]["parent"]["id"] == body["id"]
    assert body["states"] == {"awaiting_initial_approval": 2}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"schools": []}, "schools"),
        ({"schools": "some"}, "schools"),
        ({"schools": [1, 2]}, "schools"),
        ({"schools": ["greenfield", "nowhere"]}, "schools"),
        ({"schools": "all", "title": ""}, "title"),
        (
            {
                "schools": "all",
                "next_safe_slot_minutes": 60,
                "planned_start": "2030-01-01T10:00:00Z",
                "planned_end": "2030-01-01T11:00:00Z",
            },
            "next_safe_slot_minutes",
        ),
        ({"schools": "all", "next_safe_slot_minutes": 5}, "next_safe_slot_minutes"),
        ({"schools": "all", "trust": "nowhere"}, "trust"),
        ({"schools": "all", "colour": "red"}, "colour"),
    ],
)
def test_api_raising_refuses_bad_input_with_field_errors(trust, heads, tom, body, field):
    response = _api(tom).post("/api/v1/changes/", {**REQUEST, **body}, format="json")
    assert response.status_code == 400, response.json()
    assert field in response.json()
    assert not ParentChange.objects.exists()


def test_api_raising_needs_a_trust_technician(trust, heads, tara, oscar):
    from changedesk.accounts import trusts
    from changedesk.accounts.choices import TrustRole

    trusts.set_trust_roles(trust, tara, [TrustRole.TRUST_ADMIN])
    for who in (tara, oscar):
        response = _api(who).post("/api/v1/changes/", {**REQUEST, "schools": "all"}, format="json")
        assert response.status_code == 403, response.json()
    assert not Change.objects.exists()


def test_api_children_and_who_sees_them(trust, heads, tom, tara, oscar):
    parent, _ = _raise(trust, tom)
    for key in (str(parent.pk), parent.qualified_reference):
        response = _api(tara).get(f"/api/v1/changes/{key}/children/")
        assert response.status_code == 200
        assert [c["school"] for c in response.json()] == ["greenfield", "hillside", "llanfair"]
    # A school's own people see their school's RFC, not the trust-wide change.
    head = heads["greenfield"]["head"]
    assert _api(head).get(f"/api/v1/changes/{parent.pk}/children/").status_code == 404
    assert _api(oscar).get(f"/api/v1/trust-changes/{parent.pk}/").status_code == 404
    assert _api(head).get("/api/v1/trust-changes/").json()["count"] == 0
    child = Child.objects.get(parent=parent, school__slug="greenfield")
    shown = _api(head).get(f"/api/v1/changes/{child.change_id}/").json()
    assert shown["parent"] == {
        "id": parent.pk,
        "reference": "TC-0001",
        "qualified_reference": f"{trust.slug}:TC-0001",
        "trust": trust.slug,
    }
    listed = _api(tara).get("/api/v1/trust-changes/").json()
    assert listed["count"] == 1
    assert listed["results"][0]["states"] == {"draft": 3}
    filtered = _api(tara).get(f"/api/v1/changes/?parent={parent.pk}").json()
    assert filtered["count"] == 3


def test_api_bulk_action_reports_each_school(trust, heads, tom, rhys):
    parent, _ = _raise(trust, tom)
    response = _api(tom).post(
        f"/api/v1/changes/{parent.pk}/children/actions/",
        {"action": "submit", "schools": ["greenfield", "hillside"]},
        format="json",
    )
    assert response.status_code == 200, response.json()
    assert [(r["school"], r["ok"]) for r in response.json()["results"]] == [
        ("greenfield", True),
        ("hillside", True),
    ]
    again = _api(tom).post(
        f"/api/v1/changes/{parent.pk}/children/actions/",
        {"action": "submit", "schools": "all"},
        format="json",
    )
    results = {r["school"]: r for r in again.json()["results"]}
    assert results["llanfair"]["ok"] is True
    assert results["greenfield"]["ok"] is False and results["greenfield"]["detail"]
    # Someone of the trust without the role is refused at each school.
    refused = _api(rhys).post(
        f"/api/v1/changes/{parent.pk}/children/actions/",
        {"action": "withdraw", "schools": "all"},
        format="json",
    )
    assert {r["ok"] for r in refused.json()["results"]} == {False}
    bad = _api(tom).post(
        f"/api/v1/changes/{parent.pk}/children/actions/",
        {"action": "submit", "schools": ["nowhere"]},
        format="json",
    )
    assert bad.status_code == 400 and "schools" in bad.json()


def test_api_copy_plan_to_each_schools_next_safe_slot(trust, heads, tom):
    parent, _ = _raise(trust, tom)
    response = _api(tom).post(
        f"/api/v1/changes/{parent.pk}/children/plan/",
        {**PLAN, "next_safe_slot_minutes": 45, "schools": "all"},
        format="json",
    )
    assert response.status_code == 200, response.json()
    assert all(r["ok"] for r in response.json()["results"])
    for change in Change.objects.all():
        assert change.details == PLAN["details"]
        assert change.planned_end - change.planned_start == timedelta(minutes=45)


# --- The pages. ---


def test_pages_raise_show_the_matrix_and_act(client, trust, heads, tom):
    client.force_login(tom)
    page = client.get(reverse("trustwide:create", args=[trust.slug]))
    assert page.status_code == 200
    assert b"Llanfair Primary" in page.content
    start = (timezone.now() + timedelta(days=12)).astimezone(LONDON).replace(hour=17, minute=0)
    response = client.post(
        reverse("trustwide:create", args=[trust.slug]),
        {
            **REQUEST,
            "all_schools": "on",
            "window": "same",
            "planned_start": start.strftime("%Y-%m-%dT%H:%M"),
            "planned_end": (start + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"),
            "submit_now": "on",
        },
    )
    parent = ParentChange.objects.get()
    assert response.status_code == 302
    assert response["Location"] == parent.get_absolute_url()
    for change in Change.objects.all():
        assert change.state == State.AWAITING_INITIAL_APPROVAL
        assert change.planned_start.astimezone(LONDON).hour == 17
    detail = client.get(parent.get_absolute_url())
    assert detail.status_code == 200
    text = detail.content.decode()
    assert "Init Example to decide whether it may be planned" in text or "to decide" in text
    assert text.count('id="school-') == 3
    # Withdraw in one school from the page.
    acted = client.post(
        reverse("trustwide:act", args=[parent.pk]),
        {"bulk-action": "withdraw", "bulk-schools": ["hillside"]},
    )
    assert acted.status_code == 302
    assert Change.objects.get(school__slug="hillside").state == State.WITHDRAWN
    missing = client.post(reverse("trustwide:act", args=[parent.pk]), {"bulk-action": "submit"})
    assert missing.status_code == 400
    assert "This field is required" in missing.content.decode()


def test_page_form_errors_and_who_may(client, trust, heads, tom, tara, oscar):
    client.force_login(tom)
    response = client.post(
        reverse("trustwide:create", args=[trust.slug]), {"title": "", "window": "each"}
    )
    assert response.status_code == 400
    text = response.content.decode()
    assert "Choose the schools, or all the trust&#x27;s schools." in text
    assert "Say how long it takes" in text
    assert not ParentChange.objects.exists()
    parent, _ = _raise(trust, tom)
    from changedesk.accounts import trusts
    from changedesk.accounts.choices import TrustRole

    trusts.set_trust_roles(trust, tara, [TrustRole.TRUST_ADMIN])
    client.force_login(tara)  # the trust's administrator: sees, does not raise
    assert client.get(parent.get_absolute_url()).status_code == 200
    assert client.get(reverse("trustwide:create", args=[trust.slug])).status_code == 403
    client.force_login(oscar)  # a school's technician: not the trust's
    assert client.get(parent.get_absolute_url()).status_code == 404
    assert client.get(reverse("trustwide:create", args=[trust.slug])).status_code == 404
    child = Child.objects.get(parent=parent, school__slug="hillside")
    rfc = client.get(reverse("changes:detail", args=[child.change_id]))
    assert rfc.status_code == 200
    assert "Part of a trust-wide change" in rfc.content.decode()
    assert parent.get_absolute_url() not in rfc.content.decode()


def test_the_trusts_forward_schedule_shows_its_schools_changes(client, trust, heads, tom, oscar):
    start = (timezone.now() + timedelta(days=3)).replace(minute=0, second=0, microsecond=0)
    _raise(trust, tom, start=start, end=start + timedelta(hours=1))
    client.force_login(tom)
    day = start.astimezone(LONDON).date().isoformat()
    page = client.get(
        reverse("schedule:forward"), {"trust": trust.slug, "view": "agenda", "date": day}
    )
    assert page.status_code == 200
    text = page.content.decode()
    assert f"Forward schedule of change: {trust.name}" in text
    assert text.count(REQUEST["title"]) >= 3
    assert 'name="trust" value="northfield"' in text
    # Someone in one of the trust's schools sees their own school's only.
    client.force_login(oscar)
    own = client.get(
        reverse("schedule:forward"), {"trust": trust.slug, "view": "agenda", "date": day}
    )
    assert own.status_code == 200
    assert own.context["query"].schools == [Child.objects.get(school__slug="hillside").school]
    assert client.get(reverse("schedule:forward"), {"trust": "elsewhere"}).status_code == 404


def test_api_bulk_needs_the_schools_said_and_refuses_a_far_future(trust, heads, tom):
    parent, _ = _raise(trust, tom)
    for path, body in (
        ("actions", {"action": "withdraw"}),
        ("plan", {**PLAN}),
    ):
        response = _api(tom).post(
            f"/api/v1/changes/{parent.pk}/children/{path}/", body, format="json"
        )
        assert response.status_code == 400 and "schools" in response.json()
    far = "9999-12-01T00:00:00+00:00"
    response = _api(tom).post(
        "/api/v1/changes/",
        {**REQUEST, "schools": "all", "next_safe_slot_minutes": 60, "next_safe_slot_after": far},
        format="json",
    )
    assert response.status_code == 400 and "next_safe_slot_after" in response.json()
    assert {c.state for c in Change.objects.all()} == {State.DRAFT}


def test_page_far_future_and_a_trust_school_keeps_the_trusts_zone(client, trust, heads, tom):
    from changedesk.accounts.forms import SchoolSettingsForm

    client.force_login(tom)
    response = client.post(
        reverse("trustwide:create", args=[trust.slug]),
        {**REQUEST, "all_schools": "on", "window": "each", "minutes": "60",
         "after": "9999-12-01T00:00"},
    )  # fmt: skip
    assert response.status_code == 400
    assert "Choose a time between 1900 and 2998." in response.content.decode()
    school = School.objects.get(slug="hillside")
    data = {f: getattr(school, f) for f in SchoolSettingsForm.Meta.fields}
    data["timezone"] = "America/New_York"
    form = SchoolSettingsForm(data, instance=school)
    assert not form.is_valid() and "timezone" in form.errors


def test_a_school_that_left_drops_out_of_the_parent_everywhere(trust, heads, tom, third_school):
    from changedesk.accounts import trusts
    from changedesk.accounts.choices import Role
    from changedesk.conftest import member

    parent, _ = _raise(trust, tom)
    member("own_admin", third_school, [Role.SCHOOL_ADMIN])
    trusts.remove_school(third_school)
    states = _api(tom).get(f"/api/v1/trust-changes/{parent.pk}/").json()["states"]
    assert states == {"draft": 2}
    left = Child.objects.get(parent=parent, school=third_school).change
    admin = _api(third_school.memberships.get(user__username="own_admin").user)
    assert admin.get(f"/api/v1/changes/{left.pk}/").json()["parent"] is None


def test_a_school_that_left_after_it_was_chosen_is_refused(trust, heads, tom, third_school):
    from changedesk.accounts import trusts
    from changedesk.accounts.choices import Role
    from changedesk.conftest import member

    chosen = services.schools_of(trust, None)  # Llanfair among them, as loaded
    member("own_admin", third_school, [Role.SCHOOL_ADMIN])
    trusts.remove_school(School.objects.get(pk=third_school.pk))
    with pytest.raises(InvalidAction) as refused:
        services.raise_for_schools(trust, tom, dict(REQUEST), chosen)
    assert "No longer a school of" in refused.value.fields["schools"]
    assert not ParentChange.objects.exists() and not Change.objects.exists()
