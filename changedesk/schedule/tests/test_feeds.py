"""iCalendar feeds: a school's and a person's, behind secret links; the page that manages
the links and the API. Every feed is parsed back with `icalendar` and checked event by
event, as a calendar app would read it."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from icalendar import Calendar, Event
from rest_framework.test import APIClient

from changedesk.accounts.choices import Role
from changedesk.accounts.models import Membership
from changedesk.accounts.services import create_school, set_membership
from changedesk.changes.models import Change
from changedesk.changes.services import create_change, update_change
from changedesk.changes.workflow import perform
from changedesk.conftest import REQUEST, advance, plan_data
from changedesk.schedule.models import FeedToken
from changedesk.schedule.services import create_feed_token, revoke_feed_token

SITE = "https://changedesk.example.org"


@pytest.fixture(autouse=True)
def _site_url(settings):
    settings.SITE_URL = SITE


# --- Helpers. ---


def feed_path(token: FeedToken) -> str:
    return reverse("schedule:feed_ics", args=[token.key])


def fetch(client, token: FeedToken) -> Calendar:
    response = client.get(feed_path(token))
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    return Calendar.from_ical(response.content)


def events_of(calendar: Calendar) -> dict[str, Event]:
    return {str(event["UID"]): event for event in calendar.walk("VEVENT")}


def uid(change: Change) -> str:
    return f"change-{change.pk}@changedesk.example.org"


def planned(team, school, to: str = "draft", **data) -> Change:
    """A change with a planned window (a week ahead, 18:00 for an hour), taken to `to`."""
    values = {**REQUEST, **plan_data(), **data}
    change = create_change(school, team["olivia"], values)
    return advance(change, team, to)


def web_client(user):
    from django.test import Client

    client = Client()
    client.force_login(user)
    return client


def api_client(user=None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_login(user)
    return client


# --- The feed: what a calendar app reads. ---


def test_it_serves_a_valid_school_feed_without_signing_in(client, team, school):
    change = planned(team, school, "approved")
    token = create_feed_token(team["sam"], "school", school)
    response = client.get(feed_path(token))
    assert response.status_code == 200
    raw = response.content
    # RFC 5545: CRLF line endings, lines folded at 75 octets.
    assert raw.startswith(b"BEGIN:VCALENDAR\r\n") and raw.endswith(b"END:VCALENDAR\r\n")
    assert all(len(line) <= 75 for line in raw.split(b"\r\n"))
    assert b"\n" not in raw.replace(b"\r\n", b"")

    calendar = Calendar.from_ical(raw)
    assert str(calendar["VERSION"]) == "2.0"
    assert str(calendar["PRODID"]) == "-//changedesk//Forward schedule of change//EN"
    assert str(calendar["X-WR-CALNAME"]) == "Greenfield Primary: changes"
    assert calendar["REFRESH-INTERVAL"].dt == timedelta(hours=1)
    assert calendar["REFRESH-INTERVAL"].params["VALUE"] == "DURATION"
    assert str(calendar["X-PUBLISHED-TTL"]) == "PT1H"
    assert "METHOD" not in calendar

    events = events_of(calendar)
    assert list(events) == [uid(change)]
    event = events[uid(change)]
    change.refresh_from_db()
    assert event["SEQUENCE"] == change.version
    assert event["DTSTART"].dt == change.planned_start
    assert event["DTEND"].dt == change.planned_end
    assert event["DTSTART"].dt.utcoffset() == timedelta(0)
    assert b"DTSTART:" in raw and b"Z\r\n" in raw  # UTC, written with Z
    assert event["DTSTAMP"].dt == change.updated_at.replace(microsecond=0)
    assert event["LAST-MODIFIED"].dt == change.updated_at.replace(microsecond=0)
    assert str(event["SUMMARY"]) == f"{change.reference} Replace the ICT suite 2 switch"
    assert str(event["STATUS"]) == "CONFIRMED"
    assert str(event["URL"]) == f"{SITE}/changes/{change.pk}/"
    assert str(event["LOCATION"]) == "Greenfield Primary"
    description = str(event["DESCRIPTION"])
    assert "State: Approved" in description
    assert "School: Greenfield Primary" in description
    assert "Raised by: Olivia Okafor, ICT technician" in description
    assert "Initial approver: Ian Ingram" in description
    assert "Peer reviewer: Peter Patel" in description
    assert "Final approver: Fiona Fraser, Headteacher" in description
    assert "Implementer: Olivia Okafor" in description
    assert description.endswith(f"{SITE}/changes/{change.pk}/")


def test_it_marks_unapproved_and_emergency_changes(client, team, school):
    waiting = planned(team, school, "awaiting_peer_review")
    emergency = planned(
        team, school, "draft", is_emergency=True, emergency_justification="The server is down."
    )
    token = create_feed_token(team["olivia"], "school", school)
    events = events_of(fetch(client, token))
    assert str(events[uid(waiting)]["STATUS"]) == "TENTATIVE"
    assert str(events[uid(waiting)]["SUMMARY"]) == (
        f"{waiting.reference} Replace the ICT suite 2 switch (not yet approved)"
    )
    assert str(events[uid(emergency)]["SUMMARY"]) == (
        f"[EMERGENCY] {emergency.reference} Replace the ICT suite 2 switch (not yet approved)"
    )
    assert "Emergency change" in str(events[uid(emergency)]["DESCRIPTION"])
    approved = advance(emergency, team, "approved")  # an emergency skips planning
    event = events_of(fetch(client, token))[uid(approved)]
    assert str(event["STATUS"]) == "CONFIRMED"
    assert (
        str(event["SUMMARY"]) == f"[EMERGENCY] {approved.reference} Replace the ICT suite 2 switch"
    )


def test_it_escapes_the_calendar_name(client, team):
    school = create_school("St Mary's, Bristol; Juniors", "st-marys")
    set_membership(team["olivia"], school, [Role.ORIGINATOR])
    token = create_feed_token(team["olivia"], "school", school)
    raw = client.get(feed_path(token)).content
    assert b"\r\nX-WR-CALNAME:St Mary's\\, Bristol\\; Juniors: changes\r\n" in raw
    assert b"\r\nNAME:St Mary's\\, Bristol\\; Juniors: changes\r\n" in raw
    # icalendar reads X-WR-CALNAME as an unknown property and leaves it escaped.
    name = str(Calendar.from_ical(raw)["X-WR-CALNAME"])
    assert name.replace("\\,", ",").replace("\\;", ";") == "St Mary's, Bristol; Juniors: changes"


def test_it_keeps_text_with_commas_semicolons_and_new_lines_intact(client, team, school):
    title = "Upgrade the MIS; then, reboot \\ check: “done”"
    change = planned(team, school, title=title)
    token = create_feed_token(team["olivia"], "school", school)
    event = events_of(fetch(client, token))[uid(change)]
    assert str(event["SUMMARY"]) == f"{change.reference} {title} (not yet approved)"
    assert "\nSchool: Greenfield Primary\n" in str(event["DESCRIPTION"])


def test_a_moved_change_keeps_its_uid_and_gets_a_higher_sequence(client, team, school):
    change = advance(create_change(school, team["olivia"], dict(REQUEST)), team, "planning")
    update_change(change.pk, team["olivia"], plan_data())
    token = create_feed_token(team["olivia"], "school", school)
    before = events_of(fetch(client, token))[uid(change)]

    change.refresh_from_db()
    later = change.planned_start + timedelta(days=2, hours=1)
    update_change(
        change.pk,
        team["olivia"],
        {"planned_start": later, "planned_end": later + timedelta(hours=2)},
    )
    events = events_of(fetch(client, token))
    assert list(events) == [uid(change)]  # the same event, moved; not a second one
    after = events[uid(change)]
    assert after["SEQUENCE"] > before["SEQUENCE"]
    assert after["DTSTART"].dt == later
    assert after["DTEND"].dt == later + timedelta(hours=2)
    assert after["LAST-MODIFIED"].dt >= before["LAST-MODIFIED"].dt


def test_a_withdrawn_change_stays_cancelled_for_a_while_then_leaves(client, team, school):
    change = planned(team, school, "approved")
    token = create_feed_token(team["olivia"], "school", school)
    version = events_of(fetch(client, token))[uid(change)]["SEQUENCE"]
    perform(change.pk, "withdraw", team["olivia"], comment="The spare switch is faulty.")

    event = events_of(fetch(client, token))[uid(change)]
    assert str(event["STATUS"]) == "CANCELLED"
    assert event["SEQUENCE"] > version
    assert str(event["SUMMARY"]).endswith("(withdrawn)")
    assert "State: Withdrawn" in str(event["DESCRIPTION"])

    with time_machine.travel(timezone.now() + timedelta(days=30)):
        assert uid(change) in events_of(fetch(client, token))
    with time_machine.travel(timezone.now() + timedelta(days=61)):
        assert uid(change) not in events_of(fetch(client, token))


def test_a_rejected_change_is_cancelled(client, team, school):
    change = planned(team, school, "awaiting_final_approval")
    perform(change.pk, "reject", team["fiona"], comment="Not in exam season.")
    token = create_feed_token(team["olivia"], "school", school)
    event = events_of(fetch(client, token))[uid(change)]
    assert str(event["STATUS"]) == "CANCELLED"
    assert str(event["SUMMARY"]).endswith("(rejected)")


def test_it_shows_only_changes_with_a_window_inside_the_feed_span(client, team, school):
    now = timezone.now().replace(microsecond=0)
    soon = planned(team, school)
    recent = planned(
        team, school, planned_start=now - timedelta(days=80), planned_end=now - timedelta(days=79)
    )
    planned(
        team, school, planned_start=now - timedelta(days=100), planned_end=now - timedelta(days=99)
    )
    planned(
        team, school, planned_start=now + timedelta(days=800), planned_end=now + timedelta(days=801)
    )
    create_change(school, team["olivia"], dict(REQUEST))  # no window yet
    token = create_feed_token(team["olivia"], "school", school)
    assert set(events_of(fetch(client, token))) == {uid(soon), uid(recent)}


def test_a_school_feed_shows_only_that_school(client, team, school, other_school, oscar):
    mine = planned(team, school)
    create_change(other_school, oscar, {**REQUEST, **plan_data()})
    token = create_feed_token(team["olivia"], "school", school)
    assert list(events_of(fetch(client, token))) == [uid(mine)]


def test_the_feed_answers_304_when_nothing_changed(client, team, school):
    change = planned(team, school)
    token = create_feed_token(team["olivia"], "school", school)
    first = client.get(feed_path(token))
    assert first["ETag"]
    assert first["Cache-Control"] == "private, no-cache"
    assert client.head(feed_path(token)).status_code == 200
    assert client.post(feed_path(token)).status_code == 405
    again = client.get(feed_path(token), HTTP_IF_NONE_MATCH=first["ETag"])
    assert again.status_code == 304
    update_change(change.pk, team["olivia"], {"title": "Replace the switch"})
    assert client.get(feed_path(token), HTTP_IF_NONE_MATCH=first["ETag"]).status_code == 200


# --- The person's feed. ---


def test_a_person_feed_holds_only_the_changes_they_are_part_of(
    client, team, school, other_school, oscar
):
    ivan = team["ivan"]
    set_membership(ivan, other_school, [Role.IMPLEMENTER])
    implementing = planned(team, school, implementer=ivan)
    planned(team, school)  # olivia implements this one: not ivan's
    elsewhere = create_change(other_school, oscar, {**REQUEST, **plan_data(), "implementer": ivan})
    create_change(other_school, oscar, {**REQUEST, **plan_data()})
    token = create_feed_token(ivan, "person")

    calendar = fetch(client, token)
    assert str(calendar["X-WR-CALNAME"]) == "Changes I am part of (Ivan Ivanov)"
    events = events_of(calendar)
    assert set(events) == {uid(implementing), uid(elsewhere)}
    assert str(events[uid(elsewhere)]["LOCATION"]) == "Hillside Academy"
    # The implementer's time is busy; the others' calendars are only told.
    assert str(events[uid(implementing)]["TRANSP"]) == "OPAQUE"


@pytest.mark.parametrize("person", ["olivia", "ian", "peter", "fiona"])
def test_a_person_feed_covers_every_role_on_the_rfc(client, team, school, person):
    change = planned(team, school, "awaiting_peer_review")
    draft = planned(team, school)
    token = create_feed_token(team[person], "person")
    events = events_of(fetch(client, token))
    assert set(events) == {uid(change), uid(draft)}
    busy = "OPAQUE" if person == "olivia" else "TRANSPARENT"  # olivia implements them
    assert str(events[uid(change)]["TRANSP"]) == busy
    # Sam, the administrator, is named on neither.
    assert events_of(fetch(client, create_feed_token(team["sam"], "person"))) == {}


def test_a_person_feed_drops_a_school_they_left(client, team, school, other_school, oscar):
    set_membership(team["ivan"], other_school, [Role.IMPLEMENTER])
    elsewhere = create_change(
        other_school, oscar, {**REQUEST, **plan_data(), "implementer": team["ivan"]}
    )
    token = create_feed_token(team["ivan"], "person")
    assert uid(elsewhere) in events_of(fetch(client, token))
    Membership.objects.filter(user=team["ivan"], school=other_school).delete()
    assert uid(elsewhere) not in events_of(fetch(client, token))


# --- Secret links that stop working. ---


def test_unknown_and_revoked_keys_are_not_found(client, team, school):
    planned(team, school)
    token = create_feed_token(team["olivia"], "school", school)
    assert client.get(feed_path(token)).status_code == 200
    assert client.get("/schedule/feeds/not-a-key-at-all-123456.ics").status_code == 404
    assert client.get(f"/schedule/feeds/{token.key[:-1]}.ics").status_code == 404
    assert client.get(f"/schedule/feeds/{token.key}x.ics").status_code == 404
    revoke_feed_token(token, team["olivia"])
    response = client.get(feed_path(token))
    assert response.status_code == 404
    assert b"VEVENT" not in response.content


def test_a_new_link_revokes_the_old_one(client, team, school):
    first = create_feed_token(team["olivia"], "school", school)
    mine = create_feed_token(team["olivia"], "person")
    second = create_feed_token(team["olivia"], "school", school)
    assert client.get(feed_path(first)).status_code == 404
    assert client.get(feed_path(second)).status_code == 200
    assert client.get(feed_path(mine)).status_code == 200  # another feed: untouched
    first.refresh_from_db()
    assert first.revoked_at is not None


def test_a_school_feed_stops_when_its_owner_leaves_the_school(client, team, school):
    token = create_feed_token(team["ian"], "school", school)
    assert client.get(feed_path(token)).status_code == 200
    Membership.objects.filter(user=team["ian"], school=school).delete()
    assert client.get(feed_path(token)).status_code == 404


def test_a_feed_stops_when_its_owner_is_deactivated(client, team, school):
    token = create_feed_token(team["ian"], "person")
    team["ian"].is_active = False
    team["ian"].save()
    assert client.get(feed_path(token)).status_code == 404


def test_no_one_gets_a_link_to_a_school_they_are_not_in(team, school, oscar):
    from changedesk.lib.errors import InvalidAction

    with pytest.raises(InvalidAction) as refused:
        create_feed_token(oscar, "school", school)
    assert refused.value.fields == {"school": "You are not a member of Greenfield Primary."}
    with pytest.raises(InvalidAction):
        create_feed_token(oscar, "school", None)
    with pytest.raises(InvalidAction):
        create_feed_token(team["olivia"], "person", school)
    with pytest.raises(InvalidAction):
        create_feed_token(team["olivia"], "everyone")
    assert not FeedToken.objects.exists()


def test_only_the_owner_of_a_link_revokes_it(team, school):
    from changedesk.lib.errors import NotPermitted

    token = create_feed_token(team["olivia"], "person")
    with pytest.raises(NotPermitted):
        revoke_feed_token(token, team["ian"])
    token.refresh_from_db()
    assert token.revoked_at is None
    assert revoke_feed_token(token, team["olivia"]).revoked_at is not None


# --- Cost stays flat. ---


def _count(client, token: FeedToken) -> tuple[int, int]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(feed_path(token))
    assert response.status_code == 200
    return len(queries), len(Calendar.from_ical(response.content).walk("VEVENT"))


def _raise_planned(team, school, count: int, offset: int) -> None:
    start = timezone.now().replace(microsecond=0) + timedelta(days=3)
    for n in range(offset, offset + count):
        begins = start + timedelta(hours=n)
        data = {**REQUEST, "planned_start": begins, "planned_end": begins + timedelta(minutes=30)}
        if n % 2:
            data["implementer"] = team["ivan"]
        create_change(school, team["olivia"], data)


@pytest.mark.parametrize("kind", ["school", "person"])
def test_a_feed_costs_the_same_for_5_or_50_changes(client, team, school, kind):
    token = create_feed_token(team["olivia"], kind, school if kind == "school" else None)
    _raise_planned(team, school, 5, 0)
    few, events = _count(client, token)
    assert events == 5
    assert few <= 3
    _raise_planned(team, school, 45, 5)
    many, events = _count(client, token)
    assert events == 50
    assert many == few


# --- The page. ---


def test_the_page_needs_signing_in(client, school):
    response = client.get(reverse("schedule:feed_list"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))
    assert client.post(reverse("schedule:feed_create"), {"kind": "person"}).status_code == 302
    assert not FeedToken.objects.exists()


def test_the_page_offers_my_feed_and_one_per_school(team, school, other_school, oscar):
    set_membership(team["ian"], other_school, [Role.INITIAL_APPROVER])
    page = web_client(team["ian"]).get(reverse("schedule:feed_list"))
    assert page.status_code == 200
    html = page.content.decode()
    assert "Changes I am part of" in html
    assert "Greenfield Primary" in html and "Hillside Academy" in html
    assert html.count("Create an address") == 3
    assert "<script>" not in html and 'style="' not in html


def test_it_creates_shows_replaces_and_revokes_a_link(client, team, school):
    ian = web_client(team["ian"])
    response = ian.post(reverse("schedule:feed_create"), {"kind": "school", "school": "greenfield"})
    assert response.status_code == 302
    assert response["Location"] == reverse("schedule:feed_list") + "#feed-greenfield"
    first = FeedToken.objects.get(user=team["ian"], revoked_at__isnull=True)
    assert first.kind == "school" and first.school == school
    html = ian.get(reverse("schedule:feed_list")).content.decode()
    assert f'value="{SITE}/schedule/feeds/{first.key}.ics"' in html
    assert f'href="webcal://changedesk.example.org/schedule/feeds/{first.key}.ics"' in html
    assert 'for="feed-greenfield-url"' in html and "readonly" in html

    ian.post(reverse("schedule:feed_create"), {"kind": "school", "school": "greenfield"})
    second = FeedToken.objects.get(user=team["ian"], revoked_at__isnull=True)
    assert second.pk != first.pk
    assert client.get(feed_path(first)).status_code == 404
    html = ian.get(reverse("schedule:feed_list")).content.decode()
    assert first.key not in html and second.key in html

    assert ian.get(reverse("schedule:feed_revoke", args=[second.pk])).status_code == 405
    response = ian.post(reverse("schedule:feed_revoke", args=[second.pk]))
    assert response.status_code == 302
    assert client.get(feed_path(second)).status_code == 404
    assert second.key not in ian.get(reverse("schedule:feed_list")).content.decode()


def test_it_creates_my_own_feed_link(team, school):
    olivia = web_client(team["olivia"])
    olivia.post(reverse("schedule:feed_create"), {"kind": "person"})
    token = FeedToken.objects.get(user=team["olivia"])
    assert token.kind == "person" and token.school is None


def test_no_one_manages_someone_elses_links(client, team, school, oscar):
    token = create_feed_token(team["olivia"], "person")
    outsider = web_client(oscar)
    colleague = web_client(team["ian"])
    for other in (outsider, colleague):
        assert other.post(reverse("schedule:feed_revoke", args=[token.pk])).status_code == 404
        assert token.key not in other.get(reverse("schedule:feed_list")).content.decode()
    token.refresh_from_db()
    assert token.revoked_at is None
    # A school one is not in is as if it did not exist.
    response = outsider.post(
        reverse("schedule:feed_create"), {"kind": "school", "school": "greenfield"}
    )
    assert response.status_code == 404
    assert not FeedToken.objects.filter(user=oscar).exists()


def test_the_page_refuses_a_nonsense_feed(team, school):
    olivia = web_client(team["olivia"])
    for data in (
        {"kind": "everyone"},
        {"kind": "school"},
        {"kind": "person", "school": "greenfield"},
    ):
        response = olivia.post(reverse("schedule:feed_create"), data, follow=True)
        assert response.status_code == 200
        assert response.redirect_chain[-1][0] == reverse("schedule:feed_list")
        assert "message-error" in response.content.decode()
    assert not FeedToken.objects.exists()


def test_the_page_lists_a_link_left_behind_in_a_school_i_left(team, school, other_school):
    set_membership(team["ian"], other_school, [Role.INITIAL_APPROVER])
    token = create_feed_token(team["ian"], "school", other_school)
    Membership.objects.filter(user=team["ian"], school=other_school).delete()
    html = web_client(team["ian"]).get(reverse("schedule:feed_list")).content.decode()
    assert "Other addresses of yours" in html
    assert reverse("schedule:feed_revoke", args=[token.pk]) in html


# --- The API. ---


@pytest.mark.parametrize(
    ("method", "path"),
    [("get", "/api/v1/feeds/"), ("post", "/api/v1/feeds/"), ("post", "/api/v1/feeds/1/revoke/")],
)
def test_the_api_asks_anonymous_callers_to_sign_in(school, method, path):
    assert getattr(APIClient(), method)(path, {}, format="json").status_code == 401


def test_the_api_creates_lists_and_revokes_my_links(client, team, school):
    api = api_client(team["olivia"])
    response = api.post("/api/v1/feeds/", {"kind": "school", "school": "greenfield"}, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    token = FeedToken.objects.get(pk=body["id"])
    assert body == {
        "id": token.pk,
        "kind": "school",
        "school": "greenfield",
        "school_name": "Greenfield Primary",
        "url": f"{SITE}/schedule/feeds/{token.key}.ics",
        "created_at": body["created_at"],
        "revoked_at": None,
    }
    mine = api.post("/api/v1/feeds/", {"kind": "person"}, format="json").json()
    assert mine["school"] is None and mine["kind"] == "person"
    listed = api.get("/api/v1/feeds/").json()
    assert sorted(r["id"] for r in listed["results"]) == sorted([token.pk, mine["id"]])

    # A new link to the same feed replaces the old one.
    again = api.post("/api/v1/feeds/", {"kind": "school", "school": "greenfield"}, format="json")
    assert client.get(feed_path(token)).status_code == 404
    listed = api.get("/api/v1/feeds/").json()
    assert sorted(r["id"] for r in listed["results"]) == sorted([again.json()["id"], mine["id"]])

    revoked = api.post(f"/api/v1/feeds/{mine['id']}/revoke/")
    assert revoked.status_code == 200
    assert revoked.json()["revoked_at"] is not None
    assert client.get(mine["url"].removeprefix(SITE)).status_code == 404
    assert api.post(f"/api/v1/feeds/{mine['id']}/revoke/").status_code == 200  # idempotent
    assert [r["id"] for r in api.get("/api/v1/feeds/").json()["results"]] == [again.json()["id"]]


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"kind": "school", "school": "hillside"}, "school"),  # not a member
        ({"kind": "school", "school": "nowhere"}, "school"),
        ({"kind": "school"}, "school"),
        ({"kind": "person", "school": "greenfield"}, "school"),
        ({"kind": "everyone"}, "kind"),
        ({}, "kind"),
        ({"kind": "person", "key": "mine"}, "key"),
    ],
)
def test_the_api_refuses_a_feed_i_may_not_have(team, school, oscar, data, field):
    response = api_client(team["olivia"]).post("/api/v1/feeds/", data, format="json")
    assert response.status_code == 400
    body = response.json()
    assert body["detail"] and field in body
    assert not FeedToken.objects.exists()


def test_the_api_never_shows_or_revokes_someone_elses_link(client, team, school, oscar):
    token = create_feed_token(team["olivia"], "school", school)
    for other in (oscar, team["ian"]):
        api = api_client(other)
        assert api.get("/api/v1/feeds/").json()["results"] == []
        assert api.post(f"/api/v1/feeds/{token.pk}/revoke/").status_code == 404
    assert api_client(team["ian"]).post("/api/v1/feeds/99999999/revoke/").status_code == 404
    assert client.get(feed_path(token)).status_code == 200


def test_the_api_schema_has_the_feed_endpoints(olivia):
    schema = api_client(olivia).get(
        "/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json"
    )
    assert schema.status_code == 200
    assert {"/api/v1/feeds/", "/api/v1/feeds/{id}/revoke/"} <= set(schema.json()["paths"])
