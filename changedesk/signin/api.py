"""/api/v1/signin/schools/{slug}/: a school's sign-in rules, read by its members and changed
by its administrator (PATCH: any of the fields)."""

from __future__ import annotations

from typing import Any

from django.http import Http404
from django.urls import path
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from changedesk.accounts.models import School
from changedesk.accounts.permissions import is_school_admin, with_roles
from changedesk.lib.api import BAD_INPUT, FORBIDDEN, RefuseUnknownFields
from changedesk.lib.errors import NotPermitted
from changedesk.signin import services
from changedesk.signin.models import SchoolSignIn


class SignInRulesSerializer(RefuseUnknownFields, serializers.Serializer[SchoolSignIn]):
    school = serializers.CharField(read_only=True, help_text="The school's slug.")
    domains = serializers.ListField(
        child=serializers.CharField(max_length=253),
        max_length=services.MAX_DOMAINS,
        help_text="The e-mail domains whose people may sign in with single sign-on.",
    )
    require_sso = serializers.BooleanField(
        help_text="Members must sign in with single sign-on (superusers excepted)."
    )
    create_accounts = serializers.BooleanField(
        help_text="New people from an allowed domain get an account with no roles."
    )


NOT_FOUND = OpenApiResponse(description="No such school among yours.")


def _shown(school: School, rules: SchoolSignIn, domains: list[str]) -> dict[str, Any]:
    return {
        "school": school.slug,
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
        return Response(_shown(school, *services.rules_of(school)))

    @extend_schema(
        summary="Change a school's sign-in rules (its administrator)",
        request=SignInRulesSerializer,
        responses={200: SignInRulesSerializer, 400: BAD_INPUT, 403: FORBIDDEN, 404: NOT_FOUND},
    )
    def patch(self, request: Request, slug: str) -> Response:
        school, user = self._school(request, slug)
        if not is_school_admin(user, school):
            raise NotPermitted(f"Only a school administrator of {school.name} may do this.")
        serializer = SignInRulesSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        rules, domains = services.update_rules(school, user, **serializer.validated_data)
        return Response(_shown(school, rules, domains))


urlpatterns = [
    path("signin/schools/<slug:slug>/", SchoolRulesView.as_view(), name="signin_school_rules"),
]
