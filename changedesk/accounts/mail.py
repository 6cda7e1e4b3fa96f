"""How `accounts` queues mail (password resets, invitations) without importing the outbox,
which sits in a layer above it: `notifications` plugs its queue in from its `ready()`.

    queue_mail(to_address="…", recipient=user_or_None, template="invitation",
               context={…}, key="invitation:7", school=school)

Call it inside the transaction that makes the news, as for `notifications.outbox.enqueue`:
the mail is queued if and only if the news is kept, and sent by the outbox worker.
"""

from __future__ import annotations

from typing import Any, Protocol

from django.core.exceptions import ImproperlyConfigured

from changedesk.accounts.models import School, User


class MailQueue(Protocol):
    def __call__(
        self,
        *,
        to_address: str,
        recipient: User | None,
        template: str,
        context: dict[str, Any],
        key: str,
        school: School | None,
    ) -> Any: ...


_queue: MailQueue | None = None


def use_queue(queue: MailQueue) -> None:
    """Plug the outbox in (from `NotificationsConfig.ready()`)."""
    global _queue
    _queue = queue


def queue_mail(
    *,
    to_address: str,
    template: str,
    context: dict[str, Any],
    key: str,
    recipient: User | None = None,
    school: School | None = None,
) -> None:
    """Queue `template` to `to_address` (a second call with the same `key` does nothing)."""
    if _queue is None:
        raise ImproperlyConfigured("No mail queue: is changedesk.notifications installed?")
    _queue(
        to_address=to_address,
        recipient=recipient,
        template=template,
        context=context,
        key=key,
        school=school,
    )
