"""Mail to a school's staff list: the notice when it is published, reminders, the summary.

A staff list is an address, not a person with an account, so these go through
`enqueue_address` rather than `notifications.outbox.enqueue`. Everything is queued in
the outbox inside the caller's transaction; the unique key means never twice.
"""

from __future__ import annotations

from datetime import UTC
from typing import Any

from django.urls import reverse
from django.utils import timezone

from changedesk.accounts.models import School
from changedesk.communication.models import CommunicationSettings, Notice
from changedesk.communication.plain import plain_lead
from changedesk.notifications.models import OutboxMessage


def enqueue_address(
    *,
    address: str,
    template: str,
    context: dict[str, Any],
    key: str,
    school: School | None = None,
) -> OutboxMessage | None:
    """Queue `template` for a plain address; a second call with the same `key` does nothing.

    Returns None when there is no address or the message is already queued.
    """
    address = address.strip()
    if not address:
        return None
    message, created = OutboxMessage.objects.get_or_create(
        key=key,
        defaults={
            "school": school,
            "recipient": None,
            "to_address": address,
            "template": template,
            "context": context,
            "next_attempt_at": timezone.now(),
        },
    )
    return message if created else None


def board_path(config: CommunicationSettings) -> str:
    """The notice board's secret link, as a path; the templates put SITE_URL in front."""
    return reverse("communication:board", args=[config.board_key])


def notice_context(notice: Notice, config: CommunicationSettings) -> dict[str, Any]:
    """What the notice mails say, as JSON for the outbox."""
    change = notice.change
    return {
        "notice_id": notice.pk,
        "school": notice.school.name,
        "title": notice.title,
        "what": notice.what,
        "when_text": notice.when_text,
        "what_you_will_notice": notice.what_you_will_notice,
        "what_to_do": notice.what_to_do,
        "who_to_ask": notice.who_to_ask,
        "is_emergency": notice.is_emergency,
        "reference": change.reference if change is not None else "",
        "board_path": board_path(config),
    }


def queue_published(notice: Notice, config: CommunicationSettings) -> OutboxMessage | None:
    """The mail that tells the staff list a notice is up. One per publication."""
    assert notice.published_at is not None
    stamp = notice.published_at.strftime("%Y%m%dT%H%M%S.%f")
    return enqueue_address(
        address=config.staff_list_address,
        template="notice_published",
        context=notice_context(notice, config),
        key=f"notice:{notice.pk}:published:{stamp}",
        school=notice.school,
    )


def reminder_key(notice: Notice, lead: int) -> str:
    """One reminder per notice, lead time and start: a moved change is reminded afresh."""
    assert notice.starts_at is not None
    start = notice.starts_at.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    return f"notice:{notice.pk}:reminder:{lead}:{start}"


def queue_reminder(
    notice: Notice, config: CommunicationSettings, lead: int, key: str
) -> OutboxMessage | None:
    """A reminder `lead` minutes before the notice's start."""
    return enqueue_address(
        address=config.staff_list_address,
        template="notice_reminder",
        context={**notice_context(notice, config), "lead": plain_lead(lead), "lead_minutes": lead},
        key=key,
        school=notice.school,
    )
