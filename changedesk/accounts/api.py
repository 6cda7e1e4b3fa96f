"""The caller's schools and the caller themself, in the REST API."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from drf_spectacular.utils import extend_schema, extend_schema_field, extend_schema_view
from rest_framework import mixins, serializers, viewsets
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from changedesk.accounts.choices import Language, Role
from changedesk.accounts.models import Membership, School, User
from changedesk.accounts.permissions import roles, with_roles
from changedesk.lib.api import SlugAmongTheirs

ROLES_FIELD = serializers.ListField(child=serializers.ChoiceField(choices=Role.choices))


# --- Shared by every app's API: the caller with their roles, and a school by slug. ---


if TYPE_CHECKING:
    from rest_framework.generics import GenericAPIView

    _ViewBase = GenericAPIView[Any]
else:
    _ViewBase = object


class CallerMixin(_ViewBase):
    # For viewsets: the caller with their memberships and roles, fetched once per request
    # (so permission checks on every row of a list cost no query), and given to serializers
    # as the `actor` in their context. (A comment, not a docstring: the API schema would
    # show a docstring as the description of every endpoint that uses the mixin.)

    def get_serializer_context(self) -> dict[str, Any]:
        return {**super().get_serializer_context(), "actor": self._actor()}

    def _actor(self) -> User | None:
        if not hasattr(self, "_actor_cache"):
            user = self.request.user
            self._actor_cache: User | None = with_roles(user) if user.is_authenticated else None
        return self._actor_cache

    def _caller(self) -> User:
        actor = self._actor()
        assert actor is not None  # IsAuthenticated has run
        return actor


@extend_schema_field({"type": "string", "minLength": 1})
class SchoolField(SlugAmongTheirs[School]):
    """A school by slug, among the caller's schools only: others are as if they did not exist."""

    default_error_messages = {
        "does_not_exist": "You are not a member of a school called “{value}”.",
        "invalid": "Give a school's slug.",
    }

    def get_queryset(self) -> Any:
        request: Request | None = self.context.get("request")
        if request is None:
            return School.objects.none()
        return School.objects.for_user(cast(User, request.user))


class SchoolSerializer(serializers.ModelSerializer[School]):
    roles = serializers.SerializerMethodField(help_text="The roles you hold in this school.")

    class Meta:
        model = School
        fields = (
            "slug",
            "name",
            "timezone",
            "peer_review_enabled",
            "final_approver_may_be_originator",
            "decision_links_enabled",
            "normal_lead_days",
            "standard_lead_hours",
            "language",
            "bilingual_notices",
            "roles",
        )
        read_only_fields = fields

    @extend_schema_field(ROLES_FIELD)
    def get_roles(self, school: School) -> list[str]:
        actor: User | None = self.context.get("actor")
        return sorted(roles(actor, school), key=Role.values.index) if actor else []


class MembershipSerializer(serializers.Serializer[Membership]):
    school = serializers.CharField(source="school.slug")
    school_name = serializers.CharField(source="school.name")
    roles = ROLES_FIELD

    def to_representation(self, instance: Membership) -> dict[str, Any]:
        return {
            "school": instance.school.slug,
            "school_name": instance.school.name,
            "roles": instance.role_list,
        }


class MeSerializer(serializers.ModelSerializer[User]):
    display_name = serializers.CharField(read_only=True)
    # Empty while the person follows their school's language (the schema says so too).
    language = serializers.ChoiceField(
        choices=Language.choices,
        allow_blank=True,
        read_only=True,
        help_text="The language you chose; empty: your school's.",
    )
    memberships = MembershipSerializer(many=True, read_only=True)

    class Meta:
        model = User
        fields = ("username", "display_name", "email", "job_title", "language", "memberships")
        read_only_fields = fields


@extend_schema_view(
    list=extend_schema(summary="Your schools, with the roles you hold in each"),
    retrieve=extend_schema(summary="One of your schools, with the roles you hold in it"),
)
class SchoolViewSet(
    CallerMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet[School]
):
    serializer_class = SchoolSerializer
    lookup_field = "slug"
    lookup_value_regex = r"[-\w]+"
    filterset_class = None
    filter_backends: list[Any] = []

    def get_queryset(self) -> Any:
        return School.objects.for_user(cast(User, self.request.user)).order_by("name", "pk")


class MeView(APIView):
    """Who you are signed in as, and your place in each of your schools."""

    @extend_schema(summary="You, and your schools and roles", responses=MeSerializer)
    def get(self, request: Request) -> Response:
        return Response(MeSerializer(with_roles(request.user)).data)
