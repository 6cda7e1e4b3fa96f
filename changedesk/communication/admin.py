from django.contrib import admin

from changedesk.communication.models import CommunicationSettings, Notice


@admin.register(Notice)
class NoticeAdmin(admin.ModelAdmin[Notice]):
    list_display = ("title", "school", "kind", "status", "starts_at", "published_at")
    list_filter = ("status", "kind", "school")
    search_fields = ("title", "what")
    raw_id_fields = ("change", "published_by", "created_by")


@admin.register(CommunicationSettings)
class CommunicationSettingsAdmin(admin.ModelAdmin[CommunicationSettings]):
    list_display = ("school", "staff_list_address", "summary_frequency", "last_summary_at")
    readonly_fields = ("board_key", "last_summary_period_end", "last_summary_at")
