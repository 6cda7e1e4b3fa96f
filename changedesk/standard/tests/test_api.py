"""Standard change templates in the REST API: the permission matrix, each endpoint's round
trip, the calendar's refusals of a raise, bad input, and the list's query count.

The template's `url` is its page (`standard:detail`), whose views are not these tests'
concern: this module is its own URLconf (`pytest.mark.urls`), with the project's pages and
API and a stand-in for that one page, so that the tests do not depend on it.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from changedesk.accounts.choices import Role
from changedesk.accounts.services import set_membership
from changedesk.changes.models import Change
from changedesk.changes.workflow import perform
from changedesk.configuration.models import ConfigurationItem
from changedesk.conftest import advance, member
from changedesk.schedule.models import CalendarPeriod
from changedesk.standard import services
from changedesk.standard.models import Raised, Template, TemplateEvent
from changedesk.standard.tests.conftest import CONTENT, approve

pytestmark = pytest.mark.django_db

LIST = "/api/v1/standard-changes/"
FIELDS = {
    "id",
    "school",
    *CONTENT,
    "items",
    "windows",
    "raisers",
    "review_date",
    "state",
    "status",
    "may_be_raised",
    "version",
    "approved_version",
    "approved_digest",
    "approved_at",
    "proposal",
    "suspended_by",
    "created_by",
    "created_at",
    "updated_at",
    "url",
    "allowed",
}


def client_for(user=None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


def detail(template: Template, action: str = "") -> str:
    return f"{LIST}{template.pk}/" + (f"{action}/" if action else "")


def window(days: int = 8, hour: int = 18):
    return (timezone.now() + timedelta(days=days)).replace(
        hour=hour, minute=0, second=0, microsecond=0
    )


@pytest.fixture
def hillside_server(other_school):
    return ConfigurationItem.objects.create(school=other_school, name="Hillside server")


@pytest.fixture
def suspended(approved, team):
    change = services.raise_change(approved.pk, team["olivia"], planned_start=window())
    perform(change.pk, "record_outcome", team["olivia"], data={"outcome": "failed_backed_out"})
    approved.refresh_from_db()
    assert approved.state == "suspended"
    return approved


def standard_changes() -> int:
    return Change.objects.filter(is_standard=True).count()


# --- Who may: the permission matrix. ---


def test_anonymous_callers_are_refused_everywhere(template):
    client = client_for()
    for url in (LIST, detail(template), detail(template, "history")):
        assert client.get(url).status_code in (401, 403), url
    assert client.post(LIST, {**CONTENT, "school": "greenfield"}).status_code in (401, 403)
    assert client.patch(detail(template), {"title": "Other"}).status_code in (401, 403)
    for action in ("propose", "raise", "reinstate"):
        assert client.post(detail(template, action), {}).status_code in (401, 403), action
    assert Template.objects.count() == 1 and not Change.objects.exists()


def test_every_member_lists_and_reads_their_schools_templates_and_no_others(
    team, template, oscar, other_school
):
    theirs = services.create_template(other_school, oscar, {**CONTENT, "title": "Hillside"})
    for user in team.values():
        response = client_for(user).get(LIST)
        assert response.status_code == 200, user
        assert [t["id"] for t in response.json()["results"]] == [template.pk]
        assert client_for(user).get(detail(template)).status_code == 200
        assert client_for(user).get(detail(theirs)).status_code == 404
    listed = client_for(oscar).get(LIST).json()
    assert listed["count"] == 1 and listed["results"][0]["school"] == "hillside"


def test_another_schools_template_is_not_found_for_every_endpoint(template, oscar):
    client = client_for(oscar)
    assert client.get(detail(template)).status_code == 404
    assert client.get(detail(template, "history")).status_code == 404
    assert client.patch(detail(template), {"title": "Mine now"}).status_code == 404
    for action, body in (
        ("propose", {}),
        ("raise", {"planned_start": window().isoformat()}),
        ("reinstate", {"comment": "Reviewed"}),
    ):
        response = client.post(detail(template, action), body)
        assert response.status_code == 404, action
        assert response.json()["detail"] == "No such standard change among your schools."
    assert client.get(f"{LIST}99999999/").status_code == 404
    assert client.get(f"{LIST}not-a-number/").status_code == 404
    template.refresh_from_db()
    assert template.title == CONTENT["title"] and template.state == "draft"


@pytest.mark.parametrize("who", ["ian", "peter", "fiona", "ivan", "sam"])
def test_only_an_originator_writes_edits_and_proposes_templates(team, template, who):
    client = client_for(team[who])
    response = client.post(LIST, {**CONTENT, "school": "greenfield"})
    assert response.status_code == 403, response.content
    assert client.patch(detail(template), {"details": "Other steps."}).status_code == 403
    assert client.post(detail(template, "propose")).status_code == 403
    assert Template.objects.count() == 1 and not Change.objects.exists()
    template.refresh_from_db()
    assert template.details == CONTENT["details"] and template.state == "draft"
    assert client_for(team[who]).get(detail(template)).json()["allowed"] == []


def test_what_each_person_may_do_now_is_in_allowed(team, template, school):
    def allowed(user, template):
        return client_for(user).get(detail(template)).json()["allowed"]

    assert allowed(team["olivia"], template) == ["edit", "propose"]
    services.propose(template.pk, team["olivia"])
    assert allowed(team["olivia"], template) == []
    proposal = Template.objects.get(pk=template.pk).proposal
    advance(proposal, team, "approved")
    perform(proposal.pk, "withdraw", team["olivia"])
    assert allowed(team["olivia"], template) == ["edit", "raise"]
    assert allowed(team["fiona"], template) == []
    change = services.raise_change(template.pk, team["olivia"], planned_start=window())
    perform(change.pk, "record_outcome", team["olivia"], data={"outcome": "failed_backed_out"})
    assert allowed(team["olivia"], template) == ["edit"]
    assert allowed(team["fiona"], template) == ["reinstate"]
    assert allowed(team["ian"], template) == ["reinstate"]
    assert allowed(team["peter"], template) == []


def test_only_the_people_it_names_may_raise_it(team, school, template):
    otto = member("otto", school, [Role.ORIGINATOR])
    response = client_for(team["olivia"]).patch(detail(template), {"raisers": ["olivia"]})
    assert response.status_code == 200, response.content
    assert response.json()["raisers"] == ["olivia"]
    approve(template, team)
    body = {"planned_start": window().isoformat()}
    assert client_for(otto).get(detail(template)).json()["allowed"] == ["edit"]
    for user in (otto, team["ian"], team["fiona"], team["ivan"]):
        response = client_for(user).post(detail(template, "raise"), body)
        assert response.status_code == 403, user
        assert "may not raise" in response.json()["detail"]
    assert standard_changes() == 0
    assert client_for(team["olivia"]).post(detail(template, "raise"), body).status_code == 201


def test_only_an_approver_reinstates(team, suspended):
    for who in ("olivia", "peter", "ivan", "sam"):
        response = client_for(team[who]).post(detail(suspended, "reinstate"), {"comment": "Fine"})
        assert response.status_code == 403, who
    suspended.refresh_from_db()
    assert suspended.state == "suspended"


# --- Round trips. ---


def test_an_originator_writes_a_template(team, school, laptops):
    review = (timezone.localdate() + timedelta(days=200)).isoformat()
    body = {
        **CONTENT,
        "school": "greenfield",
        "items": [laptops.pk],
        "raisers": ["olivia"],
        "review_date": review,
    }
    response = client_for(team["olivia"]).post(LIST, body)
    assert response.status_code == 201, response.content
    shown = response.json()
    assert set(shown) == FIELDS
    template = Template.objects.get()
    assert shown["id"] == template.pk and shown["school"] == "greenfield"
    assert {name: shown[name] for name in CONTENT} == CONTENT
    assert shown["items"] == [laptops.pk] and shown["raisers"] == ["olivia"]
    assert shown["windows"] == []
    assert shown["review_date"] == review
    assert shown["state"] == "draft" and shown["status"] == "Draft"
    assert shown["may_be_raised"] is False and shown["version"] == 1
    assert shown["approved_version"] is None and shown["approved_digest"] == ""
    assert shown["approved_at"] is None
    assert shown["proposal"] is None and shown["suspended_by"] is None
    assert shown["created_by"] == "olivia"
    assert shown["url"] == f"http://testserver{template.get_absolute_url()}"
    assert shown["allowed"] == ["edit", "propose"]
    assert client_for(team["ian"]).get(detail(template)).json() == {**shown, "allowed": []}
    assert list(template.events.values_list("kind", flat=True)) == ["create"]


def test_a_template_written_without_a_review_date_or_duration_takes_the_defaults(team):
    body = {name: value for name, value in CONTENT.items() if name != "duration_minutes"}
    response = client_for(team["olivia"]).post(LIST, {**body, "school": "greenfield"})
    assert response.status_code == 201, response.content
    shown = response.json()
    assert shown["duration_minutes"] == 60 and shown["items"] == [] and shown["raisers"] == []
    assert shown["review_date"] == (timezone.localdate() + services.DEFAULT_REVIEW).isoformat()


def test_editing_a_draft_and_then_an_approved_template(team, template, approved, laptops):
    client = client_for(team["olivia"])
    response = client.patch(
        detail(approved), {"review_date": approved.review_date.isoformat(), "comment": "Same"}
    )
    assert response.status_code == 200, response.content
    assert response.json()["state"] == "approved" and response.json()["version"] == 1
    response = client.patch(
        detail(approved), {"details": "1. Deploy. 2. Check.", "comment": "Simpler steps"}
    )
    assert response.status_code == 200, response.content
    shown = response.json()
    assert shown["details"] == "1. Deploy. 2. Check."
    assert shown["state"] == "draft" and shown["version"] == 2 and shown["approved_version"] == 1
    assert shown["allowed"] == ["edit", "propose"]
    edit = TemplateEvent.objects.filter(template=approved, kind="edit").get()
    assert edit.comment == "Simpler steps" and edit.data["needs_approval"] is True
    response = client.patch(detail(approved), {"items": []})
    assert response.status_code == 200 and response.json()["items"] == []


def test_a_template_being_approved_cannot_be_edited(team, template):
    client = client_for(team["olivia"])
    assert client.post(detail(template, "propose")).status_code == 201
    response = client.patch(detail(template), {"details": "Other steps."})
    assert response.status_code == 400
    assert "being approved" in response.json()["detail"] and "state" in response.json()
    template.refresh_from_db()
    assert template.details == CONTENT["details"]


def test_proposing_gives_the_rfc_that_asks_for_approval(team, template, laptops):
    client = client_for(team["olivia"])
    response = client.post(detail(template, "propose"))
    assert response.status_code == 201, response.content
    rfc = response.json()
    template.refresh_from_db()
    assert rfc["id"] == template.proposal_id and template.state == "proposed"
    assert rfc["title"] == "Standard change: Monthly security updates"
    assert rfc["type"] == "normal" and rfc["state"] == "draft"
    assert rfc["school"] == "greenfield" and rfc["originator"] == "olivia"
    assert rfc["items"] == [laptops.pk] and rfc["details"] == CONTENT["details"]
    assert "submit" in rfc["allowed_actions"]
    # As the RFC API shows it.
    assert client.get(f"/api/v1/changes/{rfc['id']}/").json() == rfc
    shown = client.get(detail(template)).json()
    assert shown["state"] == "proposed" and shown["status"] == "Awaiting approval"
    assert shown["proposal"] == rfc["id"]
    again = client.post(detail(template, "propose"))
    assert again.status_code == 400 and "state" in again.json()
    assert Change.objects.count() == 1


def test_proposing_may_name_the_rfcs_people(team, template):
    client = client_for(team["olivia"])
    response = client.post(
        detail(template, "propose"), {"initial_approver": "ian", "final_approver": "fiona"}
    )
    assert response.status_code == 201, response.content
    assert response.json()["initial_approver"] == "ian"
    assert response.json()["final_approver"] == "fiona"


def test_proposing_refuses_people_who_are_not_members_or_do_not_hold_the_role(
    team, template, oscar
):
    client = client_for(team["olivia"])
    response = client.post(detail(template, "propose"), {"initial_approver": "oscar"})
    assert response.status_code == 400 and "initial_approver" in response.json()
    response = client.post(detail(template, "propose"), {"final_approver": "ivan"})
    assert response.status_code == 400 and "final_approver" in response.json()
    response = client.post(detail(template, "propose"), {"approver": "ian"})
    assert response.status_code == 400 and response.json()["approver"] == ["Unknown field."]
    assert not Change.objects.exists()
    template.refresh_from_db()
    assert template.state == "draft"


def test_raising_gives_an_approved_standard_rfc(team, approved, laptops):
    start = window()
    client = client_for(team["olivia"])
    response = client.post(detail(approved, "raise"), {"planned_start": start.isoformat()})
    assert response.status_code == 201, response.content
    rfc = response.json()
    assert rfc["type"] == "standard" and rfc["state"] == "approved"
    assert rfc["title"] == CONTENT["title"] and rfc["details"] == CONTENT["details"]
    assert rfc["items"] == [laptops.pk] and rfc["originator"] == "olivia"
    change = Change.objects.get(pk=rfc["id"])
    assert change.planned_start == start
    assert change.planned_end == start + timedelta(minutes=90)
    assert Raised.objects.get(change=change).template == approved
    assert client.get(f"/api/v1/changes/{rfc['id']}/").json() == rfc


def test_raising_with_a_window_items_and_an_implementer(team, approved, laptops):
    start = window(days=9)
    body = {
        "planned_start": start.isoformat(),
        "planned_end": (start + timedelta(minutes=30)).isoformat(),
        "items": [laptops.pk],
        "implementer": "ivan",
    }
    response = client_for(team["olivia"]).post(detail(approved, "raise"), body)
    assert response.status_code == 201, response.content
    rfc = response.json()
    assert rfc["implementer"] == "ivan" and rfc["items"] == [laptops.pk]
    change = Change.objects.get(pk=rfc["id"])
    assert change.planned_end - change.planned_start == timedelta(minutes=30)


def test_a_draft_suspended_or_expired_template_is_not_raised(team, template, school):
    client = client_for(team["olivia"])
    body = {"planned_start": window().isoformat()}
    response = client.post(detail(template, "raise"), body)
    assert response.status_code == 400 and "template" in response.json()
    approve(template, team)
    Template.objects.filter(pk=template.pk).update(
        review_date=timezone.localdate() - timedelta(days=1)
    )
    shown = client.get(detail(template)).json()
    assert shown["status"].startswith("Expired") and shown["may_be_raised"] is False
    assert "raise" not in shown["allowed"]
    response = client.post(detail(template, "raise"), body)
    assert response.status_code == 400 and "review date has passed" in response.json()["detail"]
    assert standard_changes() == 0


def test_reinstating_a_suspended_template(team, suspended):
    client = client_for(team["fiona"])
    shown = client.get(detail(suspended)).json()
    assert shown["state"] == "suspended" and shown["suspended_by"] == suspended.suspended_by_id
    response = client.post(detail(suspended, "reinstate"), {"comment": "  "})
    assert response.status_code == 400 and "comment" in response.json()
    assert client.post(detail(suspended, "reinstate"), {}).status_code == 400
    response = client.post(
        detail(suspended, "reinstate"), {"comment": "The driver update is now excluded."}
    )
    assert response.status_code == 200, response.content
    assert response.json()["state"] == "approved" and response.json()["allowed"] == []
    again = client.post(detail(suspended, "reinstate"), {"comment": "Again"})
    assert again.status_code == 400 and "state" in again.json()


def test_the_history_lists_each_step(team, suspended):
    response = client_for(team["ivan"]).get(detail(suspended, "history"))
    assert response.status_code == 200, response.content
    events = response.json()
    assert isinstance(events, list)
    assert [e["kind"] for e in events] == ["create", "propose", "approve", "suspend"]
    assert set(events[0]) == {
        "kind", "actor", "version", "change", "comment", "data", "created_at",
    }  # fmt: skip
    assert [e["actor"] for e in events] == ["olivia", "olivia", "fiona", "olivia"]
    assert events[0]["change"] is None and events[0]["version"] == 1
    assert events[1]["change"] == events[2]["change"] == suspended.proposal_id
    assert events[3]["change"] == suspended.suspended_by_id
    assert events[2]["data"]["digest"] == suspended.approved_digest


# --- The calendar refuses a raise. ---


def test_a_hard_freeze_refuses_a_raise_and_leaves_no_rfc(team, school, approved):
    start = window(days=10)
    CalendarPeriod.objects.create(
        school=school, kind="freeze", name="Census freeze", is_hard=True,
        starts_at=start - timedelta(hours=1), ends_at=start + timedelta(hours=3),
    )  # fmt: skip
    before = Change.objects.count()
    response = client_for(team["olivia"]).post(
        detail(approved, "raise"), {"planned_start": start.isoformat()}
    )
    assert response.status_code == 400, response.content
    assert "Census freeze" in response.json()["planned_start"][0]
    assert Change.objects.count() == before and standard_changes() == 0
    assert not Raised.objects.exists()


def test_a_soft_conflict_refuses_a_raise_naming_the_next_safe_slot(team, school, approved):
    start = window(days=20)
    CalendarPeriod.objects.create(
        school=school, kind="exam", name="Mock exams",
        starts_at=start - timedelta(hours=1), ends_at=start + timedelta(hours=3),
    )  # fmt: skip
    response = client_for(team["olivia"]).post(
        detail(approved, "raise"), {"planned_start": start.isoformat()}
    )
    assert response.status_code == 400, response.content
    message = response.json()["planned_start"][0]
    assert "Mock exams" in message and "next safe slot" in message
    assert standard_changes() == 0 and not Raised.objects.exists()


# --- Bad input: a 400 with field errors, and nothing written. ---


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"state": "approved"}, "state"),
        ({"colour": "blue"}, "colour"),
        ({"items": 3}, "items"),
        ({"items": ["3"]}, "items"),
        ({"items": [True]}, "items"),
        ({"raisers": "olivia"}, "raisers"),
        ({"raisers": ["nobody"]}, "raisers"),
        ({"raisers": ["ian"]}, "raisers"),
        ({"raisers": ["oscar"]}, "raisers"),
        ({"title": ""}, "title"),
        ({"title": 12}, "title"),
        ({"duration_minutes": 0}, "duration_minutes"),
        ({"duration_minutes": "90"}, "duration_minutes"),
        ({"review_date": "next year"}, "review_date"),
        ({"school": "hillside"}, "school"),
        ({"school": None}, "school"),
    ],
)
def test_bad_input_to_create_is_a_400_with_field_errors(team, oscar, change, field):
    body = {**CONTENT, "school": "greenfield", **change}
    response = client_for(team["olivia"]).post(LIST, body)
    assert response.status_code == 400, response.content
    assert field in response.json() and response.json()["detail"]
    assert not Template.objects.exists() and not TemplateEvent.objects.exists()


def test_an_item_of_another_school_is_refused(team, template, hillside_server):
    client = client_for(team["olivia"])
    response = client.post(LIST, {**CONTENT, "school": "greenfield", "items": [hillside_server.pk]})
    assert response.status_code == 400
    assert response.json()["items"] == [f"No item {hillside_server.pk} at Greenfield Primary."]
    response = client.patch(detail(template), {"items": [hillside_server.pk], "title": "New"})
    assert response.status_code == 400 and "items" in response.json()
    template.refresh_from_db()
    assert template.title == CONTENT["title"] and Template.objects.count() == 1


def test_a_missing_field_is_named(team):
    body = {name: value for name, value in CONTENT.items() if name != "details"}
    response = client_for(team["olivia"]).post(LIST, {**body, "school": "greenfield"})
    assert response.status_code == 400 and "details" in response.json()
    assert not Template.objects.exists()


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"state": "approved"}, "state"),
        ({"school": "hillside"}, "school"),
        ({"version": 7}, "version"),
        ({"details": ""}, "details"),
        ({"raisers": ["ian"]}, "raisers"),
        ({"comment": 3}, "comment"),
    ],
)
def test_bad_input_to_an_edit_changes_nothing(team, template, change, field):
    response = client_for(team["olivia"]).patch(detail(template), {"title": "New", **change})
    assert response.status_code == 400, response.content
    assert field in response.json()
    template.refresh_from_db()
    assert template.title == CONTENT["title"] and template.version == 1
    assert list(template.raisers.all()) == []
    assert template.events.count() == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"planned_start": "2030-03-01T18:00:00"}, "planned_start"),
        ({"planned_start": "tomorrow"}, "planned_start"),
        ({"planned_start": "9999-12-31T23:00:00+00:00"}, "planned_start"),
        ({"planned_end": "2030-03-01T18:00:00"}, "planned_end"),
        ({"items": "all"}, "items"),
        ({"items": [0]}, "items"),
        ({"items": [99999999]}, "items"),
        ({"implementer": "nobody"}, "implementer"),
        ({"implementer": "oscar"}, "implementer"),
        ({"implementer": "fiona"}, "implementer"),
        ({"colour": "blue"}, "colour"),
    ],
)
def test_bad_input_to_a_raise_is_a_400_and_leaves_no_rfc(team, approved, oscar, body, field):
    body = {"planned_start": window().isoformat(), **body}
    response = client_for(team["olivia"]).post(detail(approved, "raise"), body)
    assert response.status_code == 400, response.content
    assert field in response.json()
    assert standard_changes() == 0 and not Raised.objects.exists()


def test_a_raise_without_a_start_is_refused(team, approved):
    response = client_for(team["olivia"]).post(detail(approved, "raise"), {})
    assert response.status_code == 400
    assert response.json()["planned_start"] == ["This field is required."]


def test_an_item_outside_the_template_or_of_another_school_is_refused(
    team, school, approved, hillside_server
):
    printer = ConfigurationItem.objects.create(school=school, name="Office printer")
    client = client_for(team["olivia"])
    body = {"planned_start": window().isoformat()}
    response = client.post(detail(approved, "raise"), {**body, "items": [printer.pk]})
    assert response.status_code == 400 and "Office printer" in response.json()["items"][0]
    response = client.post(detail(approved, "raise"), {**body, "items": [hillside_server.pk]})
    assert response.status_code == 400
    assert response.json()["items"] == [f"No item {hillside_server.pk} at Greenfield Primary."]
    assert standard_changes() == 0


def test_a_window_ending_before_it_starts_is_refused(team, approved):
    start = window()
    body = {
        "planned_start": start.isoformat(),
        "planned_end": (start - timedelta(hours=1)).isoformat(),
    }
    response = client_for(team["olivia"]).post(detail(approved, "raise"), body)
    assert response.status_code == 400 and "planned_end" in response.json()
    assert standard_changes() == 0


def test_the_list_filters_by_school_and_state(team, template, approved, school, other_school):
    set_membership(team["olivia"], other_school, [Role.ORIGINATOR])
    draft = services.create_template(school, team["olivia"], {**CONTENT, "title": "A draft"})
    theirs = services.create_template(other_school, team["olivia"], {**CONTENT, "title": "Z"})
    client = client_for(team["olivia"])

    def ids(query: str) -> list[int]:
        response = client.get(LIST + query)
        assert response.status_code == 200, response.content
        return [t["id"] for t in response.json()["results"]]

    assert ids("") == [draft.pk, approved.pk, theirs.pk]  # by title
    assert ids("?school=greenfield") == [draft.pk, approved.pk]
    assert ids("?school=hillside") == [theirs.pk]
    assert ids("?state=approved") == [approved.pk]
    assert ids("?state=draft&school=hillside") == [theirs.pk]
    assert ids("?state=&school=") == [draft.pk, approved.pk, theirs.pk]
    assert ids("?page_size=1&page=2") == [approved.pk]
    response = client.get(LIST + "?state=retired")
    assert response.status_code == 400 and "state" in response.json()
    assert client_for(team["fiona"]).get(LIST + "?school=hillside").json()["results"] == []


def test_an_empty_list_of_someone_of_two_schools(team, template, other_school):
    set_membership(team["olivia"], other_school, [Role.ORIGINATOR])
    client = client_for(team["olivia"])
    for query in ("?school=nowhere", "?state=suspended"):
        response = client.get(LIST + query)
        assert response.status_code == 200, response.content
        assert response.json()["count"] == 0 and response.json()["results"] == []


# --- The list's cost. ---


def _count_list_queries(user) -> int:
    client = client_for(user)
    client.get(LIST)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(LIST)
    assert response.status_code == 200
    return len(queries)


def _write(school, user, items, count: int) -> None:
    for n in range(count):
        template = services.create_template(
            school, user, {**CONTENT, "title": f"Template {n}"}, items=items, raisers=[user]
        )
        if n % 2:
            services.propose(template.pk, user)


def test_the_list_costs_the_same_for_2_or_12_templates(team, school, laptops, other_school):
    _write(school, team["olivia"], [laptops], 2)
    few = _count_list_queries(team["olivia"])
    _write(school, team["olivia"], [laptops], 10)
    assert _count_list_queries(team["olivia"]) == few
    # And for someone of two schools.
    set_membership(team["olivia"], other_school, [Role.ORIGINATOR])
    two = _count_list_queries(team["olivia"])
    _write(other_school, team["olivia"], [], 5)
    assert _count_list_queries(team["olivia"]) == two
    assert client_for(team["olivia"]).get(LIST).json()["count"] == 17
