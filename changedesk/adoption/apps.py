from django.apps import AppConfig


class AdoptionConfig(AppConfig):
    name = "changedesk.adoption"
    label = "adoption"
    verbose_name = "Bringing FITS into a school"
