from django.apps import AppConfig


class StandardConfig(AppConfig):
    name = "changedesk.standard"
    label = "standard"
    verbose_name = "Standard changes"

    def ready(self) -> None:
        # The one place standard changes plug into the RFC: see standard/rfc.py.
        from changedesk.changes import extensions
        from changedesk.standard.rfc import EXTENSION

        extensions.register(EXTENSION)
