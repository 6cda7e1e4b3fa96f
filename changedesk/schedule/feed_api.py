"""The caller's calendar feed links in the REST API: list, create (replacing the previous
link of the same feed) and revoke. Only ever the caller's own: anyone else's is a 404.

Included in `changedesk/api_urls.py` with `path("", include("changedesk.schedule.feed_api"))`.
"""

from __future__ import annotations

from typing import Any, cast

from django.utils.translation import gettext
from drf_spectacular.utils import (
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import SimpleRouter

from changedesk.accounts.api import SchoolField
from changedesk.accounts.models import School, User
from changedesk.lib.api import BAD_INPUT, RefuseUnknownFields
from changedesk.schedule import services
from changedesk.schedule.feeds import feed_url
from changedesk.schedule.models import FeedKind, FeedToken


@extend_schema_field({"type": "string", "nullable": True, "example": "greenfield"})
class FeedSchoolField(SchoolField):
    """A school's slug, among the caller's schools only."""


class FeedTokenSerializer(serializers.ModelSerializer[FeedToken]):
    """A secret link to an iCalendar feed. Anyone with `url` can read the feed."""

    school: serializers.SlugRelatedField[School] = serializers.SlugRelatedField(
        slug_field="slug",
        read_only=True,
        allow_null=True,
        help_text="The school's slug for a school's feed; null for your own feed.",
    )
    school_name = serializers.SerializerMethodField()
    url = serializers.SerializerMethodField()

    class Meta:
        model = FeedToken
        fields = ("id", "kind", "school", "school_name", "url", "created_at", "revoked_at")
        read_only_fields = fields

    def get_school_name(self, token: FeedToken) -> str | None:
        return token.school.name if token.school else None

    def get_url(self, token: FeedToken) -> str:
        """The feed's address, to paste into a calendar app."""
        return feed_url(token)


class FeedTokenCreateSerializer(RefuseUnknownFields, serializers.Serializer[Any]):
    """Which feed to make a link to: your own (`person`) or a school's (`school` + slug)."""

    kind = serializers.ChoiceField(choices=FeedKind.choices)
    school = FeedSchoolField(
        required=False, allow_null=True, help_text="The school's slug; only for kind=school."
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        school = attrs.get("school")
        if attrs["kind"] == FeedKind.SCHOOL and school is None:
            raise serializers.ValidationError({"school": [gettext("Give the school's slug.")]})
        if attrs["kind"] == FeedKind.PERSON and school is not None:
            raise serializers.ValidationError(
                {
                    "school": [
                        gettext("Your own feed covers all your schools: leave the school out.")
                    ]
                }
            )
        return attrs


@extend_schema_view(
    list=extend_schema(summary="Your calendar feed links that work (not revoked)"),
    create=extend_schema(
        summary="Make a new link to a feed; your previous link to it stops working",
        request=FeedTokenCreateSerializer,
        responses={201: FeedTokenSerializer, 400: BAD_INPUT},
    ),
)
class FeedTokenViewSet(mixins.ListModelMixin, viewsets.GenericViewSet[FeedToken]):
    serializer_class = FeedTokenSerializer
    lookup_url_kwarg = "id"
    lookup_value_regex = r"\d{1,18}"
    filterset_class = None
    filter_backends: list[Any] = []

    def get_queryset(self) -> Any:
        # Revoked links too, so that revoking twice is not a 404; the list leaves them out.
        return (
            FeedToken.objects.filter(user=self.request.user.pk)
            .select_related("school")
            .order_by("kind", "school__name", "-created_at", "-pk")
        )

    def filter_queryset(self, queryset: Any) -> Any:
        if self.action == "list":
            return queryset.filter(revoked_at__isnull=True)
        return queryset

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = FeedTokenCreateSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        token = services.create_feed_token(
            cast(User, request.user), data["kind"], data.get("school")
        )
        return Response(self.get_serializer(token).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Revoke a link: it stops working at once",
        request=None,
        responses={
            200: FeedTokenSerializer,
            404: OpenApiResponse(description="No such link of yours."),
        },
    )
    @action(detail=True, methods=["post"])
    def revoke(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        token = services.revoke_feed_token(self.get_object(), cast(User, request.user))
        return Response(self.get_serializer(token).data)


router = SimpleRouter()
router.register("feeds", FeedTokenViewSet, basename="feed")
urlpatterns = router.urls
