from django.apps import AppConfig


class CommunicationConfig(AppConfig):
    name = "changedesk.communication"
    label = "communication"
    verbose_name = "Telling the school"
