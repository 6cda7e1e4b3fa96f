"""Odd input found in review: each gets a clear answer, never a 500; people who leave a
school stop deputising there."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from changedesk.accounts.models import Delegation
from changedesk.changes.workflow import perform
from changedesk.notifications.models import OutboxMessage

pytestmark = pytest.mark.django_db

SUPERSCRIPT_TWO = "\u00b2"  # passes str.isdigit() but not int()


@pytest.mark.parametrize(
    "url",
    [
        f"/api/v1/changes/{SUPERSCRIPT_TWO}/",
        f"/api/v1/changes/{SUPERSCRIPT_TWO}/conflicts/",
        f"/api/v1/notices/?change={SUPERSCRIPT_TWO}",
        f"/api/v1/schedule/slots/?school=greenfield&minutes=60&items={SUPERSCRIPT_TWO}",
        f"/schedule/slots/?change={SUPERSCRIPT_TWO}",
        f"/schedule/?item={SUPERSCRIPT_TWO}",
        "/schedule/?date=9999-12-31",
        "/schedule/?date=0001-01-01&view=week",
        "/schedule/?date=9999-12-31&view=agenda",
        "/schedule/slots/?school=greenfield&minutes=60&after=9999-12-30",
        "/api/v1/schedule/slots/?school=greenfield&minutes=60&after=9999-12-30T10:00:00Z",
    ],
)
def test_odd_ids_and_dates_never_give_a_500(client, team, url):
    client.force_login(team["olivia"])
    response = client.get(url)
    assert response.status_code in (200, 400, 404), (url, response.status_code)


def test_a_window_far_in_the_future_is_refused(client, draft, team):
    client.force_login(team["olivia"])
    response = client.patch(
        f"/api/v1/changes/{draft.pk}/",
        {"planned_start": "9999-12-31T20:00:00+00:00", "planned_end": "9999-12-31T21:00:00+00:00"},
        content_type="application/json",
    )
    assert response.status_code == 400
    assert "planned_start" in response.json()
    draft.refresh_from_db()
    assert draft.planned_start is None


def test_a_period_in_the_year_9999_is_refused(client, team, school):
    client.force_login(team["sam"])
    response = client.post(
        reverse("schedule:period_create", args=[school.slug]),
        {"kind": "freeze", "name": "Forever", "all_day": "on", "first_day": "2026-01-01",
         "last_day": "9999-12-31"},
    )  # fmt: skip
    assert response.status_code in (200, 400)
    assert "between 1900 and 2999" in response.content.decode()


def test_a_bad_address_for_an_invitation_is_a_form_error(client, team, school):
    client.force_login(team["sam"])
    response = client.post(
        reverse("accounts:member_add", args=[school.slug]),
        {"email": "bad name!", "roles": ["viewer"]},
    )
    assert response.status_code == 400
    assert "valid email address" in response.content.decode()


def test_an_invitation_is_made_even_when_the_mail_server_is_down(client, team, school, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", 9  # nothing listens there
    client.force_login(team["sam"])
    response = client.post(
        reverse("accounts:member_add", args=[school.slug]),
        {"email": "nina@example.org", "roles": ["viewer"]},
        follow=True,
    )
    assert response.status_code == 200
    assert "Invitation sent to nina@example.org." in response.content.decode()


def test_the_delegation_form_offers_only_this_schools_approvers(client, team, school, oscar):
    from changedesk.accounts.choices import Role
    from changedesk.accounts.services import set_membership

    set_membership(oscar, oscar.memberships.get().school, [Role.FINAL_APPROVER])
    client.force_login(team["sam"])
    page = client.get(reverse("accounts:delegations", args=[school.slug])).content.decode()
    assert "Fiona Fraser" in page
    assert "Oscar Owen" not in page


def test_a_deputy_who_leaves_the_school_is_no_longer_told_or_allowed(client, draft, team, school):
    now = timezone.now()
    Delegation.objects.create(
        school=school, approver=team["ian"], deputy=team["ivan"],
        starts_at=now - timedelta(hours=1), ends_at=now + timedelta(days=5),
    )  # fmt: skip
    client.force_login(team["sam"])
    response = client.post(
        reverse("accounts:member_edit", args=[school.slug, team["ivan"].pk]), {"remove": "1"}
    )
    assert response.status_code == 302
    assert Delegation.objects.get().revoked_at is not None
    mail.outbox.clear()
    perform(draft.pk, "submit", team["olivia"])
    assert not OutboxMessage.objects.filter(recipient=team["ivan"]).exists()


# --- Every API error is JSON in the one error shape; pages keep the product's pages. ---


def assert_api_error(response, status: int, *words: str) -> dict:
    assert response.status_code == status, (response.status_code, response.content[:300])
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    body = response.json()
    assert isinstance(body.get("detail"), str) and body["detail"], body
    for word in words:
        assert word in body["detail"], body
    return body


def api_client(user):
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_login(user)
    return client


def test_a_path_no_api_view_matches_is_a_json_404_and_a_page_elsewhere(client, team):
    client.force_login(team["olivia"])
    assert_api_error(client.get("/api/v1/calendar-periods/0.5/"), 404, "Not found")
    assert_api_error(client.get("/api/v1/no-such-thing/"), 404)
    assert_api_error(client.get("/api/v1/changes/1%00/conflicts/"), 404)
    assert client.get("/invitations/a%00b/").status_code == 404
    page = client.get("/no-such-page/")
    assert page.status_code == 404
    assert page["Content-Type"].startswith("text/html")
    assert "There is nothing here" in page.content.decode()


def test_401_403_404_405_409_and_415_are_json(client, team, draft, oscar):
    from rest_framework.test import APIClient

    url = f"/api/v1/changes/{draft.pk}/"
    assert_api_error(APIClient().get("/api/v1/changes/"), 401)
    assert_api_error(api_client(team["ivan"]).patch(url, {"title": "x"}, format="json"), 403)
    assert_api_error(api_client(oscar).get(url), 404)
    assert_api_error(api_client(team["olivia"]).put(url, {}, format="json"), 405)
    olivia = api_client(team["olivia"])
    stale = olivia.patch(url, {"title": "Two"}, format="json", HTTP_IF_MATCH='"99"')
    assert_api_error(stale, 409)
    wrong_type = olivia.patch(url, b"<title/>", content_type="application/xml")
    assert_api_error(wrong_type, 415, "Unsupported media type")


def test_429_is_json(team, monkeypatch):
    from rest_framework.throttling import BaseThrottle

    from changedesk.accounts.api import MeView

    class Never(BaseThrottle):
        def allow_request(self, request, view):
            return False

        def wait(self):
            return 60

    monkeypatch.setattr(MeView, "throttle_classes", [Never])
    response = api_client(team["olivia"]).get("/api/v1/me/")
    assert_api_error(response, 429)
    assert response["Retry-After"] == "60"


def test_a_500_is_json_under_the_api_and_the_product_page_elsewhere(client, team, monkeypatch):
    from changedesk.accounts.api import MeView
    from changedesk.changes import views as change_views

    def broken(*args, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(MeView, "get", broken)
    client.raise_request_exception = False
    client.force_login(team["olivia"])
    body = assert_api_error(client.get("/api/v1/me/"), 500, "logged")
    assert "a bug" not in str(body)
    monkeypatch.setattr(change_views, "render", broken)
    page = client.get("/")
    assert page.status_code == 500
    assert "Something went wrong" in page.content.decode()
    assert page["Content-Type"].startswith("text/html")


def test_a_body_too_large_is_a_json_413_and_too_many_fields_a_json_400(team, draft, settings):
    url = f"/api/v1/changes/{draft.pk}/"
    olivia = api_client(team["olivia"])
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    big = '{"title": "' + "x" * 2000 + '"}'
    assert_api_error(olivia.patch(url, big, content_type="application/json"), 413, "too large")
    form = olivia.post("/api/v1/changes/", {"title": "x" * 2000}, format="multipart")
    assert_api_error(form, 413, "too large")
    encoded = olivia.patch(
        url, "title=" + "x" * 2000, content_type="application/x-www-form-urlencoded"
    )
    assert_api_error(encoded, 413, "too large")
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
    fields = "&".join(f"f{n}=1" for n in range(1001))
    many = olivia.post("/api/v1/changes/", fields, content_type="application/x-www-form-urlencoded")
    assert_api_error(many, 400, "too many fields")


def test_too_many_fields_on_a_page_is_the_400_page(client, team):
    client.force_login(team["olivia"])
    fields = "&".join(f"f{n}=1" for n in range(1001))
    response = client.post(
        reverse("changes:create"), fields, content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/html")
    assert "too many fields" in response.content.decode()


# --- Bounded work for every request. ---


def test_deeply_nested_json_is_a_400_not_a_recursion_error(team, draft):
    olivia = api_client(team["olivia"])
    for url, method in (("/api/v1/changes/", olivia.post),
                        (f"/api/v1/changes/{draft.pk}/", olivia.patch)):  # fmt: skip
        response = method(url, "[" * 100_000, content_type="application/json")
        assert_api_error(response, 400, "more than 64 deep")
    # Brackets inside strings are text, not nesting.
    title = "[" * 1000 + "{" * 1000
    ok = olivia.patch(f"/api/v1/changes/{draft.pk}/", {"title": title[:200]}, format="json")
    assert ok.status_code == 200


def test_a_nul_in_a_json_body_is_a_400(team, draft):
    response = api_client(team["olivia"]).patch(
        f"/api/v1/changes/{draft.pk}/", '{"title": "a\\u0000b"}', content_type="application/json"
    )
    assert_api_error(response, 400, "NUL")


# --- NUL characters and time-zone offsets, on every list's filters (both databases). ---


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/committee/meetings/?school=green%00field",
        "/api/v1/notices/?school=%00",
        "/api/v1/calendar-periods/?school=a%00",
        "/api/v1/items/?q=a%00b",
        "/api/v1/changes/?school=a%00",
    ],
)
def test_a_nul_in_a_query_is_a_json_400_naming_the_parameter(team, url):
    body = assert_api_error(api_client(team["olivia"]).get(url), 400, "Some fields need correcting")
    name = url.split("?")[1].split("=")[0]
    assert body[name] and "NUL" in body[name][0]


@pytest.mark.parametrize("url", ["/items/?q=a%00b", "/changes/?q=%00", "/schedule/?school=%00"])
def test_a_nul_in_a_pages_query_is_the_400_page(client, team, url):
    client.force_login(team["olivia"])
    response = client.get(url)
    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/html")
    assert "NUL character" in response.content.decode()


def test_a_nul_in_a_form_is_refused(client, team, school):
    client.force_login(team["sam"])
    response = client.post(
        reverse("schedule:period_create", args=[school.slug]),
        {"kind": "term", "name": "Spring\x00", "all_day": "on", "first_day": "2026-01-05",
         "last_day": "2026-03-27"},
    )  # fmt: skip
    assert response.status_code == 400
    assert "NUL character" in response.content.decode()


@pytest.mark.parametrize(
    "value",
    ["2030-01-01T00:00:00-19:23", "2030-01-01T00:00:00+16:00", "2030-01-01T00:00:00+23:59"],
)
def test_a_utc_offset_out_of_range_is_a_field_error(team, value):
    response = api_client(team["olivia"]).get("/api/v1/calendar-periods/", {"ends_after": value})
    body = assert_api_error(response, 400)
    assert "UTC offset between -15:59 and +15:59" in body["ends_after"][0]
    ok = api_client(team["olivia"]).get(
        "/api/v1/calendar-periods/", {"ends_after": "2030-01-01T00:00:00-15:59"}
    )
    assert ok.status_code == 200


def test_the_shared_filter_base_refuses_nul_and_offsets_for_every_filter_set():
    from datetime import UTC, datetime, timedelta, timezone

    from changedesk.changes.filters import ChangeFilterSet
    from changedesk.communication.filters import NoticeFilterSet
    from changedesk.configuration.filters import ItemFilterSet
    from changedesk.lib.filters import FilterSet, time_problem
    from changedesk.schedule.filters import CalendarPeriodFilterSet

    for filter_set in (ChangeFilterSet, NoticeFilterSet, ItemFilterSet, CalendarPeriodFilterSet):
        assert issubclass(filter_set, FilterSet)
    found = CalendarPeriodFilterSet({"school": "a\x00", "kind": "term"})
    assert not found.is_valid()
    assert "NUL" in found.errors["school"][0]
    far = datetime(2030, 1, 1, tzinfo=timezone(timedelta(hours=-19, minutes=-23)))
    assert "UTC offset" in time_problem(far)
    assert "UTC offset" in time_problem(slice(None, far))
    assert time_problem(datetime(2030, 1, 1, tzinfo=UTC)) == ""


def test_every_filter_set_derives_from_the_shared_base():
    import django_filters

    import changedesk.urls  # noqa: F401  (every app's filters loaded)
    from changedesk.lib.filters import FilterSet

    def subclasses(cls):
        for sub in cls.__subclasses__():
            yield sub
            yield from subclasses(sub)

    ours = [
        c for c in subclasses(django_filters.FilterSet) if c.__module__.startswith("changedesk")
    ]
    assert ours
    for cls in ours:
        assert cls is FilterSet or issubclass(cls, FilterSet), cls


# --- Calendar periods: years a school calendar deals in, written as RFC 3339. ---


@pytest.mark.parametrize(
    ("starts", "ends"),
    [
        ("0001-01-01T00:00:00+00:00", "0001-01-02T00:00:00+00:00"),
        ("9999-12-30T00:00:00+00:00", "9999-12-31T00:00:00+00:00"),
        ("1800-01-01T00:00:00+00:00", "1800-01-02T00:00:00+00:00"),
    ],
)
def test_a_calendar_period_outside_1900_to_2999_is_refused(team, school, starts, ends):
    response = api_client(team["sam"]).post(
        "/api/v1/calendar-periods/",
        {"school": school.slug, "kind": "term", "name": "Odd", "starts_at": starts,
         "ends_at": ends},
        format="json",
    )  # fmt: skip
    body = assert_api_error(response, 400)
    # The year 1 cannot even be turned into local time ("Datetime value out of range.").
    assert body["starts_at"][0] in (
        "Choose a time between 1900 and 2999.",
        "Datetime value out of range.",
    )


def test_times_the_api_writes_are_rfc_3339_even_in_local_mean_time(settings):
    import re
    from datetime import UTC, datetime

    from django.utils import timezone

    from changedesk.lib.api import AwareDateTimeField

    field = AwareDateTimeField()
    with timezone.override("Europe/Amsterdam"):  # +00:19:32 until 1937
        assert field.to_representation(datetime(1930, 6, 1, 12, tzinfo=UTC)) == (
            "1930-06-01T12:00:00Z"
        )
        today = field.to_representation(datetime(2025, 6, 1, 12, tzinfo=UTC))
    assert today == "2025-06-01T14:00:00+02:00"
    rfc3339 = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)"
    assert re.fullmatch(rfc3339, today)


def test_djangos_own_403_and_400_answer_json_under_the_api_and_pages_elsewhere(rf):
    import json

    from django.core.exceptions import PermissionDenied, SuspiciousOperation

    from changedesk.lib.api import handler400, handler403

    denied = handler403(rf.get("/api/v1/feeds/"), PermissionDenied("Only a school administrator."))
    assert denied.status_code == 403
    assert json.loads(denied.content) == {"detail": "Only a school administrator."}
    bad = handler400(rf.get("/api/v1/changes/"), SuspiciousOperation("odd"))
    assert bad.status_code == 400 and json.loads(bad.content) == {
        "detail": "The request cannot be read."
    }
    page = handler400(rf.get("/changes/"), SuspiciousOperation("odd"))
    assert page.status_code == 400 and b"That request cannot be read" in page.content
