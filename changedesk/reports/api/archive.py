"""The report archive in the REST API.

    /api/v1/reports/archive/                    GET: frozen reports, newest first, paged ids
                                                first (?school=<slug>, ?period=week|month)
    /api/v1/reports/archive/{id}/               GET: one frozen report: its figures exactly
                                                as frozen, digest, frozen_at and decisions
    /api/v1/reports/archive/{id}/decisions/     POST {text, decided_by, decided_on}: record
                                                a decision taken from it

Snapshots are written by the worker only and never changed or deleted: there is no PUT,
PATCH or DELETE (405). Readers are those who may read the school's reports
(`reports.permissions.may_read`; another member is refused with 403, and a list names only
the schools they may read); decisions are recorded by those who may decide (`may_decide`,
else 403); another school's report is a 404.
"""

from __future__ import annotations

import builtins
from typing import Any

from django.db.models import Count
from django.utils.translation import gettext
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import SimpleRouter

from changedesk.accounts import permissions as accounts
from changedesk.accounts.api import CallerMixin
from changedesk.accounts.models import School, User, loaded_schools
from changedesk.lib.api import BAD_INPUT, FORBIDDEN, QuickRepresentation, RefuseUnknownFields
from changedesk.lib.errors import NotPermitted
from changedesk.lib.loading import attach
from changedesk.reports import archive
from changedesk.reports.models import Decision, Snapshot
from changedesk.reports.permissions import may_decide, may_read

SNAPSHOT_NOT_FOUND = OpenApiResponse(
    description="No such frozen report among your schools' archives."
)


class DecisionSerializer(QuickRepresentation, serializers.ModelSerializer[Decision]):
    """A decision taken from a frozen report: what, by whom, on which day, and who recorded
    it when."""

    recorded_by: serializers.SlugRelatedField[User] = serializers.SlugRelatedField(
        slug_field="username", read_only=True
    )

    class Meta:
        model = Decision
        fields = ("id", "text", "decided_by", "decided_on", "recorded_by", "recorded_at")
        read_only_fields = fields


class DecisionInputSerializer(RefuseUnknownFields, serializers.Serializer[dict[str, Any]]):
    text = serializers.CharField(max_length=archive.MOST_TEXT, help_text="What was decided.")
    decided_by = serializers.CharField(
        max_length=archive.MOST_DECIDED_BY,
        help_text="Who decided: a person, or a meeting such as the committee.",
    )
    decided_on = serializers.DateField(help_text="The day it was decided (the school's day).")


class SnapshotSerializer(QuickRepresentation, serializers.ModelSerializer[Snapshot]):
    """A frozen report in a list: which school and period, when it was frozen, its digest
    (SHA-256 of its figures as canonical JSON) and how many decisions it has."""

    school: serializers.SlugRelatedField[School] = serializers.SlugRelatedField(
        slug_field="slug", read_only=True
    )
    decision_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = Snapshot
        fields: tuple[str, ...] = (
            "id",
            "school",
            "period",
            "start",
            "end",
            "digest",
            "frozen_at",
            "decision_count",
        )
        read_only_fields = fields


class SnapshotDetailSerializer(SnapshotSerializer):
    """A frozen report: its figures exactly as frozen (the period report's shape: `groups`
    of figures, each with the RFC `ids` behind it, and each figure's `trend`), and the
    decisions taken from it, oldest first."""

    figures = serializers.JSONField(read_only=True)
    decisions = DecisionSerializer(many=True, read_only=True, source="decision_list")

    class Meta(SnapshotSerializer.Meta):
        fields: tuple[str, ...] = (*SnapshotSerializer.Meta.fields, "figures", "decisions")
        read_only_fields: tuple[str, ...] = fields


def _readable(user: Any) -> list[School]:
    return [s for s in accounts.schools(user) if may_read(user, s)]


@extend_schema_view(
    list=extend_schema(
        summary="Your schools' frozen reports, newest first",
        responses={200: SnapshotSerializer, 400: BAD_INPUT, 403: FORBIDDEN},
    ),
    retrieve=extend_schema(
        summary="One frozen report, with its figures as frozen and its decisions",
        responses={200: SnapshotDetailSerializer, 403: FORBIDDEN, 404: SNAPSHOT_NOT_FOUND},
    ),
    decisions=extend_schema(
        summary="Record a decision taken from a frozen report (an approver or the school "
        "administrator)",
        request=DecisionInputSerializer,
        responses={
            201: DecisionSerializer,
            400: BAD_INPUT,
            403: FORBIDDEN,
            404: SNAPSHOT_NOT_FOUND,
        },
    ),
)
class SnapshotViewSet(
    CallerMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet[Snapshot],
):
    serializer_class = SnapshotSerializer
    filterset_class = archive.ArchiveFilterSet
    lookup_url_kwarg = "id"
    lookup_value_regex = r"\d{1,18}"
    http_method_names = ["get", "post", "head", "options"]

    def get_serializer_class(self) -> Any:
        return SnapshotDetailSerializer if self.action == "retrieve" else SnapshotSerializer

    def get_queryset(self) -> Any:
        user = self._actor() or self.request.user
        if getattr(self, "swagger_fake_view", False) or not user.is_authenticated:
            return Snapshot.objects.none()
        ids = [s.pk for s in _readable(user)]
        # Newest first within a school: the index (school, period, -start) serves it.
        return Snapshot.objects.filter(school_id__in=ids).defer("figures").order_by("-start", "-id")

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        slug = request.query_params.get("school", "")
        user = self._caller()
        named = next((s for s in accounts.schools(user) if s.slug == slug), None) if slug else None
        if named is not None and not may_read(user, named):
            raise NotPermitted(
                gettext(
                    "Only the approvers and the school administrator of %(school)s read its "
                    "reports."
                )
                % {"school": named.name}
            )
        return super().list(request, *args, **kwargs)

    def paged_schools(self) -> builtins.list[int] | None:
        return [s.pk for s in _readable(self._caller())]

    def loaded(self, queryset: Any) -> Any:
        return queryset.annotate(decision_count=Count("decisions"))

    def paged_rows(self, rows: builtins.list[Snapshot]) -> None:
        attach(rows, "school", known=loaded_schools(self._actor()))

    def get_object(self) -> Snapshot:
        user = self._caller()
        snapshot = (
            Snapshot.objects.visible_to(user)
            .select_related("school")
            .annotate(decision_count=Count("decisions"))
            .filter(pk=int(self.kwargs["id"]))
            .first()
        )
        if snapshot is None:
            raise NotFound(gettext("No such frozen report among your schools' archives."))
        if not may_read(user, snapshot.school):
            raise NotPermitted(
                gettext(
                    "Only the approvers and the school administrator of %(school)s read its "
                    "reports."
                )
                % {"school": snapshot.school.name}
            )
        snapshot.decision_list = list(  # type: ignore[attr-defined]
            Decision.objects.filter(snapshot=snapshot)
            .select_related("recorded_by")
            .order_by("decided_on", "id")
        )
        return snapshot

    @action(detail=True, methods=["post"])
    def decisions(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        snapshot = self.get_object()
        user = self._caller()
        if not may_decide(user, snapshot.school):
            raise NotPermitted(
                gettext(
                    "Only an approver or the school administrator of %(school)s records decisions."
                )
                % {"school": snapshot.school.name}
            )
        serializer = DecisionInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        decision = archive.record_decision(
            snapshot, user, data["text"], data["decided_by"], data["decided_on"]
        )
        return Response(DecisionSerializer(decision).data, status=status.HTTP_201_CREATED)


router = SimpleRouter()
router.register("reports/archive", SnapshotViewSet, basename="report-snapshot")
urlpatterns = router.urls
