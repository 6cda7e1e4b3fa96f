"""Notices in the REST API: list and read (members), write and publish (communicators and
the RFC's originator). Included by `changedesk/api_urls.py` from `urlpatterns` here.

As in the core API, the viewset only parses and authorises; every write goes through
`communication.services`, whose `WorkflowError`s become 400/403/409 in
`changedesk.lib.api.exception_handler`. A notice the caller may not see is a 404.
"""

from __future__ import annotations

from typing import Any, cast

from django.utils.translation import gettext
from drf_spectacular.utils import (
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
    inline_serializer,
)
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import SimpleRouter

from changedesk.accounts.api import CallerMixin, SchoolField
from changedesk.accounts.models import School, User
from changedesk.changes.models import Change
from changedesk.communication import services
from changedesk.communication.filters import NoticeFilterSet
from changedesk.communication.models import Notice
from changedesk.lib.api import (
    BAD_INPUT,
    FORBIDDEN,
    AwareDateTimeField,
    QuickRepresentation,
    RefuseUnknownFields,
    UsernameField,
)
from changedesk.lib.converters import ID_REGEX

WRITABLE = services.EDITABLE_FIELDS
_DETAIL = inline_serializer("NoticeErrorDetail", {"detail": serializers.CharField()})
ERRORS = {
    400: BAD_INPUT,
    403: FORBIDDEN,
    404: OpenApiResponse(_DETAIL, description="No such notice among those you may see."),
    409: OpenApiResponse(_DETAIL, description="The notice is not in a state to do that."),
}


class ChangeField(serializers.PrimaryKeyRelatedField[Change]):
    """An RFC by id, among those the caller may see."""

    def get_queryset(self) -> Any:
        request: Request | None = self.context.get("request")
        if request is None:
            return Change.objects.none()
        return Change.objects.visible_to(request.user)


class NoticeSerializer(
    QuickRepresentation, RefuseUnknownFields, serializers.ModelSerializer[Notice]
):
    """A notice. On create give `school`, and `change` (an RFC's id) to draft it from the RFC:
    the fields you leave out are filled in from the RFC's impact section and planned window."""

    school = SchoolField(help_text="The school's slug; set on create only.")
    change = ChangeField(
        required=False,
        allow_null=True,
        help_text="The RFC this notice is about (its id), or null for a general notice.",
    )
    reference = serializers.SerializerMethodField()
    is_emergency = serializers.BooleanField(read_only=True)
    starts_at = AwareDateTimeField(required=False, allow_null=True)
    ends_at = AwareDateTimeField(required=False, allow_null=True)
    published_by = UsernameField(read_only=True, allow_null=True)
    created_by = UsernameField(read_only=True, allow_null=True)
    may_edit = serializers.SerializerMethodField()

    class Meta:
        model = Notice
        fields = (
            "id",
            "school",
            "change",
            "reference",
            "kind",
            *WRITABLE,
            "status",
            "is_emergency",
            "published_at",
            "published_by",
            "first_published_at",
            "created_by",
            "created_at",
            "updated_at",
            "may_edit",
        )
        read_only_fields = (
            "id",
            "kind",
            "status",
            "published_at",
            "first_published_at",
            "created_at",
            "updated_at",
        )
        # Drafted from the RFC when left out; the services say what a notice must have.
        extra_kwargs = {"title": {"required": False}}

    def get_reference(self, notice: Notice) -> str | None:
        return notice.change.reference if notice.change is not None else None

    def get_may_edit(self, notice: Notice) -> bool:
        actor: User | None = self.context.get("actor")
        return actor is not None and services.may_edit(actor, notice)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        change = attrs.get("change")
        school = attrs.get("school")
        if change is not None and school is not None and change.school_id != school.pk:
            raise serializers.ValidationError(
                {"change": [gettext("That RFC is of another school.")]}
            )
        return attrs


class NoticeEditSerializer(NoticeSerializer):
    """What a PATCH accepts: the words, and a general notice's dates."""

    school = SchoolField(read_only=True)
    change = ChangeField(read_only=True)


@extend_schema_view(
    list=extend_schema(
        summary="Notices of your schools",
        # The filters' parameters are read off the filter set (lib/schema.py).
    ),
    retrieve=extend_schema(summary="One notice"),
    create=extend_schema(
        summary="Write a notice, or draft one from an approved RFC",
        responses={201: NoticeSerializer, **ERRORS},
    ),
    partial_update=extend_schema(
        summary="Edit a notice (a communicator, or the RFC's originator)",
        request=NoticeEditSerializer,
        responses={200: NoticeSerializer, **ERRORS},
    ),
)
class NoticeViewSet(
    CallerMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet[Notice],
):
    serializer_class = NoticeSerializer
    lookup_value_regex = ID_REGEX  # a number beyond any id is no route (a 404)
    filterset_class = NoticeFilterSet
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self) -> Any:
        return (
            services.visible_notices(self.request.user)
            .select_related(
                "school", "change", "change__school", "change__originator", "published_by"
            )
            .select_related("created_by")
            .order_by("-created_at", "-id")
        )

    def _render(self, notice_id: int, status_code: int = status.HTTP_200_OK) -> Response:
        notice = self.get_queryset().get(pk=notice_id)
        return Response(self.get_serializer(notice).data, status=status_code)

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        school = cast(School, data.pop("school"))
        change = data.pop("change", None)
        if change is None:
            notice = services.create_notice(school, self._caller(), data)
            return self._render(notice.pk, status.HTTP_201_CREATED)
        notice, created = services.draft_from_change(change.pk, self._caller(), data)
        return self._render(notice.pk, status.HTTP_201_CREATED if created else status.HTTP_200_OK)

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        notice = self.get_object()
        serializer = NoticeEditSerializer(
            notice, data=request.data, partial=True, context=self.get_serializer_context()
        )
        serializer.is_valid(raise_exception=True)
        services.update_notice(notice.pk, self._caller(), dict(serializer.validated_data))
        return self._render(notice.pk)

    @extend_schema(
        summary="Publish: put it on the board and e-mail the staff list",
        request=None,
        responses={200: NoticeSerializer, **ERRORS},
    )
    @action(detail=True, methods=["post"])
    def publish(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        notice = self.get_object()
        services.publish_notice(notice.pk, self._caller())
        return self._render(notice.pk)

    @extend_schema(
        summary="Withdraw: take it off the board",
        request=None,
        responses={200: NoticeSerializer, **ERRORS},
    )
    @action(detail=True, methods=["post"])
    def withdraw(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        notice = self.get_object()
        services.withdraw_notice(notice.pk, self._caller())
        return self._render(notice.pk)


router = SimpleRouter()
router.register("notices", NoticeViewSet, basename="notice")

urlpatterns = router.urls
