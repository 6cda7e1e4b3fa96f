from django.apps import AppConfig


class ScheduleConfig(AppConfig):
    name = "changedesk.schedule"
    label = "schedule"
    verbose_name = "Forward schedule of change and school calendar"

    def ready(self) -> None:
        # The one place the schedule plugs into the RFC: see schedule/rfc.py.
        from changedesk.changes import extensions
        from changedesk.schedule.rfc import EXTENSION

        extensions.register(EXTENSION)
