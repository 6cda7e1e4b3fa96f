from django.apps import AppConfig


class ScheduleConfig(AppConfig):
    name = "changedesk.schedule"
    label = "schedule"
    verbose_name = "Forward schedule of change and school calendar"
