"""The admin shows RFCs and their history read-only: state changes go through the workflow."""

from typing import Any, TypeVar

from django.contrib import admin
from django.db.models import Model
from django.http import HttpRequest

from changedesk.changes.models import Change, ChangeEvent, ChangeItem

_M = TypeVar("_M", bound=Model)


class ReadOnlyAdmin(admin.ModelAdmin[_M]):
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ChangeEventInline(admin.TabularInline[ChangeEvent, Change]):
    model = ChangeEvent
    extra = 0
    fields = readonly_fields = (
        "sequence", "kind", "actor", "on_behalf_of", "from_state", "to_state", "comment",
        "created_at",
    )  # fmt: skip
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Change)
class ChangeAdmin(ReadOnlyAdmin[Change]):
    list_display = ["__str__", "school", "state", "is_emergency", "originator", "planned_start"]
    list_filter = ["state", "is_emergency", "school"]
    search_fields = ["title", "description"]
    list_select_related = ["school", "originator"]
    inlines = [ChangeEventInline]


@admin.register(ChangeEvent)
class ChangeEventAdmin(ReadOnlyAdmin[ChangeEvent]):
    list_display = ["change", "sequence", "kind", "actor", "created_at"]
    list_filter = ["kind"]
    list_select_related = ["change", "actor"]


@admin.register(ChangeItem)
class ChangeItemAdmin(ReadOnlyAdmin[ChangeItem]):
    """Links are made by naming items on an RFC and noted on closing it, not here."""

    list_display = ["change", "item", "recorded_at", "recorded_by"]
    list_select_related = ["change", "item", "recorded_by"]
    readonly_fields = ["change", "item", "what_changed", "recorded_at", "recorded_by"]
