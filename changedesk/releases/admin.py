"""Release management in the operator's admin: to look, never to write. The services keep
the rules (one published policy, nothing out twice, seats counted under a lock, approvals
by the release manager) and the histories; an edit here would bypass them."""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from changedesk.releases.models import (
    Build,
    BuildEvent,
    BuildVersion,
    Checkout,
    Installation,
    InstallRequest,
    Licence,
    Release,
    ReleaseEvent,
    ReleasePolicy,
    Software,
)


class _ReadOnly:
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(ReleasePolicy)
class ReleasePolicyAdmin(_ReadOnly, admin.ModelAdmin[ReleasePolicy]):
    list_display = ("school", "version", "title", "state", "published_at")
    list_filter = ("state",)


@admin.register(Software)
class SoftwareAdmin(_ReadOnly, admin.ModelAdmin[Software]):
    list_display = ("title", "version", "kind", "school", "is_active")
    list_filter = ("kind", "is_active")
    search_fields = ("title", "vendor")


@admin.register(Checkout)
class CheckoutAdmin(_ReadOnly, admin.ModelAdmin[Checkout]):
    list_display = ("software", "taken_by", "taken_at", "due_back", "returned_at")


@admin.register(Licence)
class LicenceAdmin(_ReadOnly, admin.ModelAdmin[Licence]):
    list_display = ("product", "kind", "seats", "school", "expires_on", "is_active")
    list_filter = ("kind", "is_active")
    search_fields = ("product", "supplier", "order_reference")


@admin.register(Build)
class BuildAdmin(_ReadOnly, admin.ModelAdmin[Build]):
    list_display = ("name", "school", "service", "approved_version", "is_active")
    search_fields = ("name",)


@admin.register(BuildVersion)
class BuildVersionAdmin(_ReadOnly, admin.ModelAdmin[BuildVersion]):
    list_display = ("build", "number", "label", "state", "approved_by", "approved_at")
    list_filter = ("state",)


@admin.register(BuildEvent)
class BuildEventAdmin(_ReadOnly, admin.ModelAdmin[BuildEvent]):
    list_display = ("build", "version", "kind", "actor", "created_at")


@admin.register(Installation)
class InstallationAdmin(_ReadOnly, admin.ModelAdmin[Installation]):
    list_display = ("version", "item", "target", "installer", "state", "finished_at")
    list_filter = ("state",)


@admin.register(Release)
class ReleaseAdmin(_ReadOnly, admin.ModelAdmin[Release]):
    list_display = ("title", "school", "state", "planned_start", "planned_end")
    list_filter = ("state",)


@admin.register(ReleaseEvent)
class ReleaseEventAdmin(_ReadOnly, admin.ModelAdmin[ReleaseEvent]):
    list_display = ("release", "kind", "from_state", "to_state", "actor", "created_at")


@admin.register(InstallRequest)
class InstallRequestAdmin(_ReadOnly, admin.ModelAdmin[InstallRequest]):
    list_display = ("what", "school", "source", "state", "requested_by", "created_at")
    list_filter = ("state", "source")
