"""The change advisory committee (CAC): its meetings, their agendas and minutes; and the
school's reminder settings (how long an approval or a closure may wait before a nudge).

A meeting's decisions are not stored as state here: each is applied to its RFC through
`changes.workflow.perform`, whose history event names the meeting. The agenda item keeps
the minute and who recorded it, for the printed minutes.
"""

from __future__ import annotations

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.urls import reverse

from changedesk.accounts.models import School, SchoolScopedQuerySet, User
from changedesk.changes.choices import State
from changedesk.changes.models import Change
from changedesk.committee.choices import Decision, MeetingStatus

DEFAULT_NUDGE_DAYS = 3


class ReminderSettings(models.Model):
    """How patient a school is: after how many days a waiting RFC earns a nudge by e-mail.

    One number serves all three nudges (an approval waiting, a change past its window with
    no outcome, an implemented change not closed), and is also the interval between two
    nudges about the same wait. A school without a row has the defaults.
    """

    school = models.OneToOneField(School, on_delete=models.CASCADE, related_name="reminders")
    nudges_enabled = models.BooleanField(
        "send reminders",
        default=True,
        help_text="E-mail the people an RFC is waiting for when it has waited too long.",
    )
    nudge_after_days = models.PositiveSmallIntegerField(
        "remind after (days)",
        default=DEFAULT_NUDGE_DAYS,
        validators=[MinValueValidator(1), MaxValueValidator(90)],
        help_text="And again every this many days while it still waits.",
    )

    class Meta:
        verbose_name = "reminder settings"
        verbose_name_plural = "reminder settings"

    def __str__(self) -> str:
        return f"Reminders at {self.school}"


class MeetingQuerySet(SchoolScopedQuerySet["Meeting"]):
    """Meetings: `visible_to(user)`, the meetings of the schools `user` belongs to."""


class Meeting(models.Model):
    """A meeting of a school's change advisory committee."""

    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="cac_meetings")
    title = models.CharField(max_length=200)
    held_at = models.DateTimeField("date and time")
    status = models.CharField(
        max_length=16, choices=MeetingStatus.choices, default=MeetingStatus.PLANNED
    )
    chair = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    members_present = models.ManyToManyField(User, blank=True, related_name="cac_meetings_attended")
    minutes = models.TextField(
        blank=True, help_text="General minutes: apologies, matters arising, other business."
    )
    created_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = MeetingQuerySet.as_manager()

    class Meta:
        ordering = ["-held_at", "-id"]
        indexes = [models.Index(fields=["school", "-held_at"])]

    def __str__(self) -> str:
        return f"{self.title} ({self.held_at:%Y-%m-%d})"

    def get_absolute_url(self) -> str:
        return reverse("committee:detail", args=[self.school.slug, self.pk])


class AgendaItem(models.Model):
    """One RFC on a meeting's agenda, and, once taken, the committee's decision on it."""

    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="items")
    change = models.ForeignKey(Change, on_delete=models.PROTECT, related_name="agenda_items")
    order = models.PositiveIntegerField()
    state_when_listed = models.CharField(max_length=32, choices=State.choices)
    decision = models.CharField(max_length=16, choices=Decision.choices, blank=True)
    minute = models.TextField(blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # The approver the committee decided for (the RFC's named approver, present).
    decided_for = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["meeting", "order", "id"]
        constraints = [
            models.UniqueConstraint(fields=["meeting", "change"], name="agenda_item_unique_change")
        ]

    def __str__(self) -> str:
        return f"{self.meeting_id} #{self.order} {self.change_id}"

    @property
    def is_decided(self) -> bool:
        return bool(self.decision)
