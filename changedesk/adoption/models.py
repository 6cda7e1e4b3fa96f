"""Bringing FITS into a school (the implementation guide), and reviewing it afterwards.

- **The school's adoption** (`Adoption`, one per school, made when first asked for): the
  go-live date, the team's agreement to the plan, the notice introducing change management to
  the users, the materials made available, the pilot RFC and the discussion of its review,
  whether the school started with peer review off, when it went live, and (optionally) its
  ICT self-review. The getting-started page ticks each preparation task from these and from
  the rest of the data (roles held, training confirmed, the pilot closed).
- **Training** (`TrainingConfirmation`): a person confirms "I have read this and know my part"
  for the guide of a role, dated; append-only (a newer confirmation is a new row).
- **The pilot review** (`PilotAnswer`): each participant's answers to FITS's five questions
  once the pilot RFC has closed; one per person per pilot.
- **The review checklist** (`ChecklistReview`): a dated review of FITS's change (and release)
  review items: what the data said of each item at the time, the school's own answers for the
  items the data cannot judge, and when the next review is due. Append-only.
"""

from __future__ import annotations

from typing import Any

from django.db import models

from changedesk.accounts.models import School, SchoolScopedQuerySet, User
from changedesk.changes.models import Change
from changedesk.communication.models import Notice


class AdoptionQuerySet(SchoolScopedQuerySet["Adoption"]):
    pass


class Adoption(models.Model):
    school = models.OneToOneField(School, on_delete=models.CASCADE, related_name="adoption")
    go_live_on = models.DateField("go-live date", null=True, blank=True)
    plan_agreed_at = models.DateTimeField(null=True, blank=True)
    plan_agreed_by = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    introduction_notice = models.ForeignKey(
        Notice, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    materials_ready_at = models.DateTimeField(null=True, blank=True)
    materials_ready_by = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    pilot = models.ForeignKey(
        Change, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    pilot_discussion = models.TextField("discussion of the pilot review", blank=True)
    # Recorded when the pilot is chosen: go-live offers to switch peer review back on.
    started_without_peer_review = models.BooleanField(default=False)
    live_at = models.DateTimeField(null=True, blank=True)
    live_by = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    self_review_on = models.DateField("ICT self-review recorded on", null=True, blank=True)
    self_review_note = models.TextField("ICT self-review", blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = AdoptionQuerySet.as_manager()

    def __str__(self) -> str:
        return f"{self.school}: {'live' if self.live_at else 'getting started'}"

    @property
    def is_live(self) -> bool:
        return self.live_at is not None


class AppendOnly(models.Model):
    """A row written once, never changed or deleted."""

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise TypeError("This record is append-only: it is never changed.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise TypeError("This record is append-only: it is never deleted.")


class TrainingConfirmation(AppendOnly):
    """A person confirmed they have read the guide of `role` and know their part."""

    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+")
    role = models.CharField(max_length=32, help_text="The guide read: a role name, or 'overview'.")
    confirmed_at = models.DateTimeField()

    objects = SchoolScopedQuerySet.as_manager()

    class Meta:
        indexes = [models.Index(fields=["school", "user", "role"], name="adoption_training_who")]
        ordering = ["school_id", "user_id", "role", "-confirmed_at"]

    def __str__(self) -> str:
        return f"{self.user} read the {self.role} guide on {self.confirmed_at:%Y-%m-%d}"


class PilotAnswer(models.Model):
    """One participant's answers to the pilot review (FITS's five questions)."""

    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="+")
    change = models.ForeignKey(Change, on_delete=models.PROTECT, related_name="+")
    user = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    understood_part = models.BooleanField("I understood my part")
    # The RFC's sections the participant judged not completed well enough (field names).
    sections_lacking = models.JSONField(default=list, blank=True)
    needs_training = models.BooleanField("I need more training")
    caused_incidents = models.BooleanField("The change caused incidents")
    everyone_knew = models.BooleanField("Everyone affected knew beforehand")
    comment = models.TextField(blank=True)
    answered_at = models.DateTimeField()

    objects = SchoolScopedQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["change", "user"], name="adoption_pilot_one_answer")
        ]
        ordering = ["change_id", "answered_at", "id"]

    def __str__(self) -> str:
        return f"{self.user} on the pilot {self.change_id}"


class ChecklistReview(AppendOnly):
    """A review of FITS's checklist, as it stood on the day."""

    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="+")
    reviewed_on = models.DateField()
    # {item key: {"passed": bool | None, "by": "data" | "school", "detail": str, "note": str}}
    items = models.JSONField(default=dict)
    note = models.TextField(blank=True)
    next_due = models.DateField()
    reviewed_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField()

    objects = SchoolScopedQuerySet.as_manager()

    class Meta:
        indexes = [models.Index(fields=["school", "-reviewed_on"], name="adoption_review_recent")]
        ordering = ["-reviewed_on", "-id"]

    def __str__(self) -> str:
        return f"{self.school}: review of {self.reviewed_on}"
