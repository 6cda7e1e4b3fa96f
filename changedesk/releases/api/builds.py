"""Build procedures and installations in the REST API.

    /api/v1/builds/                          GET (members; BuildFilterSet), POST (writers)
    /api/v1/builds/{id}/                     GET, PATCH (writers)
    /api/v1/builds/{id}/versions/            GET: its versions, newest first; POST: a new
                                             draft, copying the latest version's parts
    /api/v1/builds/{id}/history/             GET: its events, oldest first
    /api/v1/build-versions/{id}/             GET, PATCH (a draft or returned version)
    /api/v1/build-versions/{id}/submit/      POST: send for approval
    /api/v1/build-versions/{id}/approve/     POST {comment}: a release manager, not its author
    /api/v1/build-versions/{id}/return/      POST {reason}: back for more work
    /api/v1/installations/                   GET (InstallationFilterSet); POST {version, item |
                                             target, release, change, request}: start one
    /api/v1/installations/{id}/              GET; PATCH {checklist, results, notes} while in
                                             progress (its installer or a release manager)
    /api/v1/installations/{id}/finish/       POST: installed or failed
    /api/v1/running-builds/?item=<id>        GET: what each item runs now

Writers are build developers and release managers; installers (and release managers)
install. The viewsets only parse and authorise; every write goes through
`releases.services.builds`, whose `WorkflowError`s become 400/403 in
`changedesk.lib.api.exception_handler`. Anything of a school the caller is not a member of
is a 404.
"""

from __future__ import annotations

from typing import Any, cast

from django.db.models import QuerySet
from django.utils.translation import gettext, gettext_noop
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
from changedesk.accounts.models import School, loaded_schools, member_schools
from changedesk.lib.api import (
    BAD_INPUT,
    FORBIDDEN,
    QuickRepresentation,
    RefuseUnknownFields,
    StrictCharField,
)
from changedesk.lib.loading import attach
from changedesk.releases.api.common import MAX_ID, BySchool, Rows, not_found
from changedesk.releases.choices import CriterionResult
from changedesk.releases.filters.builds import (
    BuildFilterSet,
    InstallationFilterSet,
    RunningBuildFilterSet,
)
from changedesk.releases.models import (
    Build,
    BuildEvent,
    BuildQuerySet,
    BuildVersion,
    Installation,
    InstallationQuerySet,
    RunningBuild,
)
from changedesk.releases.services import builds as services

BUILD_NOT_FOUND = not_found("build")
VERSION_NOT_FOUND = not_found("version")
INSTALLATION_NOT_FOUND = not_found("installation")


def _errors(not_found: OpenApiResponse) -> dict[int, OpenApiResponse]:
    return {400: BAD_INPUT, 403: FORBIDDEN, 404: not_found}


def _id_field(help_text: str, **kwargs: Any) -> serializers.IntegerField:
    return serializers.IntegerField(min_value=1, max_value=MAX_ID, help_text=help_text, **kwargs)


def _lines(help_text: str) -> serializers.ListField:
    return serializers.ListField(
        child=StrictCharField(max_length=services.LONGEST_LINE),
        max_length=services.MOST_LINES,
        help_text=help_text,
    )


# --- Builds. ---


class BuildSerializer(QuickRepresentation, RefuseUnknownFields, serializers.ModelSerializer[Build]):
    """A service's build. On create `school` and `name` are required. `documented`: it has
    an approved version (`approved_version`, the one in force)."""

    read_only_messages = {
        "approved_version": "This field is read-only: approve a version at "
        "/api/v1/build-versions/{id}/approve/.",
    }

    school = SchoolField()
    service = _id_field(
        "The service's configuration item id (an item of kind service of the school).",
        source="service_id",
        required=False,
        allow_null=True,
    )
    service_name = serializers.CharField(
        source="service.name", read_only=True, default=None, allow_null=True
    )
    documented = serializers.BooleanField(source="is_documented", read_only=True)
    approved_version = serializers.IntegerField(
        source="approved_version_id", read_only=True, allow_null=True
    )
    approved_number = serializers.IntegerField(
        source="approved_version.number", read_only=True, default=None, allow_null=True
    )
    url = serializers.SerializerMethodField()

    class Meta:
        model = Build
        fields = (
            "id",
            "url",
            "school",
            "name",
            "service",
            "service_name",
            "description",
            "is_active",
            "documented",
            "approved_version",
            "approved_number",
            "created_at",
            "updated_at",
        )
        read_only_fields = ("id", "created_at", "updated_at")
        # The service says a name is taken, as a field error of `name`.
        validators: list[Any] = []

    def get_url(self, build: Build) -> str:
        return build.get_absolute_url()

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if "service_id" in attrs:
            attrs["service"] = attrs.pop("service_id")
        return attrs


class BuildEditSerializer(BuildSerializer):
    read_only_messages = {
        **BuildSerializer.read_only_messages,
        "school": "A build stays in the school it was added to.",
    }
    school = SchoolField(read_only=True)


@extend_schema_field(
    {
        "type": "array",
        "maxItems": services.MOST_COMPONENTS,
        "items": {
            "type": "object",
            "properties": {
                "software": {"type": ["integer", "null"], "minimum": 1},
                "title": {"type": "string", "maxLength": 200},
                "version": {"type": "string", "maxLength": 100},
            },
            "additionalProperties": False,
        },
        "description": "Design details: each a piece of the school's library by id "
        "(`{software}`: its title and version are copied when saved) or typed "
        "(`{title, version}`).",
        "example": [{"software": 4}, {"title": "Printer driver", "version": "5.1"}],
    }
)
class ComponentsField(serializers.Field[Any, Any, list[Any], Any]):
    """Checked by the service (which resolves the library pieces)."""

    def to_representation(self, value: Any) -> list[Any]:
        return list(value)

    def to_internal_value(self, data: Any) -> list[Any]:
        if not isinstance(data, list):
            raise serializers.ValidationError(gettext("Give a list of components."))
        return data


class BuildVersionSerializer(
    QuickRepresentation, RefuseUnknownFields, serializers.ModelSerializer[BuildVersion]
):
    """One version of a build procedure in FITS's four parts: `components` (design
    details), `steps` (installation details, numbered in order), `stability_tests` and
    `criteria` (acceptance criteria). Written while a draft or returned."""

    read_only_messages = {
        "state": "This field is read-only: use submit, approve or return.",
    }

    build = serializers.IntegerField(source="build_id", read_only=True)
    components = ComponentsField(required=False)
    steps = _lines("Installation steps, in order; each a non-empty text.")
    criteria = _lines("Acceptance criteria; each a non-empty text.")
    created_by = serializers.CharField(
        source="created_by.username", read_only=True, default=None, allow_null=True
    )
    approved_by = serializers.CharField(
        source="approved_by.username", read_only=True, default=None, allow_null=True
    )

    class Meta:
        model = BuildVersion
        fields = (
            "id",
            "build",
            "number",
            "label",
            "state",
            "components",
            "steps",
            "stability_tests",
            "criteria",
            "notes",
            "created_by",
            "created_at",
            "submitted_at",
            "approved_by",
            "approved_at",
        )
        read_only_fields = ("id", "number", "state", "created_at", "submitted_at", "approved_at")
        extra_kwargs = {"steps": {"required": False}, "criteria": {"required": False}}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["steps"].required = False
        self.fields["criteria"].required = False


class BuildCommentSerializer(RefuseUnknownFields, serializers.Serializer[Any]):
    comment = serializers.CharField(required=False, allow_blank=True, max_length=20_000)


class BuildReturnSerializer(RefuseUnknownFields, serializers.Serializer[Any]):
    reason = serializers.CharField(max_length=20_000, help_text="What needs more work.")


class BuildEventSerializer(serializers.ModelSerializer[BuildEvent]):
    kind = serializers.CharField(
        read_only=True, help_text="create, edit, submit, approve, return or retire."
    )
    version = serializers.IntegerField(source="version_id", read_only=True, allow_null=True)
    actor = serializers.CharField(
        source="actor.username", read_only=True, default=None, allow_null=True
    )
    data = serializers.DictField(read_only=True)  # type: ignore[assignment]  # the event's data, not DRF's

    class Meta:
        model = BuildEvent
        fields = ("id", "kind", "version", "actor", "comment", "data", "created_at")
        read_only_fields = fields


@extend_schema_view(
    list=extend_schema(summary="Builds of your schools, by name, filtered"),
    create=extend_schema(
        summary="Add a build (a build developer or release manager)",
        request=BuildSerializer,
        responses={201: BuildSerializer, 400: BAD_INPUT, 403: FORBIDDEN},
    ),
    retrieve=extend_schema(
        summary="One build", responses={200: BuildSerializer, 404: BUILD_NOT_FOUND}
    ),
    partial_update=extend_schema(
        summary="Edit a build (a build developer or release manager)",
        request=BuildEditSerializer,
        responses={200: BuildSerializer, **_errors(BUILD_NOT_FOUND)},
    ),
)
class BuildViewSet(
    Rows,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet[Build],
):
    serializer_class = BuildSerializer
    filterset_class = BuildFilterSet
    missing = gettext_noop("No such build among your schools.")
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self) -> BuildQuerySet:
        # The index (school, name, id) serves it, school by school.
        return Build.objects.visible_to(self._actor() or self.request.user).order_by("name", "id")

    def load(self, rows: list[Build]) -> None:
        attach(rows, "school", known=loaded_schools(self._actor()))
        attach(rows, "service", "approved_version")

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        school = cast(School, data.pop("school"))
        build = services.save_build(school, self._caller(), data)
        return self._render(build.pk, status.HTTP_201_CREATED)

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        build = self.get_object()
        serializer = BuildEditSerializer(
            build, data=request.data, partial=True, context=self.get_serializer_context()
        )
        serializer.is_valid(raise_exception=True)
        services.save_build(build.school, self._caller(), dict(serializer.validated_data), build)
        return self._render(build.pk)

    @extend_schema(
        summary="A build's versions, newest first (GET); start a new draft (POST: a build "
        "developer or release manager; it copies the latest version's parts)",
        request=None,
        responses={
            200: BuildVersionSerializer(many=True),
            201: BuildVersionSerializer,
            **_errors(BUILD_NOT_FOUND),
        },
        filters=False,
    )
    @action(detail=True, methods=["get", "post"], pagination_class=None, filterset_class=None)
    def versions(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        build = self.get_object()
        if request.method == "POST":
            version = services.new_version(build, self._caller())
            return Response(
                BuildVersionSerializer(_loaded_version(version.pk)).data,
                status=status.HTTP_201_CREATED,
            )
        versions = list(build.versions.order_by("-number"))
        attach(versions, "created_by", "approved_by")
        return Response(BuildVersionSerializer(versions, many=True).data)

    @extend_schema(
        summary="The build's history, oldest first",
        responses={200: BuildEventSerializer(many=True), 404: BUILD_NOT_FOUND},
        filters=False,
    )
    @action(detail=True, methods=["get"], pagination_class=None, filterset_class=None)
    def history(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        build = self.get_object()
        events = list(build.events.order_by("created_at", "id"))
        attach(events, "actor")
        return Response(BuildEventSerializer(events, many=True).data)


def _loaded_version(pk: int) -> BuildVersion:
    return BuildVersion.objects.select_related("created_by", "approved_by").get(pk=pk)


@extend_schema_view(
    retrieve=extend_schema(
        summary="One version of a build procedure",
        responses={200: BuildVersionSerializer, 404: VERSION_NOT_FOUND},
    ),
    partial_update=extend_schema(
        summary="Write a draft (or returned) version (a build developer or release manager)",
        request=BuildVersionSerializer,
        responses={200: BuildVersionSerializer, **_errors(VERSION_NOT_FOUND)},
    ),
)
class BuildVersionViewSet(Rows, mixins.RetrieveModelMixin, viewsets.GenericViewSet[BuildVersion]):
    serializer_class = BuildVersionSerializer
    filterset_class = None
    pagination_class = None
    missing = gettext_noop("No such version among your schools.")
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self) -> QuerySet[BuildVersion]:
        actor = self._actor() or self.request.user
        return BuildVersion.objects.filter(member_schools(actor)).select_related(
            "created_by", "approved_by"
        )

    def load(self, rows: list[BuildVersion]) -> None:
        return None

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        version = self.get_object()
        serializer = self.get_serializer(version, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        services.save_version(version, self._caller(), dict(serializer.validated_data))
        return self._render(version.pk)

    @extend_schema(
        summary="Send a draft (or returned) version for approval (it needs a step and a criterion)",
        request=None,
        responses={200: BuildVersionSerializer, **_errors(VERSION_NOT_FOUND)},
    )
    @action(detail=True, methods=["post"])
    def submit(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        version = self.get_object()
        services.submit(version, self._caller())
        return self._render(version.pk)

    @extend_schema(
        summary="Approve a version waiting for approval (a release manager who did not write "
        "it); the version approved before it is superseded",
        request=BuildCommentSerializer,
        responses={200: BuildVersionSerializer, **_errors(VERSION_NOT_FOUND)},
    )
    @action(detail=True, methods=["post"])
    def approve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        version = self.get_object()
        serializer = BuildCommentSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        comment = serializer.validated_data.get("comment", "")
        services.approve(version, self._caller(), comment)
        return self._render(version.pk)

    @extend_schema(
        summary="Return a version waiting for approval for more work (a release manager), "
        "saying why",
        request=BuildReturnSerializer,
        responses={200: BuildVersionSerializer, **_errors(VERSION_NOT_FOUND)},
    )
    @action(detail=True, methods=["post"], url_path="return")
    def return_(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        version = self.get_object()
        serializer = BuildReturnSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.return_version(version, self._caller(), serializer.validated_data["reason"])
        return self._render(version.pk)


# --- Installations and what items run. ---


class RunningBuildSerializer(serializers.ModelSerializer[RunningBuild]):
    """What a configuration item runs now: the build version its last successful
    installation put on it."""

    item = serializers.IntegerField(source="item_id", read_only=True)
    build = serializers.IntegerField(source="build_id", read_only=True)
    build_name = serializers.CharField(source="build.name", read_only=True)
    version = serializers.IntegerField(source="version_id", read_only=True)
    version_number = serializers.IntegerField(source="version.number", read_only=True)
    installation = serializers.IntegerField(source="installation_id", read_only=True)

    class Meta:
        model = RunningBuild
        fields = (
            "item",
            "build",
            "build_name",
            "version",
            "version_number",
            "installation",
            "since",
        )
        read_only_fields = fields


class CriterionResultSerializer(RefuseUnknownFields, serializers.Serializer[Any]):
    criterion = serializers.CharField(read_only=True)
    result = serializers.ChoiceField(
        choices=[("", "Not yet"), *CriterionResult.choices],
        required=False,
        allow_blank=True,
        help_text="passed, failed, or blank for not yet.",
    )
    note = serializers.CharField(required=False, allow_blank=True, max_length=2000)


class ChecklistStepSerializer(serializers.Serializer[Any]):
    step = serializers.CharField(read_only=True)
    done = serializers.BooleanField(read_only=True)


class InstallationSerializer(
    QuickRepresentation, RefuseUnknownFields, serializers.ModelSerializer[Installation]
):
    """One installation of an approved build version on a configuration item (`item`) or a
    named `target`, with its install build checklist: `checklist` (each step and whether it
    is done) and `results` (each criterion, passed or failed, and a note). `running_build`
    is what its item runs now (null without an item, or before a successful installation)."""

    read_only_messages = {
        "state": "This field is read-only: finish it at /api/v1/installations/{id}/finish/.",
    }

    school = serializers.CharField(source="school.slug", read_only=True)
    build = serializers.IntegerField(source="build_id", read_only=True)
    build_name = serializers.CharField(source="build.name", read_only=True)
    version = _id_field("The approved build version's id.", source="version_id")
    version_number = serializers.IntegerField(source="version.number", read_only=True)
    item = _id_field(
        "The configuration item's id (or give `target`).",
        source="item_id",
        required=False,
        allow_null=True,
    )
    installer = serializers.CharField(source="installer.username", read_only=True)
    checklist = ChecklistStepSerializer(many=True, read_only=True)
    results = CriterionResultSerializer(many=True, read_only=True)
    release = _id_field(
        "A release of the school.", source="release_id", required=False, allow_null=True
    )
    change = _id_field("An RFC of the school.", source="change_id", required=False, allow_null=True)
    request = _id_field(
        "An install request of the school.", source="request_id", required=False, allow_null=True
    )
    running_build = serializers.SerializerMethodField()
    url = serializers.SerializerMethodField()

    class Meta:
        model = Installation
        fields = (
            "id",
            "url",
            "school",
            "build",
            "build_name",
            "version",
            "version_number",
            "item",
            "target",
            "installer",
            "state",
            "checklist",
            "results",
            "notes",
            "release",
            "change",
            "request",
            "started_at",
            "finished_at",
            "running_build",
        )
        read_only_fields = ("id", "state", "notes", "started_at", "finished_at")

    def get_url(self, installation: Installation) -> str:
        return installation.get_absolute_url()

    @extend_schema_field(RunningBuildSerializer(allow_null=True))
    def get_running_build(self, installation: Installation) -> dict[str, Any] | None:
        running: dict[int, RunningBuild] = self.context.get("running", {})
        found = running.get(installation.item_id) if installation.item_id else None
        return RunningBuildSerializer(found).data if found is not None else None


class InstallationRecordSerializer(RefuseUnknownFields, serializers.Serializer[Any]):
    checklist = serializers.ListField(
        child=serializers.BooleanField(),
        required=False,
        max_length=services.MOST_LINES,
        help_text="Whether each step is done, in order: one per step.",
    )
    results = CriterionResultSerializer(
        many=True, required=False, help_text="Each criterion's {result, note}, in order."
    )
    notes = serializers.CharField(required=False, allow_blank=True, max_length=20_000)

    def to_internal_value(self, data: Any) -> Any:
        checklist = data.get("checklist") if isinstance(data, dict) else None
        if isinstance(checklist, list) and not all(isinstance(t, bool) for t in checklist):
            raise serializers.ValidationError(
                {"checklist": [gettext("Give true or false for each step.")]}
            )
        return super().to_internal_value(data)


@extend_schema_view(
    list=extend_schema(summary="Installations of your schools, newest first, filtered"),
    create=extend_schema(
        summary="Start an installation of an approved version (an installer or release "
        "manager): its steps and criteria are copied to the checklist",
        request=InstallationSerializer,
        responses={201: InstallationSerializer, 400: BAD_INPUT, 403: FORBIDDEN},
    ),
    retrieve=extend_schema(
        summary="One installation",
        responses={200: InstallationSerializer, 404: INSTALLATION_NOT_FOUND},
    ),
    partial_update=extend_schema(
        summary="Record the checklist while in progress (its installer or a release manager)",
        request=InstallationRecordSerializer,
        responses={200: InstallationSerializer, **_errors(INSTALLATION_NOT_FOUND)},
    ),
)
class InstallationViewSet(
    Rows,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet[Installation],
):
    serializer_class = InstallationSerializer
    filterset_class = InstallationFilterSet
    missing = gettext_noop("No such installation among your schools.")
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self) -> InstallationQuerySet:
        # The index (school, -started_at, -id) serves it, school by school.
        actor = self._actor() or self.request.user
        return Installation.objects.visible_to(actor).order_by("-started_at", "-id")

    def load(self, rows: list[Installation]) -> None:
        attach(rows, "school", known=loaded_schools(self._actor()))
        attach(rows, "build", "version", "installer")
        items = [r.item_id for r in rows if r.item_id]
        self._running = (
            {
                r.item_id: r
                for r in RunningBuild.objects.filter(item_id__in=items).select_related(
                    "build", "version"
                )
            }
            if items
            else {}
        )

    def get_serializer_context(self) -> dict[str, Any]:
        return {**super().get_serializer_context(), "running": getattr(self, "_running", {})}

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        actor = self._caller()
        version = BuildVersion.objects.filter(
            member_schools(actor), pk=data.pop("version_id")
        ).first()
        if version is None:
            raise serializers.ValidationError(
                {"version": [gettext("No such version among your schools.")]}
            )
        given = {name.removesuffix("_id"): value for name, value in data.items()}
        installation = services.start_installation(version, actor, given)
        return self._render(installation.pk, status.HTTP_201_CREATED)

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        installation = self.get_object()
        serializer = InstallationRecordSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        if "results" in data:
            data["results"] = [dict(r) for r in data["results"]]
        services.record(installation, self._caller(), data)
        return self._render(installation.pk)

    @extend_schema(
        summary="Finish an installation: installed when every criterion passed, else failed "
        "(refused until every step is ticked and every criterion answered)",
        request=None,
        responses={200: InstallationSerializer, **_errors(INSTALLATION_NOT_FOUND)},
    )
    @action(detail=True, methods=["post"])
    def finish(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        installation = self.get_object()
        services.finish(installation, self._caller())
        return self._render(installation.pk)


@extend_schema_view(
    list=extend_schema(summary="What your schools' items run now (filter by item)"),
)
class RunningBuildViewSet(BySchool, mixins.ListModelMixin, viewsets.GenericViewSet[RunningBuild]):
    serializer_class = RunningBuildSerializer
    filterset_class = RunningBuildFilterSet

    def get_queryset(self) -> QuerySet[RunningBuild]:
        actor = self._actor() or self.request.user
        # The index (school, item) serves it, school by school.
        return RunningBuild.objects.filter(member_schools(actor)).order_by("item_id")

    def paged_rows(self, rows: list[RunningBuild]) -> None:
        attach(rows, "build", "version")


router = SimpleRouter()
router.register("builds", BuildViewSet, basename="build")
router.register("build-versions", BuildVersionViewSet, basename="build-version")
router.register("installations", InstallationViewSet, basename="installation")
router.register("running-builds", RunningBuildViewSet, basename="running-build")

urlpatterns = router.urls
