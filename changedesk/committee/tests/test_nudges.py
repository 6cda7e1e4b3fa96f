"""Nudges: an approval waiting, a change past its window with no outcome, an implemented
change not closed. Each to the right people, after N days, again every N days, never twice,
at a fixed number of queries per pass."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext

from changedesk.accounts.models import Delegation
from changedesk.changes.services import create_change, update_change
from changedesk.changes.workflow import perform
from changedesk.committee import nudges
from changedesk.committee.models import ReminderSettings
from changedesk.conftest import REQUEST, advance, plan_data
from changedesk.notifications import worker
from changedesk.notifications.email import render
from changedesk.notifications.models import OutboxMessage

pytestmark = pytest.mark.django_db

# A Monday morning in term, in UTC; the RFCs are raised and moved along at this time.
T0 = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)
DAY = timedelta(days=1)


def nudges_to(template=None):
    queryset = OutboxMessage.objects.filter(template__startswith="nudge_").order_by("id")
    if template:
        queryset = queryset.filter(template=template)
    return [(m.template, m.recipient.username) for m in queryset.select_related("recipient")]


def run_at(when):
    with time_machine.travel(when, tick=False):
        return nudges.run_due()


@pytest.fixture
def site(settings):
    settings.SITE_URL = "https://changes.greenfield.example"


@pytest.fixture
def submitted(draft, team):
    """Olivia's RFC, waiting since T0 for Ian's initial approval."""
    with time_machine.travel(T0, tick=False):
        perform(draft.pk, "submit", team["olivia"])
    return draft


def deputy(school, approver, person, role="", **extra):
    return Delegation.objects.create(
        school=school,
        approver=approver,
        deputy=person,
        role=role,
        starts_at=T0 - DAY,
        ends_at=T0 + 60 * DAY,
        **extra,
    )


# --- An approval waiting. ---


def test_it_nudges_the_approver_once_the_wait_passes_n_days(submitted, site):
    assert run_at(T0 + 2 * DAY) == 0
    assert run_at(T0 + 3 * DAY - timedelta(minutes=1)) == 0

    assert run_at(T0 + 3 * DAY + timedelta(minutes=1)) == 1

    [message] = OutboxMessage.objects.filter(template="nudge_approval")
    assert message.recipient.username == "ian"
    assert message.to_address == "ian@greenfield.example"
    assert message.school == submitted.school
    rendered = render(message.template, message.context, "Europe/London")
    assert rendered.subject == (
        "Reminder: RFC-0001 has waited 3 days for you: Replace the ICT suite 2 switch"
    )
    # A fresh link to decide from the e-mail, for the RFC as it is now.
    link = f"https://changes.greenfield.example{message.context['decide_path']}"
    assert link.startswith("https://changes.greenfield.example/decide/")
    assert f"Decide now: {link}" in rendered.text
    assert "decide whether it may be planned" in rendered.text
    assert f'href="{link}"' in rendered.html
    assert "every 3 days" in rendered.text


def test_it_nudges_the_active_deputies_too(submitted, school, team):
    deputy(school, team["ian"], team["peter"])
    deputy(school, team["ian"], team["fiona"], role="final_approver")  # covers another role
    deputy(school, team["ian"], team["sam"], revoked_at=T0)  # revoked
    Delegation.objects.create(
        school=school,
        approver=team["ian"],
        deputy=team["ivan"],
        starts_at=T0 + 10 * DAY,  # not yet begun
        ends_at=T0 + 20 * DAY,
    )

    assert run_at(T0 + 4 * DAY) == 2

    assert sorted(nudges_to()) == [("nudge_approval", "ian"), ("nudge_approval", "peter")]
    message = OutboxMessage.objects.get(recipient=team["peter"])
    assert message.context["deputy_for"] == "Ian Ingram"
    rendered = render(message.template, message.context)
    assert "(as deputy for Ian Ingram)" in rendered.subject
    assert "as deputy for Ian Ingram" in rendered.text


def test_the_originator_is_not_nudged_as_deputy_for_a_peer_review(draft, school, team):
    with time_machine.travel(T0, tick=False):
        advance(draft, team, "awaiting_peer_review")
    deputy(school, team["peter"], team["olivia"])
    deputy(school, team["peter"], team["ian"])

    run_at(T0 + 4 * DAY)

    assert sorted(nudges_to()) == [("nudge_approval", "ian"), ("nudge_approval", "peter")]


def test_it_repeats_at_most_every_n_days(submitted):
    assert run_at(T0 + 3 * DAY) == 1
    assert run_at(T0 + 4 * DAY) == 0
    assert run_at(T0 + 6 * DAY - timedelta(minutes=1)) == 0
    assert run_at(T0 + 6 * DAY) == 1
    assert run_at(T0 + 8 * DAY) == 0
    assert run_at(T0 + 9 * DAY) == 1

    assert nudges_to() == [("nudge_approval", "ian")] * 3
    keys = list(
        OutboxMessage.objects.filter(template="nudge_approval").values_list("key", flat=True)
    )
    assert len(set(keys)) == 3


def test_after_the_worker_was_down_the_next_nudge_still_waits_n_days(submitted):
    assert run_at(T0 + 3 * DAY) == 1
    # Down for days: the nudge of the period it woke up in goes at once…
    assert run_at(T0 + 8 * DAY + 12 * timedelta(hours=1)) == 1
    # …and the next period's is held back until N days after that one.
    assert run_at(T0 + 9 * DAY) == 0
    assert run_at(T0 + 11 * DAY + 11 * timedelta(hours=1)) == 0
    assert run_at(T0 + 11 * DAY + 12 * timedelta(hours=1)) == 1


def test_it_never_queues_the_same_nudge_twice(submitted):
    later = T0 + 4 * DAY
    assert run_at(later) == 1
    assert run_at(later) == 0
    assert run_at(later + timedelta(hours=5)) == 0

    assert OutboxMessage.objects.filter(template="nudge_approval").count() == 1


def test_the_wait_restarts_when_the_rfc_moves_on(submitted, team):
    assert run_at(T0 + 3 * DAY) == 1
    with time_machine.travel(T0 + 4 * DAY, tick=False):
        perform(submitted.pk, "return", team["ian"], comment="Say which switch.")
        perform(submitted.pk, "submit", team["olivia"])

    assert run_at(T0 + 6 * DAY) == 0  # waiting two days since it came back
    assert run_at(T0 + 7 * DAY) == 1

    first, second = OutboxMessage.objects.filter(template="nudge_approval").order_by("id")
    assert first.key != second.key


def test_edits_and_a_ratification_do_not_restart_the_wait(school, team):
    emergency = {**REQUEST, "is_emergency": True, "emergency_justification": "Suite is down."}
    with time_machine.travel(T0, tick=False):
        change = create_change(school, team["olivia"], emergency)
        perform(change.pk, "submit", team["olivia"])
        perform(change.pk, "approve", team["ian"])
        perform(change.pk, "record_outcome", team["olivia"], data={"outcome": "succeeded"})
    with time_machine.travel(T0 + 2 * DAY, tick=False):
        update_change(change.pk, team["olivia"], plan_data())
        perform(change.pk, "ratify", team["fiona"])

    assert run_at(T0 + 3 * DAY) == 1  # implemented three days ago, edits or not
    assert nudges_to() == [("nudge_close", "olivia")]


def test_a_school_sets_its_own_n_or_turns_nudges_off(submitted, school, other_school, oscar):
    ReminderSettings.objects.create(school=school, nudge_after_days=5)
    assert run_at(T0 + 4 * DAY) == 0
    assert run_at(T0 + 5 * DAY) == 1

    ReminderSettings.objects.filter(school=school).update(nudges_enabled=False)
    assert run_at(T0 + 20 * DAY) == 0


def test_people_without_an_address_or_no_longer_active_get_nothing(submitted, team):
    team["ian"].email = ""
    team["ian"].save()

    assert run_at(T0 + 4 * DAY) == 0


# --- A change past its window with no outcome. ---


@pytest.fixture
def approved(draft, team):
    with time_machine.travel(T0, tick=False):
        return advance(draft, team, "approved")


def test_it_nudges_the_implementer_when_the_change_is_past_its_end(approved, site):
    end = approved.planned_end
    assert run_at(end) == 0
    assert run_at(end + timedelta(minutes=59)) == 0

    assert run_at(end + timedelta(hours=1)) == 1

    [message] = OutboxMessage.objects.filter(template="nudge_overdue")
    assert message.recipient.username == "olivia"  # named as implementer
    rendered = render(message.template, message.context, "Europe/London")
    assert rendered.subject.startswith("Reminder: RFC-0001 is past its planned end")
    link = f"https://changes.greenfield.example{approved.get_absolute_url()}"
    assert f"Record the outcome: {link}" in rendered.text
    assert f'href="{link}"' in rendered.html
    assert "because you are its implementer" in rendered.text

    assert run_at(end + timedelta(hours=2)) == 0
    assert run_at(end + timedelta(hours=1) + 3 * DAY) == 1


def test_with_no_implementer_named_every_implementer_of_the_school_is_nudged(school, team):
    with time_machine.travel(T0, tick=False):
        change = create_change(school, team["olivia"], {**REQUEST, "implementer": None})
        advance(change, team, "approved")
    change.refresh_from_db()
    assert change.implementer is None

    run_at(change.planned_end + 2 * timedelta(hours=1))

    assert sorted(nudges_to()) == [("nudge_overdue", "ivan"), ("nudge_overdue", "olivia")]
    message = OutboxMessage.objects.get(recipient=team["ivan"])
    assert "an implementer at Greenfield Primary" in render(message.template, message.context).text


def test_recording_the_outcome_stops_the_overdue_nudges(approved, team):
    end = approved.planned_end
    assert run_at(end + 2 * timedelta(hours=1)) == 1
    with time_machine.travel(end + 3 * timedelta(hours=1), tick=False):
        perform(approved.pk, "record_outcome", team["olivia"], data={"outcome": "succeeded"})

    run_at(end + 5 * DAY)

    # Now it waits to be closed, which is the originator's nudge, not the implementer's.
    assert nudges_to() == [("nudge_overdue", "olivia"), ("nudge_close", "olivia")]


# --- An implemented change not closed. ---


def test_it_nudges_the_originator_to_close_an_implemented_change(draft, team, site):
    with time_machine.travel(T0, tick=False):
        implemented = advance(draft, team, "implemented")

    assert run_at(T0 + 2 * DAY) == 0
    assert run_at(T0 + 3 * DAY) == 1
    assert run_at(T0 + 5 * DAY) == 0
    assert run_at(T0 + 6 * DAY) == 1

    assert nudges_to() == [("nudge_close", "olivia")] * 2
    message = OutboxMessage.objects.filter(template="nudge_close").first()
    rendered = render(message.template, message.context)
    assert rendered.subject == "Reminder: close RFC-0001: Replace the ICT suite 2 switch"
    link = f"https://changes.greenfield.example{implemented.get_absolute_url()}"
    assert f"Close RFC-0001: {link}" in rendered.text
    assert f'href="{link}"' in rendered.html

    with time_machine.travel(T0 + 7 * DAY, tick=False):
        advance(implemented, team, "closed")
    assert run_at(T0 + 30 * DAY) == 0


# --- Cost. ---


def _awaiting(school, team, count):
    with time_machine.travel(T0, tick=False):
        for _ in range(count):
            change = create_change(school, team["olivia"], dict(REQUEST))
            perform(change.pk, "submit", team["olivia"])


def test_a_pass_costs_the_same_queries_for_5_or_50_waiting_changes(school, team, draft):
    # One of every kind, a deputy and an RFC with no implementer, so every query runs.
    with time_machine.travel(T0, tick=False):
        advance(draft, team, "awaiting_final_approval")
        deputy(school, team["fiona"], team["ian"])
        unnamed = create_change(school, team["olivia"], {**REQUEST, "implementer": None})
        advance(unnamed, team, "approved")
        done = create_change(school, team["olivia"], dict(REQUEST))
        advance(done, team, "implemented")
    _awaiting(school, team, 5)
    later = T0 + 10 * DAY

    with time_machine.travel(later, tick=False), CaptureQueriesContext(connection) as five:
        queued_first = nudges.run_due()
    _awaiting(school, team, 45)
    with time_machine.travel(later, tick=False), CaptureQueriesContext(connection) as fifty:
        queued_then = nudges.run_due()

    # Fiona and her deputy, both implementers, the originator, and one per waiting RFC.
    assert queued_first == 2 + 2 + 1 + 5
    assert queued_then == 45
    assert len(fifty.captured_queries) == len(five.captured_queries)
    assert len(five.captured_queries) <= 8, [q["sql"] for q in five.captured_queries]


# --- The worker. ---


def test_the_worker_queues_and_sends_the_nudges_in_its_pass(submitted):
    with time_machine.travel(T0 + 4 * DAY, tick=False):
        # The mail of the submission, then the nudge.
        assert worker.run(once=True) == (2, 0)

    reminders = [m for m in mail.outbox if m.subject.startswith("Reminder:")]
    assert [m.to for m in reminders] == [["ian@greenfield.example"]]
    assert reminders[0].subject.startswith("Reminder: RFC-0001 has waited 4 days")


def test_a_failing_nudge_pass_does_not_stop_the_outbox(submitted, monkeypatch):
    def broken(now):
        raise RuntimeError("boom")

    monkeypatch.setattr(nudges, "run_due", broken)

    with time_machine.travel(T0 + 4 * DAY, tick=False):
        assert worker.run(once=True) == (1, 0)  # the mail of the submission
    assert OutboxMessage.objects.filter(template="nudge_approval").count() == 0
