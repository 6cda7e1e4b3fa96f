from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from changedesk.patches.models import Patch, PatchEvent, Source, Vendor


class _ReadOnly:
    """What the door writes is not edited here: its history would no longer be true."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Vendor)
class VendorAdmin(_ReadOnly, admin.ModelAdmin[Vendor]):
    list_display = ("name", "school")
    list_filter = ("school",)
    search_fields = ("name",)


@admin.register(Source)
class SourceAdmin(_ReadOnly, admin.ModelAdmin[Source]):
    list_display = ("vendor", "kind", "location", "state", "checked_at", "failures")
    list_filter = ("kind", "state")


@admin.register(Patch)
class PatchAdmin(_ReadOnly, admin.ModelAdmin[Patch]):
    list_display = ("title", "reference", "school", "severity", "state", "release_date", "due_on")
    list_filter = ("state", "severity", "school")
    search_fields = ("title", "reference", "cves")


@admin.register(PatchEvent)
class PatchEventAdmin(_ReadOnly, admin.ModelAdmin[PatchEvent]):
    list_display = ("patch", "kind", "from_state", "to_state", "actor", "created_at")
    list_filter = ("kind",)
