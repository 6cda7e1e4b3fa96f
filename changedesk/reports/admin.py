"""The reports app in Django's admin: report settings (editable) and the archive (read only:
a frozen snapshot and its decisions are never changed)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from changedesk.reports.models import Decision, ReportSettings, Snapshot


@admin.register(ReportSettings)
class ReportSettingsAdmin(admin.ModelAdmin[ReportSettings]):
    list_display = ("school", "frequency", "updated_at")
    list_select_related = ("school",)


class ReadOnly(admin.ModelAdmin[Any]):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Snapshot)
class SnapshotAdmin(ReadOnly):
    list_display = ("school", "period", "start", "end", "frozen_at")
    list_select_related = ("school",)


@admin.register(Decision)
class DecisionAdmin(ReadOnly):
    list_display = ("snapshot", "decided_on", "decided_by", "recorded_at")
