"""The adoption in the operator's admin: to look, never to write. The services keep the
rules (a go-live date two weeks ahead, answers only from participants after the pilot
closes, go-live only once it has) and the append-only records; an edit here would bypass
them."""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from changedesk.adoption.models import Adoption, ChecklistReview, PilotAnswer, TrainingConfirmation


class _ReadOnly:
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Adoption)
class AdoptionAdmin(_ReadOnly, admin.ModelAdmin[Adoption]):
    list_display = ("school", "go_live_on", "pilot", "live_at")
    list_select_related = ("school", "pilot")
    raw_id_fields = ("pilot", "introduction_notice")


@admin.register(TrainingConfirmation)
class TrainingConfirmationAdmin(_ReadOnly, admin.ModelAdmin[TrainingConfirmation]):
    list_display = ("school", "user", "role", "confirmed_at")
    list_filter = ("role",)
    list_select_related = ("school", "user")


@admin.register(PilotAnswer)
class PilotAnswerAdmin(_ReadOnly, admin.ModelAdmin[PilotAnswer]):
    list_display = ("school", "change", "user", "answered_at")
    list_select_related = ("school", "change", "user")


@admin.register(ChecklistReview)
class ChecklistReviewAdmin(_ReadOnly, admin.ModelAdmin[ChecklistReview]):
    list_display = ("school", "reviewed_on", "next_due", "reviewed_by")
    list_select_related = ("school", "reviewed_by")
