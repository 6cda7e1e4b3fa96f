"""Scheduled work for telling the school: reminders before a change, the regular summary.

`run_due(now)` is called by the outbox worker once per pass (`notifications.worker.run`),
so it must cost little when there is nothing to do, and be safe with several workers at
once: every mail has a unique outbox key, every summary a unique (school, period) notice,
and the school's settings row is locked while its summary is written.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_noop

from changedesk.accounts.models import School
from changedesk.changes.choices import EventKind, Outcome, State
from changedesk.changes.models import ChangeEvent
from changedesk.communication.choices import NoticeKind, NoticeStatus, SummaryFrequency
from changedesk.communication.mail import board_path, enqueue_address, queue_reminder, reminder_key
from changedesk.communication.models import CommunicationSettings, Notice
from changedesk.communication.plain import MONTHS, plain_date, plain_period
from changedesk.communication.services import settings_for
from changedesk.notifications.models import OutboxMessage

logger = logging.getLogger("changedesk.communication")

# A period's summary goes out at this local time on the first day of the next period.
SUMMARY_AT = time(7, 0)


@dataclass(frozen=True)
class JobResult:
    reminders: int = 0
    summaries: int = 0


def run_due(now: datetime | None = None) -> JobResult:
    """Queue the reminders and post the summaries that are due at `now`."""
    now = now or timezone.now()
    reminders = summaries = 0
    try:
        reminders = queue_reminders(now)
    except Exception:
        logger.exception("Could not queue the notice reminders")
    try:
        summaries = post_summaries(now)
    except Exception:
        logger.exception("Could not post the summaries")
    return JobResult(reminders, summaries)


# --- Reminders. ---


def due_lead(notice: Notice, leads: list[int], now: datetime) -> int | None:
    """The lead time (minutes) whose reminder is due now, or None.

    Only the nearest lead time already reached counts, so a worker that was down does not
    send yesterday's "tomorrow" reminder beside today's "in one hour". And no reminder
    repeats what the publication mail said moments ago: a notice published within a lead
    time is not reminded at that lead time.
    """
    if notice.starts_at is None or notice.starts_at <= now or notice.is_called_off:
        return None
    reached = [m for m in leads if notice.starts_at - timedelta(minutes=m) <= now]
    if not reached:
        return None
    lead = min(reached)
    told = notice.published_at
    if told is not None and told >= notice.starts_at - timedelta(minutes=lead):
        return None
    return lead


def queue_reminders(now: datetime) -> int:
    """Queue each reminder that is due; returns how many were queued. Never twice."""
    configs = {
        c.school_id: c
        for c in CommunicationSettings.objects.exclude(staff_list_address="").only(
            "school_id", "staff_list_address", "reminder_lead_minutes", "board_key"
        )
    }
    longest = max((max(c.lead_minutes, default=0) for c in configs.values()), default=0)
    if not longest:
        return 0
    notices = (
        Notice.objects.published()
        .filter(
            school_id__in=list(configs),
            starts_at__gt=now,
            starts_at__lte=now + timedelta(minutes=longest),
        )
        .select_related("school", "change")
    )
    due: list[tuple[Notice, CommunicationSettings, int, str]] = []
    for notice in notices:
        config = configs[notice.school_id]
        lead = due_lead(notice, config.lead_minutes, now)
        if lead is not None:
            due.append((notice, config, lead, reminder_key(notice, lead)))
    if not due:
        return 0
    queued = set(
        OutboxMessage.objects.filter(key__in=[key for *_, key in due]).values_list("key", flat=True)
    )
    count = 0
    for notice, config, lead, key in due:
        if key not in queued and queue_reminder(notice, config, lead, key) is not None:
            count += 1
    return count


# --- The summary of approvals and rejections. ---


def _boundary_before(frequency: str, day: date) -> date:
    """The first day of the period before the one starting on `day`."""
    if frequency == SummaryFrequency.WEEKLY:
        return day - timedelta(days=7)
    return (day - timedelta(days=1)).replace(day=1)


def _boundary_after(frequency: str, day: date) -> date:
    if frequency == SummaryFrequency.WEEKLY:
        return day + timedelta(days=7)
    return (day + timedelta(days=32)).replace(day=1)


def last_complete_period(frequency: str, now: datetime, tz: ZoneInfo) -> tuple[date, date] | None:
    """The latest period (start, end exclusive; local dates) whose summary is due at `now`.

    Weeks run Monday to Sunday, months from the first; a summary is due at SUMMARY_AT on
    the first day of the next period.
    """
    if frequency not in (SummaryFrequency.WEEKLY, SummaryFrequency.MONTHLY):
        return None
    local = now.astimezone(tz)
    if frequency == SummaryFrequency.WEEKLY:
        end = local.date() - timedelta(days=local.weekday())
    else:
        end = local.date().replace(day=1)
    if local < datetime.combine(end, SUMMARY_AT, tzinfo=tz):
        end = _boundary_before(frequency, end)
    return _boundary_before(frequency, end), end


# Stored in English in the summary's mail; its templates translate them (gettext_noop).
DECISIONS = {
    "approved": gettext_noop("Approved"),
    "rejected": gettext_noop("Rejected"),
    "implemented": gettext_noop("Carried out"),
    "failed": gettext_noop("Failed and backed out"),
}


@dataclass
class SummaryEntry:
    decision: str
    reference: str
    title: str
    day: str
    is_emergency: bool
    note: str = ""


@dataclass
class Summary:
    start: date
    end: date
    entries: list[SummaryEntry] = field(default_factory=list)

    def count(self, decision: str) -> int:
        return sum(1 for e in self.entries if e.decision == decision)

    @property
    def counts(self) -> list[tuple[str, int]]:
        return [(label, self.count(key)) for key, label in DECISIONS.items()]

    def groups(self) -> list[tuple[str, list[SummaryEntry]]]:
        return [
            (label, [e for e in self.entries if e.decision == key])
            for key, label in DECISIONS.items()
            if self.count(key)
        ]

    @property
    def period_text(self) -> str:
        return plain_period(self.start, self.end)


def _decision(event: ChangeEvent) -> tuple[str, str] | None:
    if event.kind == EventKind.APPROVE and event.to_state == State.APPROVED:
        return "approved", ""
    if event.kind == EventKind.REJECT:
        return "rejected", ""
    if event.kind == EventKind.RECORD_OUTCOME:
        outcome = (event.data or {}).get("outcome")
        if outcome == Outcome.FAILED_BACKED_OUT:
            return "failed", ""
        partly = gettext_noop("partly")
        return "implemented", partly if outcome == Outcome.PARTIALLY_SUCCEEDED else ""
    return None


def summarise(school: School, start: date, end: date) -> Summary:
    """The RFCs approved, rejected, carried out and failed in the period, in order."""
    tz = school.zone
    events = (
        ChangeEvent.objects.filter(
            change__school=school,
            kind__in=[EventKind.APPROVE, EventKind.REJECT, EventKind.RECORD_OUTCOME],
            created_at__gte=datetime.combine(start, time(0), tzinfo=tz),
            created_at__lt=datetime.combine(end, time(0), tzinfo=tz),
        )
        .select_related("change")
        .order_by("created_at", "id")
    )
    summary = Summary(start, end)
    for event in events:
        decided = _decision(event)
        if decided is None:
            continue
        change = event.change
        summary.entries.append(
            SummaryEntry(
                decision=decided[0],
                reference=change.reference,
                title=change.title,
                day=plain_date(event.created_at.astimezone(tz).date(), this_year=end.year),
                is_emergency=change.is_emergency,
                note=decided[1],
            )
        )
    return summary


def summary_text(summary: Summary) -> str:
    """The summary as the plain text of its notice on the board."""
    lines = [", ".join(f"{label}: {n}" for label, n in summary.counts) + "."]
    for label, entries in summary.groups():
        lines += ["", label]
        for e in entries:
            extra = " (emergency)" if e.is_emergency else ""
            extra += f" ({e.note})" if e.note else ""
            lines.append(f"- {e.reference} {e.title}{extra}, {e.day}")
    return "\n".join(lines)


def summary_context(
    summary: Summary, school: School, config: CommunicationSettings
) -> dict[str, Any]:
    return {
        "school": school.name,
        "frequency": config.summary_frequency,
        "period": summary.period_text,
        "counts": [[label, n] for label, n in summary.counts],
        "groups": [
            {"label": label, "entries": [entry.__dict__ for entry in entries]}
            for label, entries in summary.groups()
        ],
        "board_path": board_path(config),
    }


def _title(frequency: str, start: date) -> str:
    if frequency == SummaryFrequency.WEEKLY:
        return f"ICT changes: the week of {plain_date(start)}"
    return f"ICT changes in {MONTHS[start.month - 1]} {start.year}"


def post_summaries(now: datetime) -> int:
    """Post (and e-mail) each school's summary that is due; returns how many were posted."""
    posted = 0
    configs = {c.school_id: c for c in CommunicationSettings.objects.all()}
    for school in School.objects.order_by("pk"):
        config = configs.get(school.pk) or settings_for(school)
        period = last_complete_period(config.summary_frequency, now, school.zone)
        done = config.last_summary_period_end
        if period is None or (done is not None and done >= period[1]):
            continue
        try:
            with transaction.atomic():
                posted += post_summary(school, period[0], period[1], now)
        except Exception:
            # One school's failure must not keep the others from their summaries.
            logger.exception("Could not post the summary of %s", school.slug)
    return posted


def post_summary(school: School, start: date, end: date, now: datetime) -> int:
    """Post the summary of one period (inside the caller's transaction); 1 if posted.

    A period with no decisions is marked done without a notice or a mail.
    """
    config = CommunicationSettings.objects.select_for_update().get(school=school)
    if config.last_summary_period_end is not None and config.last_summary_period_end >= end:
        return 0
    summary = summarise(school, start, end)
    posted = 0
    if summary.entries:
        tz = school.zone
        shown_until = datetime.combine(
            _boundary_after(config.summary_frequency, end), SUMMARY_AT, tzinfo=tz
        )
        _notice, created = Notice.objects.get_or_create(
            school=school,
            kind=NoticeKind.SUMMARY,
            period_start=start,
            period_end=end,
            defaults={
                "title": _title(config.summary_frequency, start),
                "what": summary_text(summary),
                "when_text": summary.period_text,
                "who_to_ask": "",
                "status": NoticeStatus.PUBLISHED,
                "published_at": now,
                "first_published_at": now,
                "starts_at": now,
                "ends_at": max(shown_until, now + timedelta(days=1)),
            },
        )
        posted = int(created)
        enqueue_address(
            address=config.staff_list_address,
            template="summary",
            context=summary_context(summary, school, config),
            key=f"summary:{school.pk}:{start.isoformat()}:{end.isoformat()}",
            school=school,
        )
    config.last_summary_period_end = end
    config.last_summary_at = now
    config.save(update_fields=["last_summary_period_end", "last_summary_at", "updated_at"])
    return posted
