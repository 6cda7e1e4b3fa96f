from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "changedesk.notifications"
    label = "notifications"
    verbose_name = "Notifications"
