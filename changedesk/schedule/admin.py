from django.contrib import admin

from changedesk.schedule.models import CalendarPeriod, MaintenanceWindow, SchoolCalendar


@admin.register(CalendarPeriod)
class CalendarPeriodAdmin(admin.ModelAdmin[CalendarPeriod]):
    list_display = ("name", "kind", "school", "starts_at", "ends_at", "is_hard")
    list_filter = ("kind", "is_hard", "school")
    search_fields = ("name", "source_uid")
    date_hierarchy = "starts_at"
    list_select_related = ("school",)


@admin.register(SchoolCalendar)
class SchoolCalendarAdmin(admin.ModelAdmin[SchoolCalendar]):
    list_display = ("school", "teaching_day_start", "teaching_day_end", "school_days")
    list_select_related = ("school",)


@admin.register(MaintenanceWindow)
class MaintenanceWindowAdmin(admin.ModelAdmin[MaintenanceWindow]):
    list_display = ("name", "school", "weekdays", "start_time", "end_time")
    list_filter = ("school",)
    list_select_related = ("school",)
