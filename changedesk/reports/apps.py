from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "changedesk.reports"
    label = "reports"
    verbose_name = "Reports"
