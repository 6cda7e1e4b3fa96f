from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from changedesk.standard.models import Raised, Template, TemplateEvent


class _ReadOnly:
    """What the door writes is not edited here: its history would no longer be true."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Template)
class TemplateAdmin(_ReadOnly, admin.ModelAdmin[Template]):
    list_display = ("title", "school", "state", "version", "review_date")
    list_filter = ("state", "school")
    search_fields = ("title", "description")


@admin.register(TemplateEvent)
class TemplateEventAdmin(_ReadOnly, admin.ModelAdmin[TemplateEvent]):
    list_display = ("template", "kind", "actor", "version", "created_at")
    list_filter = ("kind",)


@admin.register(Raised)
class RaisedAdmin(_ReadOnly, admin.ModelAdmin[Raised]):
    list_display = ("change", "template", "version", "created_at")
