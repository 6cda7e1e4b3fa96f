from django.apps import AppConfig
from django.db.backends.signals import connection_created


class SiteConfig(AppConfig):
    """The top of the project: what needs every app (the demo data, `changedesk serve`)."""

    name = "changedesk.site"
    label = "site"
    verbose_name = "Site"

    def ready(self) -> None:
        from changedesk.lib.pgtimes import use_c_loader

        connection_created.connect(use_c_loader, dispatch_uid="changedesk.lib.pgtimes")
