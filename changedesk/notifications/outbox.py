"""Queueing mail. Call `enqueue` inside the transaction that makes the news."""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from changedesk.accounts.models import School, User
from changedesk.notifications.models import OutboxMessage


def enqueue(
    *,
    recipient: User,
    template: str,
    context: dict[str, Any],
    key: str,
    school: School | None = None,
) -> OutboxMessage | None:
    """Queue `template` for `recipient`; a second call with the same `key` does nothing.

    Returns None when the recipient has no e-mail address or the message is already queued.
    """
    if not recipient.email or not recipient.is_active:
        return None
    message, created = OutboxMessage.objects.get_or_create(
        key=key,
        defaults={
            "school": school,
            "recipient": recipient,
            "to_address": recipient.email,
            "template": template,
            "context": context,
            "next_attempt_at": timezone.now(),
        },
    )
    return message if created else None
