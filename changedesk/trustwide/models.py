"""A trust-wide change (the parent) and its RFCs, one per school (the children).

The parent is the trust's: it holds what was asked once (the request) and who asked.
Everything a school decides stays on its own RFC, an ordinary `changes.Change` of that
school, with its own approvers, window, history and outcome; `Child` ties it to the
parent and, like every school's row, names its school.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.urls import reverse

from changedesk.accounts.models import School, Trust, User
from changedesk.changes.models import Change

PREFIX = "TC"


def format_reference(number: int) -> str:
    return f"{PREFIX}-{number:04d}"


class ParentChange(models.Model):
    """One change made in many schools of a trust: the request, asked once."""

    trust = models.ForeignKey(Trust, on_delete=models.PROTECT, related_name="parent_changes")
    number = models.PositiveIntegerField(editable=False)
    title = models.CharField("name", max_length=200)
    description = models.TextField("brief description")
    reason = models.TextField("reason for the change")
    is_emergency = models.BooleanField("emergency change", default=False)
    originator = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["trust", "number"], name="parent_unique_reference")
        ]
        indexes = [models.Index(fields=["trust", "-created_at", "-id"], name="parent_newest")]

    def __str__(self) -> str:
        return f"{self.reference} {self.title}"

    def get_absolute_url(self) -> str:
        return reverse("trustwide:detail", args=[self.pk])

    @property
    def reference(self) -> str:
        return format_reference(self.number)

    @property
    def qualified_reference(self) -> str:
        return f"{self.trust.slug}:{self.reference}"

    @property
    def absolute_link(self) -> str:
        return f"{settings.SITE_URL}{self.get_absolute_url()}"


class Child(models.Model):
    """A school's RFC raised as part of a trust-wide change."""

    parent = models.ForeignKey(ParentChange, on_delete=models.PROTECT, related_name="children")
    change = models.OneToOneField(Change, on_delete=models.PROTECT, related_name="parent_link")
    school = models.ForeignKey(School, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["parent", "id"]
        constraints = [
            models.UniqueConstraint(fields=["parent", "school"], name="child_one_per_school")
        ]

    def __str__(self) -> str:
        return f"{self.parent.reference} at {self.school_id}: {self.change_id}"
