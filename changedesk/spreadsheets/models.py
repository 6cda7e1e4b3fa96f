"""An uploaded change log and what became of it, and the columns a school's files use."""

from __future__ import annotations

from django.db import models

from changedesk.accounts.models import School, SchoolScopedQuerySet, Trust, User
from changedesk.lib import jobs as lib_jobs


class ImportState(models.TextChoices):
    """Where a change log import is: uploaded, checked by the worker, previewed, confirmed,
    applied by the worker."""

    UPLOADED = "uploaded", "Uploaded: choose the columns"
    QUEUED = lib_jobs.QUEUED, "Waiting to be checked"
    CHECKING = lib_jobs.CHECKING, "Being checked"
    PREVIEWED = lib_jobs.PREVIEWED, "Checked: ready to import"
    APPLYING = lib_jobs.APPLYING, "Being imported"
    DONE = lib_jobs.DONE, "Imported"
    FAILED = lib_jobs.FAILED, "Nothing imported"


class ChangeImportQuerySet(SchoolScopedQuerySet["ChangeImport"]):
    """Imports: `visible_to(user)` (the scoping rule) and `light()`, without the file."""

    def light(self) -> ChangeImportQuerySet:
        return self.defer("content")


class ChangeLogImport(lib_jobs.Upload):
    """What a school's and a trust's change log imports share (an abstract model: each keeps
    its own table): the uploader, the file, the state (`ImportState`), the header and the
    mapping of its columns, and how many RFCs it made."""

    created_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    content = models.BinaryField(help_text="The file as uploaded.")
    state = models.CharField(
        max_length=16, choices=ImportState.choices, default=ImportState.UPLOADED
    )
    # The header: its row (as a spreadsheet numbers it) and each column's name.
    header_row = models.PositiveIntegerField(default=1)
    columns = models.JSONField(default=list, blank=True)
    # Each column's field ("" where the column is left out), in the file's column order.
    mapping = models.JSONField(default=list, blank=True)
    created_count = models.PositiveIntegerField(default=0, help_text="RFCs made by the import.")

    class Meta:
        abstract = True
        ordering = ["-created_at", "-id"]

    def column_fields(self) -> dict[str, str]:
        """Each column (by its header) and its field, "" where it is left out."""
        return {name: field for name, field in zip(self.columns, self.mapping, strict=False)}


class ChangeImport(ChangeLogImport):
    """One uploaded change log (CSV or XLSX) and what became of it.

    The upload keeps the file, the columns its header row names and its first rows
    (`uploaded`); the person who uploaded it, the school's administrator, maps each column
    to a field of the RFC, and the worker checks every row (`queued`, `checking`, with
    progress), keeping the preview: the counts, the row errors, the first rows
    (`previewed`). They confirm, and the worker applies it all or nothing (`applying`, with
    progress; then `done`, the RFCs made), or nothing is written and it says why (`failed`).
    The file is dropped once it is done or failed. See `importer` and `jobs`; the fields every
    such upload has (the preview's, the worker's claim and progress) are `lib.jobs.Upload`'s:
    its `errors` are the first `importer.KEPT_ERRORS`, each [row, field, message], its
    `preview` the first `row_checks.PREVIEW_ROWS` rows: number, cells, and whether each has a
    problem.
    """

    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="+")
    first_number = models.PositiveIntegerField(null=True, blank=True)
    last_number = models.PositiveIntegerField(null=True, blank=True)

    objects = ChangeImportQuerySet.as_manager()

    class Meta(ChangeLogImport.Meta):
        indexes = [
            models.Index(fields=["school", "-created_at"], name="sheets_import_recent"),
            # What the worker looks for on every pass (`lib.jobs.waiting`).
            models.Index(fields=["state", "lease_until"], name="sheets_import_waiting"),
        ]

    def __str__(self) -> str:
        return f"{self.file_name or 'change log'} into {self.school_id} ({self.state})"


class RememberedColumns(models.Model):
    """The columns a change log used last time (an abstract model: a school's, a trust's):
    each header's name (as `columns.normal` writes it) and the field it was mapped to."""

    fields = models.JSONField(default=dict, blank=True)
    updated_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class ColumnMapping(RememberedColumns):
    """The columns a school's change log used last time: each header's name (as
    `columns.normal` writes it) and the RFC field it was mapped to, offered again with the
    next file that names those columns."""

    school = models.OneToOneField(School, on_delete=models.CASCADE, related_name="+")

    def __str__(self) -> str:
        return f"Columns of {self.school_id}'s change log"


class TrustChangeImport(ChangeLogImport):
    """One change log a trust kept for all its schools (CSV or XLSX), uploaded by the trust's
    administrator, and what became of it: as a school's `ChangeImport`, with a column naming
    each row's school (see `trust_importer`). Its states are `ImportState`'s; once done,
    `results` says what each school got: [{"school", "name", "count", "first", "last"}]."""

    trust = models.ForeignKey(Trust, on_delete=models.CASCADE, related_name="+")
    results = models.JSONField(default=list, blank=True)

    class Meta(ChangeLogImport.Meta):
        indexes = [
            models.Index(fields=["trust", "-created_at"], name="sheets_trust_import_recent"),
            models.Index(fields=["state", "lease_until"], name="sheets_trust_import_waiting"),
        ]

    def __str__(self) -> str:
        return f"{self.file_name or 'change log'} into trust {self.trust_id} ({self.state})"


class TrustColumnMapping(RememberedColumns):
    """The columns a trust's change log used last time (as `ColumnMapping`, per trust)."""

    trust = models.OneToOneField(Trust, on_delete=models.CASCADE, related_name="+")

    def __str__(self) -> str:
        return f"Columns of trust {self.trust_id}'s change log"
