"""Releases, install requests and the release figures in the REST API (mounted under
/api/v1/ by `releases/api/__init__.py`).

    /api/v1/releases/                          GET (ReleaseFilterSet), POST (define one)
    /api/v1/releases/{id}/                     GET, PATCH (title, description, manager,
                                               planned_start, planned_end)
    /api/v1/releases/{id}/act/                 POST {action, comment, reason}: build,
                                               release, install, close, cancel, reopen
    /api/v1/releases/{id}/history/             GET: its events, oldest first
    /api/v1/releases/{id}/builds/              POST {build}: add a build
    /api/v1/releases/{id}/builds/{build}/      DELETE: take it out
    /api/v1/releases/{id}/changes/             POST {change}: add an RFC
    /api/v1/releases/{id}/changes/{change}/    DELETE: take it out
    /api/v1/install-requests/                  GET (RequestFilterSet), POST (any member)
    /api/v1/install-requests/{id}/             GET
    /api/v1/install-requests/{id}/accept/      POST: an installer takes it on
    /api/v1/install-requests/{id}/decline/     POST {answer}: the requester is told
    /api/v1/install-requests/{id}/done/        POST {installation?, answer?}
    /api/v1/release-figures/                   GET ?school=&period=month|week&date=: the
                                               five figures, a row per school

The viewsets only parse and authorise; every write goes through `services.releases`,
`services.requests` or `workflow.perform`, whose `WorkflowError`s become 400/403 in
`changedesk.lib.api.exception_handler`. Anything of a school the caller is not a member of
is a 404.
"""

from __future__ import annotations

from typing import Any, cast

from django.utils.translation import gettext, gettext_noop
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
    inline_serializer,
)
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import SimpleRouter

from changedesk.accounts import permissions as accounts_permissions
from changedesk.accounts.api import CallerMixin, SchoolField
from changedesk.accounts.models import School, User, loaded_schools, seen_school_ids
from changedesk.lib.api import (
    BAD_INPUT,
    FORBIDDEN,
    AwareDateTimeField,
    QuickRepresentation,
    RefuseUnknownFields,
    UsernameField,
)
from changedesk.lib.loading import attach
from changedesk.releases import measurements, workflow
from changedesk.releases.filters.releases import ReleaseFilterSet, RequestFilterSet
from changedesk.releases.models import (
    InstallRequest,
    InstallRequestQuerySet,
    Release,
    ReleaseChange,
    ReleaseEvent,
    ReleaseQuerySet,
)
from changedesk.releases.services import releases as services
from changedesk.releases.services import requests as request_services

MAX_ID = 2**63 - 1
ID = r"\d{1,18}"
_DETAIL = inline_serializer("ReleaseErrorDetail", {"detail": serializers.CharField()})
RELEASE_NOT_FOUND = OpenApiResponse(_DETAIL, description="No such release among your schools.")
REQUEST_NOT_FOUND = OpenApiResponse(
    _DETAIL, description="No such install request among your schools."
)
SCHOOL_NOT_FOUND = OpenApiResponse(_DETAIL, description="No such school among yours.")


def _errors(not_found: OpenApiResponse) -> dict[int, OpenApiResponse]:
    return {400: BAD_INPUT, 403: FORBIDDEN, 404: not_found}


def _absolute(context: dict[str, Any], path: str) -> str:
    request: Request | None = context.get("request")
    return request.build_absolute_uri(path) if request is not None else path


# --- Releases. ---

STATE_TEXT = "One of define, build, release, install, closed, cancelled."
ACTIONS_FIELD = serializers.ListField(
    child=serializers.CharField(),
    help_text="What you may do to it now: the act endpoint's `action` names, of "
    + ", ".join(workflow.ACTIONS)
    + ".",
)


class ManagerField(UsernameField):
    """A release manager of the release's school, by username (checked by the service)."""

    def to_internal_value(self, data: Any) -> Any:
        name = super().to_internal_value(data)
        user = User.objects.filter(username=name, is_active=True).first()
        if user is None:
            raise serializers.ValidationError(gettext("No such person."))
        return user


class ReleaseSerializer(
    QuickRepresentation, RefuseUnknownFields, serializers.ModelSerializer[Release]
):
    """A release and where it is in FITS's steps. On create `school` is required."""

    read_only_messages = {
        "state": "This field is read-only: use the act endpoint to move the release on.",
        "builds": "This field is read-only: use the builds endpoint.",
        "changes": "This field is read-only: use the changes endpoint.",
    }

    url = serializers.SerializerMethodField(help_text="The release's page.")
    school = SchoolField(help_text="The school's slug; set on create only.")
    state = serializers.CharField(read_only=True, help_text=f"Its step. {STATE_TEXT}")
    manager = ManagerField(
        required=False, allow_null=True, help_text="A release manager of the school (username)."
    )
    planned_start = AwareDateTimeField(required=False, allow_null=True)
    planned_end = AwareDateTimeField(required=False, allow_null=True)
    builds = serializers.SerializerMethodField(help_text="The ids of its builds.")
    changes = serializers.SerializerMethodField(help_text="The ids of the RFCs that carry it.")
    actions = serializers.SerializerMethodField()

    class Meta:
        model = Release
        fields: tuple[str, ...] = (
            "id",
            "url",
            "school",
            "title",
            "description",
            "state",
            "manager",
            "planned_start",
            "planned_end",
            "builds",
            "changes",
            "created_at",
            "updated_at",
            "closed_at",
            "actions",
        )
        read_only_fields = ("id", "created_at", "updated_at", "closed_at")
        extra_kwargs = {"title": {"required": True}}

    def get_url(self, release: Release) -> str:
        return _absolute(cast(dict[str, Any], self.context), release.get_absolute_url())

    def get_builds(self, release: Release) -> list[int]:
        return list(getattr(release, "_build_ids", []))

    def get_changes(self, release: Release) -> list[int]:
        return list(getattr(release, "_change_ids", []))

    @extend_schema_field(ACTIONS_FIELD)
    def get_actions(self, release: Release) -> list[str]:
        actor = self.context.get("actor")
        return [row.action for row in workflow.available_actions(actor, release)]


class ReleaseEditSerializer(ReleaseSerializer):
    school = SchoolField(read_only=True)

    class Meta(ReleaseSerializer.Meta):
        extra_kwargs = {"title": {"required": False}}


class ReleaseActSerializer(RefuseUnknownFields, serializers.Serializer[Any]):
    """A step of a release; the workflow checks the rest."""

    action = serializers.ChoiceField(
        choices=workflow.ACTIONS,
        error_messages={
            "invalid_choice": "Unknown action “{input}”. Use one of: "
            + ", ".join(workflow.ACTIONS)
            + "."
        },
    )
    comment = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        max_length=5000,
        help_text="Kept in its history.",
    )
    reason = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        max_length=5000,
        help_text="For cancel: why (required).",
    )


class ReleaseEventSerializer(QuickRepresentation, serializers.ModelSerializer[ReleaseEvent]):
    """One step in a release's life."""

    actor = UsernameField(read_only=True, allow_null=True)
    kind = serializers.CharField(read_only=True, help_text="What happened (an action).")
    from_state = serializers.CharField(read_only=True, help_text=f"Before. {STATE_TEXT}")
    to_state = serializers.CharField(read_only=True, help_text=f"After. {STATE_TEXT}")

    class Meta:
        model = ReleaseEvent
        fields = ("kind", "from_state", "to_state", "actor", "comment", "data", "created_at")
        read_only_fields = fields


class BuildIdSerializer(RefuseUnknownFields, serializers.Serializer[Any]):
    build = serializers.IntegerField(min_value=1, max_value=MAX_ID, help_text="The build's id.")
    comment = serializers.CharField(required=False, allow_blank=True, default="", max_length=5000)


class ChangeIdSerializer(RefuseUnknownFields, serializers.Serializer[Any]):
    change = serializers.IntegerField(min_value=1, max_value=MAX_ID, help_text="The RFC's id.")
    comment = serializers.CharField(required=False, allow_blank=True, default="", max_length=5000)


def load_releases(rows: list[Release], actor: User | None) -> None:
    """Their school (known), manager, and the ids of their builds and RFCs: a query each."""
    attach(rows, "school", known=loaded_schools(actor))
    attach(rows, "manager")
    ids = [r.pk for r in rows]
    builds: dict[int, list[int]] = {pk: [] for pk in ids}
    through = Release.builds.through.objects.filter(release_id__in=ids)
    for release_id, build_id in through.order_by("release_id", "build_id").values_list(
        "release_id", "build_id"
    ):
        builds[release_id].append(build_id)
    changes: dict[int, list[int]] = {pk: [] for pk in ids}
    links = ReleaseChange.objects.filter(release_id__in=ids).order_by("release_id", "change_id")
    for release_id, change_id in links.values_list("release_id", "change_id"):
        changes[release_id].append(change_id)
    for row in rows:
        row._build_ids = builds[row.pk]  # type: ignore[attr-defined]
        row._change_ids = changes[row.pk]  # type: ignore[attr-defined]


class _Rows(CallerMixin):
    missing = gettext_noop("No such row among your schools.")
    lookup_url_kwarg = "id"
    lookup_value_regex = ID

    def load(self, rows: list[Any]) -> None:
        raise NotImplementedError

    def paged_schools(self) -> list[int] | None:
        return seen_school_ids(self._caller())

    def paged_rows(self, rows: list[Any]) -> None:
        self.load(rows)

    def get_object(self) -> Any:
        found = list(self.get_queryset().filter(pk=int(self.kwargs["id"]))[:1])
        if not found:
            raise NotFound(gettext(self.missing))
        self.load(found)
        return found[0]

    def _render(self, pk: int, status_code: int = status.HTTP_200_OK) -> Response:
        row = self.get_queryset().get(pk=pk)
        self.load([row])
        return Response(self.get_serializer(row).data, status=status_code)


def _path_id(name: str, what: str) -> OpenApiParameter:
    return OpenApiParameter(name, OpenApiTypes.INT, OpenApiParameter.PATH, description=what)


@extend_schema_view(
    list=extend_schema(summary="Releases of your schools, newest first, filtered"),
    create=extend_schema(
        summary="Define a release (a release manager or school administrator)",
        request=ReleaseSerializer,
        responses={201: ReleaseSerializer, 400: BAD_INPUT, 403: FORBIDDEN},
    ),
    retrieve=extend_schema(
        summary="One release", responses={200: ReleaseSerializer, 404: RELEASE_NOT_FOUND}
    ),
    partial_update=extend_schema(
        summary="Edit a release: title, description, manager, planned window",
        request=ReleaseEditSerializer,
        responses={200: ReleaseSerializer, **_errors(RELEASE_NOT_FOUND)},
    ),
)
class ReleaseViewSet(
    _Rows,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet[Release],
):
    serializer_class = ReleaseSerializer
    filterset_class = ReleaseFilterSet
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    missing = gettext_noop("No such release among your schools.")

    def get_queryset(self) -> ReleaseQuerySet:
        # The index (school, -created_at, -id) serves it, school by school.
        actor = self._actor() or self.request.user
        return Release.objects.visible_to(actor).order_by("-created_at", "-id")

    def load(self, rows: list[Release]) -> None:
        load_releases(rows, self._actor())

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        school = cast(School, data.pop("school"))
        release = services.create_release(school, self._caller(), data)
        return self._render(release.pk, status.HTTP_201_CREATED)

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        release = self.get_object()
        serializer = ReleaseEditSerializer(
            release, data=request.data, partial=True, context=self.get_serializer_context()
        )
        serializer.is_valid(raise_exception=True)
        services.update_release(release.pk, self._caller(), dict(serializer.validated_data))
        return self._render(release.pk)

    @extend_schema(
        summary="Take a release a step: build, release, install, close, cancel, reopen",
        description="A release manager or school administrator. build needs a build; release "
        "needs every build documented; install needs a planned window; cancel needs a "
        "reason; reopen goes back to the step it was closed or cancelled in.",
        request=ReleaseActSerializer,
        responses={200: ReleaseSerializer, **_errors(RELEASE_NOT_FOUND)},
    )
    @action(detail=True, methods=["post"], url_path="act")
    def act(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        release = self.get_object()
        serializer = ReleaseActSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        workflow.perform(
            release.pk,
            data["action"],
            self._caller(),
            {"reason": data["reason"]},
            comment=data["comment"],
        )
        return self._render(release.pk)

    @extend_schema(
        summary="The release's history, oldest first",
        responses={200: ReleaseEventSerializer(many=True), 404: RELEASE_NOT_FOUND},
        filters=False,
    )
    @action(detail=True, methods=["get"], pagination_class=None, filterset_class=None)
    def history(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        release = self.get_object()
        events = release.events.select_related("actor").order_by("created_at", "id")
        return Response(ReleaseEventSerializer(events, many=True).data)

    @extend_schema(
        summary="Add a build of the school (while the release is defined or being built)",
        request=BuildIdSerializer,
        responses={200: ReleaseSerializer, **_errors(RELEASE_NOT_FOUND)},
        filters=False,
    )
    @action(
        detail=True,
        methods=["post"],
        url_path="builds",
        pagination_class=None,
        filterset_class=None,
    )
    def builds(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        release = self.get_object()
        serializer = BuildIdSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        services.add_build(release.pk, self._caller(), data["build"], data["comment"])
        return self._render(release.pk)

    @extend_schema(
        summary="Take a build out of the release",
        parameters=[_path_id("build", "The build's id.")],
        request=None,
        responses={200: ReleaseSerializer, **_errors(RELEASE_NOT_FOUND)},
        filters=False,
    )
    @action(
        detail=True,
        methods=["delete"],
        url_path=rf"builds/(?P<build>{ID})",
        pagination_class=None,
        filterset_class=None,
    )
    def remove_build(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        release = self.get_object()
        services.remove_build(release.pk, self._caller(), int(kwargs["build"]))
        return self._render(release.pk)

    @extend_schema(
        summary="Add an RFC of the school, still open and in no other release",
        request=ChangeIdSerializer,
        responses={200: ReleaseSerializer, **_errors(RELEASE_NOT_FOUND)},
        filters=False,
    )
    @action(
        detail=True,
        methods=["post"],
        url_path="changes",
        pagination_class=None,
        filterset_class=None,
    )
    def changes(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        release = self.get_object()
        serializer = ChangeIdSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        services.add_change(release.pk, self._caller(), data["change"], data["comment"])
        return self._render(release.pk)

    @extend_schema(
        summary="Take an RFC out of the release",
        parameters=[_path_id("change", "The RFC's id.")],
        request=None,
        responses={200: ReleaseSerializer, **_errors(RELEASE_NOT_FOUND)},
        filters=False,
    )
    @action(
        detail=True,
        methods=["delete"],
        url_path=rf"changes/(?P<change>{ID})",
        pagination_class=None,
        filterset_class=None,
    )
    def remove_change(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        release = self.get_object()
        services.remove_change(release.pk, self._caller(), int(kwargs["change"]))
        return self._render(release.pk)


# --- Install requests. ---


class InstallRequestSerializer(
    QuickRepresentation, RefuseUnknownFields, serializers.ModelSerializer[InstallRequest]
):
    """A request to install something. On create `school` and `what` are required; `change`
    names the RFC it is for (infrastructure), else it is one person's."""

    url = serializers.SerializerMethodField(help_text="The request's page.")
    school = SchoolField(help_text="The school's slug.")
    software = serializers.IntegerField(
        source="software_id",
        required=False,
        allow_null=True,
        min_value=1,
        max_value=MAX_ID,
        help_text="A piece of the software library (id).",
    )
    build = serializers.IntegerField(
        source="build_id",
        required=False,
        allow_null=True,
        min_value=1,
        max_value=MAX_ID,
        help_text="A build (id).",
    )
    item = serializers.IntegerField(
        source="item_id",
        required=False,
        allow_null=True,
        min_value=1,
        max_value=MAX_ID,
        help_text="A configuration item (id): where.",
    )
    change = serializers.IntegerField(
        source="change_id",
        required=False,
        allow_null=True,
        min_value=1,
        max_value=MAX_ID,
        help_text="The RFC it is for (id).",
    )
    state = serializers.CharField(read_only=True, help_text="open, accepted, done or declined.")
    requested_by = UsernameField(read_only=True)
    assigned_to = UsernameField(read_only=True, allow_null=True)

    class Meta:
        model = InstallRequest
        fields: tuple[str, ...] = (
            "id",
            "url",
            "school",
            "source",
            "what",
            "software",
            "build",
            "where",
            "item",
            "reason",
            "needed_by",
            "change",
            "state",
            "requested_by",
            "assigned_to",
            "answer",
            "created_at",
            "updated_at",
            "closed_at",
        )
        read_only_fields = ("id", "source", "answer", "created_at", "updated_at", "closed_at")

    def get_url(self, found: InstallRequest) -> str:
        return _absolute(cast(dict[str, Any], self.context), found.get_absolute_url())


class DeclineSerializer(RefuseUnknownFields, serializers.Serializer[Any]):
    answer = serializers.CharField(max_length=5000, help_text="Why: the requester reads it.")


class DoneSerializer(RefuseUnknownFields, serializers.Serializer[Any]):
    installation = serializers.IntegerField(
        required=False,
        allow_null=True,
        min_value=1,
        max_value=MAX_ID,
        help_text="The installation that did it (id), finished as installed.",
    )
    answer = serializers.CharField(required=False, allow_blank=True, default="", max_length=5000)


@extend_schema_view(
    list=extend_schema(summary="Install requests of your schools, newest first, filtered"),
    create=extend_schema(
        summary="Ask for an installation (any member): the school's installers are told",
        request=InstallRequestSerializer,
        responses={201: InstallRequestSerializer, 400: BAD_INPUT, 403: FORBIDDEN},
    ),
    retrieve=extend_schema(
        summary="One install request",
        responses={200: InstallRequestSerializer, 404: REQUEST_NOT_FOUND},
    ),
)
class InstallRequestViewSet(
    _Rows,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet[InstallRequest],
):
    serializer_class = InstallRequestSerializer
    filterset_class = RequestFilterSet
    http_method_names = ["get", "post", "head", "options"]
    missing = gettext_noop("No such install request among your schools.")

    def get_queryset(self) -> InstallRequestQuerySet:
        actor = self._actor() or self.request.user
        return InstallRequest.objects.visible_to(actor).order_by("-created_at", "-id")

    def load(self, rows: list[InstallRequest]) -> None:
        attach(rows, "school", known=loaded_schools(self._actor()))
        attach(rows, "requested_by", "assigned_to")

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        school = cast(School, data.pop("school"))
        values = {k.removesuffix("_id"): v for k, v in data.items() if v not in (None, "")}
        found = request_services.request_install(school, self._caller(), values)
        return self._render(found.pk, status.HTTP_201_CREATED)

    @extend_schema(
        summary="Take the request on (an installer or release manager)",
        request=None,
        responses={200: InstallRequestSerializer, **_errors(REQUEST_NOT_FOUND)},
        filters=False,
    )
    @action(detail=True, methods=["post"], pagination_class=None, filterset_class=None)
    def accept(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        found = self.get_object()
        request_services.accept(found.pk, self._caller())
        return self._render(found.pk)

    @extend_schema(
        summary="Decline the request with an answer (the requester is told)",
        request=DeclineSerializer,
        responses={200: InstallRequestSerializer, **_errors(REQUEST_NOT_FOUND)},
        filters=False,
    )
    @action(detail=True, methods=["post"], pagination_class=None, filterset_class=None)
    def decline(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        found = self.get_object()
        serializer = DeclineSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        request_services.decline(found.pk, self._caller(), serializer.validated_data["answer"])
        return self._render(found.pk)

    @extend_schema(
        summary="Mark the request installed (the requester is told)",
        request=DoneSerializer,
        responses={200: InstallRequestSerializer, **_errors(REQUEST_NOT_FOUND)},
        filters=False,
    )
    @action(detail=True, methods=["post"], pagination_class=None, filterset_class=None)
    def done(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        found = self.get_object()
        serializer = DoneSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        request_services.done(
            found.pk, self._caller(), data.get("installation"), answer=data["answer"]
        )
        return self._render(found.pk)


# --- The release figures. ---


# A day of 2000 to 2099 that every calendar has (the server takes days to 2100-12-31).
DAY_PATTERN = (
    r"^20\d{2}-(?:(?:0[1-9]|1[0-2])-(?:0[1-9]|1\d|2[0-8])"
    r"|(?:0[13-9]|1[0-2])-(?:29|30)|(?:0[13578]|1[02])-31)$"
)


@extend_schema_field({"type": "string", "pattern": DAY_PATTERN})
class FigureDayField(serializers.DateField):
    """A day, YYYY-MM-DD; in the schema, as a pattern of the days it takes."""


class FiguresQuerySerializer(RefuseUnknownFields, serializers.Serializer[Any]):
    school = serializers.CharField(
        required=False,
        max_length=100,
        trim_whitespace=False,
        help_text="A school's slug (default: each of yours).",
    )
    period = serializers.ChoiceField(
        choices=measurements.PERIODS,
        required=False,
        default="month",
        help_text="month (default) or week.",
    )
    date = FigureDayField(
        required=False,
        help_text="A day in the period (default: today, at the school), from "
        f"{measurements.EARLIEST.isoformat()} to {measurements.LATEST.isoformat()}.",
    )

    def validate_date(self, value: Any) -> Any:
        if not measurements.sane_day(value):
            raise serializers.ValidationError(measurements.DAYS_TEXT)
        return value


FIGURES_ROW = inline_serializer(
    "ReleaseFigures",
    {
        "school": serializers.CharField(help_text="The school's slug."),
        "period": serializers.CharField(help_text="month or week."),
        "start": serializers.DateField(help_text="The period's first day."),
        "end": serializers.DateField(help_text="The day after its last."),
        "installed": serializers.IntegerField(
            help_text="Builds installed: installations finished as installed in the period."
        ),
        "created": serializers.IntegerField(
            help_text="Builds created: build procedure versions approved in the period."
        ),
        "documented": serializers.IntegerField(
            help_text="Active builds documented (a version approved) at the period's end."
        ),
        "services": serializers.IntegerField(help_text="Active services of the school."),
        "undocumented": serializers.IntegerField(
            help_text="Services with no active build documented at the period's end."
        ),
    },
    many=True,
)


class ReleaseFiguresViewSet(CallerMixin, viewsets.GenericViewSet[School]):
    filterset_class = None
    filter_backends: list[Any] = []
    pagination_class = None

    def get_queryset(self) -> Any:
        return School.objects.none()

    @extend_schema(
        summary="FITS's five release figures for a week or month, a row per school",
        description="Every school of yours (or the one named), counted together: the same few "
        "queries however many schools.",
        parameters=[FiguresQuerySerializer],
        responses={200: FIGURES_ROW, 400: BAD_INPUT, 404: SCHOOL_NOT_FOUND},
        filters=False,
    )
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        query = FiguresQuerySerializer(data=request.query_params.dict())
        query.is_valid(raise_exception=True)
        params = query.validated_data
        schools = accounts_permissions.schools(self._caller())
        if params.get("school"):
            schools = [s for s in schools if s.slug == params["school"]]
            if not schools:
                raise NotFound(gettext("No such school among yours."))
        rows = [
            {"school": school.slug, "period": params["period"], "start": start, "end": end, **found}
            for school, start, end, found in measurements.figures_by_school(
                schools, params["period"], params.get("date")
            )
        ]
        return Response(
            [
                {**row, "start": row["start"].isoformat(), "end": row["end"].isoformat()}
                for row in rows
            ]
        )


router = SimpleRouter()
router.register("releases", ReleaseViewSet, basename="release")
router.register("install-requests", InstallRequestViewSet, basename="install-request")
router.register("release-figures", ReleaseFiguresViewSet, basename="release-figures")

urlpatterns = router.urls
