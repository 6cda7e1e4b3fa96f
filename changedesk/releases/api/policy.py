"""The release policy in the REST API.

    /api/v1/release-policies/                 GET: the versions you may see (?school=, ?state=);
                                              POST: write the school's draft (made from
                                              the version in force when there is none)
    /api/v1/release-policies/{id}/            GET; PATCH: edit the draft (only a draft)
    /api/v1/release-policies/{id}/publish/    POST {comment?, expected_revision?}: the
                                              draft is in force

A draft's `revision` names its contents: a PATCH or publish that gives it back
(`expected_revision`, or an `If-Match: "<revision>"` header) is refused with 409 when the
draft has changed since; either is refused with 409 when the draft `{id}` has been
published or discarded meanwhile (checked under the school's lock), never turned into a
new draft.

Every member reads the published and superseded versions of their schools; a draft is
seen by those who may write it (the release manager, the school administrator), who
alone write and publish (403 for other members; another school's version is a 404).
Windows are given and shown as the school's local days: `{name, first_day, last_day}`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from django.db.models import Q
from django.utils.translation import gettext
from drf_spectacular.utils import (
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
    inline_serializer,
)
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import SimpleRouter

from changedesk.accounts import permissions as accounts
from changedesk.accounts.api import CallerMixin, SchoolField
from changedesk.accounts.models import School, User, loaded_schools, seen_school_ids
from changedesk.lib.api import BAD_INPUT, FORBIDDEN, QuickRepresentation, RefuseUnknownFields
from changedesk.lib.errors import InvalidAction, NotPermitted
from changedesk.lib.loading import attach
from changedesk.releases.choices import PolicyState
from changedesk.releases.filters.policy import PolicyFilterSet
from changedesk.releases.models import ReleasePolicy, ReleaseWindow
from changedesk.releases.permissions import may_manage
from changedesk.releases.services import policy as services

_DETAIL = inline_serializer("ReleasePolicyErrorDetail", {"detail": serializers.CharField()})
POLICY_NOT_FOUND = OpenApiResponse(_DETAIL, description="No such version among your schools.")
POLICY_STALE = OpenApiResponse(
    _DETAIL, description="The draft changed, or was published or discarded, since you loaded it."
)


class ReleaseWindowSerializer(RefuseUnknownFields, serializers.Serializer[dict[str, Any]]):
    """A release window: the school's local days it covers, the first and the last."""

    name = serializers.CharField(max_length=200)
    first_day = serializers.DateField()
    last_day = serializers.DateField()


class ReleasePolicySerializer(QuickRepresentation, serializers.ModelSerializer[ReleasePolicy]):
    """One version of a school's release policy. `rules` is the text, one rule per line;
    `rule_list` the rules as a list."""

    school: serializers.SlugRelatedField[School] = serializers.SlugRelatedField(
        slug_field="slug", read_only=True
    )
    rule_list = serializers.ListField(child=serializers.CharField(), read_only=True)
    windows = ReleaseWindowSerializer(many=True, read_only=True, source="window_list")
    published_by: serializers.SlugRelatedField[User] = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )
    revision = serializers.CharField(
        read_only=True,
        allow_null=True,
        help_text="A draft's revision, to give back as `expected_revision` (null: not a draft).",
    )

    class Meta:
        model = ReleasePolicy
        fields = (
            "id",
            "school",
            "version",
            "state",
            "title",
            "summary",
            "rules",
            "rule_list",
            "windows",
            "created_at",
            "updated_at",
            "published_by",
            "published_at",
            "comment",
            "superseded_at",
            "revision",
        )
        read_only_fields = fields


class ReleasePolicyEditSerializer(RefuseUnknownFields, serializers.Serializer[dict[str, Any]]):
    """The draft's fields: those given are written; `windows`, when given, are all of the
    draft's windows (an empty list: none)."""

    title = serializers.CharField(max_length=200, required=False)
    summary = serializers.CharField(max_length=5000, required=False, allow_blank=True)
    rules = serializers.CharField(
        max_length=services.MOST_RULES_CHARS,
        required=False,
        help_text="One rule per line; at least one rule.",
    )
    windows = serializers.ListField(
        child=ReleaseWindowSerializer(), required=False, max_length=services.MOST_WINDOWS
    )
    expected_revision = serializers.CharField(
        max_length=100,
        required=False,
        help_text="The draft's `revision` as you loaded it: refused (409) if it has changed.",
    )


class ReleasePolicyDraftSerializer(ReleasePolicyEditSerializer):
    """The school's draft: made from the version in force when it has none, then given the
    fields sent."""

    school = SchoolField(help_text="The school's slug.")


class ReleasePolicyPublishSerializer(RefuseUnknownFields, serializers.Serializer[dict[str, Any]]):
    comment = serializers.CharField(
        max_length=2000, required=False, allow_blank=True, help_text="What changed."
    )
    expected_revision = serializers.CharField(
        max_length=100,
        required=False,
        help_text="The draft's `revision` as you loaded it: refused (409) if it has changed.",
    )


def _expected(request: Request, data: dict[str, Any]) -> str | None:
    """The revision the client loaded: `expected_revision`, else an `If-Match` header."""
    given = data.get("expected_revision")
    if given:
        return str(given)
    header = request.headers.get("If-Match", "").strip()
    if not header or header == "*":
        return None
    return header.removeprefix("W/").strip('"') or None


def _load(rows: list[ReleasePolicy], user: Any) -> None:
    """The rows' schools, publishers and windows: a query per table."""
    attach(rows, "school", known=loaded_schools(user))
    attach(rows, "published_by")
    by_policy: dict[int, list[dict[str, Any]]] = {row.pk: [] for row in rows}
    spans: dict[int, list[tuple[str, datetime, datetime]]] = {row.pk: [] for row in rows}
    schools = {row.pk: row.school for row in rows}
    for window in ReleaseWindow.objects.filter(policy_id__in=list(by_policy)).order_by(
        "starts_at", "id"
    ):
        first, last = services.window_days(window, schools[window.policy_id])
        by_policy[window.policy_id].append(
            {"name": window.name, "first_day": first, "last_day": last}
        )
        spans[window.policy_id].append((window.name, window.starts_at, window.ends_at))
    for row in rows:
        row.window_list = by_policy[row.pk]  # type: ignore[attr-defined]
        row.revision = (  # type: ignore[attr-defined]
            services.revision(row, spans[row.pk]) if row.state == PolicyState.DRAFT else None
        )


def _split(data: dict[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]] | None]:
    values: dict[str, Any] = {n: data[n] for n in ("title", "summary", "rules") if n in data}
    windows = data.get("windows")
    return values, [dict(w) for w in windows] if windows is not None else None


@extend_schema_view(
    list=extend_schema(summary="Versions of your schools' release policies, newest first"),
    create=extend_schema(
        summary="Write the school's draft policy (a release manager or school administrator)",
        request=ReleasePolicyDraftSerializer,
        responses={201: ReleasePolicySerializer, 400: BAD_INPUT, 403: FORBIDDEN},
    ),
    retrieve=extend_schema(
        summary="One version of a release policy",
        responses={200: ReleasePolicySerializer, 404: POLICY_NOT_FOUND},
    ),
    partial_update=extend_schema(
        summary="Edit the draft (a release manager or school administrator)",
        request=ReleasePolicyEditSerializer,
        responses={
            200: ReleasePolicySerializer,
            400: BAD_INPUT,
            403: FORBIDDEN,
            404: POLICY_NOT_FOUND,
            409: POLICY_STALE,
        },
    ),
    publish=extend_schema(
        summary="Publish the draft: it is in force, the version before it superseded",
        request=ReleasePolicyPublishSerializer,
        responses={
            200: ReleasePolicySerializer,
            400: BAD_INPUT,
            403: FORBIDDEN,
            404: POLICY_NOT_FOUND,
            409: POLICY_STALE,
        },
    ),
)
class ReleasePolicyViewSet(
    CallerMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet[ReleasePolicy],
):
    serializer_class = ReleasePolicySerializer
    filterset_class = PolicyFilterSet
    lookup_url_kwarg = "id"
    lookup_value_regex = r"\d{1,18}"
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self) -> Any:
        user = self._actor() or self.request.user
        writers = [s.pk for s in accounts.schools(user) if may_manage(user, s)]
        seen = ReleasePolicy.objects.visible_to(user)
        if not user.is_superuser:
            seen = seen.filter(~Q(state=PolicyState.DRAFT) | Q(school_id__in=writers))
        # By version within a school: the unique index (school, version) serves it.
        return seen.order_by("-version", "-id")

    def paged_schools(self) -> list[int] | None:
        return seen_school_ids(self._caller())

    def paged_rows(self, rows: list[ReleasePolicy]) -> None:
        _load(rows, self._actor())

    def get_object(self) -> ReleasePolicy:
        found = list(self.get_queryset().filter(pk=int(self.kwargs["id"]))[:1])
        if not found:
            raise NotFound(gettext("No such version among your schools."))
        _load(found, self._actor())
        policy: ReleasePolicy = found[0]
        return policy

    def _render(self, pk: int, code: int = status.HTTP_200_OK) -> Response:
        row = ReleasePolicy.objects.get(pk=pk)
        _load([row], self._actor())
        return Response(ReleasePolicySerializer(row).data, status=code)

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = ReleasePolicyDraftSerializer(
            data=request.data, context=self.get_serializer_context()
        )
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        school = cast(School, data.pop("school"))
        values, windows = _split(data)
        draft = services.save_draft(
            school, self._caller(), values, windows, expected=_expected(request, data)
        )
        return self._render(draft.pk, status.HTTP_201_CREATED)

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        policy = self.get_object()
        user = self._caller()
        if not may_manage(user, policy.school):
            raise NotPermitted(
                gettext(
                    "Only a release manager or a school administrator of %(school)s may %(what)s."
                )
                % {"school": policy.school.name, "what": gettext("write the release policy")}
            )
        if policy.state != PolicyState.DRAFT:
            raise InvalidAction(
                gettext(
                    "Version %(version)s is %(state)s: a published version is never edited: "
                    "write a draft (POST) and publish it."
                )
                % {"version": policy.version, "state": policy.get_state_display().lower()}
            )
        serializer = ReleasePolicyEditSerializer(
            data=request.data, context=self.get_serializer_context()
        )
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        values, windows = _split(data)
        services.save_draft(
            policy.school,
            user,
            values,
            windows,
            expected=_expected(request, data),
            policy_id=policy.pk,
        )
        return self._render(policy.pk)

    @action(detail=True, methods=["post"])
    def publish(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        policy = self.get_object()
        serializer = ReleasePolicyPublishSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = self._caller()
        if may_manage(user, policy.school) and policy.state != PolicyState.DRAFT:
            raise InvalidAction(
                gettext("Version %(version)s is not a draft: it is %(state)s.")
                % {"version": policy.version, "state": policy.get_state_display().lower()}
            )
        data = dict(serializer.validated_data)
        published = services.publish(
            policy.school,
            user,
            data.get("comment", ""),
            expected=_expected(request, data),
            policy_id=policy.pk,
        )
        return self._render(published.pk)


router = SimpleRouter()
router.register("release-policies", ReleasePolicyViewSet, basename="release-policy")
urlpatterns = router.urls
