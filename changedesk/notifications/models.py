"""The outbox: e-mail written in the same transaction as the change that caused it.

`changedesk worker` sends what is due, retrying with backoff while the mail server is
down. The unique `key` means the same notice is never queued, and so never sent, twice.
"""

from __future__ import annotations

from django.db import models

from changedesk.accounts.models import School, User
from changedesk.notifications.choices import MessageStatus


class OutboxMessage(models.Model):
    school = models.ForeignKey(
        School, on_delete=models.CASCADE, null=True, blank=True, related_name="outbox"
    )
    recipient = models.ForeignKey(
        User, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    to_address = models.EmailField()
    template = models.CharField(max_length=100, help_text="Name under notifications/email/")
    context = models.JSONField(default=dict, blank=True)
    key = models.CharField(max_length=200, unique=True)
    status = models.CharField(
        max_length=16, choices=MessageStatus.choices, default=MessageStatus.PENDING
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["status", "next_attempt_at"])]

    def __str__(self) -> str:
        return f"{self.template} to {self.to_address} ({self.status})"
