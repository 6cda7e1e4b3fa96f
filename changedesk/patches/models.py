"""Patch management, as FITS gives it: the vendors a school watches and where they publish
(`Vendor`, `Source`), the patches they release (`Patch`) and each one's cycle, from
`available` to `closed`, through one door (`workflow.perform`) with an append-only history
(`PatchEvent`); the results on the pilot ring and the verification (`PatchCheck`), what each
item now has installed (`Installation`) and the school's deadlines (`PatchPolicy`).

A patch is deployed by an RFC (`Patch.change`), normally raised from a standard change
template; several patches ride one RFC (the monthly patch run). Its outcome deploys them
(see `rfc.py`).
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext

from changedesk.accounts.models import School, SchoolScopedQuerySet, User
from changedesk.changes.models import Change
from changedesk.configuration.models import ConfigurationItem
from changedesk.patches.choices import (
    DEPLOYED_STATES,
    OPEN_STATES,
    CheckKind,
    CheckResult,
    FeedState,
    PatchAction,
    PatchState,
    Severity,
    SourceKind,
)

CVE = re.compile(r"CVE-\d{4}-\d{4,7}", re.IGNORECASE)
# Cyber Essentials: high and critical security updates within 14 days of release.
DEFAULT_DAYS = {Severity.CRITICAL: 14, Severity.HIGH: 14, Severity.MEDIUM: 30, Severity.LOW: 30}


def today_in(school: School, now: datetime | None = None) -> date:
    """Today where the school is: deadlines are its days."""
    return (now or timezone.now()).astimezone(school.zone).date()


def validate_cves(value: str) -> None:
    for part in split_cves(value, strict=False):
        if not CVE.fullmatch(part):
            raise ValidationError(
                gettext("“%(part)s” is not a CVE id (CVE-2026-12345).") % {"part": part}
            )


def split_cves(value: str, *, strict: bool = True) -> list[str]:
    parts = [p.strip() for p in re.split(r"[,\s;]+", value or "") if p.strip()]
    return [p.upper() for p in parts if not strict or CVE.fullmatch(p)]


class VendorQuerySet(SchoolScopedQuerySet["Vendor"]):
    pass


class Vendor(models.Model):
    school = models.ForeignKey(School, on_delete=models.PROTECT, related_name="+")
    name = models.CharField(max_length=200)
    products = models.JSONField(
        default=list, blank=True, help_text="The vendor's products the school runs."
    )
    website = models.URLField(blank=True)
    notes = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = VendorQuerySet.as_manager()

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["school", "name"], name="patches_vendor_unique_name")
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("patches:vendor", args=[self.pk])


class SourceQuerySet(SchoolScopedQuerySet["Source"]):
    def due(self, now: datetime) -> SourceQuerySet:
        """Feeds to fetch now."""
        return self.filter(kind=SourceKind.FEED, is_active=True, next_check_at__lte=now)


class Source(models.Model):
    """Where a vendor publishes its patches. A feed is fetched by the worker; a web page or
    a mailing list is where the patch administrator looks, and patches from it are entered
    by hand or imported."""

    school = models.ForeignKey(School, on_delete=models.PROTECT, related_name="+")
    vendor = models.ForeignKey(Vendor, on_delete=models.CASCADE, related_name="sources")
    kind = models.CharField(max_length=16, choices=SourceKind.choices, default=SourceKind.FEED)
    location = models.CharField(
        max_length=500, help_text="The feed's or page's address (https://…), or the list's e-mail."
    )
    product = models.CharField(
        max_length=200, blank=True, help_text="The product its patches are for, when it is one."
    )
    is_active = models.BooleanField(default=True, help_text="Fetched by the worker.")
    # What the last fetch of a feed found.
    state = models.CharField(max_length=16, choices=FeedState.choices, default=FeedState.NEW)
    error = models.TextField(blank=True, help_text="Why the last fetch failed.")
    failures = models.PositiveIntegerField(default=0, help_text="Failed fetches in a row.")
    etag = models.CharField(max_length=500, blank=True)
    last_modified = models.CharField(max_length=100, blank=True)
    checked_at = models.DateTimeField(null=True, blank=True)
    succeeded_at = models.DateTimeField(null=True, blank=True)
    failing_since = models.DateTimeField(null=True, blank=True)
    next_check_at = models.DateTimeField(default=timezone.now)
    entries_found = models.PositiveIntegerField(default=0, help_text="Patches it has brought.")
    created_at = models.DateTimeField(auto_now_add=True)

    objects = SourceQuerySet.as_manager()

    class Meta:
        ordering = ["vendor__name", "id"]
        indexes = [models.Index(fields=["kind", "is_active", "next_check_at"])]

    def __str__(self) -> str:
        return f"{self.vendor}: {self.location}"


class PatchPolicy(models.Model):
    """A school's deadlines: days from a patch's release to its deployment, by severity."""

    school = models.OneToOneField(School, on_delete=models.CASCADE, related_name="+")
    critical_days = models.PositiveSmallIntegerField(default=DEFAULT_DAYS[Severity.CRITICAL])
    high_days = models.PositiveSmallIntegerField(default=DEFAULT_DAYS[Severity.HIGH])
    medium_days = models.PositiveSmallIntegerField(default=DEFAULT_DAYS[Severity.MEDIUM])
    low_days = models.PositiveSmallIntegerField(default=DEFAULT_DAYS[Severity.LOW])
    nudge_overdue = models.BooleanField(
        default=True, help_text="Tell the patch administrators each day a patch is overdue."
    )
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"Patch deadlines at {self.school}"

    @classmethod
    def of(cls, school: School) -> PatchPolicy:
        """The school's policy, or the default (unsaved) where it has set none."""
        found = cls.objects.filter(school=school).first()
        return found or cls(school=school)

    def days(self, severity: str) -> int:
        return int(getattr(self, f"{severity}_days"))

    def due_on(self, release_date: date, severity: str) -> date:
        return release_date + timedelta(days=self.days(severity))


class PatchQuerySet(SchoolScopedQuerySet["Patch"]):
    def overdue(self, today: date) -> PatchQuerySet:
        return self.filter(state__in=OPEN_STATES, due_on__lt=today)


class Patch(models.Model):
    school = models.ForeignKey(School, on_delete=models.PROTECT, related_name="+")
    vendor = models.ForeignKey(Vendor, on_delete=models.PROTECT, related_name="patches")
    product = models.CharField(max_length=200, blank=True)
    title = models.CharField(max_length=300)
    reference = models.CharField(
        max_length=100, blank=True, help_text="The vendor's reference, e.g. KB5031234."
    )
    cves = models.CharField(
        "CVE ids",
        max_length=1000,
        blank=True,
        validators=[validate_cves],
        help_text="Comma-separated, e.g. CVE-2026-21001, CVE-2026-21002.",
    )
    release_date = models.DateField()
    severity = models.CharField(max_length=16, choices=Severity.choices, default=Severity.MEDIUM)
    # As the vendor rated it (or as entered): an assessment may lower `severity` for the
    # school, and the statement still shows what the vendor said.
    vendor_severity = models.CharField(max_length=16, choices=Severity.choices, blank=True)
    severity_confirmed = models.BooleanField(
        default=False, help_text="Confirmed by the assessment (else as the vendor gave it)."
    )
    link = models.URLField(max_length=1000, blank=True)
    description = models.TextField(blank=True)
    items = models.ManyToManyField(
        ConfigurationItem,
        blank=True,
        related_name="+",
        help_text="The configuration items it applies to.",
    )
    state = models.CharField(max_length=16, choices=PatchState.choices, default="available")
    # The school's deadline for it: its release date plus the policy's days for its severity.
    due_on = models.DateField()
    reason = models.TextField(blank=True, help_text="Why it was deferred or does not apply.")
    defer_until = models.DateField(null=True, blank=True)
    # The RFC deploying it (with other patches of the run, often).
    change = models.ForeignKey(
        Change, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    deployed_on = models.DateField(null=True, blank=True, help_text="A day where the school is.")
    source = models.ForeignKey(
        Source, on_delete=models.SET_NULL, null=True, blank=True, related_name="patches"
    )
    # The feed entry's id, so an entry seen again is not a second patch.
    entry_id = models.CharField(max_length=500, blank=True)
    created_by = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = PatchQuerySet.as_manager()

    class Meta:
        ordering = ["-release_date", "-id"]
        indexes = [
            models.Index(fields=["school", "-release_date", "-id"], name="patches_school_released"),
            models.Index(fields=["school", "state", "due_on"], name="patches_school_state_due"),
            models.Index(fields=["change"], name="patches_change"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["source", "entry_id"],
                condition=~models.Q(entry_id=""),
                name="patches_one_per_entry",
            )
        ]

    def __str__(self) -> str:
        return f"{self.reference}: {self.title}" if self.reference else self.title

    def get_absolute_url(self) -> str:
        return reverse("patches:detail", args=[self.pk])

    @property
    def cve_list(self) -> list[str]:
        return split_cves(self.cves)

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATES

    @property
    def is_deployed(self) -> bool:
        return self.state in DEPLOYED_STATES

    def is_overdue(self, today: date) -> bool:
        return self.is_open and self.due_on < today

    def on_time(self) -> bool | None:
        """Deployed within its deadline (None: not deployed)."""
        if self.deployed_on is None:
            return None
        return self.deployed_on <= self.due_on

    @property
    def days_to_deploy(self) -> int | None:
        """Days from its release to its deployment (None: not deployed)."""
        return None if self.deployed_on is None else (self.deployed_on - self.release_date).days

    def days_left(self, today: date) -> int:
        return (self.due_on - today).days


class PatchEventQuerySet(models.QuerySet["PatchEvent"]):
    def update(self, **kwargs: Any) -> int:
        raise TypeError("History is append-only: events are never updated.")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise TypeError("History is append-only: events are never deleted.")


class PatchEvent(models.Model):
    """One step in a patch's cycle. Written once by `workflow.perform`, never changed."""

    patch = models.ForeignKey(Patch, on_delete=models.PROTECT, related_name="events")
    school = models.ForeignKey(School, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=16, choices=PatchAction.choices)
    from_state = models.CharField(max_length=16, choices=PatchState.choices, blank=True)
    to_state = models.CharField(max_length=16, choices=PatchState.choices)
    # None: the worker (a feed's entry, a deferral ending) or an RFC's outcome recorded by
    # someone who is not named here.
    actor = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    change = models.ForeignKey(
        Change, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    comment = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    objects = PatchEventQuerySet.as_manager()

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["patch", "created_at", "id"], name="patches_event_patch")]

    def __str__(self) -> str:
        return f"{self.patch}: {self.get_kind_display()}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise TypeError("History is append-only: events are never updated.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise TypeError("History is append-only: events are never deleted.")


class PatchCheck(models.Model):
    """A result on one machine: a test on the pilot ring, or the verification after
    deployment. Written by the action that records it (its event holds the same)."""

    patch = models.ForeignKey(Patch, on_delete=models.CASCADE, related_name="checks")
    kind = models.CharField(max_length=16, choices=CheckKind.choices)
    item = models.ForeignKey(ConfigurationItem, on_delete=models.PROTECT, related_name="+")
    result = models.CharField(max_length=16, choices=CheckResult.choices)
    notes = models.TextField(blank=True)
    event = models.ForeignKey(PatchEvent, on_delete=models.PROTECT, related_name="checks")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.patch} on {self.item}: {self.get_result_display()}"


class Installation(models.Model):
    """What an item has installed: written when a patch is closed (the configuration record
    updated)."""

    school = models.ForeignKey(School, on_delete=models.PROTECT, related_name="+")
    item = models.ForeignKey(ConfigurationItem, on_delete=models.CASCADE, related_name="+")
    patch = models.ForeignKey(Patch, on_delete=models.PROTECT, related_name="installations")
    version = models.CharField(max_length=200, help_text="What the item now runs.")
    installed_on = models.DateField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-installed_on", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["item", "patch"], name="patches_one_install")
        ]
        indexes = [models.Index(fields=["item", "-installed_on"], name="patches_item_installed")]

    def __str__(self) -> str:
        return f"{self.item}: {self.version}"
