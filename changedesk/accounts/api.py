"""The caller's schools and the caller themself, in the REST API."""

from __future__ import annotations

from typing import Any, cast

from django.db.models import Prefetch
from drf_spectacular.utils import extend_schema, extend_schema_field, extend_schema_view
from rest_framework import mixins, serializers, viewsets
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from changedesk.accounts.choices import Role
from changedesk.accounts.models import Membership, School, User

ROLES_FIELD = serializers.ListField(child=serializers.ChoiceField(choices=Role.choices))


def _with_roles(user: Any) -> User:
    """The caller with their memberships, schools and roles, in three queries."""
    return User.objects.prefetch_related(
        Prefetch(
            "memberships", Membership.objects.select_related("school").prefetch_related("roles")
        )
    ).get(pk=user.pk)


class SchoolSerializer(serializers.ModelSerializer):
    roles = serializers.SerializerMethodField(help_text="The roles you hold in this school.")

    class Meta:
        model = School
        fields = (
            "slug",
            "name",
            "timezone",
            "peer_review_enabled",
            "final_approver_may_be_originator",
            "roles",
        )
        read_only_fields = fields

    @extend_schema_field(ROLES_FIELD)
    def get_roles(self, school: School) -> list[str]:
        actor: User | None = self.context.get("actor")
        return sorted(actor.roles_in(school), key=Role.values.index) if actor else []


class MembershipSerializer(serializers.Serializer):
    school = serializers.CharField(source="school.slug")
    school_name = serializers.CharField(source="school.name")
    roles = ROLES_FIELD

    def to_representation(self, instance: Membership) -> dict[str, Any]:
        return {
            "school": instance.school.slug,
            "school_name": instance.school.name,
            "roles": instance.role_list,
        }


class MeSerializer(serializers.ModelSerializer):
    display_name = serializers.CharField(read_only=True)
    memberships = MembershipSerializer(many=True, read_only=True)

    class Meta:
        model = User
        fields = ("username", "display_name", "email", "job_title", "memberships")
        read_only_fields = fields


@extend_schema_view(
    list=extend_schema(summary="Your schools, with the roles you hold in each"),
    retrieve=extend_schema(summary="One of your schools, with the roles you hold in it"),
)
class SchoolViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = SchoolSerializer
    lookup_field = "slug"
    lookup_value_regex = r"[-\w]+"
    filterset_class = None
    filter_backends: list[Any] = []

    def get_queryset(self) -> Any:
        return School.objects.for_user(cast(User, self.request.user)).order_by("name", "pk")

    def get_serializer_context(self) -> dict[str, Any]:
        context = dict(super().get_serializer_context())
        if self.request.user.is_authenticated:
            context["actor"] = _with_roles(self.request.user)
        return context


class MeView(APIView):
    """Who you are signed in as, and your place in each of your schools."""

    @extend_schema(summary="You, and your schools and roles", responses=MeSerializer)
    def get(self, request: Request) -> Response:
        return Response(MeSerializer(_with_roles(request.user)).data)
