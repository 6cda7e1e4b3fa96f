"""Trust-wide changes in the REST API.

- `POST /api/v1/changes/` with `schools` (a list of slugs, or `all` with `trust`) raises
  one change for many schools: the core hands such a body to `raise_from_api` (the
  `creators` of changes.extensions). 201 with the trust-wide change and its RFCs.
- `GET /api/v1/trust-changes/` and `/api/v1/trust-changes/{id}/`: the trust-wide changes
  the caller may see (whoever holds a role in the trust).
- `GET /api/v1/changes/{id}/children/`: the RFC of each school, as the RFC API shows it,
  with what it waits on; `{id}` is the trust-wide change's id (its `parent.id` on each of
  its RFCs) or its qualified reference, e.g. `northway:TC-0001`.
- `POST /api/v1/changes/{id}/children/actions/`: one action on many of its RFCs, each
  through the workflow; `POST /api/v1/changes/{id}/children/plan/`: copy one plan (and a
  window, or each school's next safe slot) to many. Both answer 200 with each school's
  result: the schools where it went ahead, and those refused with the reason.
"""

from __future__ import annotations

import re
from typing import Any

from django.db import transaction
from django.db.models import F
from django.urls import path
from django.utils.translation import gettext, ngettext
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
    extend_schema_field,
    inline_serializer,
)
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.parsers import JSONParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import SimpleRouter
from rest_framework.utils import html
from rest_framework.views import APIView

from changedesk.accounts import permissions
from changedesk.accounts.api import CallerMixin
from changedesk.accounts.models import Trust, User
from changedesk.changes import workflow
from changedesk.changes.api import ChangeActionSerializer, ChangeSerializer, load_for_api
from changedesk.lib.api import (
    BAD_INPUT,
    ERRORS,
    FORBIDDEN,
    NOT_FOUND,
    AwareDateTimeField,
    RefuseUnknownFields,
    UsernameField,
)
from changedesk.schedule.calendar import sane_year
from changedesk.trustwide import services
from changedesk.trustwide.models import PREFIX, Child, ParentChange
from changedesk.trustwide.services import Placement

QUALIFIED = re.compile(rf"^(?P<slug>[-\w]+):{PREFIX}-(?P<number>\d{{1,9}})$", re.IGNORECASE)


# --- What is read. ---


class ParentSerializer(serializers.ModelSerializer[ParentChange]):
    """A trust-wide change: the request asked once, and how its schools' RFCs stand."""

    reference = serializers.CharField(read_only=True, help_text="TC-0001, unique in the trust.")
    qualified_reference = serializers.CharField(read_only=True)
    trust: serializers.SlugRelatedField[Trust] = serializers.SlugRelatedField(
        slug_field="slug", read_only=True
    )
    originator = UsernameField(read_only=True)
    states = serializers.SerializerMethodField()
    url = serializers.SerializerMethodField()
    children_url = serializers.SerializerMethodField()

    class Meta:
        model = ParentChange
        fields: tuple[str, ...] = (
            "id",
            "reference",
            "qualified_reference",
            "trust",
            "title",
            "description",
            "reason",
            "is_emergency",
            "originator",
            "states",
            "created_at",
            "url",
            "children_url",
        )
        read_only_fields = fields

    @extend_schema_field(serializers.DictField(child=serializers.IntegerField()))
    def get_states(self, parent: ParentChange) -> dict[str, int]:
        """How many of its schools' RFCs stand in each state."""
        counts: dict[str, int] = getattr(parent, "_states", None) or _states([parent])[parent.pk]
        return counts

    def get_url(self, parent: ParentChange) -> str:
        """Its page."""
        return self._absolute(parent.get_absolute_url())

    def get_children_url(self, parent: ParentChange) -> str:
        return self._absolute(f"/api/v1/changes/{parent.pk}/children/")

    def _absolute(self, path: str) -> str:
        request: Request | None = self.context.get("request")
        return request.build_absolute_uri(path) if request is not None else path


def _states(parents: list[ParentChange]) -> dict[int, dict[str, int]]:
    found: dict[int, dict[str, int]] = {p.pk: {} for p in parents}
    rows = Child.objects.filter(
        parent__in=list(found), school__trust=F("parent__trust")
    ).values_list("parent_id", "change__state")
    for parent_id, state in rows:
        found[parent_id][state] = found[parent_id].get(state, 0) + 1
    return found


WAITING = inline_serializer(
    "WaitingOn",
    {
        "task": serializers.CharField(help_text="What is asked, e.g. “review the plan”."),
        "person": serializers.CharField(allow_null=True, help_text="Who is named, or null."),
    },
    allow_null=True,
)


class ChildSerializer(ChangeSerializer):
    """A school's RFC of a trust-wide change: the RFC as the RFC API shows it, and what
    it waits on."""

    waiting_on = serializers.SerializerMethodField()

    class Meta(ChangeSerializer.Meta):
        fields = (*ChangeSerializer.Meta.fields, "waiting_on")

    @extend_schema_field(WAITING)
    def get_waiting_on(self, change: Any) -> dict[str, Any] | None:
        waiting = workflow.waiting_on(change)
        if waiting is None:
            return None
        step, person = waiting
        return {"task": step.task, "person": person.username if person else None}


class RaisedForSchoolsSerializer(ParentSerializer):
    """What raising one change for many schools answers: the trust-wide change, what the
    person should know (`notes`: a school left without a slot, or left a draft) and each
    school's RFC."""

    notes = serializers.ListField(child=serializers.CharField(), read_only=True)
    children = ChildSerializer(many=True, read_only=True, source="raised_children")

    class Meta(ParentSerializer.Meta):
        fields = (*ParentSerializer.Meta.fields, "notes", "children")
        read_only_fields = fields


# --- What is written. ---


class WindowSerializer(RefuseUnknownFields, serializers.Serializer[Any]):
    planned_start = AwareDateTimeField(required=False, allow_null=True)
    planned_end = AwareDateTimeField(required=False, allow_null=True)
    next_safe_slot_minutes = serializers.IntegerField(
        required=False,
        min_value=15,
        max_value=7 * 24 * 60,
        help_text="Place each school's RFC in its own next safe slot of this many minutes "
        "(instead of one `planned_start`/`planned_end` for all).",
    )
    next_safe_slot_after = AwareDateTimeField(
        required=False, help_text="Search each school's slot from here (default: its lead time)."
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        after = attrs.get("next_safe_slot_after")
        if after is not None and not sane_year(after.year + 1):
            raise serializers.ValidationError(
                {"next_safe_slot_after": [gettext("Choose a time between 1900 and 2998.")]}
            )
        each = attrs.get("next_safe_slot_minutes") is not None
        start, end = attrs.get("planned_start"), attrs.get("planned_end")
        if each and (start or end):
            raise serializers.ValidationError(
                {
                    "next_safe_slot_minutes": [
                        gettext("Give one window or each school's next safe slot, not both.")
                    ]
                }
            )
        if attrs.get("next_safe_slot_after") and not each:
            raise serializers.ValidationError(
                {"next_safe_slot_after": [gettext("Give next_safe_slot_minutes too.")]}
            )
        if bool(start) != bool(end):
            raise serializers.ValidationError(
                {
                    "planned_end" if start else "planned_start": [
                        gettext("Give the window's start and end.")
                    ]
                }
            )
        return attrs

    def placement(self) -> Placement:
        data = self.validated_data
        if data.get("next_safe_slot_minutes") is not None:
            return Placement(
                minutes=data["next_safe_slot_minutes"], after=data.get("next_safe_slot_after")
            )
        return Placement(start=data.get("planned_start"), end=data.get("planned_end"))


def _schools_value(value: Any) -> list[str] | None:
    """`all` (None) or a list of slugs; a 400 for anything else."""
    if value == "all":
        return None
    if (
        not isinstance(value, list)
        or not value
        or not all(isinstance(v, str) and 0 < len(v) <= 60 for v in value)
    ):
        raise serializers.ValidationError(
            [gettext('Give the schools\' slugs as a list, e.g. ["oak", "elm"], or "all".')]
        )
    if len(value) > services.MOST_SCHOOLS:
        raise serializers.ValidationError(
            [
                ngettext(
                    "At most %(count)s school at once.",
                    "At most %(count)s schools at once.",
                    services.MOST_SCHOOLS,
                )
                % {"count": services.MOST_SCHOOLS}
            ]
        )
    return list(dict.fromkeys(value))


@extend_schema_field(
    {
        "oneOf": [
            {
                "type": "array",
                "items": {"type": "string", "minLength": 1, "maxLength": 60},
                "minItems": 1,
                "maxItems": services.MOST_SCHOOLS,
            },
            {"type": "string", "enum": ["all"]},
        ],
        "description": "The schools' slugs, or `all`.",
    }
)
class SchoolsField(serializers.JSONField):
    """Schools by slug (a list), or `all`: read by `_schools_value`. Given empty in a form
    it is refused, not taken as left out (which would mean every school)."""

    def get_value(self, dictionary: Any) -> Any:
        if html.is_html_input(dictionary) and self.field_name in dictionary:
            return dictionary.get(self.field_name)
        return super().get_value(dictionary)


class RaiseForSchoolsSerializer(WindowSerializer):
    """What `POST /api/v1/changes/` takes to raise one change for many schools of a trust
    (a trust technician's): `schools` instead of `school`. Each school gets its own RFC."""

    schools = SchoolsField(help_text="The schools' slugs, or `all` (the trust's).")
    trust = serializers.SlugField(
        required=False,
        help_text='The trust\'s slug: needed with "all", or when you are a trust technician '
        "of more than one trust.",
    )
    title = serializers.CharField(max_length=200)
    description = serializers.CharField()
    reason = serializers.CharField()
    is_emergency = serializers.BooleanField(required=False, default=False)
    emergency_justification = serializers.CharField(required=False, allow_blank=True)
    details = serializers.CharField(required=False, allow_blank=True)
    impact = serializers.CharField(required=False, allow_blank=True)
    risk = serializers.CharField(required=False, allow_blank=True)
    fallback_plan = serializers.CharField(required=False, allow_blank=True)
    submit = serializers.BooleanField(
        required=False,
        default=False,
        help_text="Submit each school's RFC for initial approval at once (a school where it "
        "cannot be is left a draft, and named in `notes`).",
    )

    def validate_schools(self, value: Any) -> list[str] | None:
        return _schools_value(value)

    def values(self) -> dict[str, Any]:
        names = (
            "title", "description", "reason", "is_emergency", "emergency_justification",
            "details", "impact", "risk", "fallback_plan",
        )  # fmt: skip
        data = self.validated_data
        return {name: data[name] for name in names if name in data}


class ManySerializer(RefuseUnknownFields, serializers.Serializer[Any]):
    schools = SchoolsField(
        required=False,
        help_text='The schools\' slugs (those of its RFCs), or "all" (the default).',
    )

    def validate_schools(self, value: Any) -> list[str] | None:
        return _schools_value(value)


class ChildrenActionSerializer(ChangeActionSerializer):
    """One action on many of a trust-wide change's RFCs; what it carries as for one RFC."""

    schools = SchoolsField(
        help_text='The schools\' slugs (those of its RFCs), or "all": said each time, so that '
        "no action reaches every school by being left out.",
    )

    def validate_schools(self, value: Any) -> list[str] | None:
        return _schools_value(value)

    def get_fields(self) -> dict[str, serializers.Field[Any, Any, Any, Any]]:
        # Each school's RFC has its own version: one expected version cannot fit them all.
        fields = super().get_fields()
        fields.pop("expected_version", None)
        return fields


class CopyPlanSerializer(WindowSerializer):
    schools = SchoolsField(help_text='The schools\' slugs (those of its RFCs), or "all".')
    details = serializers.CharField(required=False, allow_blank=True)
    impact = serializers.CharField(required=False, allow_blank=True)
    risk = serializers.CharField(required=False, allow_blank=True)
    fallback_plan = serializers.CharField(required=False, allow_blank=True)
    comment = serializers.CharField(required=False, allow_blank=True, default="")

    def validate_schools(self, value: Any) -> list[str] | None:
        return _schools_value(value)

    def plan(self) -> dict[str, Any]:
        data = self.validated_data
        return {n: data[n] for n in services.COPIED_FIELDS if n in data and "planned" not in n}


RESULTS = inline_serializer(
    "ChildResults",
    {
        "results": inline_serializer(
            "ChildResult",
            {
                "school": serializers.CharField(),
                "reference": serializers.CharField(),
                "id": serializers.IntegerField(help_text="The school's RFC."),
                "ok": serializers.BooleanField(),
                "state": serializers.CharField(),
                "detail": serializers.CharField(help_text="What happened, or why it was refused."),
                "errors": serializers.DictField(child=serializers.CharField()),
            },
            many=True,
        )
    },
)


def _results(results: list[services.Result]) -> Response:
    return Response(
        {
            "results": [
                {
                    "school": r.school.slug,
                    "reference": r.child.change.reference,
                    "id": r.child.change_id,
                    "ok": r.ok,
                    "state": r.child.change.state,
                    "detail": r.message,
                    "errors": r.fields,
                }
                for r in results
            ]
        }
    )


# --- Raising, through the RFC API. ---


def raise_from_api(request: Request, caller: User) -> Response:
    body = RaiseForSchoolsSerializer(data=request.data)
    body.is_valid(raise_exception=True)
    data = body.validated_data
    trust = _trust_for(caller, data.get("trust"))
    with transaction.atomic():
        parent, notes = services.raise_for_schools(
            trust,
            caller,
            body.values(),
            services.schools_of(trust, data["schools"]),
            body.placement(),
        )
        if data["submit"]:
            results = services.act_on_many(parent, caller, "submit", services.children(parent))
            notes += [f"{r.school.name}: {r.message}" for r in results if not r.ok]
    parent.notes = notes  # type: ignore[attr-defined]
    parent.raised_children = _loaded_children(parent, caller)  # type: ignore[attr-defined]
    context = {"request": request, "actor": caller}
    return Response(
        RaisedForSchoolsSerializer(parent, context=context).data, status=status.HTTP_201_CREATED
    )


def _trust_for(caller: User, slug: str | None) -> Trust:
    """The trust a change for many schools is raised in: the one named, or the one the
    caller is a trust technician of."""
    theirs = [t for t in permissions.trusts(caller) if services.may_raise(caller, t)]
    if slug:
        for trust in theirs:
            if trust.slug == slug:
                return trust
        if any(t.slug == slug for t in permissions.trusts(caller)):
            raise PermissionDenied(
                gettext("Only a trust technician of the trust may raise a change for its schools.")
            )
        raise serializers.ValidationError({"trust": [gettext("No such trust among yours.")]})
    if not theirs:
        raise PermissionDenied(
            gettext("Only a trust technician may raise a change for many schools.")
        )
    if len(theirs) > 1:
        raise serializers.ValidationError(
            {"trust": [gettext("You are a trust technician of several trusts: say which.")]}
        )
    return theirs[0]


def _loaded_children(parent: ParentChange, actor: User) -> list[Any]:
    """Each school's RFC of `parent`, loaded for the RFC API (a query per table)."""
    changes = [row.change for row in services.children(parent)]
    load_for_api(changes, actor)
    return changes


def _children_data(parent: ParentChange, context: dict[str, Any]) -> list[dict[str, Any]]:
    changes = _loaded_children(parent, context["actor"])
    return list(ChildSerializer(changes, many=True, context=context).data)


# --- The trust-wide changes, and their children. ---

PARENT_ID = OpenApiParameter(
    "id",
    OpenApiTypes.STR,
    OpenApiParameter.PATH,
    description="The trust-wide change's id (`parent.id` on each of its RFCs), or its "
    "qualified reference, e.g. northway:TC-0001.",
)


class ParentViewSet(
    CallerMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet[ParentChange],
):
    """The trust-wide changes of the trusts you hold a role in, newest first."""

    serializer_class = ParentSerializer
    lookup_url_kwarg = "id"
    lookup_value_regex = r"[^/]+"
    filterset_class = None

    def get_queryset(self) -> Any:
        if getattr(self, "swagger_fake_view", False):  # the schema's look at the view
            return ParentChange.objects.none()
        return services.visible_parents(self._caller()).order_by("-created_at", "-id")

    def get_object(self) -> ParentChange:
        return _parent(self._caller(), str(self.kwargs["id"]))

    def paginate_queryset(self, queryset: Any) -> Any:
        page = super().paginate_queryset(queryset)
        if page is not None:
            states = _states(list(page))
            for parent in page:
                parent._states = states[parent.pk]
        return page

    @extend_schema(summary="The trust-wide changes you may see")
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().list(request, *args, **kwargs)

    @extend_schema(
        summary="One trust-wide change",
        parameters=[PARENT_ID],
        responses={200: ParentSerializer, 404: NOT_FOUND},
    )
    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().retrieve(request, *args, **kwargs)


def _parent(caller: User, key: str) -> ParentChange:
    key = key.strip()
    found = services.visible_parents(caller)
    qualified = QUALIFIED.match(key)
    if qualified:
        match = found.filter(trust__slug=qualified["slug"], number=int(qualified["number"])).first()
    elif key.isascii() and key.isdecimal() and len(key) < 19:
        match = found.filter(pk=int(key)).first()
    else:
        match = None
    if match is None:
        raise NotFound(gettext("No trust-wide change %(key)s among your trusts.") % {"key": key})
    return match


class ChildrenView(CallerMixin, APIView):
    @extend_schema(
        summary="The RFC of each school of a trust-wide change",
        parameters=[PARENT_ID],
        responses={200: ChildSerializer(many=True), 404: NOT_FOUND},
    )
    def get(self, request: Request, id: str) -> Response:
        parent = _parent(self._caller(), id)
        return Response(_children_data(parent, {"request": request, "actor": self._caller()}))


class ChildrenActionsView(CallerMixin, APIView):
    # JSON only: `schools` is a list (a form cannot say an empty one from none at all).
    parser_classes = [JSONParser]

    @extend_schema(
        summary="Take one action on many schools' RFCs of a trust-wide change",
        parameters=[PARENT_ID],
        request=ChildrenActionSerializer,
        responses={200: RESULTS, 400: BAD_INPUT, 403: FORBIDDEN, 404: NOT_FOUND},
    )
    def post(self, request: Request, id: str) -> Response:
        caller = self._caller()
        parent = _parent(caller, id)
        body = ChildrenActionSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        rows = services.chosen(parent, data.get("schools"))
        return _results(
            services.act_on_many(
                parent, caller, data["action"], rows, comment=data["comment"], data=body.payload()
            )
        )


class ChildrenPlanView(CallerMixin, APIView):
    parser_classes = [JSONParser]

    @extend_schema(
        summary="Copy one plan (and windows) to many schools' RFCs of a trust-wide change",
        parameters=[PARENT_ID],
        request=CopyPlanSerializer,
        responses={200: RESULTS, **ERRORS},
    )
    def post(self, request: Request, id: str) -> Response:
        caller = self._caller()
        parent = _parent(caller, id)
        body = CopyPlanSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        rows = services.chosen(parent, body.validated_data.get("schools"))
        return _results(
            services.copy_plan(
                parent,
                caller,
                body.plan(),
                rows,
                body.placement(),
                comment=body.validated_data["comment"],
            )
        )


router = SimpleRouter()
router.register("trust-changes", ParentViewSet, basename="trust-change")

urlpatterns = [
    path("changes/<str:id>/children/", ChildrenView.as_view(), name="change-children"),
    path(
        "changes/<str:id>/children/actions/",
        ChildrenActionsView.as_view(),
        name="change-children-actions",
    ),
    path(
        "changes/<str:id>/children/plan/", ChildrenPlanView.as_view(), name="change-children-plan"
    ),
    *router.urls,
]
