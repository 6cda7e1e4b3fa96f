from django.apps import AppConfig


class CommunicationConfig(AppConfig):
    name = "changedesk.communication"
    label = "communication"
    verbose_name = "Telling the school"

    def ready(self) -> None:
        # The one place communication plugs into the RFC: see communication/rfc.py.
        from changedesk.changes import extensions
        from changedesk.communication.rfc import EXTENSION

        extensions.register(EXTENSION)
