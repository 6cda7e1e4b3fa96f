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
        # A school joining or leaving a trust gets or loses the trust's calendar.
        from changedesk.accounts import trusts
        from changedesk.schedule import trust_calendar

        trusts.on_school_joined(trust_calendar.school_joined)
        trusts.on_school_left(trust_calendar.school_left)
