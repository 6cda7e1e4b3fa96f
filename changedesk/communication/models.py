"""Notices that tell the school about changes, and each school's communication settings."""

from __future__ import annotations

import secrets
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext

from changedesk.accounts.models import School, User
from changedesk.changes.models import Change
from changedesk.communication.choices import (
    DEFAULT_LEAD_MINUTES,
    MAX_LEAD_MINUTES,
    NoticeKind,
    NoticeStatus,
    SummaryFrequency,
)


def new_board_key() -> str:
    """A secret for the notice board's link: 32 URL-safe characters, 192 bits."""
    return secrets.token_urlsafe(24)


def default_lead_minutes() -> list[int]:
    return list(DEFAULT_LEAD_MINUTES)


def validate_lead_minutes(value: Any) -> None:
    if not isinstance(value, list) or len(value) > 6:
        raise ValidationError(gettext("Give at most six reminder times, as a list of minutes."))
    for minutes in value:
        if isinstance(minutes, bool) or not isinstance(minutes, int):
            raise ValidationError(gettext("Each reminder time is a whole number of minutes."))
        if not 1 <= minutes <= MAX_LEAD_MINUTES:
            raise ValidationError(
                gettext("Each reminder time is between 1 minute and %(most)s (two weeks).")
                % {"most": MAX_LEAD_MINUTES}
            )
    if len(set(value)) != len(value):
        raise ValidationError(gettext("A reminder time is listed twice."))


class CommunicationSettings(models.Model):
    """How a school tells its staff: the list address, the board's secret link, the timings."""

    school = models.OneToOneField(School, on_delete=models.CASCADE, related_name="communication")
    staff_list_address = models.EmailField(
        "staff e-mail list",
        blank=True,
        help_text="One address that reaches every member of staff, e.g. staff@school.example. "
        "Leave it blank to post notices on the board only.",
    )
    board_key = models.CharField(max_length=64, unique=True, default=new_board_key)
    reminder_lead_minutes = models.JSONField(
        default=default_lead_minutes,
        validators=[validate_lead_minutes],
        help_text="When to remind the staff list before a change starts, in minutes.",
    )
    summary_frequency = models.CharField(
        max_length=16, choices=SummaryFrequency.choices, default=SummaryFrequency.WEEKLY
    )
    # The end (exclusive, a date in the school's time zone) of the last period summarised.
    last_summary_period_end = models.DateField(null=True, blank=True)
    last_summary_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "communication settings"

    def __str__(self) -> str:
        return f"Communication settings of {self.school}"

    @property
    def lead_minutes(self) -> list[int]:
        """The reminder lead times, longest first; bad stored values are left out."""
        value = self.reminder_lead_minutes
        if not isinstance(value, list):
            return []
        return sorted(
            {m for m in value if isinstance(m, int) and not isinstance(m, bool) and m > 0},
            reverse=True,
        )


class NoticeQuerySet(models.QuerySet["Notice"]):
    def published(self) -> NoticeQuerySet:
        return self.filter(status=NoticeStatus.PUBLISHED)

    def on_board(self, now: Any) -> NoticeQuerySet:
        """Published notices that are current or still to come at `now`."""
        return self.published().filter(Q(ends_at__isnull=True) | Q(ends_at__gt=now))


class Notice(models.Model):
    """A notice to the school, in plain language: what, when, what people will notice,
    what to do, who to ask. Drafted from an RFC, or written by a communicator."""

    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="notices")
    change = models.ForeignKey(
        Change, on_delete=models.PROTECT, null=True, blank=True, related_name="notices"
    )
    kind = models.CharField(max_length=16, choices=NoticeKind.choices, default=NoticeKind.CHANGE)
    title = models.CharField(max_length=200)
    what = models.TextField("what is happening", blank=True)
    when_text = models.CharField(
        "when", max_length=200, blank=True, help_text="In plain words, e.g. Tuesday 4 March, 18:00."
    )
    what_you_will_notice = models.TextField("what people will notice", blank=True)
    what_to_do = models.TextField("what to do", blank=True)
    who_to_ask = models.CharField("who to ask", max_length=200, blank=True)
    # For a change, copied from the RFC's planned window; a summary shows until the next one.
    starts_at = models.DateTimeField(null=True, blank=True)
    ends_at = models.DateTimeField(null=True, blank=True)
    # The period a summary covers, as dates in the school's time zone (end exclusive).
    period_start = models.DateField(null=True, blank=True)
    period_end = models.DateField(null=True, blank=True)
    status = models.CharField(
        max_length=16, choices=NoticeStatus.choices, default=NoticeStatus.DRAFT
    )
    published_at = models.DateTimeField(null=True, blank=True)
    published_by = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # Kept when a notice is withdrawn and published again: when the school was first told.
    first_published_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = NoticeQuerySet.as_manager()

    class Meta:
        ordering = ["starts_at", "id"]
        constraints = [
            # One notice per RFC: drafting it again opens the one there is.
            models.UniqueConstraint(
                fields=["change"], condition=Q(change__isnull=False), name="notice_one_per_change"
            ),
            # One summary per school and period, however many workers run the job.
            models.UniqueConstraint(
                fields=["school", "period_start", "period_end"],
                condition=Q(kind="summary"),
                name="notice_one_summary_per_period",
            ),
            models.CheckConstraint(
                condition=Q(ends_at__isnull=True)
                | Q(starts_at__isnull=True)
                | Q(ends_at__gt=models.F("starts_at")),
                name="notice_ends_after_start",
            ),
        ]
        indexes = [
            models.Index(fields=["school", "status", "ends_at"]),
            models.Index(fields=["status", "starts_at"]),
        ]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        from django.urls import reverse

        return reverse("communication:detail", args=[self.school.slug, self.pk])

    @property
    def is_emergency(self) -> bool:
        return bool(self.change_id and self.change and self.change.is_emergency)

    @property
    def is_called_off(self) -> bool:
        """The RFC behind it was withdrawn or rejected after the notice went up."""
        return bool(self.change_id and self.change and self.change.state in CALLED_OFF)


CALLED_OFF = ("withdrawn", "rejected")
