from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "changedesk.notifications"
    label = "notifications"
    verbose_name = "Notifications"

    def ready(self) -> None:
        # `accounts` (password resets, invitations) queues mail through the outbox.
        from changedesk.accounts import mail
        from changedesk.notifications.outbox import enqueue_to

        mail.use_queue(enqueue_to)
