"""The library area's fixes after review: "overdue" by each school's own day (the filter of
the page and the API, and `lib.days`), the reminders' job reading only rows not reminded
today, the taker who may take pieces out, and the book's empty list when filtered."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from django.test import Client
from rest_framework.test import APIClient

from changedesk.accounts.choices import Role
from changedesk.accounts.services import set_membership
from changedesk.lib import days
from changedesk.lib.errors import InvalidAction
from changedesk.releases.models import Checkout
from changedesk.releases.services import library as services

pytestmark = pytest.mark.django_db

# Noon in London: already the next day on Kiritimati (UTC+14).
NOON = datetime(2026, 12, 3, 12, tzinfo=UTC)
LONDON_TODAY = date(2026, 12, 3)


def web(user):
    client = Client(raise_request_exception=False)
    client.force_login(user)
    return client


def api(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


def piece(school, user, title):
    return services.save_software(school, user, {"title": title, "location": "shelf"})


# --- 3. Overdue where each school is. ---


def test_lib_days_compares_with_each_schools_today(school, other_school):
    other_school.timezone = "Pacific/Kiritimati"
    other_school.save()
    assert days.today_in(school, NOON) == LONDON_TODAY
    assert days.today_in(other_school, NOON) == LONDON_TODAY + timedelta(days=1)
    q = days.compare_today("due_back", "lt", [school, other_school], NOON)
    assert "school__in" in str(q)
    assert days.zones([school]) == [("Europe/London", days.Q())]
    assert days.per_zone([], lambda today: days.Q(pk=1)) == days.Q(pk__in=[])


def test_overdue_is_each_schools_day_on_the_page_and_the_api(school, other_school, rachel):
    set_membership(rachel, other_school, [Role.RELEASE_MANAGER])
    other_school.timezone = "Pacific/Kiritimati"
    other_school.save()
    with time_machine.travel(NOON, tick=False):
        here = piece(school, rachel, "Here")
        there = piece(other_school, rachel, "There")
        # Both due back on London's today: late on Kiritimati (its today is tomorrow).
        at_home = Checkout.objects.create(
            school=school, software=here, taken_by=rachel, due_back=LONDON_TODAY
        )
        away = Checkout.objects.create(
            school=other_school, software=there, taken_by=rachel, due_back=LONDON_TODAY
        )
        late = api(rachel).get("/api/v1/checkouts/?overdue=true").json()["results"]
        assert [row["id"] for row in late] == [away.pk]
        on_time = api(rachel).get("/api/v1/checkouts/?overdue=false").json()["results"]
        assert [row["id"] for row in on_time] == [at_home.pk]
        html = web(rachel).get("/releases/library/out/?overdue=true").content.decode()
        assert ">There<" in html
        assert ">Here<" not in html


# --- 4. The reminders' job: rows reminded today are not read again. ---


@pytest.mark.usefixtures("midday")
def test_reminders_do_not_starve_the_later_ones(school, rachel, isaac, monkeypatch):
    monkeypatch.setattr(services, "MOST_NUDGED", 2)
    today = services.today_in(school)
    for k in range(3):
        Checkout.objects.create(
            school=school,
            software=piece(school, rachel, f"P{k}"),
            taken_by=isaac,
            due_back=today - timedelta(days=10 - k),
        )
    now = datetime.now(UTC)
    assert services.overdue_checkouts(now) > 0
    assert Checkout.objects.filter(nudged_on=today).count() == 2
    assert services.overdue_checkouts(now + timedelta(minutes=1)) > 0
    assert Checkout.objects.filter(nudged_on=today).count() == 3
    assert services.overdue_checkouts(now + timedelta(minutes=2)) == 0


def test_a_reminded_row_is_not_read_again_where_its_school_is(school, rachel, isaac):
    school.timezone = "Pacific/Kiritimati"
    school.save()
    with time_machine.travel(NOON, tick=False):
        Checkout.objects.create(
            school=school,
            software=piece(school, rachel, "P"),
            taken_by=isaac,
            due_back=LONDON_TODAY,
            nudged_on=LONDON_TODAY,  # yesterday on Kiritimati: due a reminder today
        )
        assert services.overdue_checkouts(NOON) > 0
        assert Checkout.objects.get().nudged_on == LONDON_TODAY + timedelta(days=1)
        assert services.overdue_checkouts(NOON) == 0


# --- 6. The taker may take pieces out. ---


def test_the_taker_must_be_allowed_to_take_pieces_out(school, rachel, fiona, isaac, sam):
    the_piece = piece(school, rachel, "P")
    due = services.today_in(school) + timedelta(days=2)
    with pytest.raises(InvalidAction) as error:
        services.take_out(the_piece, rachel, {"taken_by": "fiona", "due_back": due})
    assert "taken_by" in error.value.fields
    response = api(rachel).post(
        f"/api/v1/software/{the_piece.pk}/checkouts/",
        {"taken_by": "fiona", "due_back": str(due)},
        format="json",
    )
    assert response.status_code == 400
    assert "taken_by" in response.json()
    assert not Checkout.objects.exists()
    html = web(rachel).get(f"/releases/library/{the_piece.pk}/").content.decode()
    assert f'value="{isaac.pk}"' in html
    assert f'value="{sam.pk}"' in html
    assert f'value="{fiona.pk}"' not in html
    response = web(rachel).post(
        f"/releases/library/{the_piece.pk}/take/", {"due_back": str(due), "taken_by": fiona.pk}
    )
    assert not Checkout.objects.exists()
    checkout = services.take_out(the_piece, rachel, {"taken_by": "isaac", "due_back": due})
    assert checkout.taken_by == isaac


# --- 8. The book's empty list, filtered. ---


def test_a_filter_that_hides_everything_says_nothing_matches(school, rachel):
    the_piece = piece(school, rachel, "P")
    services.take_out(the_piece, rachel, {"due_back": services.today_in(school) + timedelta(3)})
    html = web(rachel).get("/releases/library/out/?overdue=true").content.decode()
    assert "Nothing matches." in html
    assert "every piece is in the library" not in html


# --- 10. Links that are over are refused, the page's and the API's alike. ---


def test_a_closed_release_or_a_terminal_rfc_is_refused(school, rachel, draft):
    from changedesk.changes.choices import State
    from changedesk.changes.models import Change
    from changedesk.releases.choices import ReleaseState
    from changedesk.releases.models import Release

    the_piece = piece(school, rachel, "P")
    due = services.today_in(school) + timedelta(days=2)
    closed = Release.objects.create(school=school, title="Done", state=ReleaseState.CANCELLED)
    Change.objects.filter(pk=draft.pk).update(state=State.WITHDRAWN)
    for field, value in (("release", closed.pk), ("change", draft.pk)):
        response = api(rachel).post(
            f"/api/v1/software/{the_piece.pk}/checkouts/",
            {"due_back": str(due), field: value},
            format="json",
        )
        assert response.status_code == 400, response.content
        assert field in response.json()
    assert not Checkout.objects.exists()
