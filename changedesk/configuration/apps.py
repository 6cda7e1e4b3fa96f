from django.apps import AppConfig


class ConfigurationConfig(AppConfig):
    name = "changedesk.configuration"
    label = "configuration"
    verbose_name = "Configuration items"
