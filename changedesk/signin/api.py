"""The sign-in rules in the REST API.

    /api/v1/signin/schools/{slug}/   GET (the school's members), PATCH (its administrator)
    /api/v1/signin/trusts/{slug}/    GET (the trust's people and its schools' members),
                                     PATCH (the trust's administrator, or an operator)

PATCH takes any of `domains`, `require_sso`, `create_accounts`. A school's answer also
shows its trust's rules (read only), and `requires_sso`: whether its members must use
single sign-on, by its own rule or its trust's (the stricter wins)."""

from __future__ import annotations

from typing import Any

from django.http import Http404
from django.urls import path
from django.utils.translation import gettext
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from changedesk.accounts.models import School, Trust
from changedesk.accounts.permissions import (
    is_school_admin,
    is_trust_admin,
    trust_roles,
    with_roles,
)
from changedesk.lib.api import BAD_INPUT, FORBIDDEN, RefuseUnknownFields
from changedesk.lib.errors import NotPermitted
from changedesk.signin import services
from changedesk.signin.models import SchoolSignIn, TrustSignIn

DOMAINS_HELP = (
    "The e-mail domains whose people may sign in with single sign-on. A domain another "
    "school or trust allows, outside this one's trust, is refused (400) unless an operator "
    "sets it; so is a public mail service's (gmail.com...) while `create_accounts` is on."
)


class SignInRulesSerializer(RefuseUnknownFields, serializers.Serializer[SchoolSignIn]):
    school = serializers.CharField(read_only=True, help_text="The school's slug.")
    domains = serializers.ListField(
        child=serializers.CharField(max_length=253),
        max_length=services.MAX_DOMAINS,
        help_text=DOMAINS_HELP,
    )
    require_sso = serializers.BooleanField(
        help_text="The school's own rule: members must sign in with single sign-on "
        "(superusers excepted)."
    )
    create_accounts = serializers.BooleanField(
        help_text="New people from one of the school's own domains get an account with no roles."
    )
    trust = serializers.CharField(
        read_only=True, allow_null=True, help_text="The slug of the school's trust, if any."
    )
    trust_domains = serializers.ListField(
        child=serializers.CharField(),
        read_only=True,
        help_text="The domains the trust allows in all its schools.",
    )
    trust_require_sso = serializers.BooleanField(
        read_only=True, help_text="The trust requires single sign-on in all its schools."
    )
    requires_sso = serializers.BooleanField(
        read_only=True,
        help_text="Whether the school's members must use single sign-on: by its own rule "
        "or its trust's.",
    )


class TrustSignInRulesSerializer(RefuseUnknownFields, serializers.Serializer[TrustSignIn]):
    trust = serializers.CharField(read_only=True, help_text="The trust's slug.")
    domains = serializers.ListField(
        child=serializers.CharField(max_length=253),
        max_length=services.MAX_DOMAINS,
        help_text=DOMAINS_HELP + " Allowed in every school of the trust.",
    )
    require_sso = serializers.BooleanField(
        help_text="Every member of the trust's schools, and the trust's people, must sign in "
        "with single sign-on (superusers excepted); a school cannot switch it off."
    )
    create_accounts = serializers.BooleanField(
        help_text="New people from one of the trust's domains get an account, a member with "
        "no roles of each of the trust's schools."
    )


NOT_FOUND = OpenApiResponse(description="No such school among yours.")
NO_TRUST = OpenApiResponse(description="No such trust among yours.")


def _shown(school: School, rules: services.Effective) -> dict[str, Any]:
    return {
        "school": school.slug,
        "domains": rules.domains,
        "require_sso": rules.own.require_sso,
        "create_accounts": rules.own.create_accounts,
        "trust": rules.trust.slug if rules.trust else None,
        "trust_domains": rules.trust_domains,
        "trust_require_sso": bool(rules.trust_rules and rules.trust_rules.require_sso),
        "requires_sso": rules.require_sso,
    }


def _shown_trust(trust: Trust, rules: TrustSignIn, domains: list[str]) -> dict[str, Any]:
    return {
        "trust": trust.slug,
        "domains": domains,
        "require_sso": rules.require_sso,
        "create_accounts": rules.create_accounts,
    }


class SchoolRulesView(APIView):
    def _school(self, request: Request, slug: str) -> tuple[School, Any]:
        """The school, among the caller's, and the caller with their roles read once."""
        user = with_roles(request.user)
        school = School.objects.for_user(user).filter(slug=slug).first()
        if school is None:
            raise Http404("No such school among yours.")
        return school, user

    @extend_schema(
        summary="A school's sign-in rules",
        responses={200: SignInRulesSerializer, 404: NOT_FOUND},
    )
    def get(self, request: Request, slug: str) -> Response:
        school, _ = self._school(request, slug)
        return Response(_shown(school, services.effective_rules(school)))

    @extend_schema(
        summary="Change a school's sign-in rules (its administrator)",
        request=SignInRulesSerializer,
        responses={200: SignInRulesSerializer, 400: BAD_INPUT, 403: FORBIDDEN, 404: NOT_FOUND},
    )
    def patch(self, request: Request, slug: str) -> Response:
        school, user = self._school(request, slug)
        if not is_school_admin(user, school):
            raise NotPermitted(
                gettext("Only a school administrator of %(school)s may do this.")
                % {"school": school.name}
            )
        serializer = SignInRulesSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        own = services.update_rules(school, user, **serializer.validated_data)
        return Response(_shown(school, services.effective_rules(school, own)))


class TrustRulesView(APIView):
    def _trust(self, request: Request, slug: str) -> tuple[Trust, Any]:
        """The trust, if the caller is one of its people, an operator or a member of one of
        its schools (else 404), and the caller with their roles read once."""
        user = with_roles(request.user)
        trust = Trust.objects.filter(slug=slug).first()
        if trust is None or not (
            user.is_superuser
            or trust_roles(user, trust)
            or School.objects.for_user(user).filter(trust=trust).exists()
        ):
            raise Http404("No such trust among yours.")
        return trust, user

    @extend_schema(
        summary="A trust's sign-in rules, for all its schools",
        responses={200: TrustSignInRulesSerializer, 404: NO_TRUST},
    )
    def get(self, request: Request, slug: str) -> Response:
        trust, _ = self._trust(request, slug)
        return Response(_shown_trust(trust, *services.trust_rules_of(trust)))

    @extend_schema(
        summary="Change a trust's sign-in rules (its administrator)",
        request=TrustSignInRulesSerializer,
        responses={
            200: TrustSignInRulesSerializer,
            400: BAD_INPUT,
            403: FORBIDDEN,
            404: NO_TRUST,
        },
    )
    def patch(self, request: Request, slug: str) -> Response:
        trust, user = self._trust(request, slug)
        if not is_trust_admin(user, trust):
            raise NotPermitted(
                gettext("Only an administrator of %(trust)s may do this.") % {"trust": trust.name}
            )
        serializer = TrustSignInRulesSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        rules, domains = services.update_trust_rules(trust, user, **serializer.validated_data)
        return Response(_shown_trust(trust, rules, domains))


urlpatterns = [
    path("signin/schools/<slug:slug>/", SchoolRulesView.as_view(), name="signin_school_rules"),
    path("signin/trusts/<slug:slug>/", TrustRulesView.as_view(), name="signin_trust_rules"),
]
