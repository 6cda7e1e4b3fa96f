"""Standard changes: a kind of change approved once, whose RFCs then go ahead at once.

A `Template` holds what every RFC raised from it says (the request and the plan but the
window), how long it usually takes, the items it may touch, who may raise it and when it is
next reviewed. It is approved through the same approvers and the same door as any RFC: a
normal RFC proposes it (its `proposal`), and the approval that accepts that RFC's impact
approves the template's content, whose digest is kept. Editing approved content is a new
version, approved again. An RFC raised from it (`Raised`) is a standard change: it starts
approved (`raise_standard`), its window still weighed against the school calendar. A raised
RFC that fails (`failed_backed_out`) suspends its template until an approver reinstates it;
past its review date it is expired. Each step is kept in the template's history
(`TemplateEvent`, append-only).
"""

from __future__ import annotations

import hashlib
from datetime import date
from typing import Any

from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from changedesk.accounts.models import School, SchoolScopedQuerySet, User
from changedesk.changes.models import Change, canonical_json
from changedesk.configuration.models import ConfigurationItem
from changedesk.schedule.models import MaintenanceWindow

# What an RFC raised from a template says, as the template says it; and its approved digest.
CONTENT = ("title", "description", "reason", "details", "impact", "risk", "fallback_plan",
           "duration_minutes")  # fmt: skip


class TemplateState(models.TextChoices):
    DRAFT = "draft", _("Draft")
    PROPOSED = "proposed", _("Awaiting approval")
    APPROVED = "approved", _("Approved")
    SUSPENDED = "suspended", _("Suspended")


class TemplateQuerySet(SchoolScopedQuerySet["Template"]):
    pass


class Template(models.Model):
    school = models.ForeignKey(School, on_delete=models.PROTECT, related_name="+")
    title = models.CharField("name", max_length=200)
    description = models.TextField("brief description")
    reason = models.TextField("reason for the change")
    details = models.TextField("full details of the change (the steps)")
    impact = models.TextField("impact on ICT services and users")
    risk = models.TextField("risk of failure and impact of failure")
    fallback_plan = models.TextField("fallback plan")
    duration_minutes = models.PositiveIntegerField(
        "how long it usually takes (minutes)", default=60
    )
    items = models.ManyToManyField(
        ConfigurationItem,
        blank=True,
        related_name="+",
        help_text="The items an RFC raised from it may touch (none chosen: any of the school's).",
    )
    windows = models.ManyToManyField(
        MaintenanceWindow,
        blank=True,
        related_name="+",
        help_text="The maintenance windows an RFC raised from it must fit in (none chosen: "
        "any time the school calendar allows).",
    )
    raisers = models.ManyToManyField(
        User,
        blank=True,
        related_name="+",
        help_text="Who may raise it (none chosen: every originator of the school).",
    )
    review_date = models.DateField(help_text="After this day it may not be raised until reviewed.")

    state = models.CharField(max_length=16, choices=TemplateState.choices, default="draft")
    version = models.PositiveIntegerField(default=1, help_text="Its content's version.")
    # The RFC proposing this version for approval, while it is proposed (and after).
    proposal = models.ForeignKey(
        Change, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    approved_version = models.PositiveIntegerField(null=True, blank=True)
    approved_digest = models.CharField(max_length=64, blank=True)
    approved_at = models.DateTimeField(null=True, blank=True)
    # The raised RFC whose failure suspended it.
    suspended_by = models.ForeignKey(
        Change, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = TemplateQuerySet.as_manager()

    class Meta:
        ordering = ["title", "id"]
        indexes = [models.Index(fields=["school", "title", "id"], name="standard_school_title")]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("standard:detail", args=[self.pk])

    def content(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in CONTENT}

    def approved_content(self) -> dict[str, Any]:
        """What its approval covers: its content, the items it may touch, the maintenance
        windows it must fit in (when it names any: a template naming none keeps the digest it
        had before templates could), who may raise it and until when."""
        windows = sorted(self.windows.values_list("pk", flat=True))
        return {
            **self.content(),
            "items": sorted(self.items.values_list("pk", flat=True)),
            **({"windows": windows} if windows else {}),
            "raisers": sorted(self.raisers.values_list("username", flat=True)),
            "review_date": self.review_date.isoformat(),
        }

    def digest(self) -> str:
        """SHA-256 of what its approval covers."""
        return hashlib.sha256(canonical_json(self.approved_content()).encode()).hexdigest()

    def today(self) -> date:
        """Today where the school is (its review date is a day there)."""
        return timezone.now().astimezone(self.school.zone).date()

    def is_expired(self, today: date) -> bool:
        return self.review_date < today

    def may_be_raised(self, today: date) -> bool:
        return self.state == TemplateState.APPROVED and not self.is_expired(today)

    def status(self, today: date) -> str:
        """What it is for someone raising from it, in words."""
        if self.state == TemplateState.APPROVED and self.is_expired(today):
            return gettext("Expired: its review date has passed")
        return str(self.get_state_display())


class Raised(models.Model):
    """An RFC raised from a template: which template, at which approved version."""

    change = models.OneToOneField(Change, on_delete=models.PROTECT, related_name="+")
    template = models.ForeignKey(Template, on_delete=models.PROTECT, related_name="raised")
    version = models.PositiveIntegerField()
    digest = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.change} from {self.template} v{self.version}"


class EventKind(models.TextChoices):
    CREATE = "create", _("Created")
    EDIT = "edit", _("Edited")
    PROPOSE = "propose", _("Proposed for approval")
    APPROVE = "approve", _("Approved")
    REFUSE = "refuse", _("Not approved")
    SUSPEND = "suspend", _("Suspended")
    REINSTATE = "reinstate", _("Reinstated")


class TemplateEventQuerySet(models.QuerySet["TemplateEvent"]):
    def update(self, **kwargs: Any) -> int:
        raise TypeError("History is append-only: events are never updated.")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise TypeError("History is append-only: events are never deleted.")


class TemplateEvent(models.Model):
    """One step in a template's life. Written once, never changed (see `services`)."""

    template = models.ForeignKey(Template, on_delete=models.PROTECT, related_name="events")
    kind = models.CharField(max_length=16, choices=EventKind.choices)
    actor = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    version = models.PositiveIntegerField()
    change = models.ForeignKey(
        Change, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    comment = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = TemplateEventQuerySet.as_manager()

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.template}: {self.get_kind_display()}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise TypeError("History is append-only: events are never updated.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise TypeError("History is append-only: events are never deleted.")
