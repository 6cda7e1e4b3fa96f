"""Mail to the staff list through the outbox and a real SMTP server: the notice when it is
published, and reminders before the change at each lead time, never twice."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from changedesk.communication.jobs import run_due
from changedesk.communication.mail import enqueue_address
from changedesk.communication.services import (
    draft_from_change,
    publish_notice,
    settings_for,
    update_notice,
    withdraw_notice,
)
from changedesk.conftest import advance
from changedesk.notifications.models import OutboxMessage
from changedesk.notifications.worker import run

from .conftest import STAFF_LIST

pytestmark = pytest.mark.django_db

# Monday 3 March 2025, 09:00 GMT. The RFC is planned for Monday 10 March, 18:00 to 19:00.
MONDAY = datetime(2025, 3, 3, 9, tzinfo=UTC)
START = datetime(2025, 3, 10, 18, tzinfo=UTC)


def at(moment):
    return time_machine.travel(moment, tick=False)


@pytest.fixture
def notice(draft, team, carol, staff_list):
    """Carol's notice of the approved RFC, drafted on Monday 3 March and not yet published."""
    with at(MONDAY):
        change = advance(draft, team, "approved")
        notice, _ = draft_from_change(change.pk, carol)
        update_notice(notice.pk, carol, {"what_to_do": "Book ICT suite 1 instead."})
    assert notice.starts_at == START
    # Neither the workflow's mail to the people named on the RFC nor the weekly summary
    # is what these tests are about.
    OutboxMessage.objects.all().delete()
    staff_list.summary_frequency = "off"
    staff_list.save()
    return notice


def bodies(message):
    return message.get_body(("plain",)).get_content(), message.get_body(("html",)).get_content()


def test_publishing_mails_the_staff_list_through_the_worker(notice, carol, mail_server, school):
    mail_server.start()
    with at(MONDAY + timedelta(hours=1)):
        publish_notice(notice.pk, carol)
        assert run(once=True) == (1, 0)

    [received] = mail_server.messages
    assert received["To"] == STAFF_LIST
    assert received["Subject"] == (
        "Replace the ICT suite 2 switch, Monday 10 March, 18:00 to 19:00"
    )
    text, html = bodies(received)
    text = text.replace("\r\n", "\n")
    key = settings_for(school).board_key
    link = f"https://changes.greenfield.example/notices/board/{key}/"
    assert "Hello everyone," in text
    assert "When: Monday 10 March, 18:00 to 19:00" in text
    assert "What you will notice:\nICT suite 2 offline for an hour after school." in text
    assert "What to do:\nBook ICT suite 1 instead." in text
    assert "Who to ask: Olivia Okafor, ICT technician" in text
    assert link in text
    assert f'href="{link}"' in html
    assert "Book ICT suite 1 instead." in html


def test_without_a_staff_list_nothing_is_mailed(notice, carol, mail_server, school):
    config = settings_for(school)
    config.staff_list_address = ""
    config.save()
    mail_server.start()
    with at(MONDAY + timedelta(hours=1)):
        publish_notice(notice.pk, carol)
    with at(START - timedelta(minutes=30)):
        assert run(once=True) == (0, 0)
    assert mail_server.messages == []


def test_reminders_go_at_each_lead_time_and_never_twice(notice, carol, mail_server):
    mail_server.start()
    with at(MONDAY + timedelta(hours=1)):
        publish_notice(notice.pk, carol)
        assert run(once=True) == (1, 0)

    # Not yet: more than a day before.
    with at(START - timedelta(days=1, minutes=1)):
        assert run(once=True) == (0, 0)
    # The day before.
    with at(START - timedelta(days=1)):
        assert run(once=True) == (1, 0)
    with at(START - timedelta(hours=5)):
        assert run(once=True) == (0, 0)
    # One hour before.
    with at(START - timedelta(minutes=59)):
        assert run(once=True) == (1, 0)
        assert run(once=True) == (0, 0)
    # Nothing once it has started.
    with at(START + timedelta(minutes=1)):
        assert run(once=True) == (0, 0)

    subjects = [m["Subject"] for m in mail_server.messages]
    assert subjects == [
        "Replace the ICT suite 2 switch, Monday 10 March, 18:00 to 19:00",
        "Reminder: Replace the ICT suite 2 switch, in 1 day",
        "Reminder: Replace the ICT suite 2 switch, in 1 hour",
    ]
    text, html = bodies(mail_server.messages[2])
    assert "A reminder: this starts in 1 hour (Monday 10 March, 18:00 to 19:00)." in text
    assert "A reminder: this starts in 1 hour." in html
    assert OutboxMessage.objects.filter(template="notice_reminder").count() == 2


def test_a_worker_that_was_down_sends_only_the_nearest_reminder(notice, carol, mail_server):
    mail_server.start()
    with at(MONDAY + timedelta(hours=1)):
        publish_notice(notice.pk, carol)
    with at(START - timedelta(minutes=30)):
        assert run(once=True) == (2, 0)

    assert [m["Subject"] for m in mail_server.messages][1] == (
        "Reminder: Replace the ICT suite 2 switch, in 1 hour"
    )


def test_a_notice_published_late_is_not_reminded_at_once(notice, carol, mail_server):
    mail_server.start()
    # Published five hours before: the day-before reminder would repeat the notice.
    with at(START - timedelta(hours=5)):
        publish_notice(notice.pk, carol)
        assert run(once=True) == (1, 0)
    with at(START - timedelta(hours=4)):
        assert run(once=True) == (0, 0)
    with at(START - timedelta(minutes=60)):
        assert run(once=True) == (1, 0)
    assert len(mail_server.messages) == 2


def test_a_withdrawn_notice_gets_no_reminder(notice, carol, mail_server):
    mail_server.start()
    with at(MONDAY + timedelta(hours=1)):
        publish_notice(notice.pk, carol)
        withdraw_notice(notice.pk, carol)
    with at(START - timedelta(minutes=30)):
        assert run_due().reminders == 0


def test_the_lead_times_are_the_schools(notice, carol, school):
    config = settings_for(school)
    config.reminder_lead_minutes = [2880]
    config.save()
    with at(MONDAY + timedelta(hours=1)):
        publish_notice(notice.pk, carol)
    with at(START - timedelta(days=2)):
        assert run_due().reminders == 1
    with at(START - timedelta(minutes=30)):
        assert run_due().reminders == 0


def test_publishing_again_after_withdrawal_mails_again(notice, carol, mail_server):
    mail_server.start()
    with at(MONDAY + timedelta(hours=1)):
        publish_notice(notice.pk, carol)
        withdraw_notice(notice.pk, carol)
    with at(MONDAY + timedelta(hours=2)):
        publish_notice(notice.pk, carol)
        assert run(once=True) == (2, 0)


def test_enqueue_address_queues_once_per_key(school):
    first = enqueue_address(
        address="staff@greenfield.example", template="summary", context={}, key="k", school=school
    )
    second = enqueue_address(
        address="staff@greenfield.example", template="summary", context={}, key="k", school=school
    )
    assert first is not None and second is None
    assert first.recipient is None
    assert enqueue_address(address=" ", template="summary", context={}, key="k2") is None
    assert OutboxMessage.objects.count() == 1
