"""The printed RFC tells the whole story: who returned or rejected it, when (in the school's
time zone) and why; the outcome in words with the closing review's answers; the closing
review's comment. The print's permissions are unchanged, and its queries do not grow with
the number of events."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from changedesk.changes.models import ChangeEvent
from changedesk.changes.services import update_change
from changedesk.changes.workflow import perform
from changedesk.conftest import advance, plan_data

pytestmark = pytest.mark.django_db


def _print(client, user, change):
    client.force_login(user)
    response = client.get(reverse("changes:print", args=[change.pk]))
    assert response.status_code == 200
    return response.content.decode()


def _local(event, school):
    return timezone.localtime(event.created_at, school.zone).strftime("%-d %b %Y %H:%M")


def test_a_returned_then_rejected_rfc_prints_who_when_and_why(client, draft, team, school):
    school.timezone = "Asia/Tokyo"  # far from UTC, so a time left in UTC would show
    school.save()
    perform(draft.pk, "submit", team["olivia"])
    perform(draft.pk, "return", team["ian"], comment="Say which rooms lose the network.")
    perform(draft.pk, "submit", team["olivia"])
    perform(draft.pk, "reject", team["ian"], comment="Not this term: exams start Monday.")
    page = _print(client, team["fiona"], draft)
    assert "Returned and rejected" in page
    returned = ChangeEvent.objects.get(change=draft, kind="return")
    rejected = ChangeEvent.objects.get(change=draft, kind="reject")
    assert "Returned for amendment" in page and "Rejected" in page
    assert "Say which rooms lose the network." in page
    assert "Not this term: exams start Monday." in page
    assert page.count("Ian Ingram") >= 2
    assert _local(returned, school) in page
    assert _local(rejected, school) in page
    assert page.index("Say which rooms") < page.index("Not this term")


def test_a_decision_for_someone_else_prints_on_whose_behalf(client, draft, team, school):
    from datetime import timedelta

    from changedesk.accounts.models import Delegation
    from changedesk.conftest import member

    deputy = member("dora", school, [])
    now = timezone.now()
    Delegation.objects.create(
        school=school,
        approver=team["ian"],
        deputy=deputy,
        role="initial_approver",
        starts_at=now - timedelta(hours=1),
        ends_at=now + timedelta(days=1),
    )
    perform(draft.pk, "submit", team["olivia"])
    perform(draft.pk, "return", deputy, comment="Add the cost.")
    page = _print(client, team["olivia"], draft)
    assert "Dora Example for Ian Ingram" in page


def test_a_clean_rfc_prints_no_returns(client, draft, team):
    page = _print(client, team["olivia"], draft)
    assert "Returned and rejected" not in page
    assert "Closing review" not in page


def test_a_failed_outcome_and_the_closing_review_print_in_words(client, draft, team):
    change = advance(draft, team, "approved")
    perform(
        change.pk,
        "record_outcome",
        team["olivia"],
        data={"outcome": "failed_backed_out"},
        comment="The spare switch was dead; the old one went back in.",
    )
    perform(
        change.pk,
        "close",
        team["olivia"],
        data={"records_updated": True, "caused_incidents": True, "users_informed": False},
        comment="Test the spare before the evening next time.",
    )
    page = _print(client, team["fiona"], change)
    assert "Failed, fallback plan carried out" in page
    assert "failed_backed_out" not in page
    assert "The spare switch was dead; the old one went back in." in page
    assert "Closing review" in page
    assert "Test the spare before the evening next time." in page
    closing = page[page.index("Closing review") :]
    assert "The change caused incidents</th><td>Yes" in closing
    assert "Users were told beforehand</th><td>No" in closing
    assert "Configuration records updated</th><td>Yes" in page


def test_a_close_without_a_comment_says_so(client, draft, team):
    change = advance(draft, team, "closed")
    page = _print(client, team["olivia"], change)
    assert "Succeeded" in page
    assert "No comment given." in page
    # The signature row's outcome is in words too.
    assert "Recorded the outcome: Succeeded" in page


def test_the_print_permissions_are_unchanged(client, draft, team, oscar):
    assert client.get(reverse("changes:print", args=[draft.pk])).status_code == 302
    client.force_login(oscar)
    assert client.get(reverse("changes:print", args=[draft.pk])).status_code == 404
    for person in team.values():
        client.force_login(person)
        assert client.get(reverse("changes:print", args=[draft.pk])).status_code == 200


def _queries(client, user, change):
    client.force_login(user)
    client.get(reverse("changes:print", args=[change.pk]))  # warm the session
    with CaptureQueriesContext(connection) as captured:
        assert client.get(reverse("changes:print", args=[change.pk])).status_code == 200
    return len(captured)


def test_the_print_costs_the_same_queries_however_many_returns(client, draft, team, school):
    from changedesk.changes.services import create_change
    from changedesk.conftest import REQUEST

    few = advance(draft, team, "planning")
    many = create_change(school, team["olivia"], dict(REQUEST))
    perform(many.pk, "submit", team["olivia"])
    for n in range(6):
        perform(many.pk, "return", team["ian"], comment=f"Round {n}")
        perform(many.pk, "submit", team["olivia"])
    perform(many.pk, "approve", team["ian"])
    update_change(many.pk, team["olivia"], plan_data())
    assert _queries(client, team["olivia"], few) == _queries(client, team["olivia"], many)
