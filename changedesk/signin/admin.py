"""The operator's view of the schools' and trusts' sign-in rules: read only, as they are
changed on the school's or trust's page or through the API (`services.update_rules`,
`update_trust_rules`), which keep the domains in one form and the rules consistent."""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from changedesk.signin.models import (
    AllowedDomain,
    SchoolSignIn,
    SignInRecord,
    TrustDomain,
    TrustSignIn,
)


class ReadOnly:
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(SchoolSignIn)
class SchoolSignInAdmin(ReadOnly, admin.ModelAdmin[SchoolSignIn]):
    list_display = ["school", "require_sso", "create_accounts", "updated_at"]
    list_select_related = ["school"]


@admin.register(AllowedDomain)
class AllowedDomainAdmin(ReadOnly, admin.ModelAdmin[AllowedDomain]):
    list_display = ["domain", "school"]
    list_select_related = ["school"]
    search_fields = ["domain"]


@admin.register(TrustSignIn)
class TrustSignInAdmin(ReadOnly, admin.ModelAdmin[TrustSignIn]):
    list_display = ["trust", "require_sso", "create_accounts", "updated_at"]
    list_select_related = ["trust"]


@admin.register(TrustDomain)
class TrustDomainAdmin(ReadOnly, admin.ModelAdmin[TrustDomain]):
    list_display = ["domain", "trust"]
    list_select_related = ["trust"]
    search_fields = ["domain"]


@admin.register(SignInRecord)
class SignInRecordAdmin(ReadOnly, admin.ModelAdmin[SignInRecord]):
    list_display = ["user", "sso_since", "last_password_at"]
    list_select_related = ["user"]
