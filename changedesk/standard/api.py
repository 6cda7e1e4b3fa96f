"""Standard change templates in the REST API: list, write, read and edit a template, propose
it for approval, raise a standard change from it, reinstate it, and read its history.
Included by `changedesk/api_urls.py` from `urlpatterns` here.

    /api/v1/standard-changes/                 GET (members), POST (originators)
    /api/v1/standard-changes/{id}/            GET (members), PATCH (originators)
    /api/v1/standard-changes/{id}/propose/    POST: a normal RFC asking for its approval
    /api/v1/standard-changes/{id}/raise/      POST: an RFC that goes ahead at once
    /api/v1/standard-changes/{id}/reinstate/  POST: an approver's review of a suspended one
    /api/v1/standard-changes/{id}/history/    GET: its events, oldest first

As in the core API, the viewset only parses and authorises; every write goes through
`standard.services`, whose `WorkflowError`s become 400/403/409 in
`changedesk.lib.api.exception_handler`. A template of a school the caller is not a member
of is a 404. The RFCs proposing and raised from a template are shown as the RFC API shows
them (`changes.api.ChangeSerializer`).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any, cast

import django_filters
from django.db import transaction
from django.db.models import prefetch_related_objects
from django.utils import timezone
from django.utils.translation import gettext
from drf_spectacular.utils import (
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

from changedesk.accounts.api import CallerMixin, SchoolField
from changedesk.accounts.models import School, User, loaded_schools, seen_school_ids
from changedesk.changes.api import (
    ChangeSerializer,
    ItemIdsField,
    LinkedItemIdsField,
    items_of,
    load_for_api,
    people_of,
)
from changedesk.changes.models import PEOPLE_FIELDS, Change
from changedesk.changes.services import PLANNING_HORIZON
from changedesk.lib.api import (
    BAD_INPUT,
    FORBIDDEN,
    AwareDateTimeField,
    QuickRepresentation,
    RefuseUnknownFields,
    UsernameField,
)
from changedesk.lib.errors import NotPermitted
from changedesk.lib.filters import FilterSet, SchoolFilter
from changedesk.lib.loading import attach
from changedesk.schedule.models import MaintenanceWindow
from changedesk.standard import services
from changedesk.standard.models import (
    CONTENT,
    Template,
    TemplateEvent,
    TemplateQuerySet,
    TemplateState,
)

# What the caller may do with a template now (`allowed`), in this order.
EDIT, PROPOSE, RAISE, REINSTATE = "edit", "propose", "raise", "reinstate"
ALLOWED = (EDIT, PROPOSE, RAISE, REINSTATE)
# The most maintenance windows a template may name.
MAX_WINDOWS = 50
# The most items a template may name, and people it may let raise it, in one request.
MAX_ITEMS = 500
MAX_RAISERS = 500

_DETAIL = inline_serializer("StandardChangeErrorDetail", {"detail": serializers.CharField()})
NOT_FOUND = OpenApiResponse(_DETAIL, description="No such standard change among your schools.")
ERRORS = {
    400: BAD_INPUT,
    403: FORBIDDEN,
    404: NOT_FOUND,
    409: OpenApiResponse(_DETAIL, description="Someone else changed it at the same moment."),
}


def allowed(actor: User | None, template: Template, today: date) -> list[str]:
    """What `actor` may do with `template` now: the buttons a page would show."""
    if actor is None:
        return []
    manages = services.may_manage(actor, template.school)
    may = {
        EDIT: manages and template.state != TemplateState.PROPOSED,
        PROPOSE: manages and template.state == TemplateState.DRAFT,
        RAISE: template.may_be_raised(today) and services.may_raise(actor, template),
        REINSTATE: template.state == TemplateState.SUSPENDED
        and services.may_reinstate(actor, template),
    }
    return [name for name in ALLOWED if may[name]]


# --- Fields. ---


@extend_schema_field(
    {
        "type": "array",
        "items": {"type": "integer", "minimum": 1},
        "maxItems": MAX_WINDOWS,
        "description": "Ids of maintenance windows of the school.",
        "example": [1],
    }
)
class WindowIdsField(ItemIdsField):
    """Maintenance windows by id (loaded with the template by `load_template_links`)."""

    most = MAX_WINDOWS
    default_error_messages = {
        "invalid": "Give a list of maintenance window ids, e.g. [1, 2].",
        "too_many": f"At most {MAX_WINDOWS} maintenance windows.",
    }

    def to_representation(self, row: Any) -> list[int]:
        loaded: list[int] | None = getattr(row, "_window_ids", None)
        return loaded if loaded is not None else self.ask(row)

    def ask(self, row: Any) -> list[int]:
        template: Template = row
        return sorted(template.windows.values_list("pk", flat=True))


def windows_of(school: School, ids: list[int]) -> list[MaintenanceWindow]:
    found = {w.pk: w for w in MaintenanceWindow.objects.filter(school=school, pk__in=ids)}
    missing = [str(i) for i in ids if i not in found]
    if missing:
        raise serializers.ValidationError(
            {
                "windows": [
                    gettext("Not a maintenance window of %(school)s: %(ids)s.")
                    % {"school": school.name, "ids": ", ".join(missing)}
                ]
            }
        )
    return [found[i] for i in ids]


@extend_schema_field(
    {
        "type": "array",
        "items": {"type": "integer", "minimum": 1},
        "maxItems": MAX_ITEMS,
        "description": "Ids of configuration items of the school (see /api/v1/items/).",
        "example": [3, 7],
    }
)
class TemplateItemIdsField(LinkedItemIdsField):
    """Configuration items by id; resolved against the school in the view or `validate`.
    Shows a template's items (loaded with it by `load_template_links`, else asked for)."""

    most = MAX_ITEMS
    default_error_messages = {
        "invalid": "Give a list of item ids, e.g. [3, 7].",
        "too_many": f"At most {MAX_ITEMS} items.",
    }


@extend_schema_field(
    {
        "type": "array",
        "items": {"type": "string", "description": "A username.", "example": "olivia"},
        "maxItems": MAX_RAISERS,
        "description": "The usernames of the originators who may raise it (none: every "
        "originator of the school).",
        "example": ["olivia"],
    }
)
class RaisersField(serializers.Field[Any, Any, list[str], Any]):
    """Who may raise a template, by username; resolved against its school in `validate`."""

    default_error_messages = {
        "invalid": 'Give a list of usernames, e.g. ["olivia"].',
        "too_many": f"At most {MAX_RAISERS} people.",
    }

    def get_attribute(self, instance: Any) -> Any:
        return instance

    def to_representation(self, template: Template) -> list[str]:
        return sorted(user.username for user in template.raisers.all())

    def to_internal_value(self, data: Any) -> list[str]:
        if not isinstance(data, list) or not all(
            isinstance(v, str) and v.strip() and len(v) <= 150 and "\x00" not in v for v in data
        ):
            self.fail("invalid")
        if len(data) > MAX_RAISERS:
            self.fail("too_many")
        return list(dict.fromkeys(v.strip() for v in data))


def members_of(
    school: School, usernames: list[str], field: str, kept: Iterable[User] = ()
) -> list[User]:
    """Active members of `school` by username, in the order given, or people `kept` (named
    before: sending back what was read is not refused); a 400 naming the others."""
    found = {user.username: user for user in kept}
    found.update(
        (user.username, user)
        for user in User.objects.filter(
            username__in=usernames, is_active=True, memberships__school=school
        )
    )
    unknown = [name for name in usernames if name not in found]
    if unknown:
        raise serializers.ValidationError(
            {
                field: [
                    gettext("Not active members of %(school)s: %(people)s.")
                    % {"school": school.name, "people": ", ".join(unknown)}
                ]
            }
        )
    return [found[name] for name in usernames]


def _people(school: School, data: dict[str, Any]) -> dict[str, User | None]:
    """The people `data` names on an RFC (`PEOPLE_FIELDS`, by username or null)."""
    return people_of(school, {name: data[name] for name in PEOPLE_FIELDS if name in data})


# --- Serializers. ---

READ_ONLY_MESSAGES = {
    "school": "A standard change stays in the school it was written for.",
    "state": "This field is read-only: propose it for approval, or ask an approver to "
    "reinstate it.",
}


class TemplateSerializer(
    QuickRepresentation, RefuseUnknownFields, serializers.ModelSerializer[Template]
):
    """A standard change template: what every RFC raised from it says, the items it may
    touch, who may raise it and until when. On create `school` is required (the items and
    raisers are of that school); afterwards it stays there."""

    read_only_messages = READ_ONLY_MESSAGES

    school = SchoolField(help_text="The school's slug; set on create only.")
    items = TemplateItemIdsField(
        required=False,
        help_text="The items an RFC raised from it may touch (none: any of the school's).",
    )
    windows = WindowIdsField(
        required=False,
        help_text="The maintenance windows an RFC raised from it must fit in (none: any time "
        "the school calendar allows).",
    )
    raisers = RaisersField(required=False)
    review_date = serializers.DateField(
        required=False,
        help_text="After this day it may not be raised until reviewed (default: a year on).",
    )
    status = serializers.SerializerMethodField(
        help_text="Its state in words; “Expired: …” once an approved one's review date passed."
    )
    may_be_raised = serializers.SerializerMethodField(
        help_text="Whether it is approved and not past its review date, today."
    )
    proposal = serializers.IntegerField(
        source="proposal_id",
        read_only=True,
        allow_null=True,
        help_text="The RFC (its id) that proposed its version for approval.",
    )
    suspended_by = serializers.IntegerField(
        source="suspended_by_id",
        read_only=True,
        allow_null=True,
        help_text="The RFC (its id) raised from it whose failure suspended it.",
    )
    created_by = UsernameField(read_only=True)
    url = serializers.SerializerMethodField()
    allowed = serializers.SerializerMethodField()

    class Meta:
        model = Template
        fields: tuple[str, ...] = (
            "id",
            "school",
            *CONTENT,
            "items",
            "windows",
            "raisers",
            "review_date",
            "state",
            "status",
            "may_be_raised",
            "version",
            "approved_version",
            "approved_digest",
            "approved_at",
            "proposal",
            "suspended_by",
            "created_by",
            "created_at",
            "updated_at",
            "url",
            "allowed",
        )
        read_only_fields = (
            "id",
            "state",
            "version",
            "approved_version",
            "approved_digest",
            "approved_at",
            "created_at",
            "updated_at",
        )
        extra_kwargs = {
            "duration_minutes": {
                "min_value": 5,
                "max_value": 7 * 24 * 60,
                "help_text": "How long it usually takes, in minutes (5 to 10080): an RFC "
                "raised from it without a planned end takes this long.",
            },
            "approved_digest": {"help_text": "SHA-256 of what its last approval covered."},
        }

    def _today(self, template: Template) -> date:
        # The school's day (its review date is a day there), once per school a response.
        context = cast(dict[str, Any], self.context)
        days: dict[int, date] = context.setdefault("today", {})
        if template.school_id not in days:
            days[template.school_id] = template.today()
        return days[template.school_id]

    def get_status(self, template: Template) -> str:
        return template.status(self._today(template))

    def get_may_be_raised(self, template: Template) -> bool:
        return template.may_be_raised(self._today(template))

    def get_url(self, template: Template) -> str:
        """The template's page."""
        request: Request | None = self.context.get("request")
        path = template.get_absolute_url()
        return request.build_absolute_uri(path) if request is not None else path

    @extend_schema_field(serializers.ListField(child=serializers.ChoiceField(choices=ALLOWED)))
    def get_allowed(self, template: Template) -> list[str]:
        """What you may do with it now: edit, propose, raise, reinstate."""
        return allowed(self.context.get("actor"), template, self._today(template))

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        """Turn the item ids and usernames into items and people of the template's school."""
        school: School = self.instance.school if self.instance is not None else attrs["school"]
        if "items" in attrs:
            attrs["items"] = items_of(school, attrs["items"])
        if "windows" in attrs:
            attrs["windows"] = windows_of(school, attrs["windows"])
        if "raisers" in attrs:
            named = list(self.instance.raisers.all()) if self.instance is not None else []
            attrs["raisers"] = members_of(school, attrs["raisers"], "raisers", kept=named)
        return attrs


class TemplateEditSerializer(TemplateSerializer):
    """What a PATCH accepts: its content, items, raisers and review date, and a comment."""

    school = SchoolField(read_only=True)
    comment = serializers.CharField(
        required=False,
        allow_blank=True,
        write_only=True,
        max_length=2000,
        help_text="Why it was edited, kept in its history.",
    )

    class Meta(TemplateSerializer.Meta):
        fields = (*TemplateSerializer.Meta.fields, "comment")


class ProposeSerializer(RefuseUnknownFields, serializers.Serializer[Any]):
    """Who the proposing RFC names (each optional: by default the school's sole holder of
    the role); they can also be set on the RFC afterwards."""

    initial_approver = UsernameField(required=False, allow_null=True)
    peer_reviewer = UsernameField(required=False, allow_null=True)
    final_approver = UsernameField(required=False, allow_null=True)
    implementer = UsernameField(required=False, allow_null=True)


class RaiseSerializer(RefuseUnknownFields, serializers.Serializer[Any]):
    """The window of a standard change raised from the template, and what else differs."""

    planned_start = AwareDateTimeField(help_text="When it starts, with its UTC offset.")
    planned_end = AwareDateTimeField(
        required=False,
        allow_null=True,
        help_text="When it ends (default: the start and the template's usual duration).",
    )
    items = TemplateItemIdsField(
        required=False,
        help_text="The items it touches, among the template's (default: the template's).",
    )
    implementer = UsernameField(
        required=False, allow_null=True, help_text="Who carries it out (default: the school's)."
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        now = timezone.now()
        errors = {
            name: ["Choose a time within 20 years of today."]
            for name in ("planned_start", "planned_end")
            if attrs.get(name) is not None and abs(attrs[name] - now) > PLANNING_HORIZON
        }
        if errors:
            raise serializers.ValidationError(errors)
        return attrs


class ReinstateSerializer(RefuseUnknownFields, serializers.Serializer[Any]):
    comment = serializers.CharField(
        allow_blank=True, max_length=2000, help_text="What the review found; kept in its history."
    )


class TemplateEventSerializer(QuickRepresentation, serializers.ModelSerializer[TemplateEvent]):
    """One step in a template's life."""

    actor = UsernameField(read_only=True)
    change = serializers.IntegerField(
        source="change_id",
        read_only=True,
        allow_null=True,
        help_text="The RFC (its id) the step was part of: the proposal, the approval, the "
        "failed standard change.",
    )

    class Meta:
        model = TemplateEvent
        fields = ("kind", "actor", "version", "change", "comment", "data", "created_at")
        read_only_fields = fields
        extra_kwargs = {"data": {"help_text": "What the step kept, e.g. the content's digest."}}


# --- The list's filters. ---


class TemplateFilterSet(FilterSet):
    """`school` (a slug) and `state`; an empty value filters nothing, a bad one is a field
    error (a 400)."""

    school = SchoolFilter()
    state = django_filters.ChoiceFilter(
        choices=TemplateState.choices, label="State", empty_label="Any state"
    )

    class Meta:
        model = Template
        fields: list[str] = []


# --- The viewset. ---


def load_template_links(templates: list[Template]) -> None:
    """The ids of the items `templates` may touch, sorted, in one query of two columns, and
    who may raise them, in one more."""
    found: dict[int, list[int]] = {template.pk: [] for template in templates}
    links = Template.items.through.objects.filter(template_id__in=list(found))
    for template_id, item_id in links.order_by("template_id", "configurationitem_id").values_list(
        "template_id", "configurationitem_id"
    ):
        found[template_id].append(item_id)
    windows: dict[int, list[int]] = {template.pk: [] for template in templates}
    window_links = Template.windows.through.objects.filter(template_id__in=list(windows))
    for template_id, window_id in window_links.order_by(
        "template_id", "maintenancewindow_id"
    ).values_list("template_id", "maintenancewindow_id"):
        windows[template_id].append(window_id)
    for template in templates:
        template._item_ids = found[template.pk]  # type: ignore[attr-defined]
        template._window_ids = windows[template.pk]  # type: ignore[attr-defined]
    prefetch_related_objects(templates, "raisers")


@extend_schema_view(
    list=extend_schema(
        summary="Standard change templates of your schools, filtered",
        # The filters' parameters are read off the filter set (lib/schema.py).
    ),
    create=extend_schema(
        summary="Write a standard change template, in draft (an originator)",
        request=TemplateSerializer,
        responses={201: TemplateSerializer, 400: BAD_INPUT, 403: FORBIDDEN},
    ),
    retrieve=extend_schema(
        summary="One standard change template",
        responses={200: TemplateSerializer, 404: NOT_FOUND},
    ),
    partial_update=extend_schema(
        summary="Edit a standard change template (an originator): changing what its approval "
        "covers makes a new version, in draft, to be proposed again",
        request=TemplateEditSerializer,
        responses={200: TemplateSerializer, **ERRORS},
    ),
)
class TemplateViewSet(
    CallerMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet[Template],
):
    serializer_class = TemplateSerializer
    filterset_class = TemplateFilterSet
    lookup_url_kwarg = "id"
    # Digits only: anything else, or a number too big for the database, is simply not found.
    lookup_value_regex = r"\d{1,18}"
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self) -> TemplateQuerySet:
        # The caller as loaded with their memberships: their schools cost no query. The
        # order is the index's (school, title, id), so the list is paged school by school.
        actor = self._actor() or self.request.user
        return Template.objects.visible_to(actor).order_by("title", "id")

    def paged_schools(self) -> list[int] | None:
        """The caller's schools, for the list to be paged school by school (lib.paging)."""
        return seen_school_ids(self._caller())

    def paged_rows(self, rows: list[Template]) -> None:
        """A page's templates, loaded: their school, author, items and raisers."""
        self._load(rows)

    def _load(self, templates: list[Template]) -> None:
        # The caller's schools were read with their memberships: not asked for again.
        attach(templates, "school", "created_by", known=loaded_schools(self._actor()))
        load_template_links(templates)

    def get_object(self) -> Template:
        found = list(self.get_queryset().filter(pk=int(self.kwargs["id"]))[:1])
        if not found:
            raise NotFound(gettext("No such standard change among your schools."))
        self._load(found)
        self.check_object_permissions(self.request, found[0])
        return found[0]

    def _render(self, template_id: int, status_code: int = status.HTTP_200_OK) -> Response:
        template = self.get_queryset().get(pk=template_id)
        self._load([template])
        return Response(self.get_serializer(template).data, status=status_code)

    def _render_change(self, change_id: int) -> Response:
        """An RFC as the RFC API shows it (`ChangeViewSet._render`)."""
        actor = self._caller()
        change = Change.objects.visible_to(actor).get(pk=change_id)
        load_for_api([change], actor)
        context = self.get_serializer_context()
        return Response(ChangeSerializer(change, context=context).data, status.HTTP_201_CREATED)

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        school = cast(School, data.pop("school"))
        items = data.pop("items", [])
        raisers = data.pop("raisers", [])
        windows = data.pop("windows", [])
        template = services.create_template(
            school, self._caller(), data, items=items, raisers=raisers, windows=windows
        )
        return self._render(template.pk, status.HTTP_201_CREATED)

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        template = self.get_object()
        serializer = TemplateEditSerializer(
            template, data=request.data, partial=True, context=self.get_serializer_context()
        )
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        comment = data.pop("comment", "")
        items = data.pop("items", None)
        raisers = data.pop("raisers", None)
        windows = data.pop("windows", None)
        services.update_template(
            template.pk,
            self._caller(),
            data,
            items=items,
            raisers=raisers,
            comment=comment,
            windows=windows,
        )
        return self._render(template.pk)

    @extend_schema(
        summary="Propose it for approval: a normal RFC carrying its content, which goes "
        "through the school's approvers (201: that RFC)",
        description="The approval that accepts that RFC's impact approves this version of "
        "the template. Only a draft is proposed; while it is, it cannot be edited.",
        request=ProposeSerializer,
        responses={201: ChangeSerializer, **ERRORS},
    )
    @action(detail=True, methods=["post"])
    def propose(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        template = self.get_object()
        serializer = ProposeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        people = _people(template.school, serializer.validated_data)
        change = services.propose(template.pk, self._caller(), people=people)
        return self._render_change(change.pk)

    @extend_schema(
        summary="Raise a standard change from it: an RFC that goes ahead at once, approved "
        "(201: that RFC)",
        description="Only an originator of its school (one it names, when it names any) "
        "raises it, while it is approved and not past its review date. The window is weighed "
        "against the school calendar: a hard freeze or any soft conflict refuses it, naming "
        "the next safe slot; nothing is left behind by a refusal.",
        request=RaiseSerializer,
        responses={201: ChangeSerializer, **ERRORS},
    )
    @action(detail=True, methods=["post"], url_path="raise", url_name="raise")
    def raise_change(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        template = self.get_object()
        caller = self._caller()
        if not services.may_raise(caller, template):
            raise NotPermitted(
                gettext("You may not raise “%(title)s” at %(school)s.")
                % {"title": template.title, "school": template.school.name}
            )
        serializer = RaiseSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        items = items_of(template.school, data["items"]) if "items" in data else None
        implementer = _people(template.school, data).get("implementer")
        with transaction.atomic():
            change = services.raise_change(
                template.pk,
                caller,
                planned_start=data["planned_start"],
                planned_end=data.get("planned_end"),
                items=items,
                implementer=implementer,
            )
        return self._render_change(change.pk)

    @extend_schema(
        summary="Reinstate a suspended template after review (an approver)",
        request=ReinstateSerializer,
        responses={200: TemplateSerializer, **ERRORS},
    )
    @action(detail=True, methods=["post"])
    def reinstate(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        template = self.get_object()
        if not services.may_reinstate(self._caller(), template):
            raise NotPermitted(
                gettext("Only an approver at %(school)s may reinstate a standard change.")
                % {"school": template.school.name}
            )
        serializer = ReinstateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.reinstate(template.pk, self._caller(), serializer.validated_data["comment"])
        return self._render(template.pk)

    @extend_schema(
        summary="The template's history, oldest first",
        responses={200: TemplateEventSerializer(many=True), 404: NOT_FOUND},
        filters=False,
    )
    @action(detail=True, methods=["get"], pagination_class=None, filterset_class=None)
    def history(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        template = self.get_object()
        events = template.events.select_related("actor").order_by("created_at", "id")
        return Response(TemplateEventSerializer(events, many=True).data)


router = SimpleRouter()
router.register("standard-changes", TemplateViewSet, basename="standard-change")

urlpatterns = router.urls
