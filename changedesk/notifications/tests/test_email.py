"""The mail each kind of news becomes: subject, text and HTML, with absolute links."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from changedesk.accounts.models import Delegation
from changedesk.changes.services import update_change
from changedesk.changes.workflow import perform
from changedesk.conftest import advance, plan_data
from changedesk.notifications.email import (
    UnknownTemplate,
    build_message,
    planned_window,
    render,
)
from changedesk.notifications.models import OutboxMessage


@pytest.fixture(autouse=True)
def _site(settings):
    settings.SITE_URL = "https://changes.greenfield.example"


def mail_to(username: str, template: str) -> OutboxMessage:
    return OutboxMessage.objects.filter(recipient__username=username, template=template).latest(
        "id"
    )


def test_it_asks_the_next_person_to_decide_with_a_link_to_the_decision(draft, team):
    perform(draft.pk, "submit", team["olivia"])

    message = mail_to("ian", "change_waiting")
    mail = build_message(message)

    assert mail.subject == "RFC-0001 waits for you: Replace the ICT suite 2 switch"
    assert mail.to == ["ian@greenfield.example"]
    # The link to decide from the e-mail (see changes/tests/test_decision_links.py).
    assert message.context["decide_path"].startswith("/decide/")
    link = f"https://changes.greenfield.example{message.context['decide_path']}"
    assert "Hello Ian Ingram," in mail.body
    assert "to decide whether it may be planned" in mail.body
    assert "Last step: Submitted for approval, by Olivia Okafor" in mail.body
    assert f"Decide now: {link}" in mail.body
    [(html, mimetype)] = mail.alternatives
    assert mimetype == "text/html"
    assert f'<a href="{link}"' in html
    assert ">Decide now</a>" in html
    assert "EMERGENCY" not in mail.subject + mail.body + html


def test_it_tells_the_originator_of_a_return_with_the_reason(draft, team):
    perform(draft.pk, "submit", team["olivia"])
    perform(draft.pk, "return", team["ian"], comment="Which switch?\nSay which one & why.")

    mail = build_message(mail_to("olivia", "change_decision"))

    assert mail.subject == "RFC-0001 returned for amendment: Replace the ICT suite 2 switch"
    assert "Ian Ingram has returned your request for change RFC-0001 for amendment" in mail.body
    assert "Which switch?\nSay which one & why." in mail.body
    assert "State now: Draft" in mail.body
    html = mail.alternatives[0][0]
    assert "Which switch?<br>Say which one &amp; why." in html
    assert f'href="https://changes.greenfield.example/changes/{draft.pk}/"' in html


def test_it_marks_emergency_changes_in_the_subject_and_both_bodies(team, school):
    from changedesk.changes.services import create_change

    change = create_change(
        school,
        team["olivia"],
        {
            "title": "Patch the firewall",
            "description": "Apply the vendor's hotfix.",
            "reason": "The VPN flaw is being exploited.",
            "is_emergency": True,
            "emergency_justification": "Attacks are under way.",
        },
    )
    perform(change.pk, "submit", team["olivia"])

    mail = build_message(mail_to("ian", "change_waiting"))

    assert mail.subject.startswith("EMERGENCY: RFC-0001")
    assert "EMERGENCY CHANGE" in mail.body
    assert "EMERGENCY CHANGE" in mail.alternatives[0][0]


def test_it_escapes_the_html_but_not_the_text(draft, team):
    update_change(draft.pk, team["olivia"], {"title": "Fix <b>printers</b> & scanners"})
    perform(draft.pk, "submit", team["olivia"])

    mail = build_message(mail_to("ian", "change_waiting"))

    assert mail.subject == "RFC-0001 waits for you: Fix <b>printers</b> & scanners"
    assert "RFC-0001: Fix <b>printers</b> & scanners" in mail.body
    html = mail.alternatives[0][0]
    assert "Fix &lt;b&gt;printers&lt;/b&gt; &amp; scanners" in html
    assert "<b>printers" not in html


def test_it_tells_a_deputy_for_whom_they_are_asked(draft, team, school):
    now = timezone.now()
    Delegation.objects.create(
        school=school,
        approver=team["ian"],
        deputy=team["fiona"],
        starts_at=now - timedelta(days=1),
        ends_at=now + timedelta(days=1),
    )
    perform(draft.pk, "submit", team["olivia"])

    mail = build_message(mail_to("fiona", "change_waiting"))

    assert "(as deputy for Ian Ingram)" in mail.subject
    assert "now waits for you, as deputy for Ian Ingram, to decide" in mail.body


def test_it_gives_the_planned_time_in_the_schools_zone_and_an_open_button_for_work(draft, team):
    change = advance(draft, team, "planning")
    update_change(change.pk, team["olivia"], {"implementer": team["ivan"]})
    advance(change, team, "approved")
    message = mail_to("ivan", "change_waiting")
    start = datetime(2026, 7, 10, 17, 0, tzinfo=UTC)  # 18:00 in London (BST)
    message.context = {
        **message.context,
        "planned_start": start.isoformat(),
        "planned_end": (start + timedelta(hours=1)).isoformat(),
    }

    mail = build_message(message)

    assert "to carry it out and record the outcome" in mail.body
    assert "Planned: Friday 10 July 2026, 18:00 to 19:00" in mail.body
    assert f"Open RFC-0001: https://changes.greenfield.example/changes/{change.pk}/decide/" in (
        mail.body
    )
    assert ">Open RFC-0001</a>" in mail.alternatives[0][0]
    assert "Decide now" not in mail.body


def test_the_planned_window_names_both_days_when_it_runs_overnight():
    assert (
        planned_window("2026-02-06T22:00:00+00:00", "2026-02-07T02:00:00+00:00", "Europe/London")
        == "Friday 6 February 2026, 22:00 to Saturday 7 February 2026, 02:00"
    )
    assert planned_window("", "") == ""


def test_the_subject_is_one_line(draft, team):
    perform(draft.pk, "submit", team["olivia"])
    context = {**mail_to("ian", "change_waiting").context, "title": "Two\nlines"}

    assert "\n" not in render("change_waiting", context).subject


def test_it_refuses_a_template_name_that_is_not_one(db):
    with pytest.raises(UnknownTemplate):
        render("../../base", {})


def test_it_takes_the_planned_time_from_the_rfc(draft, team):
    plan = plan_data()
    perform(draft.pk, "submit", team["olivia"])
    perform(draft.pk, "approve", team["ian"])
    update_change(draft.pk, team["olivia"], plan)
    perform(draft.pk, "submit_plan", team["olivia"])

    mail = build_message(mail_to("peter", "change_waiting"))

    london = ZoneInfo("Europe/London")
    start, end = plan["planned_start"].astimezone(london), plan["planned_end"].astimezone(london)
    assert "to review the plan" in mail.body
    expected = f"{start:%A} {start.day} {start:%B %Y}, {start:%H:%M} to {end:%H:%M}"
    assert f"Planned: {expected}" in mail.body
