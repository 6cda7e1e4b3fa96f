from django.apps import AppConfig


class CommitteeConfig(AppConfig):
    name = "changedesk.committee"
    label = "committee"
    verbose_name = "Change advisory committee"

    def ready(self) -> None:
        # The one place the committee plugs into the RFC: see committee/rfc.py.
        from changedesk.changes import extensions
        from changedesk.committee.rfc import EXTENSION

        extensions.register(EXTENSION)
