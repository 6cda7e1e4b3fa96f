from django.contrib import admin

from changedesk.notifications.models import OutboxMessage


@admin.register(OutboxMessage)
class OutboxMessageAdmin(admin.ModelAdmin[OutboxMessage]):
    list_display = ["template", "to_address", "status", "attempts", "next_attempt_at", "sent_at"]
    list_filter = ["status", "template"]
    search_fields = ["to_address", "key"]
    readonly_fields = ["key", "context", "created_at", "sent_at", "last_error"]
