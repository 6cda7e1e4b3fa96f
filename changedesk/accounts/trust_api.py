"""Trusts in the REST API: `/api/v1/trusts/` (the caller's trusts, their schools and
people), a new school in a trust, and a person's trust roles. Seen by whoever holds a role
in the trust (404 for anyone else); the writes need its administrator (403)."""

from __future__ import annotations

from collections import defaultdict
from typing import Any, cast

from django.db.models import Prefetch
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import exceptions, mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from changedesk.accounts import trusts as trust_services
from changedesk.accounts.choices import TrustRole
from changedesk.accounts.models import School, Trust, TrustMembership, User
from changedesk.accounts.permissions import is_trust_admin, trust_roles
from changedesk.lib.api import RefuseUnknownFields, StrictCharField

TRUST_ROLES_FIELD = serializers.ListField(
    child=serializers.ChoiceField(choices=TrustRole.choices), allow_empty=True
)


class TrustSchoolSerializer(serializers.ModelSerializer[School]):
    class Meta:
        model = School
        fields = ("slug", "name", "timezone")


class TrustSerializer(serializers.ModelSerializer[Trust]):
    schools = serializers.SerializerMethodField(help_text="The trust's schools, by name.")
    people = serializers.SerializerMethodField(
        help_text="Everyone holding a trust role, with their trust roles."
    )
    roles = serializers.SerializerMethodField(help_text="The trust roles you hold.")

    class Meta:
        model = Trust
        fields = ("slug", "name", "roles", "schools", "people")
        read_only_fields = fields

    def get_schools(self, trust: Trust) -> list[dict[str, Any]]:
        return [TrustSchoolSerializer(school).data for school in trust.schools.all()]

    def get_people(self, trust: Trust) -> list[dict[str, Any]]:
        held: dict[User, list[str]] = defaultdict(list)
        for row in trust.memberships.all():
            held[row.user].append(row.role)
        return [
            {
                "username": person.username,
                "display_name": person.display_name,
                "roles": [r.value for r in TrustRole if r.value in roles],
            }
            for person, roles in sorted(held.items(), key=lambda p: p[0].display_name)
        ]

    def get_roles(self, trust: Trust) -> list[str]:
        mine = {row.role for row in trust.memberships.all() if row.user_id == self.context["uid"]}
        return [r.value for r in TrustRole if r.value in mine]


class TrustRolesSerializer(RefuseUnknownFields, serializers.Serializer[Any]):
    roles = TRUST_ROLES_FIELD


class NewSchoolSerializer(RefuseUnknownFields, serializers.Serializer[Any]):
    name = StrictCharField(max_length=200)
    slug = serializers.SlugField(max_length=60)
    timezone = StrictCharField(max_length=64, default="Europe/London")
    admin_email = serializers.EmailField(
        required=False,
        default="",
        allow_blank=True,
        help_text="Invited to administer the school (a school's administrator is its own).",
    )

    def validate_slug(self, value: str) -> str:
        if School.objects.filter(slug=value).exists():
            raise serializers.ValidationError(gettext("A school with this slug exists already."))
        return value


@extend_schema_view(
    list=extend_schema(summary="Your trusts, with their schools and people"),
    retrieve=extend_schema(summary="One of your trusts, with its schools and people"),
)
class TrustViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet[Trust]
):
    serializer_class = TrustSerializer
    lookup_field = "slug"
    lookup_value_regex = r"[-\w]+"
    filterset_class = None
    filter_backends: list[Any] = []
    pagination_class = None

    def get_queryset(self) -> Any:
        user = cast(User, self.request.user)
        found = Trust.objects.order_by("name", "pk").prefetch_related(
            Prefetch("schools", School.objects.order_by("name")),
            Prefetch("memberships", TrustMembership.objects.select_related("user")),
        )
        return found if user.is_superuser else found.filter(memberships__user=user).distinct()

    def get_serializer_context(self) -> dict[str, Any]:
        return {**super().get_serializer_context(), "uid": self.request.user.pk}

    def _administered(self) -> Trust:
        trust: Trust = self.get_object()
        if not is_trust_admin(self.request.user, trust):
            raise exceptions.PermissionDenied(
                gettext("Only an administrator of %(trust)s may do this.") % {"trust": trust.name}
            )
        return trust

    @extend_schema(
        summary="Add a new school to the trust (its administrator)",
        request=NewSchoolSerializer,
        responses={201: TrustSchoolSerializer},
    )
    @action(detail=True, methods=["post"], url_path="schools")
    def add_school(self, request: Request, slug: str) -> Response:
        trust = self._administered()
        given = NewSchoolSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        school = trust_services.create_school(
            trust, **given.validated_data, invited_by=cast(User, request.user)
        )
        return Response(TrustSchoolSerializer(school).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Set a person's trust roles (its administrator); none, or DELETE: they leave",
        request=TrustRolesSerializer,
        responses={200: TrustRolesSerializer, 204: None},
    )
    @action(
        detail=True,
        methods=["put", "delete"],
        url_path=r"people/(?P<username>[\w.@+-]+)",
    )
    def person(self, request: Request, slug: str, username: str) -> Response:
        trust = self._administered()
        person = get_object_or_404(
            trust_services.known_people(trust, cast(User, request.user)),
            username=username,
            is_active=True,
        )
        if request.method == "DELETE":
            if not trust_roles(person, trust):
                raise exceptions.NotFound(gettext("That person holds no role in this trust."))
            trust_services.set_trust_roles(trust, person, [])
            return Response(status=status.HTTP_204_NO_CONTENT)
        given = TrustRolesSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        roles = trust_services.set_trust_roles(trust, person, given.validated_data["roles"])
        return Response({"roles": roles})
