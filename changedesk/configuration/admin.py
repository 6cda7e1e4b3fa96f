"""The admin lists items for support staff. The RFCs' links to them are in the RFCs' admin."""

from typing import Any

from django.contrib import admin

from changedesk.configuration.models import ConfigurationItem, ItemImport


@admin.register(ConfigurationItem)
class ConfigurationItemAdmin(admin.ModelAdmin[ConfigurationItem]):
    list_display = ["name", "identifier", "kind", "school", "location", "owner", "is_active"]
    list_filter = ["kind", "is_active", "school"]
    search_fields = ["name", "identifier", "location"]
    list_select_related = ["school", "owner"]
    raw_id_fields = ["owner"]


@admin.register(ItemImport)
class ItemImportAdmin(admin.ModelAdmin[ItemImport]):
    list_display = ["file_name", "school", "created_by", "state", "rows", "created_at"]
    list_filter = ["state", "school"]
    list_select_related = ["school", "created_by"]
    raw_id_fields = ["created_by"]
    # The file itself may be tens of megabytes: not shown.
    exclude = ["text"]
    readonly_fields = [
        f.name for f in ItemImport._meta.get_fields() if f.concrete and f.name != "text"
    ]

    def get_queryset(self, request: Any) -> Any:
        return super().get_queryset(request).defer("text")
