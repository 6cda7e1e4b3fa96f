"""An uploaded change log and what became of it, and the columns a school's files use."""

from __future__ import annotations

from django.db import models

from changedesk.accounts.models import School, SchoolScopedQuerySet, User


class ImportState(models.TextChoices):
    UPLOADED = "uploaded", "Uploaded: choose the columns"
    PREVIEWED = "previewed", "Checked: ready to import"
    DONE = "done", "Imported"
    FAILED = "failed", "Nothing imported"


class ChangeImportQuerySet(SchoolScopedQuerySet["ChangeImport"]):
    """Imports: `visible_to(user)` (the scoping rule) and `light()`, without the file."""

    def light(self) -> ChangeImportQuerySet:
        return self.defer("content")


class ChangeImport(models.Model):
    """One uploaded change log (CSV or XLSX) and what became of it.

    The upload keeps the file and the columns its header row names (`uploaded`); the school's
    administrator maps each column to a field of the RFC and every row is checked
    (`previewed`: the counts, the row errors, the first rows); then it is applied all or
    nothing (`done`, the RFCs made), or nothing is written and it says why (`failed`). The
    file is dropped once it is done or failed. See `importer`.
    """

    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="+")
    created_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    file_name = models.CharField(max_length=255, blank=True)
    size = models.PositiveIntegerField(default=0, help_text="The file's size in bytes.")
    content = models.BinaryField(help_text="The file as uploaded.")
    state = models.CharField(
        max_length=16, choices=ImportState.choices, default=ImportState.UPLOADED
    )
    # The header: its row (as a spreadsheet numbers it) and each column's name.
    header_row = models.PositiveIntegerField(default=1)
    columns = models.JSONField(default=list, blank=True)
    # Each column's field ("" where the column is left out), in the file's column order.
    mapping = models.JSONField(default=list, blank=True)
    rows = models.PositiveIntegerField(default=0, help_text="Data rows in the file.")
    error_count = models.PositiveIntegerField(default=0)
    # The first `importer.KEPT_ERRORS` row errors, each [row, field, message].
    errors = models.JSONField(default=list, blank=True)
    # The first `importer.PREVIEW_ROWS` rows: number, cells, and whether each has a problem.
    preview = models.JSONField(default=list, blank=True)
    created_count = models.PositiveIntegerField(default=0, help_text="RFCs made by the import.")
    first_number = models.PositiveIntegerField(null=True, blank=True)
    last_number = models.PositiveIntegerField(null=True, blank=True)
    failure = models.TextField(blank=True, help_text="Why nothing was imported.")
    created_at = models.DateTimeField(auto_now_add=True)
    checked_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    objects = ChangeImportQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["school", "-created_at"], name="sheets_import_recent")]

    def __str__(self) -> str:
        return f"{self.file_name or 'change log'} into {self.school_id} ({self.state})"


class ColumnMapping(models.Model):
    """The columns a school's change log used last time: each header's name (as
    `importer.normal` writes it) and the RFC field it was mapped to, offered again with the
    next file that names those columns."""

    school = models.OneToOneField(School, on_delete=models.CASCADE, related_name="+")
    fields = models.JSONField(default=dict, blank=True)
    updated_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"Columns of {self.school_id}'s change log"
