"""The committee's pages: who may see and do what, decisions through the forms, the
printable minutes, the reminder settings, and a bounded number of queries."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from changedesk.changes.choices import State
from changedesk.changes.services import create_change
from changedesk.changes.workflow import perform
from changedesk.committee import services
from changedesk.committee.models import Meeting, ReminderSettings
from changedesk.conftest import REQUEST

pytestmark = pytest.mark.django_db


def url(name, meeting, *extra):
    return reverse(f"committee:{name}", args=[meeting.school.slug, meeting.pk, *extra])


@pytest.fixture
def as_user(client):
    def sign_in(user):
        client.force_login(user)
        return client

    return sign_in


# --- Seeing. ---


def test_members_see_the_meetings_of_their_school(as_user, team, meeting):
    response = as_user(team["ivan"]).get(reverse("committee:list", args=["greenfield"]))

    assert response.status_code == 200
    page = response.content.decode()
    assert "CAC, spring term 2" in page
    assert "Plan a meeting" not in page  # not an administrator


def test_outsiders_get_404_everywhere(as_user, oscar, meeting, agenda):
    client = as_user(oscar)
    item = agenda["RFC-0001"]
    assert client.get(reverse("committee:list", args=["greenfield"])).status_code == 404
    assert client.get(reverse("committee:create", args=["greenfield"])).status_code == 404
    assert client.get(reverse("committee:settings", args=["greenfield"])).status_code == 404
    for name in ("detail", "minutes", "edit", "attendees"):
        assert client.get(url(name, meeting)).status_code == 404
    assert client.post(url("build_agenda", meeting)).status_code == 404
    response = client.post(url("decide", meeting, item.pk), {f"item{item.pk}-decision": "approve"})
    assert response.status_code == 404
    item.refresh_from_db()
    assert item.decision == ""


def test_the_index_takes_a_member_of_one_school_to_its_meetings(as_user, team, meeting):
    response = as_user(team["ivan"]).get(reverse("committee:index"))

    assert response.status_code == 302
    assert response["Location"] == reverse("committee:list", args=["greenfield"])


# --- Planning and running a meeting. ---


def test_an_administrator_plans_a_meeting(as_user, team, school):
    client = as_user(team["sam"])
    create = reverse("committee:create", args=["greenfield"])
    assert client.get(create).status_code == 200

    response = client.post(
        create,
        {"title": "CAC, summer 1", "held_at": "2025-05-06T16:00", "chair": team["fiona"].pk},
    )

    meeting = Meeting.objects.get()
    assert response.status_code == 302
    assert response["Location"] == meeting.get_absolute_url()
    assert meeting.chair == team["fiona"]
    assert meeting.created_by == team["sam"]
    # The time was read in the school's zone: 16:00 BST is 15:00 UTC.
    assert meeting.held_at.isoformat() == "2025-05-06T15:00:00+00:00"


def test_a_meeting_form_with_errors_says_what_is_wrong(as_user, team, oscar):
    response = as_user(team["sam"]).post(
        reverse("committee:create", args=["greenfield"]),
        {"title": "", "held_at": "soon", "chair": oscar.pk},
    )

    assert response.status_code == 400
    assert not Meeting.objects.exists()
    page = response.content.decode()
    assert "field-error" in page


def test_others_may_not_plan_or_run_a_meeting(as_user, team, meeting):
    client = as_user(team["ian"])
    assert client.get(reverse("committee:create", args=["greenfield"])).status_code == 403
    assert client.get(url("attendees", meeting)).status_code == 403
    assert client.get(url("edit", meeting)).status_code == 403
    assert client.post(url("build_agenda", meeting)).status_code == 403
    assert client.get(reverse("committee:settings", args=["greenfield"])).status_code == 403


def test_the_chair_builds_the_agenda_and_records_attendance(
    as_user, team, meeting, waiting_initial, waiting_final
):
    client = as_user(team["fiona"])

    response = client.post(url("build_agenda", meeting))
    assert response.status_code == 302
    assert meeting.items.count() == 2

    assert client.get(url("attendees", meeting)).status_code == 200
    response = client.post(
        url("attendees", meeting), {"members_present": [team["ian"].pk, team["fiona"].pk]}
    )
    assert response.status_code == 302
    assert set(meeting.members_present.all()) == {team["ian"], team["fiona"]}

    page = client.get(url("detail", meeting)).content.decode()
    assert "RFC-0001" in page and "RFC-0002" in page
    assert "Record the decision" in page


def test_a_decision_through_the_form_is_applied_for_the_approver(as_user, team, meeting, agenda):
    item = agenda["RFC-0002"]
    client = as_user(team["sam"])

    response = client.post(
        url("decide", meeting, item.pk),
        {
            f"item{item.pk}-decision": "approve",
            f"item{item.pk}-minute": "Go ahead in half term.",
            f"item{item.pk}-version": item.change.version,
        },
    )

    assert response.status_code == 302
    assert response["Location"].endswith(f"#item-{item.pk}")
    item.change.refresh_from_db()
    assert item.change.state == State.APPROVED
    event = item.change.events.order_by("-sequence").first()
    assert (event.actor, event.on_behalf_of) == (team["sam"], team["fiona"])
    assert event.data == {"committee_meeting": meeting.pk}
    page = client.get(url("detail", meeting)).content.decode()
    assert "Go ahead in half term." in page
    assert "for Fiona Fraser, recorded by Sam Singh" in page


def test_a_refused_decision_is_shown_on_the_item(as_user, team, meeting, agenda):
    services.record_attendance(meeting.pk, team["sam"], [team["fiona"]])
    item = agenda["RFC-0001"]
    client = as_user(team["sam"])

    absent = client.post(url("decide", meeting, item.pk), {f"item{item.pk}-decision": "approve"})

    assert absent.status_code == 403
    assert "Ian Ingram (initial approver) is not at this meeting" in absent.content.decode()

    other = agenda["RFC-0002"]
    no_reason = client.post(
        url("decide", meeting, other.pk), {f"item{other.pk}-decision": "reject"}
    )
    assert no_reason.status_code == 400
    assert "Say why" in no_reason.content.decode()
    other.change.refresh_from_db()
    assert other.change.state == State.AWAITING_FINAL_APPROVAL


def test_someone_not_running_the_meeting_cannot_post_a_decision(as_user, team, meeting, agenda):
    item = agenda["RFC-0001"]
    response = as_user(team["ian"]).post(
        url("decide", meeting, item.pk), {f"item{item.pk}-decision": "approve"}
    )

    assert response.status_code == 403
    item.change.refresh_from_db()
    assert item.change.state == State.AWAITING_INITIAL_APPROVAL


# --- The minutes. ---


def test_the_printable_minutes_record_each_decision(as_user, team, meeting, agenda):
    services.update_meeting(meeting.pk, team["sam"], {"minutes": "Apologies from Peter."})
    services.decide(agenda["RFC-0001"].pk, team["sam"], "return", "Add the costs.")
    services.decide(agenda["RFC-0002"].pk, team["fiona"], "deferred", "Wait for the quote.")

    response = as_user(team["ivan"]).get(url("minutes", meeting))

    assert response.status_code == 200
    page = response.content.decode()
    assert "Minutes: CAC, spring term 2" in page
    assert "Greenfield Primary" in page
    assert "Fiona Fraser, Headteacher" in page  # the chair
    assert "Ian Ingram (ICT co-ordinator)" in page  # present
    assert "Apologies from Peter." in page
    assert "Return for amendment" in page
    assert "for Ian Ingram, recorded by Sam Singh" in page
    assert "Add the costs." in page
    assert "Defer to a later meeting" in page
    assert "Wait for the quote." in page
    assert "data-print" in page
    assert "<script>" not in page and 'style="' not in page


# --- Settings. ---


def test_an_administrator_sets_the_reminders(as_user, team, school):
    client = as_user(team["sam"])
    settings_url = reverse("committee:settings", args=["greenfield"])
    assert client.get(settings_url).status_code == 200

    response = client.post(settings_url, {"nudges_enabled": "on", "nudge_after_days": "5"})

    assert response.status_code == 302
    assert ReminderSettings.objects.get(school=school).nudge_after_days == 5
    assert client.post(settings_url, {"nudge_after_days": "0"}).status_code == 400


# --- Cost. ---


def test_the_meeting_page_costs_the_same_for_2_or_8_items(as_user, team, school, meeting, agenda):
    client = as_user(team["sam"])
    client.get(url("detail", meeting))  # warm the session
    with CaptureQueriesContext(connection) as two:
        assert client.get(url("detail", meeting)).status_code == 200
    for _ in range(6):
        change = create_change(school, team["olivia"], dict(REQUEST))
        perform(change.pk, "submit", team["olivia"])
    meeting.items.all().delete()
    services.build_agenda(meeting.pk, team["sam"])
    assert meeting.items.count() == 8

    with CaptureQueriesContext(connection) as eight:
        assert client.get(url("detail", meeting)).status_code == 200

    assert len(eight.captured_queries) == len(two.captured_queries)


def test_an_rfc_decided_outside_the_meeting_shows_as_such(as_user, team, meeting, agenda):
    item = agenda["RFC-0001"]
    perform(item.change_id, "approve", team["ian"])
    client = as_user(team["sam"])

    page = client.get(url("detail", meeting)).content.decode()
    assert "decided outside the meeting" in page

    response = client.post(url("decide", meeting, item.pk), {f"item{item.pk}-decision": "approve"})
    assert response.status_code == 302
    item.refresh_from_db()
    assert item.decision == ""
    page = client.get(url("detail", meeting)).content.decode()
    assert "RFC-0001 no longer awaits a decision." in page
