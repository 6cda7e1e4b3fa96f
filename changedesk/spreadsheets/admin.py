"""The admin shows change log imports, the schools' and the trusts' (read-only, without the
file), and their remembered column mappings, for support staff."""

from typing import Any

from django.contrib import admin

from changedesk.spreadsheets.models import (
    ChangeImport,
    ColumnMapping,
    TrustChangeImport,
    TrustColumnMapping,
)


class ImportAdmin(admin.ModelAdmin[Any]):
    """An import, a school's or a trust's: the file itself (up to 10 MB) is not shown; what
    it did is, read-only."""

    exclude = ["content"]

    def get_readonly_fields(self, request: Any, obj: Any = None) -> list[str]:
        return [f.name for f in self.model._meta.get_fields() if f.concrete and f.name != "content"]

    def get_queryset(self, request: Any) -> Any:
        return super().get_queryset(request).defer("content")


@admin.register(ChangeImport)
class ChangeImportAdmin(ImportAdmin):
    list_display = ["file_name", "school", "created_by", "state", "rows", "created_at"]
    list_filter = ["state", "school"]
    list_select_related = ["school", "created_by"]


@admin.register(ColumnMapping)
class ColumnMappingAdmin(admin.ModelAdmin[ColumnMapping]):
    list_display = ["school", "updated_by", "updated_at"]
    list_select_related = ["school", "updated_by"]
    raw_id_fields = ["updated_by"]


@admin.register(TrustChangeImport)
class TrustChangeImportAdmin(ImportAdmin):
    list_display = ["file_name", "trust", "created_by", "state", "rows", "created_at"]
    list_filter = ["state", "trust"]
    list_select_related = ["trust", "created_by"]


@admin.register(TrustColumnMapping)
class TrustColumnMappingAdmin(admin.ModelAdmin[TrustColumnMapping]):
    list_display = ["trust", "updated_by", "updated_at"]
    list_select_related = ["trust", "updated_by"]
    raw_id_fields = ["updated_by"]
