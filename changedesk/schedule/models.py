"""The school calendar (terms, holidays, exams, INSET days, freezes, the teaching day and
maintenance windows) that the forward schedule of change is planned against, and the
secret links of the iCalendar feeds."""

from __future__ import annotations

import secrets
from datetime import time

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from changedesk.accounts.models import School, Trust, User


class PeriodKind(models.TextChoices):
    TERM = "term", _("Term")
    HOLIDAY = "holiday", _("Holiday")
    EXAM = "exam", _("Exam period")
    INSET = "inset", _("INSET day")
    FREEZE = "freeze", _("Change freeze")


class Period(models.Model):
    """What a school's period and a trust's have alike."""

    kind = models.CharField(max_length=16, choices=PeriodKind.choices)
    name = models.CharField(max_length=200)
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    is_hard = models.BooleanField(
        "hard freeze",
        default=False,
        help_text="Nothing may be approved inside a hard freeze (emergencies aside); a soft "
        "freeze needs an override reason.",
    )
    notes = models.TextField(blank=True)

    class Meta:
        abstract = True


class TrustPeriod(Period):
    """A stretch of the year a trust sets for all its schools (its term dates, holidays, a
    trust-wide freeze): each school's calendar holds a copy (`CalendarPeriod.trust_period`,
    kept by `schedule.trust_calendar`), beside the periods the school adds of its own."""

    trust = models.ForeignKey(Trust, on_delete=models.CASCADE, related_name="calendar_periods")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["starts_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=models.F("starts_at")),
                name="trust_period_ends_after_start",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.name}"


class CalendarPeriod(Period):
    """A stretch of the school year. Exams and freezes are what changes must avoid."""

    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="calendar_periods")
    # Set when imported from an iCalendar file, so that importing it again updates.
    source_uid = models.CharField(max_length=255, blank=True)
    # The trust's period this is the school's copy of: changed by the trust only.
    trust_period = models.ForeignKey(
        TrustPeriod, on_delete=models.CASCADE, null=True, blank=True, related_name="copies"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["starts_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=models.F("starts_at")), name="period_ends_after_start"
            ),
            models.UniqueConstraint(
                fields=["school", "trust_period"],
                condition=Q(trust_period__isnull=False),
                name="period_unique_trust_copy",
            ),
            models.UniqueConstraint(
                fields=["school", "source_uid"],
                condition=~Q(source_uid=""),
                name="period_unique_source_uid",
            ),
        ]
        indexes = [models.Index(fields=["school", "kind", "starts_at", "ends_at"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.name}"


def default_school_days() -> list[int]:
    return [0, 1, 2, 3, 4]  # Monday to Friday


class SchoolCalendar(models.Model):
    """A school's teaching day: a change that takes a system down inside it is a conflict."""

    school = models.OneToOneField(School, on_delete=models.CASCADE, related_name="calendar")
    teaching_day_start = models.TimeField(default=time(8, 40))
    teaching_day_end = models.TimeField(default=time(15, 20))
    # ISO weekdays counted from Monday = 0, on which the school teaches (in term time).
    school_days = models.JSONField(default=default_school_days)

    def __str__(self) -> str:
        return f"Calendar of {self.school}"


class MaintenanceWindow(models.Model):
    """A preferred time for changes, e.g. weekdays after 17:30, or all weekend."""

    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="maintenance_windows")
    name = models.CharField(max_length=100)
    weekdays = models.JSONField(help_text="Days of the week, Monday = 0.")
    start_time = models.TimeField(default=time(0, 0))
    end_time = models.TimeField(
        null=True, blank=True, help_text="Leave empty for the end of the day."
    )

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.name


def new_feed_key() -> str:
    return secrets.token_urlsafe(32)


class FeedKind(models.TextChoices):
    SCHOOL = "school", _("A school's changes")
    PERSON = "person", _("Changes I am part of")


class FeedToken(models.Model):
    """A secret, revocable link to an iCalendar feed."""

    kind = models.CharField(max_length=16, choices=FeedKind.choices)
    school = models.ForeignKey(
        School, on_delete=models.CASCADE, null=True, blank=True, related_name="feed_tokens"
    )
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="feed_tokens")
    key = models.CharField(max_length=64, unique=True, default=new_feed_key)
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind="person") | Q(school__isnull=False),
                name="feed_school_needs_school",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} feed of {self.user}"
