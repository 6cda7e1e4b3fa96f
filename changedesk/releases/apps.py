from django.apps import AppConfig


class ReleasesConfig(AppConfig):
    name = "changedesk.releases"
    label = "releases"
    verbose_name = "Release management"

    def ready(self) -> None:
        # The one place release management plugs into the RFC: see releases/rfc.py.
        from changedesk.changes import extensions
        from changedesk.releases.rfc import EXTENSION

        extensions.register(EXTENSION)
