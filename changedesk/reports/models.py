"""FITS's measurements and reports: how often a school reports, and the report archive.

- **How often** (`ReportSettings`): a week or a month, chosen once per school and kept ("always
  at the same frequency"); a school with no row reports monthly.
- **The archive** (`Snapshot`): at the end of each period the worker freezes the report as it
  stood: its figures, with the RFCs behind each, as JSON, and their SHA-256; and the stage
  times behind its medians (`samples`, for reports across several schools). A snapshot is
  written once and never changed or deleted.
- **Decisions** (`Decision`, append-only): what was decided from a frozen report, by whom and
  when, because FITS says reports are for making decisions.
"""

from __future__ import annotations

from typing import Any

from django.db import models
from django.utils.translation import gettext_lazy as _

from changedesk.accounts.models import School, SchoolScopedQuerySet, User


class Period(models.TextChoices):
    WEEK = "week", _("Week")
    MONTH = "month", _("Month")


class Frozen(models.Model):
    """A row written once: never changed or deleted (the model refuses; so does its queryset)."""

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise TypeError("The report archive is frozen: a row is never changed.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise TypeError("The report archive is frozen: a row is never deleted.")


class FrozenQuerySet(models.QuerySet[Any]):
    def update(self, **kwargs: Any) -> int:
        raise TypeError("The report archive is frozen: rows are never changed.")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise TypeError("The report archive is frozen: rows are never deleted.")


class SnapshotQuerySet(SchoolScopedQuerySet["Snapshot"]):
    """Frozen, and scoped to the schools a person sees (`visible_to`)."""

    update = FrozenQuerySet.update
    delete = FrozenQuerySet.delete


class ReportSettings(models.Model):
    """How often a school's report is produced."""

    school = models.OneToOneField(School, on_delete=models.CASCADE, related_name="report_settings")
    frequency = models.CharField(max_length=8, choices=Period.choices, default=Period.MONTH)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "report settings"

    def __str__(self) -> str:
        return f"{self.school}: every {self.frequency}"


class Snapshot(Frozen):
    """A school's report for one period [start, end) (the school's days), frozen as it stood."""

    school = models.ForeignKey(School, on_delete=models.PROTECT, related_name="+")
    period = models.CharField(max_length=8, choices=Period.choices)
    start = models.DateField()
    end = models.DateField(help_text="The day after the period (exclusive).")
    figures = models.JSONField(
        help_text="The report as it stood, with the RFCs behind each figure."
    )
    digest = models.CharField(max_length=64, help_text="SHA-256 of the figures, canonical JSON.")
    # Not part of the report (nor its digest): what a report across several schools needs to
    # make its medians without reading the period again (`figures.stored_samples`).
    samples = models.JSONField(
        null=True,
        blank=True,
        editable=False,
        help_text="The stage times behind the medians, in whole seconds; empty when frozen "
        "before they were kept, or when there were too many to keep.",
    )
    frozen_at = models.DateTimeField()

    objects = SnapshotQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["school", "period", "start"], name="reports_snapshot_one_per_period"
            )
        ]
        indexes = [
            models.Index(fields=["school", "period", "-start"], name="reports_snapshot_recent"),
        ]
        ordering = ["-start", "school_id"]

    def __str__(self) -> str:
        return f"{self.school}: {self.period} from {self.start}"


class Decision(Frozen):
    """What was decided from a frozen report: append-only."""

    snapshot = models.ForeignKey(Snapshot, on_delete=models.PROTECT, related_name="decisions")
    text = models.TextField("what was decided")
    decided_by = models.CharField(
        "decided by", max_length=200, help_text="A person, or a meeting such as the committee."
    )
    decided_on = models.DateField("decided on")
    recorded_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField()

    objects = FrozenQuerySet.as_manager()

    class Meta:
        ordering = ["snapshot_id", "decided_on", "id"]

    def __str__(self) -> str:
        return f"{self.decided_on}: {self.text[:40]}"
