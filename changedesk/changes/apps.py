from django.apps import AppConfig


class ChangesConfig(AppConfig):
    name = "changedesk.changes"
    label = "changes"
    verbose_name = "Requests for change"
