"""The change advisory committee in the REST API: meetings (list, read, plan), who is
present, the agenda (read, build) and decisions. Included by `changedesk/api_urls.py`
from `urlpatterns` here.

As in the core API, the viewset only parses and authorises; every write goes through
`committee.services`, whose `WorkflowError`s become 400/403/409 in
`changedesk.lib.api.exception_handler`. A meeting of a school the caller is not a member
of is a 404.
"""

from __future__ import annotations

from typing import Any, cast

from django.db.models import Prefetch
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
from changedesk.committee import services
from changedesk.committee.choices import Decision
from changedesk.committee.filters import MeetingFilterSet
from changedesk.committee.models import AgendaItem, Meeting
from changedesk.lib.api import BAD_INPUT, FORBIDDEN, AwareDateTimeField, UsernameField
from changedesk.lib.converters import ID_REGEX
from changedesk.lib.errors import InvalidAction

_DETAIL = inline_serializer("MeetingErrorDetail", {"detail": serializers.CharField()})
ERRORS = {
    400: BAD_INPUT,
    403: FORBIDDEN,
    404: OpenApiResponse(_DETAIL, description="No such meeting among those you may see."),
    409: OpenApiResponse(_DETAIL, description="The meeting or the RFC is not in a state to."),
}


def _people(school: School, usernames: list[str], field: str) -> list[User]:
    """Active members of `school` by username; a 400 naming the ones that are not."""
    found = {
        u.username: u
        for u in User.objects.filter(
            username__in=usernames, is_active=True, memberships__school=school
        )
    }
    unknown = [name for name in usernames if name not in found]
    if unknown:
        raise InvalidAction(
            gettext("Some fields need correcting."),
            {
                field: gettext("Not members of %(school)s: %(people)s.")
                % {"school": school.name, "people": ", ".join(unknown)}
            },
        )
    return [found[name] for name in dict.fromkeys(usernames)]


class AgendaItemSerializer(serializers.ModelSerializer[AgendaItem]):
    change = serializers.IntegerField(source="change_id", read_only=True)
    reference = serializers.CharField(source="change.reference", read_only=True)
    title = serializers.CharField(source="change.title", read_only=True)
    state = serializers.CharField(source="change.state", read_only=True)
    decided_by = UsernameField(read_only=True, allow_null=True)
    decided_for = UsernameField(read_only=True, allow_null=True)
    decision = serializers.ChoiceField(
        choices=[("", "Not decided yet"), *Decision.choices],
        read_only=True,
        help_text="What the committee decided; empty while the item is not decided yet.",
    )

    class Meta:
        model = AgendaItem
        fields = (
            "id",
            "order",
            "change",
            "reference",
            "title",
            "state",
            "state_when_listed",
            "decision",
            "minute",
            "decided_at",
            "decided_by",
            "decided_for",
        )
        read_only_fields = fields


class MeetingSerializer(serializers.ModelSerializer[Meeting]):
    """A meeting of a school's change advisory committee. Plan one with `school`, `title`,
    `held_at` and `chair` (a member's username); a school administrator's task."""

    school = SchoolField(help_text="The school's slug; set on create only.")
    held_at = AwareDateTimeField()
    chair = serializers.CharField(
        max_length=150, help_text="The chair's username; a member of the school."
    )
    members_present = serializers.SerializerMethodField()
    created_by = UsernameField(read_only=True)
    may_run = serializers.SerializerMethodField()

    class Meta:
        model = Meeting
        fields: tuple[str, ...] = (
            "id",
            "school",
            "title",
            "held_at",
            "status",
            "chair",
            "members_present",
            "minutes",
            "created_by",
            "created_at",
            "updated_at",
            "may_run",
        )
        read_only_fields = ("id", "status", "created_at", "updated_at")

    def get_members_present(self, meeting: Meeting) -> list[str]:
        return [u.username for u in meeting.members_present.all()]

    def get_may_run(self, meeting: Meeting) -> bool:
        actor: User | None = self.context.get("actor")
        return actor is not None and services.may_run(actor, meeting)

    def to_representation(self, instance: Meeting) -> dict[str, Any]:
        data = super().to_representation(instance)
        data["chair"] = instance.chair.username
        return data


class MeetingDetailSerializer(MeetingSerializer):
    items = AgendaItemSerializer(many=True, read_only=True)

    class Meta(MeetingSerializer.Meta):
        fields = (*MeetingSerializer.Meta.fields, "items")


class AttendanceSerializer(serializers.Serializer[Any]):
    members_present = serializers.ListField(
        child=serializers.CharField(max_length=150),
        max_length=500,
        help_text="The usernames of everyone present; replaces the list recorded before.",
    )


class DecisionSerializer(serializers.Serializer[Any]):
    item = serializers.IntegerField(help_text="The agenda item's id.")
    decision = serializers.ChoiceField(choices=Decision.choices)
    minute = serializers.CharField(
        required=False, allow_blank=True, default="", help_text="Needed to return or reject."
    )
    version = serializers.IntegerField(
        required=False,
        min_value=1,
        help_text="The RFC's version you read; a 409 if it has changed since.",
    )


class AgendaSerializer(serializers.Serializer[Any]):
    added = serializers.IntegerField(read_only=True)
    items = AgendaItemSerializer(many=True, read_only=True)


@extend_schema_view(
    list=extend_schema(
        summary="Committee meetings of your schools",
        # The filters' parameters are read off the filter set (lib/schema.py).
    ),
    retrieve=extend_schema(summary="One meeting, with its agenda and decisions"),
    create=extend_schema(
        summary="Plan a meeting (a school administrator)",
        responses={201: MeetingDetailSerializer, **ERRORS},
    ),
)
class MeetingViewSet(
    CallerMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet[Meeting],
):
    serializer_class = MeetingSerializer
    lookup_value_regex = ID_REGEX  # a number beyond any id is no route (a 404)
    filterset_class = MeetingFilterSet

    def get_queryset(self) -> Any:
        queryset = (
            Meeting.objects.visible_to(cast(User, self.request.user))
            .select_related("school", "chair", "created_by")
            .prefetch_related("members_present")
            .order_by("-held_at", "-id")
        )
        if self.action != "list":
            items = AgendaItem.objects.select_related("change", "decided_by", "decided_for")
            queryset = queryset.prefetch_related(Prefetch("items", items))
        return queryset

    def get_serializer_class(self) -> Any:
        return MeetingSerializer if self.action == "list" else MeetingDetailSerializer

    def _render(self, meeting_id: int, status_code: int = status.HTTP_200_OK) -> Response:
        meeting = self.get_queryset().get(pk=meeting_id)
        serializer = MeetingDetailSerializer(meeting, context=self.get_serializer_context())
        return Response(serializer.data, status=status_code)

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        school = cast(School, data.pop("school"))
        data["chair"] = _people(school, [data["chair"]], "chair")[0]
        meeting = services.create_meeting(school, self._caller(), data)
        return self._render(meeting.pk, status.HTTP_201_CREATED)

    @extend_schema(
        summary="Record who is present",
        request=AttendanceSerializer,
        responses={200: MeetingDetailSerializer, **ERRORS},
    )
    @action(detail=True, methods=["post"])
    def attendees(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        meeting = self.get_object()
        serializer = AttendanceSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        names = serializer.validated_data["members_present"]
        people = _people(meeting.school, names, "members_present")
        services.record_attendance(meeting.pk, self._caller(), people)
        return self._render(meeting.pk)

    @extend_schema(
        methods=["get"], summary="The agenda", responses={200: AgendaItemSerializer(many=True)}
    )
    @extend_schema(
        methods=["post"],
        summary="Build the agenda from the RFCs awaiting approval now",
        request=None,
        responses={200: AgendaSerializer, **ERRORS},
    )
    # The whole agenda in one list, as it is returned (not paginated).
    @action(detail=True, methods=["get", "post"], pagination_class=None)
    def agenda(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        meeting = self.get_object()
        items = meeting.items.select_related(
            "change__school", "decided_by", "decided_for"
        ).order_by("order", "pk")
        if request.method == "GET":
            return Response(AgendaItemSerializer(items, many=True).data)
        added = services.build_agenda(meeting.pk, self._caller())
        return Response({"added": added, "items": AgendaItemSerializer(items, many=True).data})

    @extend_schema(
        summary="Record the committee's decision on an agenda item, and apply it to the RFC",
        description="Approve, return and reject go through the workflow on behalf of the "
        "approver named on the RFC, who must be recorded present; `deferred` changes only "
        "the minutes. Only the chair or a school administrator may record decisions.",
        request=DecisionSerializer,
        responses={200: AgendaItemSerializer, **ERRORS},
    )
    @action(detail=True, methods=["post"])
    def decide(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        meeting = self.get_object()
        serializer = DecisionSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        item = meeting.items.filter(pk=data["item"]).first()
        if item is None:
            raise InvalidAction(
                gettext("No such item."),
                {"item": gettext("Not an item of this meeting's agenda.")},
            )
        services.decide(
            item.pk,
            self._caller(),
            data["decision"],
            data["minute"],
            expected_version=data.get("version"),
        )
        item = AgendaItem.objects.select_related("change", "decided_by", "decided_for").get(
            pk=item.pk
        )
        return Response(AgendaItemSerializer(item).data)


router = SimpleRouter()
router.register("committee/meetings", MeetingViewSet, basename="meeting")

urlpatterns = router.urls
