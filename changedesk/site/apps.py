from django.apps import AppConfig


class SiteConfig(AppConfig):
    """The top of the project: what needs every app (the demo data, `changedesk serve`)."""

    name = "changedesk.site"
    label = "site"
    verbose_name = "Site"
