from django.apps import AppConfig


class CommitteeConfig(AppConfig):
    name = "changedesk.committee"
    label = "committee"
    verbose_name = "Change advisory committee"
