from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin

from changedesk.accounts.models import Delegation, Membership, MembershipRole, School, User


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
