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
    return enqueue_to(
        to_address=recipient.email,
        recipient=recipient,
        template=template,
        context=context,
        key=key,
        school=school,
    )


def enqueue_to(
    *,
    to_address: str,
    recipient: User | None,
    template: str,
    context: dict[str, Any],
    key: str,
    school: School | None = None,
) -> OutboxMessage | None:
    """Queue `template` to an address, which may be no account's yet (an invitation);
    `accounts.mail.queue_mail` comes here. None when `key` is queued already."""
    message, created = OutboxMessage.objects.get_or_create(
        key=key,
        defaults={
            "school": school,
            "recipient": recipient,
            "to_address": to_address,
            "template": template,
            "context": context,
            "next_attempt_at": timezone.now(),
        },
    )
    return message if created else None
