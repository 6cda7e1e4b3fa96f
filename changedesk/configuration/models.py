"""Configuration items: the services, servers, devices and software a school's ICT is made
of (FITS's configuration records). A catalogue below the RFC: `changes.ChangeItem` links
an RFC to the items it touches (`item.change_links`)."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from changedesk.accounts.models import School, SchoolScopedQuerySet, User
from changedesk.lib import jobs as lib_jobs


class ItemKind(models.TextChoices):
    SERVICE = "service", _("Service")
    SERVER = "server", _("Server")
    NETWORK_DEVICE = "network_device", _("Network device")
    SOFTWARE = "software", _("Software")
    DEVICE_GROUP = "device_group", _("Device group")
    OTHER = "other", _("Other")


class ConfigurationItemQuerySet(SchoolScopedQuerySet["ConfigurationItem"]):
    """Items: `visible_to(user)` (the scoping rule) and `active()`."""

    def active(self) -> ConfigurationItemQuerySet:
        return self.filter(is_active=True)


class ConfigurationItem(models.Model):
    """One thing a change may touch, e.g. "ICT suite 2, 30 PCs" or "the MIS server"."""

    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="items")
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=32, choices=ItemKind.choices, default=ItemKind.OTHER)
    identifier = models.CharField(
        "identifier or asset tag", max_length=100, blank=True, help_text="Unique in the school."
    )
    location = models.CharField(max_length=200, blank=True)
    owner = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    users_affected = models.PositiveIntegerField(
        "users who depend on it", default=0, help_text="Roughly how many people use it."
    )
    notes = models.TextField(blank=True)
    is_active = models.BooleanField(default=True, help_text="Retired items stay in history.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ConfigurationItemQuerySet.as_manager()

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["school", "identifier"],
                condition=~Q(identifier=""),
                name="item_unique_identifier",
            ),
        ]
        indexes = [
            models.Index(fields=["school", "kind", "name"]),
            # The items page's order within a school.
            models.Index(fields=["school", "name", "id"], name="item_school_name"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.identifier})" if self.identifier else self.name

    def get_absolute_url(self) -> str:
        from django.urls import reverse

        return reverse("configuration:detail", args=[self.pk])

    @property
    def key(self) -> str:
        """How history and imports name the item: its identifier, or its name without one."""
        return self.identifier or self.name


class ImportState(models.TextChoices):
    """Where an item import is: checked by the worker, previewed, confirmed, applied."""

    QUEUED = lib_jobs.QUEUED, _("Waiting to be checked")
    CHECKING = lib_jobs.CHECKING, _("Being checked")
    PREVIEWED = lib_jobs.PREVIEWED, _("Checked")
    APPLYING = lib_jobs.APPLYING, _("Being imported")
    DONE = lib_jobs.DONE, _("Imported")
    FAILED = lib_jobs.FAILED, _("Not imported")


# The states in which the worker has (or will have) something to do: the page polls.
RUNNING_STATES = lib_jobs.RUNNING


class ItemImportQuerySet(SchoolScopedQuerySet["ItemImport"]):
    """Imports: `visible_to(user)` (the scoping rule) and `light()`, without the file."""

    def light(self) -> ItemImportQuerySet:
        """Everything but the file's text (up to `importer.MAX_BYTES`), for the pages."""
        return self.defer("text")


class ItemImport(lib_jobs.Upload):
    """One uploaded CSV file of items and what became of it.

    The upload stores the file (`queued`); the worker checks every row against the school's
    items (`checking`, with progress) and keeps the preview: the counts, the row errors and
    the first rows (`previewed`). The person who uploaded it confirms, and the worker
    applies it all-or-nothing (`applying`, with progress; then `done`), or says why not
    (`failed`, nothing written). See `importer` and `jobs`; the fields every such upload has
    (the preview's, the worker's claim and progress) are `lib.jobs.Upload`'s: its `errors`
    are the first `importer.KEPT_ERRORS`, each [row, column, message], its `preview` the
    first `importer.PREVIEW_ROWS` rows: number, action, cells, and the item matched.
    """

    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="item_imports")
    created_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    text = models.TextField(help_text="The file, as text.")
    state = models.CharField(max_length=16, choices=ImportState.choices, default=ImportState.QUEUED)
    created_count = models.PositiveIntegerField(default=0)
    updated_count = models.PositiveIntegerField(default=0)
    unchanged_count = models.PositiveIntegerField(default=0)
    columns = models.JSONField(default=list, blank=True)

    objects = ItemImportQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["school", "-created_at"]),
            models.Index(fields=["state", "lease_until"]),
        ]

    def __str__(self) -> str:
        return f"{self.file_name or 'CSV file'} into {self.school_id} ({self.state})"
