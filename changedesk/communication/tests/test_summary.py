"""The regular FITS summary of approvals and rejections: once per period, on the board and
to the staff list."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import IntegrityError, transaction

from changedesk.changes.services import create_change
from changedesk.changes.workflow import perform
from changedesk.communication.jobs import last_complete_period, post_summary, run_due
from changedesk.communication.models import Notice
from changedesk.communication.services import board_for, settings_for
from changedesk.conftest import REQUEST, advance
from changedesk.notifications.models import OutboxMessage
from changedesk.notifications.worker import run

from .conftest import STAFF_LIST

pytestmark = pytest.mark.django_db

LONDON = ZoneInfo("Europe/London")
# Monday 3 March 2025, 09:00 GMT.
MONDAY = datetime(2025, 3, 3, 9, tzinfo=UTC)
NEXT_MONDAY_7AM = datetime(2025, 3, 10, 7, tzinfo=UTC)


def at(moment):
    return time_machine.travel(moment, tick=False)


@pytest.fixture
def busy_week(school, team, staff_list):
    """In the week of 3 March: one RFC approved and carried out, one failed, one rejected."""
    with at(MONDAY):
        done = advance(create_change(school, team["olivia"], {**REQUEST}), team, "implemented")
        failed = advance(
            create_change(school, team["olivia"], {**REQUEST, "title": "Upgrade the MIS"}),
            team,
            "approved",
        )
        perform(failed.pk, "record_outcome", team["olivia"], data={"outcome": "failed_backed_out"})
        rejected = create_change(
            school,
            team["olivia"],
            {**REQUEST, "title": "Block YouTube", "initial_approver": team["ian"]},
        )
        perform(rejected.pk, "submit", team["olivia"])
        perform(rejected.pk, "reject", team["ian"], comment="Teachers need it for lessons.")
    OutboxMessage.objects.all().delete()
    return {"done": done, "failed": failed, "rejected": rejected}


@pytest.mark.parametrize(
    ("frequency", "now", "period"),
    [
        ("weekly", datetime(2025, 3, 10, 6, 59, tzinfo=UTC), (date(2025, 2, 24), date(2025, 3, 3))),
        ("weekly", datetime(2025, 3, 10, 7, 0, tzinfo=UTC), (date(2025, 3, 3), date(2025, 3, 10))),
        ("weekly", datetime(2025, 3, 12, 15, tzinfo=UTC), (date(2025, 3, 3), date(2025, 3, 10))),
        # 07:00 on Monday 31 March is 06:00 UTC: the clocks went forward on the Sunday.
        ("weekly", datetime(2025, 3, 31, 6, 0, tzinfo=UTC), (date(2025, 3, 24), date(2025, 3, 31))),
        ("monthly", datetime(2025, 4, 1, 5, 59, tzinfo=UTC), (date(2025, 2, 1), date(2025, 3, 1))),
        ("monthly", datetime(2025, 4, 1, 6, 0, tzinfo=UTC), (date(2025, 3, 1), date(2025, 4, 1))),
        ("monthly", datetime(2025, 1, 15, tzinfo=UTC), (date(2024, 12, 1), date(2025, 1, 1))),
        ("off", datetime(2025, 1, 15, tzinfo=UTC), None),
    ],
)
def test_the_last_complete_period(frequency, now, period):
    assert last_complete_period(frequency, now, LONDON) == period


def test_the_weekly_summary_is_posted_once(busy_week, school):
    with at(NEXT_MONDAY_7AM - timedelta(minutes=1)):
        assert run_due().summaries == 0
    with at(NEXT_MONDAY_7AM):
        assert run_due().summaries == 1
    with at(NEXT_MONDAY_7AM + timedelta(hours=1)):
        assert run_due().summaries == 0
    with at(NEXT_MONDAY_7AM + timedelta(days=2)):
        assert run_due().summaries == 0

    summary = Notice.objects.get(kind="summary")
    assert summary.status == "published"
    assert summary.title == "ICT changes: the week of Monday 3 March 2025"
    assert summary.when_text == "Monday 3 March to Sunday 9 March 2025"
    assert summary.what.splitlines()[0] == (
        "Approved: 2, Rejected: 1, Carried out: 1, Failed and backed out: 1."
    )
    assert "- RFC-0003 Block YouTube, Monday 3 March" in summary.what
    assert "- RFC-0002 Upgrade the MIS, Monday 3 March" in summary.what
    [mail] = OutboxMessage.objects.filter(template="summary")
    assert mail.to_address == STAFF_LIST
    assert mail.recipient is None
    config = settings_for(school)
    assert config.last_summary_period_end == date(2025, 3, 10)
    assert config.last_summary_at == NEXT_MONDAY_7AM


def test_the_summary_is_on_the_board_until_the_next_one(busy_week, school):
    with at(NEXT_MONDAY_7AM):
        run_due()
    summary = Notice.objects.get(kind="summary")
    assert board_for(school, NEXT_MONDAY_7AM + timedelta(days=6)).other == [summary]
    assert board_for(school, NEXT_MONDAY_7AM + timedelta(days=7, hours=1)).other == []


def test_a_quiet_week_posts_nothing_but_counts_as_done(busy_week, school):
    with at(NEXT_MONDAY_7AM):
        run_due()
    with at(NEXT_MONDAY_7AM + timedelta(days=7)):
        assert run_due().summaries == 0
    assert Notice.objects.filter(kind="summary").count() == 1
    assert settings_for(school).last_summary_period_end == date(2025, 3, 17)


def test_the_monthly_summary(busy_week, school):
    config = settings_for(school)
    config.summary_frequency = "monthly"
    config.save()
    with at(NEXT_MONDAY_7AM):
        assert run_due().summaries == 0  # February was quiet
    with at(datetime(2025, 4, 1, 6, tzinfo=UTC)):
        assert run_due().summaries == 1
        assert run_due().summaries == 0
    summary = Notice.objects.get(kind="summary")
    assert summary.title == "ICT changes in March 2025"
    assert (summary.period_start, summary.period_end) == (date(2025, 3, 1), date(2025, 4, 1))


def test_no_summary_when_switched_off(busy_week, school):
    config = settings_for(school)
    config.summary_frequency = "off"
    config.save()
    with at(NEXT_MONDAY_7AM):
        assert run_due().summaries == 0
    assert not Notice.objects.filter(kind="summary").exists()


def test_posting_the_same_period_again_does_nothing(busy_week, school):
    with at(NEXT_MONDAY_7AM):
        assert post_summary(school, date(2025, 3, 3), date(2025, 3, 10), NEXT_MONDAY_7AM) == 1
        assert post_summary(school, date(2025, 3, 3), date(2025, 3, 10), NEXT_MONDAY_7AM) == 0
    assert OutboxMessage.objects.filter(template="summary").count() == 1
    # And the database itself refuses a second summary of one period.
    with pytest.raises(IntegrityError), transaction.atomic():
        Notice.objects.create(
            school=school,
            kind="summary",
            title="Again",
            period_start=date(2025, 3, 3),
            period_end=date(2025, 3, 10),
        )


def test_the_summary_reaches_the_staff_list(busy_week, mail_server, school):
    from changedesk.committee.models import ReminderSettings

    # Only the summary here: the RFCs left implemented would also earn "close it" nudges.
    ReminderSettings.objects.create(school=school, nudges_enabled=False)
    mail_server.start()
    with at(NEXT_MONDAY_7AM):
        assert run(once=True) == (1, 0)

    [received] = mail_server.messages
    assert received["To"] == STAFF_LIST
    assert received["Subject"] == (
        "ICT changes at Greenfield Primary: Monday 3 March to Sunday 9 March 2025"
    )
    text = received.get_body(("plain",)).get_content().replace("\r\n", "\n")
    html = received.get_body(("html",)).get_content()
    assert "Approved: 2\nRejected: 1\nCarried out: 1\nFailed and backed out: 1\n" in text
    assert "Rejected\n- RFC-0003 Block YouTube, Monday 3 March" in text
    key = settings_for(school).board_key
    assert f"https://changes.greenfield.example/notices/board/{key}/" in text
    assert "<strong>RFC-0003</strong> Block YouTube" in html
