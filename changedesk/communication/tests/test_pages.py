"""The notice board and the communicators' pages: who may see and do what, and queries."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from changedesk.changes.services import create_change
from changedesk.communication import sections
from changedesk.communication.models import Notice
from changedesk.communication.services import (
    create_notice,
    draft_from_change,
    publish_notice,
    settings_for,
)
from changedesk.conftest import REQUEST

pytestmark = pytest.mark.django_db


def published_notice(school, carol, title="ICT suite 2 closed", days=3, **extra):
    start = timezone.now() + timedelta(days=days)
    notice = create_notice(
        school,
        carol,
        {
            "title": title,
            "what": "New cabling.",
            "when_text": "Next week",
            "starts_at": start,
            "ends_at": start + timedelta(hours=2),
            **extra,
        },
    )
    return publish_notice(notice.pk, carol)


def board_url(school):
    return reverse("communication:board", args=[settings_for(school).board_key])


# --- Reading the board. ---


def test_anyone_with_the_secret_link_reads_the_board_without_an_account(client, school, carol):
    published_notice(school, carol)

    response = client.get(board_url(school))

    assert response.status_code == 200
    page = response.content.decode()
    assert "Notices for staff at Greenfield Primary" in page
    assert "ICT suite 2 closed" in page
    assert response["X-Robots-Tag"] == "noindex, nofollow"
    assert response["Referrer-Policy"] == "no-referrer"
    assert client.get(board_url(school) + "print/").status_code == 200


def test_a_wrong_key_is_a_404(client, school):
    settings_for(school)
    assert client.get("/notices/board/" + "x" * 32 + "/").status_code == 404


def test_the_board_shows_only_published_current_and_upcoming_notices(client, school, carol):
    published_notice(school, carol, "Upcoming work")
    create_notice(school, carol, {"title": "Still a draft", "what": "x"})
    past = published_notice(school, carol, "Long gone", days=3)
    Notice.objects.filter(pk=past.pk).update(
        starts_at=timezone.now() - timedelta(days=3), ends_at=timezone.now() - timedelta(days=2)
    )

    page = client.get(board_url(school)).content.decode()

    assert "Upcoming work" in page
    assert "Coming up" in page
    assert "Still a draft" not in page
    assert "Long gone" not in page


def test_anonymous_visitors_are_sent_to_sign_in_from_the_school_pages(client, school):
    for name in ("school_board", "school_board_print", "manage", "settings", "create"):
        response = client.get(reverse(f"communication:{name}", args=[school.slug]))
        assert response.status_code == 302, name
        assert response["Location"].startswith(reverse("accounts:login")), name


def test_a_viewer_reads_the_board_but_manages_nothing(client, school, carol, vera):
    notice = published_notice(school, carol)
    client.force_login(vera)

    board = client.get(reverse("communication:school_board", args=[school.slug]))
    assert board.status_code == 200
    assert "ICT suite 2 closed" in board.content.decode()
    assert "Manage notices" not in board.content.decode()
    assert (
        client.get(reverse("communication:detail", args=[school.slug, notice.pk])).status_code
        == 200
    )
    assert client.get(reverse("communication:manage", args=[school.slug])).status_code == 403
    assert (
        client.get(reverse("communication:edit", args=[school.slug, notice.pk])).status_code == 403
    )
    assert (
        client.post(reverse("communication:withdraw", args=[school.slug, notice.pk])).status_code
        == 403
    )
    assert client.get(reverse("communication:create", args=[school.slug])).status_code == 403
    assert client.get(reverse("communication:settings", args=[school.slug])).status_code == 403


def test_a_viewer_does_not_see_drafts(client, school, carol, vera):
    draft = create_notice(school, carol, {"title": "Not yet", "what": "x"})
    client.force_login(vera)
    assert (
        client.get(reverse("communication:detail", args=[school.slug, draft.pk])).status_code == 404
    )


def test_outsiders_get_404_everywhere(client, school, carol, oscar, approved):
    notice = published_notice(school, carol)
    client.force_login(oscar)
    for name in ("school_board", "school_board_print", "manage", "settings", "create"):
        assert client.get(reverse(f"communication:{name}", args=[school.slug])).status_code == 404
    for name in ("detail", "edit"):
        url = reverse(f"communication:{name}", args=[school.slug, notice.pk])
        assert client.get(url).status_code == 404
    for name in ("publish", "withdraw"):
        url = reverse(f"communication:{name}", args=[school.slug, notice.pk])
        assert client.post(url).status_code == 404
    url = reverse("communication:draft", args=[school.slug, approved.pk])
    assert client.post(url).status_code == 404
    assert Notice.objects.filter(change=approved).count() == 0


def test_the_index_goes_to_the_only_board(client, school, vera):
    client.force_login(vera)
    response = client.get(reverse("communication:index"))
    assert response["Location"] == reverse("communication:school_board", args=[school.slug])


# --- Writing notices. ---


def test_the_originator_drafts_edits_and_publishes_from_the_rfc(client, approved, olivia, school):
    client.force_login(olivia)

    response = client.post(reverse("communication:draft", args=[school.slug, approved.pk]))

    notice = Notice.objects.get(change=approved)
    assert response["Location"] == reverse("communication:edit", args=[school.slug, notice.pk])
    form = client.get(response["Location"]).content.decode()
    assert "ICT suite 2 offline for an hour after school." in form
    assert 'name="starts_at"' not in form  # the RFC's window, not editable here

    response = client.post(
        reverse("communication:edit", args=[school.slug, notice.pk]),
        {
            "title": "ICT suite 2 closed after school",
            "what": "The network switch is being replaced.",
            "when_text": notice.when_text,
            "what_you_will_notice": "No computers in ICT suite 2.",
            "what_to_do": "Book ICT suite 1 instead.",
            "who_to_ask": "Olivia Okafor",
        },
    )
    assert response.status_code == 302
    response = client.post(reverse("communication:publish", args=[school.slug, notice.pk]))
    assert response.status_code == 302
    notice.refresh_from_db()
    assert notice.status == "published"
    assert notice.published_by == olivia
    assert notice.title == "ICT suite 2 closed after school"


def test_others_may_not_draft_or_edit_a_change_notice(client, approved, team, carol, school):
    notice, _ = draft_from_change(approved.pk, carol)
    client.force_login(team["ian"])

    assert (
        client.post(reverse("communication:draft", args=[school.slug, approved.pk])).status_code
        == 403
    )
    edit = reverse("communication:edit", args=[school.slug, notice.pk])
    assert client.get(edit).status_code == 404  # a draft is not shown to them at all
    publish_notice(notice.pk, carol)
    assert client.get(edit).status_code == 403
    assert client.post(edit, {"title": "Hacked"}).status_code == 403
    notice.refresh_from_db()
    assert notice.title == approved.title


def test_a_communicator_writes_a_general_notice_and_sees_errors(client, carol, school):
    client.force_login(carol)
    url = reverse("communication:create", args=[school.slug])

    response = client.post(url, {"title": "", "what": "x"})
    assert response.status_code == 400
    assert Notice.objects.count() == 0

    response = client.post(
        url,
        {
            "title": "Wi-Fi upgrade",
            "what": "New access points.",
            "starts_at": "2030-03-04T18:00",
            "ends_at": "2030-03-04T17:00",
        },
    )
    assert response.status_code == 400
    assert "The end must be after the start." in response.content.decode()

    response = client.post(
        url,
        {
            "title": "Wi-Fi upgrade",
            "what": "New access points.",
            "starts_at": "2030-07-04T18:00",
            "ends_at": "2030-07-04T20:00",
        },
    )
    notice = Notice.objects.get()
    assert response["Location"] == notice.get_absolute_url()
    # Entered in the school's time zone (BST in July).
    assert notice.starts_at.isoformat() == "2030-07-04T17:00:00+00:00"


def test_publishing_a_notice_without_what_shows_the_error(client, carol, school):
    notice = create_notice(school, carol, {"title": "Something"})
    client.force_login(carol)
    response = client.post(reverse("communication:publish", args=[school.slug, notice.pk]))
    assert response.status_code == 400
    assert "Say what is happening." in response.content.decode()


def test_the_overview_flags_changes_starting_with_users_not_told(client, approved, carol, school):
    client.force_login(carol)
    approved.planned_start = timezone.now() + timedelta(days=2)
    approved.planned_end = approved.planned_start + timedelta(hours=1)
    approved.save()

    page = client.get(reverse("communication:manage", args=[school.slug])).content.decode()

    assert "Changes starting with users not told" in page
    assert "1 approved change</strong> starts" in page
    assert approved.reference in page
    assert "Draft a notice" in page


def test_emergency_changes_are_marked_on_the_board(client, school, team, carol):
    change = create_change(
        school,
        team["olivia"],
        {
            **REQUEST,
            "is_emergency": True,
            "emergency_justification": "The switch has failed; no one can work.",
            "initial_approver": team["ian"],
        },
    )
    from changedesk.changes.workflow import perform

    perform(change.pk, "submit", team["olivia"])
    perform(change.pk, "approve", team["ian"])
    notice, _ = draft_from_change(change.pk, carol)
    assert notice.when_text == "As soon as possible: this is an emergency change."
    publish_notice(notice.pk, carol)

    page = client.get(board_url(school)).content.decode()
    assert "Emergency change" in page
    assert "is-emergency" in page


# --- Settings and the board's link. ---


def test_a_school_admin_edits_the_settings(client, sam, school):
    client.force_login(sam)
    url = reverse("communication:settings", args=[school.slug])
    assert client.get(url).status_code == 200

    response = client.post(
        url,
        {
            "staff_list_address": "all-staff@greenfield.example",
            "reminder_lead_minutes": ["2880", "60"],
            "summary_frequency": "monthly",
        },
    )

    assert response.status_code == 302
    config = settings_for(school)
    assert config.staff_list_address == "all-staff@greenfield.example"
    assert config.reminder_lead_minutes == [2880, 60]
    assert config.summary_frequency == "monthly"


def test_bad_settings_are_refused(client, sam, school):
    client.force_login(sam)
    response = client.post(
        reverse("communication:settings", args=[school.slug]),
        {"staff_list_address": "not an address", "summary_frequency": "daily"},
    )
    assert response.status_code == 400
    assert settings_for(school).staff_list_address == ""


def test_a_communicator_may_not_change_the_settings(client, carol, school):
    client.force_login(carol)
    url = reverse("communication:settings", args=[school.slug])
    assert client.get(url).status_code == 403
    key = settings_for(school).board_key
    response = client.post(reverse("communication:regenerate_key", args=[school.slug]))
    assert response.status_code == 403
    assert settings_for(school).board_key == key


def test_a_new_board_link_makes_the_old_one_404(client, sam, school):
    old = board_url(school)
    assert client.get(old).status_code == 200

    client.force_login(sam)
    response = client.post(reverse("communication:regenerate_key", args=[school.slug]))
    assert response.status_code == 302
    client.logout()

    new = board_url(school)
    assert new != old
    assert client.get(old).status_code == 404
    assert client.get(old + "print/").status_code == 404
    assert client.get(new).status_code == 200


# --- Query counts. ---


def _count_board_queries(client, url):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries)


def test_the_board_issues_a_fixed_number_of_queries(
    client, school, carol, team, approved, monkeypatch
):
    # The board's own queries: the apps' sections add theirs (see test_sections.py).
    monkeypatch.setattr(sections, "_SECTIONS", {})
    published_notice(school, carol, "First")
    public = board_url(school)
    few_public = _count_board_queries(client, public)
    client.force_login(team["olivia"])
    members = reverse("communication:school_board", args=[school.slug])
    few_members = _count_board_queries(client, members)

    for n in range(12):
        published_notice(school, carol, f"Notice {n}", days=n + 1)
    # A change's notice too, whose RFC is read for the emergency mark.
    notice, _ = draft_from_change(approved.pk, carol)
    publish_notice(notice.pk, carol)

    assert _count_board_queries(client, members) == few_members
    client.logout()
    assert _count_board_queries(client, public) == few_public
    # The settings with the school, then the notices with their RFCs.
    assert few_public == 2


# --- The panel on the RFC page. ---


def render_panel(rf, change, user):
    from django.template import engines

    template = engines["django"].from_string("{% load rfc %}{% rfc_panels 'main' %}")
    request = rf.get(change.get_absolute_url())
    request.user = user
    return template.render({"change": change}, request)


def test_the_rfc_panel_offers_a_draft_then_says_when_users_were_told(rf, approved, olivia, carol):
    approved.planned_start = timezone.now() + timedelta(days=1)
    approved.planned_end = approved.planned_start + timedelta(hours=1)
    approved.save()

    html = render_panel(rf, approved, olivia)
    assert "Users not told." in html
    assert "Draft a notice for staff" in html
    assert "csrfmiddlewaretoken" in html
    assert f'action="/notices/greenfield/draft/{approved.pk}/"' in html

    notice, _ = draft_from_change(approved.pk, carol)
    assert "A notice is drafted but not yet published." in render_panel(rf, approved, olivia)
    publish_notice(notice.pk, carol)
    html = render_panel(rf, approved, olivia)
    assert "Users told " in html
    assert "by Carol Cole" in html
    assert "Users not told." not in html


def test_the_rfc_panel_offers_nothing_to_others(rf, approved, team):
    html = render_panel(rf, approved, team["ian"])
    assert "Draft a notice" not in html
    assert "No notice yet." in html
