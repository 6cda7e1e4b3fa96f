from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.db.models import QuerySet
from django.http import HttpRequest

from changedesk.accounts.forms import ThrottledAdminAuthenticationForm
from changedesk.accounts.models import (
    Delegation,
    Invitation,
    Membership,
    MembershipRole,
    School,
    SignInCounter,
    User,
)


class MembershipInline(admin.TabularInline[Membership, User]):
    model = Membership
    extra = 0
    fields = ["school"]
    show_change_link = True


@admin.register(User)
class UserAdmin(DjangoUserAdmin[User]):
    fieldsets = (
        *(DjangoUserAdmin.fieldsets or ()),
        ("changedesk", {"fields": ["job_title"]}),
    )
    list_display = ["username", "first_name", "last_name", "email", "job_title", "is_active"]
    inlines = [MembershipInline]


class MembershipRoleInline(admin.TabularInline[MembershipRole, Membership]):
    model = MembershipRole
    extra = 1


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin[Membership]):
    list_display = ["user", "school", "created_at"]
    list_filter = ["school"]
    search_fields = ["user__username", "user__first_name", "user__last_name", "school__name"]
    list_select_related = ["user", "school"]
    inlines = [MembershipRoleInline]


@admin.register(School)
class SchoolAdmin(admin.ModelAdmin[School]):
    list_display = ["name", "slug", "timezone", "peer_review_enabled"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}


@admin.register(Delegation)
class DelegationAdmin(admin.ModelAdmin[Delegation]):
    list_display = ["deputy", "approver", "school", "role", "starts_at", "ends_at", "revoked_at"]
    list_filter = ["school", "role"]
    list_select_related = ["deputy", "approver", "school"]


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin[Invitation]):
    list_display = ["email", "school", "created_at", "expires_at", "accepted_at", "declined_at"]
    list_filter = ["school"]
    search_fields = ["email"]
    list_select_related = ["school"]
    readonly_fields = ["created_at", "answered_by"]


# --- Sign-in throttling: the admin's own sign-in is throttled too, and a pause can be lifted. ---

admin.site.login_form = ThrottledAdminAuthenticationForm


@admin.register(SignInCounter)
class SignInCounterAdmin(admin.ModelAdmin[SignInCounter]):
    list_display = ["value", "kind", "failures", "window_ends", "locked_until"]
    list_filter = ["kind"]
    search_fields = ["value"]
    readonly_fields = ["kind", "value", "failures", "window_ends", "locked_until"]
    actions = ["unlock"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description="Unlock: let them try again now")
    def unlock(self, request: HttpRequest, queryset: QuerySet[SignInCounter]) -> None:
        cleared, _ = queryset.delete()
        self.message_user(request, f"{cleared} sign-in pause{'s' if cleared != 1 else ''} lifted.")
