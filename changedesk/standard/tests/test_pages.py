"""The standard change pages: the list, a template, its forms, proposing, raising and
reinstating it; who may see and do what; refusals on the forms; the list's queries."""

from __future__ import annotations

import os
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from changedesk.accounts.choices import Role
from changedesk.accounts.services import set_membership
from changedesk.changes.models import Change
from changedesk.changes.workflow import perform
from changedesk.configuration.models import ConfigurationItem
from changedesk.conftest import member
from changedesk.schedule.models import CalendarPeriod
from changedesk.standard import services
from changedesk.standard.models import Raised, Template
from changedesk.standard.tests.conftest import CONTENT, approve

pytestmark = pytest.mark.django_db

# The browser test's Playwright runs an event loop in this thread; the ORM calls of the
# tests are synchronous and safe (as changedesk/tests/browser.py's `require_chromium` says).
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


def window(days=10, hour=18):
    """A start in the school's zone, as the raise form's field takes it, and as a time."""
    day = timezone.localdate() + timedelta(days=days)
    start = timezone.make_aware(
        timezone.datetime(day.year, day.month, day.day, hour, 0), timezone.get_default_timezone()
    )
    return start.strftime("%Y-%m-%dT%H:%M"), start


def form_data(**changes):
    data = {**CONTENT, "review_date": (timezone.localdate() + timedelta(days=200)).isoformat()}
    data.update(changes)
    return data


def text(response):
    return response.content.decode()


def suspend(approved, team):
    change = services.raise_change(
        approved.pk, team["olivia"], planned_start=timezone.now() + timedelta(days=9)
    )
    perform(change.pk, "record_outcome", team["olivia"], data={"outcome": "failed_backed_out"})
    approved.refresh_from_db()
    return change


# --- Each page, for an originator. ---


def test_every_page_renders_for_an_originator(client, team, approved):
    client.force_login(team["olivia"])
    pages = {
        reverse("standard:list"): "Monthly security updates",
        reverse("standard:create"): "New standard change",
        reverse("standard:detail", args=[approved.pk]): "Where it stands",
        reverse("standard:edit", args=[approved.pk]): "Edit the standard change",
        reverse("standard:raise", args=[approved.pk]): "Raise the standard change",
    }
    for url, words in pages.items():
        response = client.get(url)
        assert response.status_code == 200, url
        assert words in text(response), url


def test_the_main_menu_links_to_the_standard_changes(client, team):
    client.force_login(team["ian"])
    page = text(client.get(reverse("changes:my_work")))
    assert f'href="{reverse("standard:list")}"' in page and "Standard changes" in page


def test_the_list_shows_state_version_review_date_and_duration(client, team, approved, school):
    Template.objects.filter(pk=approved.pk).update(
        review_date=timezone.localdate() - timedelta(days=1)
    )
    services.create_template(school, team["olivia"], {**CONTENT, "title": "Printer toner"})
    client.force_login(team["olivia"])

    page = text(client.get(reverse("standard:list")))

    assert "Expired: its review date has passed" in page
    assert "Printer toner" in page and "Draft" in page
    assert "1 hour 30 minutes" in page
    assert "New standard change" in page
    # One school: no school column.
    assert '<th scope="col">School</th>' not in page


def test_the_list_filters_by_state_and_school(client, team, approved, school, other_school):
    services.create_template(school, team["olivia"], {**CONTENT, "title": "Printer toner"})
    set_membership(team["olivia"], other_school, [Role.ORIGINATOR])
    services.create_template(other_school, team["olivia"], {**CONTENT, "title": "Hillside backups"})
    client.force_login(team["olivia"])

    page = text(client.get(reverse("standard:list")))
    assert '<th scope="col">School</th>' in page and "Hillside backups" in page

    page = text(client.get(reverse("standard:list"), {"state": "approved"}))
    assert "Monthly security updates" in page and "Printer toner" not in page

    page = text(client.get(reverse("standard:list"), {"school": "hillside"}))
    assert "Hillside backups" in page and "Printer toner" not in page

    page = text(client.get(reverse("standard:list"), {"state": "expired"}))
    assert "No standard changes match." in page


def test_a_final_approver_sees_the_list_without_the_new_button(client, team, template):
    client.force_login(team["fiona"])
    page = text(client.get(reverse("standard:list")))
    assert "Monthly security updates" in page
    assert "New standard change" not in page


# --- Who may. ---


def test_a_final_approver_cannot_create_propose_or_edit(client, team, template):
    client.force_login(team["fiona"])
    assert client.get(reverse("standard:create")).status_code == 403
    assert client.post(reverse("standard:create"), form_data()).status_code == 403
    assert client.get(reverse("standard:edit", args=[template.pk])).status_code == 403
    assert client.post(reverse("standard:edit", args=[template.pk]), form_data()).status_code == 403
    assert client.post(reverse("standard:propose", args=[template.pk])).status_code == 403
    template.refresh_from_db()
    assert template.state == "draft" and template.version == 1
    assert Template.objects.count() == 1
    # She reads it, with no buttons to write it.
    page = text(client.get(reverse("standard:detail", args=[template.pk])))
    assert "Propose for approval" not in page and ">Edit<" not in page


def test_another_schools_template_is_a_404(client, oscar, team, approved):
    client.force_login(oscar)
    pk = approved.pk
    assert client.get(reverse("standard:detail", args=[pk])).status_code == 404
    assert client.get(reverse("standard:edit", args=[pk])).status_code == 404
    assert client.get(reverse("standard:raise", args=[pk])).status_code == 404
    start, _ = window()
    assert (
        client.post(reverse("standard:raise", args=[pk]), {"planned_start": start}).status_code
        == 404
    )
    assert client.post(reverse("standard:propose", args=[pk])).status_code == 404
    assert (
        client.post(reverse("standard:reinstate", args=[pk]), {"comment": "x"}).status_code == 404
    )
    assert "Monthly security updates" not in text(client.get(reverse("standard:list")))
    assert not Change.objects.filter(is_standard=True).exists()


def test_only_the_people_it_names_see_and_use_raise(client, team, school, template):
    otto = member("otto", school, [Role.ORIGINATOR])
    services.update_template(template.pk, team["olivia"], {}, raisers=[team["olivia"]])
    approve(template, team)
    raise_url = reverse("standard:raise", args=[template.pk])
    start, _ = window()

    client.force_login(otto)
    page = text(client.get(reverse("standard:detail", args=[template.pk])))
    assert raise_url not in page
    assert "Only the people it names may raise it." in page
    assert client.get(raise_url).status_code == 403
    assert client.post(raise_url, {"planned_start": start}).status_code == 403
    assert not Change.objects.filter(is_standard=True).exists()

    client.force_login(team["ian"])  # an approver, not an originator
    assert raise_url not in text(client.get(reverse("standard:detail", args=[template.pk])))
    assert client.get(raise_url).status_code == 403

    client.force_login(team["olivia"])
    page = text(client.get(reverse("standard:detail", args=[template.pk])))
    assert raise_url in page
    assert "Olivia Okafor" in page  # who may raise it


def test_only_approvers_reinstate_a_suspended_template(client, team, approved):
    failed = suspend(approved, team)
    url = reverse("standard:reinstate", args=[approved.pk])
    detail = reverse("standard:detail", args=[approved.pk])

    client.force_login(team["olivia"])
    page = text(client.get(detail))
    assert "It is suspended" in page and failed.get_absolute_url() in page
    assert url not in page
    assert client.post(url, {"comment": "Looked at it"}).status_code == 403

    client.force_login(team["fiona"])
    assert url in text(client.get(detail))
    response = client.post(url, {"comment": "  "})
    assert response.status_code == 400
    assert "This field is required." in text(response) or "review found" in text(response)
    approved.refresh_from_db()
    assert approved.state == "suspended"

    response = client.post(url, {"comment": "The driver update is now excluded."})
    assert response.status_code == 302 and response.url == detail
    approved.refresh_from_db()
    assert approved.state == "approved"
    page = text(client.get(detail))
    assert "Reinstated" in page and "The driver update is now excluded." in page


def test_reinstating_a_template_that_is_not_suspended_is_refused_on_the_page(
    client, team, approved
):
    client.force_login(team["fiona"])
    response = client.post(reverse("standard:reinstate", args=[approved.pk]), {"comment": "Fine"})
    assert response.status_code == 302 and response.url == approved.get_absolute_url()
    assert "not suspended" in text(client.get(response.url))
    assert not approved.events.filter(kind="reinstate").exists()


# --- Writing, editing, proposing. ---


def test_an_originator_writes_a_template(client, team, school, laptops):
    client.force_login(team["olivia"])
    page = text(client.get(reverse("standard:create")))
    assert "Staff laptops" in page and "Olivia Okafor" in page
    default_review = (timezone.localdate() + timedelta(days=365)).isoformat()
    assert f'value="{default_review}"' in page

    response = client.post(
        reverse("standard:create"),
        form_data(items=[laptops.pk], raisers=[team["olivia"].pk]),
    )

    template = Template.objects.get()
    assert response.status_code == 302 and response.url == template.get_absolute_url()
    assert template.school == school and template.state == "draft"
    assert template.duration_minutes == 90
    assert list(template.items.all()) == [laptops]
    assert list(template.raisers.all()) == [team["olivia"]]
    page = text(client.get(response.url))
    assert "is saved as a draft" in page
    assert "Created" in page and "Propose for approval" in page


def test_someone_writing_for_two_schools_chooses_the_school_first(client, team, other_school):
    set_membership(team["olivia"], other_school, [Role.ORIGINATOR])
    ConfigurationItem.objects.create(school=other_school, name="Hillside server")
    client.force_login(team["olivia"])

    page = text(client.get(reverse("standard:create")))
    assert "Which school is it for?" in page

    page = text(client.get(reverse("standard:create"), {"school": "hillside"}))
    assert "For Hillside Academy" in page and "Hillside server" in page

    response = client.post(reverse("standard:create"), {**form_data(), "school": "hillside"})
    assert response.status_code == 302
    assert Template.objects.get().school == other_school


def test_bad_input_on_the_template_form_gives_errors_not_a_500(client, team, school, other_school):
    foreign = ConfigurationItem.objects.create(school=other_school, name="Hillside server")
    client.force_login(team["olivia"])
    cases = [
        {"title": "", "details": "   "},
        {"duration_minutes": "0"},
        {"duration_minutes": "ninety"},
        {"duration_minutes": "99999999999999999999"},
        {"review_date": "2001-01-01"},
        {"review_date": "9999-12-31"},
        {"review_date": "not a day"},
        {"items": [foreign.pk]},
        {"items": ["x"]},
        {"raisers": [team["fiona"].pk]},  # not an originator
    ]
    for case in cases:
        response = client.post(reverse("standard:create"), form_data(**case))
        assert response.status_code == 400, case
        assert "field-error" in text(response) or "errorlist-box" in text(response), case
    assert not Template.objects.exists()


def test_editing_an_approved_template_warns_first_then_makes_a_new_draft_version(
    client, team, approved
):
    client.force_login(team["olivia"])
    url = reverse("standard:edit", args=[approved.pk])
    page = text(client.get(url))
    assert "approval-warning" in page and "makes version 2" in page

    # Saved as it is: nothing changes, version 1 stays in force.
    unchanged = form_data(
        review_date=approved.review_date.isoformat(), items=[i.pk for i in approved.items.all()]
    )
    assert client.post(url, unchanged).status_code == 302
    approved.refresh_from_db()
    assert approved.state == "approved" and approved.version == 1

    response = client.post(
        url, {**unchanged, "details": "1. Deploy. 2. Check.", "comment": "Simpler"}
    )

    assert response.status_code == 302 and response.url == approved.get_absolute_url()
    approved.refresh_from_db()
    assert approved.state == "draft" and approved.version == 2
    assert approved.details == "1. Deploy. 2. Check."
    page = text(client.get(response.url))
    assert "Saved as version 2, a draft" in page
    assert "Version 1 was approved" in page
    assert "Simpler" in page  # the note, in its history
    assert reverse("standard:raise", args=[approved.pk]) not in page


def test_a_named_raiser_who_is_no_longer_an_originator_does_not_block_an_edit(
    client, team, school, template, laptops
):
    otto = member("otto", school, [Role.ORIGINATOR])
    services.update_template(template.pk, team["olivia"], {}, raisers=[otto])
    set_membership(otto, school, [Role.VIEWER])
    client.force_login(team["olivia"])
    url = reverse("standard:edit", args=[template.pk])
    assert "Otto Example" in text(client.get(url))
    data = form_data(review_date=template.review_date.isoformat(), items=[laptops.pk])

    # Kept while named before; he may not raise it (he is no originator now).
    response = client.post(url, {**data, "raisers": [otto.pk], "details": "Other steps."})
    assert response.status_code == 302
    template.refresh_from_db()
    assert list(template.raisers.all()) == [otto] and not services.may_raise(otto, template)
    # Someone newly named must be an originator.
    viewer = member("vera", school, [Role.VIEWER])
    response = client.post(url, {**data, "raisers": [otto.pk, viewer.pk]})
    assert response.status_code == 400
    assert list(template.raisers.all()) == [otto]


def test_a_template_being_approved_cannot_be_edited(client, team, template):
    services.propose(template.pk, team["olivia"])
    client.force_login(team["olivia"])
    detail = reverse("standard:detail", args=[template.pk])
    page = text(client.get(detail))
    assert reverse("standard:edit", args=[template.pk]) not in page
    response = client.post(reverse("standard:edit", args=[template.pk]), form_data(details="X"))
    assert response.status_code == 302 and response.url == detail
    assert "withdraw its proposal first" in text(client.get(detail))
    template.refresh_from_db()
    assert template.details == CONTENT["details"]


def test_proposing_a_draft_redirects_to_the_rfc_that_asks_for_approval(client, team, template):
    client.force_login(team["olivia"])

    response = client.post(reverse("standard:propose", args=[template.pk]))

    template.refresh_from_db()
    proposal = template.proposal
    assert template.state == "proposed" and proposal is not None
    assert response.status_code == 302 and response.url == proposal.get_absolute_url()
    page = text(client.get(response.url))
    assert f"{proposal.reference} proposes" in page
    # The template's page says where it is being approved.
    page = text(client.get(template.get_absolute_url()))
    assert "awaiting approval" in page.lower() and proposal.get_absolute_url() in page
    assert "Propose for approval" not in page


def test_proposing_twice_is_refused_with_a_message(client, team, template):
    services.propose(template.pk, team["olivia"])
    client.force_login(team["olivia"])
    response = client.post(reverse("standard:propose", args=[template.pk]), follow=True)
    assert response.status_code == 200
    assert "only a draft is proposed" in text(response)
    assert Change.objects.count() == 1


def test_propose_takes_only_a_post(client, team, template):
    client.force_login(team["olivia"])
    assert client.get(reverse("standard:propose", args=[template.pk])).status_code == 405
    assert client.get(reverse("standard:reinstate", args=[template.pk])).status_code == 405


# --- Raising. ---


def test_raising_redirects_to_an_approved_standard_rfc(client, team, approved, laptops):
    client.force_login(team["olivia"])
    url = reverse("standard:raise", args=[approved.pk])
    page = text(client.get(url))
    assert "Staff laptops" in page and "checked" in page  # its items, ticked
    start, when = window()

    response = client.post(url, {"planned_start": start, "items": [laptops.pk],
                                 "implementer": team["ivan"].pk})  # fmt: skip

    change = Change.objects.get(is_standard=True)
    assert response.status_code == 302 and response.url == change.get_absolute_url()
    assert change.state == "approved" and change.change_type == "standard"
    assert change.planned_start == when
    assert change.planned_end == when + timedelta(minutes=90)
    assert change.implementer == team["ivan"]
    assert list(change.item_links.values_list("item__name", flat=True)) == ["Staff laptops"]
    assert Raised.objects.get(change=change).template == approved
    assert "is raised from the standard change and approved" in text(client.get(response.url))
    # The template lists it.
    assert change.reference in text(client.get(approved.get_absolute_url()))


def test_a_hard_freeze_refuses_the_raise_on_the_form_and_offers_a_normal_change(
    client, team, approved, school, laptops
):
    start, when = window(days=12)
    CalendarPeriod.objects.create(
        school=school, kind="freeze", name="Census freeze", is_hard=True,
        starts_at=when - timedelta(hours=1), ends_at=when + timedelta(hours=3),
    )  # fmt: skip
    client.force_login(team["olivia"])

    response = client.post(
        reverse("standard:raise", args=[approved.pk]),
        {"planned_start": start, "items": [laptops.pk]},
    )

    assert response.status_code == 400
    page = text(response)
    assert "Census freeze" in page and "field-error" in page
    assert "Raise it as a normal change instead" in page
    assert f"{reverse('changes:create')}?school=greenfield&amp;planned_start=" in page
    assert not Change.objects.filter(is_standard=True).exists()
    assert not Raised.objects.exists()


def test_a_soft_conflict_names_the_next_safe_slot(client, team, approved, school, laptops):
    start, when = window(days=14)
    CalendarPeriod.objects.create(
        school=school, kind="exam", name="Mock exams",
        starts_at=when - timedelta(hours=1), ends_at=when + timedelta(hours=3),
    )  # fmt: skip
    client.force_login(team["olivia"])

    response = client.post(
        reverse("standard:raise", args=[approved.pk]),
        {"planned_start": start, "items": [laptops.pk]},
    )

    assert response.status_code == 400
    page = text(response)
    assert "Mock exams" in page and "next safe slot" in page
    assert not Change.objects.filter(is_standard=True).exists()


def test_bad_input_on_the_raise_form_gives_errors_not_a_500(
    client, team, approved, school, other_school
):
    printer = ConfigurationItem.objects.create(school=school, name="Office printer")
    client.force_login(team["olivia"])
    url = reverse("standard:raise", args=[approved.pk])
    start, _ = window()
    cases = [
        {},
        {"planned_start": "not a time"},
        {"planned_start": "9999-12-31T23:30"},
        {"planned_start": "0001-01-01T00:00"},
        {"planned_start": start, "planned_end": start.replace("T18", "T17")},
        {"planned_start": start, "items": [printer.pk]},  # not among the template's
        {"planned_start": start, "implementer": team["fiona"].pk},  # not an implementer
        {"planned_start": start, "implementer": "x"},
    ]
    for case in cases:
        response = client.post(url, case)
        assert response.status_code == 400, case
        assert "errorlist-box" in text(response), case
    assert not Change.objects.filter(is_standard=True).exists()


def test_a_template_that_cannot_be_raised_says_why_and_offers_a_normal_change(
    client, team, template
):
    client.force_login(team["olivia"])
    url = reverse("standard:raise", args=[template.pk])
    response = client.get(url)
    assert response.status_code == 200
    page = text(response)
    assert "It cannot be raised now: it is a draft" in page
    assert "Raise the standard change" not in page
    assert reverse("changes:create") in page
    start, _ = window()
    response = client.post(url, {"planned_start": start})
    assert response.status_code == 400
    assert "cannot be raised" in text(response)
    assert not Change.objects.filter(is_standard=True).exists()


def test_an_expired_template_says_so(client, team, approved):
    Template.objects.filter(pk=approved.pk).update(
        review_date=timezone.localdate() - timedelta(days=1)
    )
    client.force_login(team["olivia"])
    page = text(client.get(reverse("standard:detail", args=[approved.pk])))
    assert "Expired: its review date has passed" in page
    assert reverse("standard:raise", args=[approved.pk]) not in page
    page = text(client.get(reverse("standard:raise", args=[approved.pk])))
    assert "its review date" in page and "has passed" in page


def test_the_approved_page_shows_version_date_and_digest(client, team, approved):
    client.force_login(team["ian"])
    page = text(client.get(reverse("standard:detail", args=[approved.pk])))
    assert "Approved: version 1" in page
    assert approved.approved_digest[:10] in page
    assert "Proposed for approval" in page and "Approved" in page  # its history
    assert approved.proposal.reference in page


def test_odd_urls_never_give_a_500(client, team, template):
    client.force_login(team["olivia"])
    for url in [
        "/standard-changes/?state=nonsense",
        "/standard-changes/?school=nowhere",
        "/standard-changes/?page=abc",
        "/standard-changes/?page=99999",
        "/standard-changes/new/?school=nowhere",
        "/standard-changes/999999/",
        f"/standard-changes/{template.pk}/raise/?planned_start=x",
    ]:
        assert client.get(url).status_code in (200, 404), url


# --- Queries. ---


def test_an_empty_list_of_several_schools_is_shown(client, team, other_school):
    # On PostgreSQL a person of several schools is paged school by school (lib.paging).
    set_membership(team["olivia"], other_school, [Role.ORIGINATOR])
    client.force_login(team["olivia"])
    for query in ({}, {"state": "expired"}, {"page": "3"}):
        response = client.get(reverse("standard:list"), query)
        assert response.status_code == 200, query
        assert "No standard changes" in text(response)


def test_the_list_costs_the_same_queries_however_many_templates(client, team, school, other_school):
    set_membership(team["olivia"], other_school, [Role.ORIGINATOR])
    services.create_template(school, team["olivia"], dict(CONTENT))
    client.force_login(team["olivia"])
    client.get(reverse("standard:list"))  # the session, warmed

    with CaptureQueriesContext(connection) as few:
        assert client.get(reverse("standard:list")).status_code == 200
    for n in range(30):
        where = school if n % 2 else other_school
        services.create_template(where, team["olivia"], {**CONTENT, "title": f"Template {n}"})
    with CaptureQueriesContext(connection) as many:
        page = text(client.get(reverse("standard:list")))
    assert "Template 29" in page
    assert len(many) == len(few), [q["sql"] for q in many.captured_queries]
    assert len(many) <= 8, len(many)


def test_the_list_is_paged_past_fifty(client, team, school):
    for n in range(55):
        Template.objects.create(
            school=school, created_by=team["olivia"], review_date=timezone.localdate(),
            **{**CONTENT, "title": f"Template {n:02d}"},
        )  # fmt: skip
    client.force_login(team["olivia"])
    page = text(client.get(reverse("standard:list")))
    assert "Page 1 of 2" in page and "Template 49" in page and "Template 50" not in page
    page = text(client.get(reverse("standard:list"), {"page": 2}))
    assert "Template 54" in page and "Template 00" not in page


# --- In a real browser: axe on every page, at a desktop's width and a small phone's. ---


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_pages_pass_axe_and_fit_a_small_phone(
    browser, live_server, team, school, other_school, laptops
):
    from django.conf import settings
    from django.test import Client

    from changedesk.tests.browser import (
        CHROMIUM,
        DESKTOP,
        NARROW_PHONE,
        check_accessibility,
        overflow,
    )

    if not CHROMIUM.exists():
        pytest.skip("Chromium is not installed at /usr/bin/chromium")
    set_membership(team["olivia"], other_school, [Role.ORIGINATOR])
    approved = approve(
        services.create_template(school, team["olivia"], dict(CONTENT), items=[laptops]), team
    )
    suspended = approve(
        services.create_template(school, team["olivia"], {**CONTENT, "title": "Printer toner"}),
        team,
    )
    suspend(suspended, team)
    start, when = window(days=12)
    CalendarPeriod.objects.create(
        school=school, kind="freeze", name="Census freeze", is_hard=True,
        starts_at=when - timedelta(hours=1), ends_at=when + timedelta(hours=3),
    )  # fmt: skip
    base = live_server.url

    def submit(page, button):
        page.get_by_role("button", name=button, exact=True).click()
        page.locator(".field-error, [role=alert]").first.wait_for()

    def raise_in_the_freeze(page):
        page.locator("#id_planned_start").fill(start)
        submit(page, "Raise the standard change")

    cases = [
        ("olivia", "/standard-changes/", None),
        ("olivia", "/standard-changes/new/", None),
        ("olivia", "/standard-changes/new/?school=greenfield", None),
        (
            "olivia",
            "/standard-changes/new/?school=greenfield",
            lambda page: submit(page, "Save as draft"),
        ),
        ("olivia", f"/standard-changes/{approved.pk}/", None),
        ("olivia", f"/standard-changes/{approved.pk}/edit/", None),
        ("olivia", f"/standard-changes/{approved.pk}/raise/", None),
        ("olivia", f"/standard-changes/{approved.pk}/raise/", raise_in_the_freeze),
        ("olivia", f"/standard-changes/{suspended.pk}/raise/", None),
        ("fiona", f"/standard-changes/{suspended.pk}/", None),
        (
            "fiona",
            f"/standard-changes/{suspended.pk}/",
            lambda page: submit(page, "Reinstate it"),
        ),
    ]
    problems = []
    for viewport in (DESKTOP, NARROW_PHONE):
        context = browser.new_context(viewport=viewport)
        for username in ("olivia", "fiona"):
            client = Client()
            client.force_login(team[username])
            cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
            context.clear_cookies()
            context.add_cookies(
                [{"name": settings.SESSION_COOKIE_NAME, "value": cookie, "url": base}]
            )
            page = context.new_page()
            page.set_default_timeout(10_000)
            for who, path, then in cases:
                if who != username:
                    continue
                page.goto(base + path)
                page.evaluate(
                    "document.querySelectorAll('form').forEach(f => { f.noValidate = true; })"
                )
                if then is not None:
                    then(page)
                name = f"{path} as {who} at {viewport['width']} px{' (sent)' if then else ''}"
                if page.title().startswith(("Page not found", "Forbidden", "Server error")):
                    problems.append(f"{name}: {page.title()}")
                    continue
                wide = overflow(page) if viewport is NARROW_PHONE else ""
                if wide:
                    problems.append(f"{name}: {wide}")
                try:
                    check_accessibility(page)
                except AssertionError as error:
                    problems.append(f"{name}: {error}")
            page.close()
        context.close()
    assert not problems, "\n".join(problems)
    assert not Change.objects.filter(is_standard=True, planned_start=when).exists()
