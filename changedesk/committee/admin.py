from django.contrib import admin

from changedesk.committee.models import AgendaItem, Meeting, ReminderSettings


class AgendaItemInline(admin.TabularInline[AgendaItem, Meeting]):
    model = AgendaItem
    extra = 0
    raw_id_fields = ("change", "decided_by", "decided_for")
    readonly_fields = ("decision", "decided_at", "decided_by", "decided_for")


@admin.register(Meeting)
class MeetingAdmin(admin.ModelAdmin[Meeting]):
    list_display = ("title", "school", "held_at", "status", "chair")
    list_filter = ("status", "school")
    raw_id_fields = ("chair", "created_by")
    filter_horizontal = ("members_present",)
    inlines = [AgendaItemInline]


@admin.register(ReminderSettings)
class ReminderSettingsAdmin(admin.ModelAdmin[ReminderSettings]):
    list_display = ("school", "nudges_enabled", "nudge_after_days")
