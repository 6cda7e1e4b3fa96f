from django.apps import AppConfig


class ScheduleConfig(AppConfig):
    name = "changedesk.schedule"
    label = "schedule"
    verbose_name = "Forward schedule of change and school calendar"

    def ready(self) -> None:
        # Approvals weigh the window's conflicts; the workflow asks without importing us.
        from changedesk.changes.workflow import register_approval_check
        from changedesk.schedule.conflicts import approval_check

        register_approval_check(approval_check)
