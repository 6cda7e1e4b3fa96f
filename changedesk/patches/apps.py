from django.apps import AppConfig


class PatchesConfig(AppConfig):
    name = "changedesk.patches"
    label = "patches"
    verbose_name = "Patch management"

    def ready(self) -> None:
        # The one place patch management plugs into the RFC: see patches/rfc.py.
        from changedesk.changes import extensions
        from changedesk.patches.rfc import EXTENSION

        extensions.register(EXTENSION)
