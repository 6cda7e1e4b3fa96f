"""The admin lists items for support staff; the RFCs' links to them are shown read-only."""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from changedesk.configuration.models import ChangeItem, ConfigurationItem


class ChangeItemInline(admin.TabularInline):
    model = ChangeItem
    extra = 0
    fields = readonly_fields = ("change", "what_changed", "recorded_at", "recorded_by")
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(ConfigurationItem)
class ConfigurationItemAdmin(admin.ModelAdmin):
    list_display = ["name", "identifier", "kind", "school", "location", "owner", "is_active"]
    list_filter = ["kind", "is_active", "school"]
    search_fields = ["name", "identifier", "location"]
    list_select_related = ["school", "owner"]
    raw_id_fields = ["owner"]
    inlines = [ChangeItemInline]


@admin.register(ChangeItem)
class ChangeItemAdmin(admin.ModelAdmin):
    """Links are made by naming items on an RFC and noted on closing it, not here."""

    list_display = ["change", "item", "recorded_at", "recorded_by"]
    list_select_related = ["change", "item", "recorded_by"]
    readonly_fields = ["change", "item", "what_changed", "recorded_at", "recorded_by"]

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
