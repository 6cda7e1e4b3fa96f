"""The admin lists items for support staff. The RFCs' links to them are in the RFCs' admin."""

from django.contrib import admin

from changedesk.configuration.models import ConfigurationItem


@admin.register(ConfigurationItem)
class ConfigurationItemAdmin(admin.ModelAdmin[ConfigurationItem]):
    list_display = ["name", "identifier", "kind", "school", "location", "owner", "is_active"]
    list_filter = ["kind", "is_active", "school"]
    search_fields = ["name", "identifier", "location"]
    list_select_related = ["school", "owner"]
    raw_id_fields = ["owner"]
