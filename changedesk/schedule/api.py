"""The school calendar, an RFC's conflicts and the next safe slots, in the REST API.

    /api/v1/calendar-periods/            GET (members), POST (school administrators)
    /api/v1/calendar-periods/{id}/       GET (members), PATCH, DELETE (school administrators)
    /api/v1/trust-calendar-periods/      GET (the trust's people and its schools' members),
                                         POST (the trust's administrator)
    /api/v1/trust-calendar-periods/{id}/ GET, PATCH, DELETE (likewise): a trust's period,
                                         copied into every school's calendar
    /api/v1/changes/{id}/conflicts/      GET: what the RFC's planned window collides with
    /api/v1/schedule/slots/              GET ?school=&minutes=&items=&type=: the next safe slots,
                                         after the school's lead time for that kind of change

Included in `changedesk/api_urls.py` with `path("", include("changedesk.schedule.api"))`.
A period of a school the caller is not in is a 404; a member who is not the school's
administrator may read but not write (403, from `services`, as on the pages). The list's
filters are the calendar page's (`filters.CalendarPeriodFilterSet`).

A trust's periods have the same fields, with `trust` (its slug) for `school`; their writes go
through `trust_calendar`, which copies each into every school of the trust (a school's copy
shows in its calendar periods, and is changed only through the trust's).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, cast

from django.urls import path
from django.utils.translation import gettext
from drf_spectacular.utils import (
    extend_schema,
    extend_schema_view,
    inline_serializer,
)
from rest_framework import serializers, viewsets
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import SimpleRouter
from rest_framework.views import APIView

from changedesk.accounts.api import SchoolField
from changedesk.accounts.models import School, Trust, User
from changedesk.changes.api import ID_PARAMETER, no_such_change
from changedesk.changes.models import Change
from changedesk.configuration.models import ConfigurationItem
from changedesk.lib.api import (
    BAD_INPUT,
    FORBIDDEN,
    NOT_FOUND,
    AwareDateTimeField,
    QuickRepresentation,
    RefuseUnknownFields,
    SlugAmongTheirs,
)
from changedesk.lib.converters import ID_REGEX
from changedesk.schedule import services, trust_calendar
from changedesk.schedule.calendar import sane_year
from changedesk.schedule.conflicts import conflict_kinds, find_conflicts
from changedesk.schedule.filters import CalendarPeriodFilterSet, TrustPeriodFilterSet
from changedesk.schedule.models import CalendarPeriod, TrustPeriod
from changedesk.schedule.slots import ChangeKind, find_safe_slots


class CalendarPeriodSerializer(
    QuickRepresentation, RefuseUnknownFields, serializers.ModelSerializer[CalendarPeriod]
):
    """A term, holiday, exam period, INSET day or change freeze of a school."""

    school = SchoolField(help_text="The school's slug; set on create only.")
    starts_at = AwareDateTimeField(help_text="For a whole day, local midnight.")
    ends_at = AwareDateTimeField(help_text="Exclusive: for whole days, the midnight after.")

    class Meta:
        model = CalendarPeriod
        fields = (
            "id",
            "school",
            "kind",
            "name",
            "starts_at",
            "ends_at",
            "is_hard",
            "notes",
            "source_uid",
            "created_at",
        )
        read_only_fields = ("id", "source_uid", "created_at")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        instance = self.instance
        errors: dict[str, list[str]] = {}
        if instance is not None and "school" in attrs and attrs["school"] != instance.school:
            errors["school"] = ["A period stays in the school it belongs to."]
        rules = services.period_errors(
            attrs.get("kind", instance.kind if instance else None),
            attrs.get("starts_at", instance.starts_at if instance else None),
            attrs.get("ends_at", instance.ends_at if instance else None),
            attrs.get("is_hard", instance.is_hard if instance else False),
        )
        errors.update({name: [message] for name, message in rules.items()})
        if errors:
            raise serializers.ValidationError(errors)
        return attrs


@extend_schema_view(
    list=extend_schema(summary="Calendar periods of your schools, filtered"),
    retrieve=extend_schema(
        summary="One calendar period", responses={200: CalendarPeriodSerializer, 404: NOT_FOUND}
    ),
    create=extend_schema(
        summary="Add a calendar period (school administrators)",
        responses={201: CalendarPeriodSerializer, 400: BAD_INPUT, 403: FORBIDDEN},
    ),
    partial_update=extend_schema(
        summary="Edit a calendar period (school administrators)",
        responses={200: CalendarPeriodSerializer, 400: BAD_INPUT, 403: FORBIDDEN, 404: NOT_FOUND},
    ),
    destroy=extend_schema(
        summary="Remove a calendar period (school administrators)",
        responses={204: None, 403: FORBIDDEN, 404: NOT_FOUND},
    ),
)
class CalendarPeriodViewSet(viewsets.ModelViewSet[CalendarPeriod]):
    # Writes go through `services`, which loads the caller's roles and checks that they are
    # the school's administrator.
    serializer_class = CalendarPeriodSerializer
    lookup_value_regex = ID_REGEX  # a number beyond any id is no route (a 404)
    filterset_class = CalendarPeriodFilterSet
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def _caller(self) -> User:
        return cast(User, self.request.user)

    def get_queryset(self) -> Any:
        schools = School.objects.for_user(self._caller()).values("pk")
        return (
            CalendarPeriod.objects.filter(school__in=schools)
            .select_related("school")
            .order_by("starts_at", "id")
        )

    def perform_create(self, serializer: Any) -> None:
        values = dict(serializer.validated_data)
        school = values.pop("school")
        serializer.instance = services.create_period(school, self._caller(), values)

    def perform_update(self, serializer: Any) -> None:
        values = dict(serializer.validated_data)
        values.pop("school", None)  # the same school: `validate` refuses another
        period = services.update_period(serializer.instance.pk, self._caller(), values)
        serializer.instance = period

    def perform_destroy(self, instance: CalendarPeriod) -> None:
        services.delete_period(instance.pk, self._caller())


# --- A trust's calendar. ---


class TrustField(SlugAmongTheirs[Trust]):
    """A trust by slug, among those whose calendar the caller reads: others are as if they
    did not exist."""

    default_error_messages = {
        "does_not_exist": "No trust called “{value}” among yours.",
        "invalid": "Give a trust's slug.",
    }

    def get_queryset(self) -> Any:
        request: Request | None = self.context.get("request")
        if request is None:
            return Trust.objects.none()
        return Trust.objects.filter(pk__in=trust_calendar.readable_trusts(request.user))


class TrustPeriodSerializer(
    QuickRepresentation, RefuseUnknownFields, serializers.ModelSerializer[TrustPeriod]
):
    """A term, holiday, exam period, INSET day or change freeze a trust sets for all its
    schools."""

    trust = TrustField(help_text="The trust's slug; set on create only.")
    starts_at = AwareDateTimeField(help_text="For a whole day, local midnight.")
    ends_at = AwareDateTimeField(help_text="Exclusive: for whole days, the midnight after.")

    class Meta:
        model = TrustPeriod
        fields = (
            "id",
            "trust",
            "kind",
            "name",
            "starts_at",
            "ends_at",
            "is_hard",
            "notes",
            "created_at",
        )
        read_only_fields = ("id", "created_at")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        instance = self.instance
        errors: dict[str, list[str]] = {}
        if instance is not None and "trust" in attrs and attrs["trust"] != instance.trust:
            errors["trust"] = ["A period stays in the trust it belongs to."]
        rules = services.period_errors(
            attrs.get("kind", instance.kind if instance else None),
            attrs.get("starts_at", instance.starts_at if instance else None),
            attrs.get("ends_at", instance.ends_at if instance else None),
            attrs.get("is_hard", instance.is_hard if instance else False),
        )
        errors.update({name: [message] for name, message in rules.items()})
        if errors:
            raise serializers.ValidationError(errors)
        return attrs


@extend_schema_view(
    list=extend_schema(summary="Calendar periods of your trusts, filtered"),
    retrieve=extend_schema(
        summary="One period of a trust's calendar",
        responses={200: TrustPeriodSerializer, 404: NOT_FOUND},
    ),
    create=extend_schema(
        summary="Add a period to every school of a trust (its administrator)",
        responses={201: TrustPeriodSerializer, 400: BAD_INPUT, 403: FORBIDDEN},
    ),
    partial_update=extend_schema(
        summary="Edit a trust's period, in every school's calendar (its administrator)",
        responses={200: TrustPeriodSerializer, 400: BAD_INPUT, 403: FORBIDDEN, 404: NOT_FOUND},
    ),
    destroy=extend_schema(
        summary="Remove a trust's period from every school's calendar (its administrator)",
        responses={204: None, 403: FORBIDDEN, 404: NOT_FOUND},
    ),
)
class TrustPeriodViewSet(viewsets.ModelViewSet[TrustPeriod]):
    # Writes go through `trust_calendar`, which checks that the caller administers the trust
    # and copies the period into each of its schools.
    serializer_class = TrustPeriodSerializer
    lookup_value_regex = ID_REGEX  # a number beyond any id is no route (a 404)
    filterset_class = TrustPeriodFilterSet
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def _caller(self) -> User:
        return cast(User, self.request.user)

    def get_queryset(self) -> Any:
        return (
            TrustPeriod.objects.filter(trust__in=trust_calendar.readable_trusts(self._caller()))
            .select_related("trust")
            .order_by("starts_at", "id")
        )

    def perform_create(self, serializer: Any) -> None:
        values = dict(serializer.validated_data)
        trust = values.pop("trust")
        serializer.instance = trust_calendar.create_period(trust, self._caller(), values)

    def perform_update(self, serializer: Any) -> None:
        values = dict(serializer.validated_data)
        values.pop("trust", None)  # the same trust: `validate` refuses another
        period = trust_calendar.update_period(serializer.instance.pk, self._caller(), values)
        serializer.instance = period

    def perform_destroy(self, instance: TrustPeriod) -> None:
        trust_calendar.delete_period(instance.pk, self._caller())


# --- Conflicts. ---


class ConflictKindField(serializers.ChoiceField):
    """The schedule's kinds and the registered rules' (`conflicts.conflict_kinds`), read
    when a serializer is made: DRF makes its fields again for each one, after start-up."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(choices=conflict_kinds(), **kwargs)


class ConflictSerializer(serializers.Serializer[dict[str, Any]]):
    kind = ConflictKindField()
    hard = serializers.BooleanField(
        help_text="True when it forbids approval (a hard freeze, for a non-emergency RFC)."
    )
    message = serializers.CharField(help_text="What it collides with, in plain words.")
    change_id = serializers.IntegerField(
        allow_null=True, help_text="The other RFC, for an overlap."
    )
    period_id = serializers.IntegerField(
        allow_null=True, help_text="The exam period or change freeze."
    )
    item_ids = serializers.ListField(
        child=serializers.IntegerField(), help_text="The configuration items both RFCs touch."
    )


class ConflictsSerializer(serializers.Serializer[dict[str, Any]]):
    id = serializers.IntegerField()
    qualified_reference = serializers.CharField()
    planned_start = serializers.DateTimeField(allow_null=True)
    planned_end = serializers.DateTimeField(allow_null=True)
    has_hard_conflicts = serializers.BooleanField()
    conflicts = ConflictSerializer(many=True)


def visible_change(user: Any, key: str) -> Change:
    """An RFC by numeric id or (school-qualified) reference, among the caller's schools."""
    key = key.strip()
    queryset = Change.objects.visible_to(user).select_related("school")
    if key.isascii() and key.isdecimal():
        matches = list(queryset.filter(pk=int(key))[:1]) if len(key) < 19 else []
    else:
        matches = list(queryset.by_reference(key)[:2])
    if len(matches) != 1:
        raise NotFound(no_such_change(key, ambiguous=bool(matches)))
    return matches[0]


class ChangeConflictsView(APIView):
    """What an RFC's planned window collides with; empty when it has no window yet."""

    @extend_schema(
        summary="An RFC's conflicts: overlaps, exams, freezes, the teaching day, windows",
        parameters=[ID_PARAMETER],
        responses={200: ConflictsSerializer, 404: NOT_FOUND},
    )
    def get(self, request: Request, id: str) -> Response:
        change = visible_change(request.user, id)
        conflicts = find_conflicts(change)
        return Response(
            ConflictsSerializer(
                {
                    "id": change.pk,
                    "qualified_reference": change.qualified_reference,
                    "planned_start": change.planned_start,
                    "planned_end": change.planned_end,
                    "has_hard_conflicts": any(c.hard for c in conflicts),
                    "conflicts": [c.as_dict() for c in conflicts],
                }
            ).data
        )


# --- The next safe slots. ---


class SlotsQuerySerializer(serializers.Serializer[Any]):
    school = SchoolField(help_text="The school's slug.")
    minutes = serializers.IntegerField(
        min_value=15, max_value=7 * 24 * 60, help_text="How long the change takes."
    )
    items = serializers.CharField(
        required=False,
        allow_blank=True,
        help_text="Ids of the configuration items it touches, comma-separated.",
    )
    after = AwareDateTimeField(
        required=False,
        help_text="Search from here (default: now); a time before the school's lead time is "
        "up is raised to it.",
    )
    count = serializers.IntegerField(required=False, default=5, min_value=1, max_value=20)
    change = serializers.CharField(
        required=False, help_text="The RFC being planned (id or reference), left out of busy times."
    )
    type = serializers.ChoiceField(
        choices=[kind.value for kind in ChangeKind],
        required=False,
        help_text="The kind of change, which sets the lead time: `normal` (the school's "
        "working days), `standard` (its hours) or `emergency` (none). Default: the RFC's "
        "(`emergency` or `normal`) when `change` is given, else `normal`.",
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        school: School = attrs["school"]
        after = attrs.get("after")
        if after is not None and not sane_year(after.year + 1):
            raise serializers.ValidationError(
                {"after": [gettext("Choose a time between 1900 and 2998.")]}
            )
        raw = [part.strip() for part in attrs.get("items", "").split(",") if part.strip()]
        if any(not (part.isascii() and part.isdecimal()) or len(part) > 18 for part in raw):
            raise serializers.ValidationError({"items": [gettext("Give item ids, e.g. 3,7.")]})
        wanted = {int(part) for part in raw}
        found = set(
            ConfigurationItem.objects.filter(school=school, pk__in=wanted).values_list(
                "pk", flat=True
            )
        )
        missing = sorted(wanted - found)
        if missing:
            raise serializers.ValidationError(
                {
                    "items": [
                        gettext("No item %(ids)s in %(school)s.")
                        % {"ids": ", ".join(map(str, missing)), "school": school.name}
                    ]
                }
            )
        attrs["item_ids"] = sorted(found)
        return attrs


SLOTS_RESPONSE = inline_serializer(
    "SafeSlots",
    {
        "school": serializers.CharField(),
        "minutes": serializers.IntegerField(),
        "type": serializers.CharField(help_text="The kind of change searched for."),
        "earliest": serializers.DateTimeField(
            help_text="Where the search started: the end of the lead time, or a later `after`."
        ),
        "slots": inline_serializer(
            "SafeSlot",
            {"start": serializers.DateTimeField(), "end": serializers.DateTimeField()},
            many=True,
        ),
    },
)


class SafeSlotsView(APIView):
    """The next windows free of every conflict for a change of a given length."""

    @extend_schema(
        summary="The next safe slots for a change",
        # The query as the serializer reads it: its bounds (e.g. `minutes` from 15) included.
        parameters=[SlotsQuerySerializer],
        responses={200: SLOTS_RESPONSE, 400: BAD_INPUT},
    )
    def get(self, request: Request) -> Response:
        data = {key: request.query_params.get(key) for key in request.query_params}
        if len(request.query_params.getlist("items")) > 1:
            data["items"] = ",".join(request.query_params.getlist("items"))
        query = SlotsQuerySerializer(data=data, context={"request": request})
        query.is_valid(raise_exception=True)
        params = query.validated_data
        school: School = params["school"]
        exclude = None
        kind = ChangeKind(params.get("type") or ChangeKind.NORMAL)
        if params.get("change"):
            change = visible_change(request.user, params["change"])
            if change.school_id != school.pk:
                raise serializers.ValidationError(
                    {"change": [gettext("That RFC is in another school.")]}
                )
            exclude = change.pk
            if not params.get("type") and change.is_emergency:
                kind = ChangeKind.EMERGENCY
        search = find_safe_slots(
            school,
            timedelta(minutes=params["minutes"]),
            params["item_ids"],
            kind=kind,
            after=params.get("after"),
            count=params["count"],
            exclude_change_id=exclude,
        )
        tz = school.zone
        return Response(
            {
                "school": school.slug,
                "minutes": params["minutes"],
                "type": kind.value,
                "earliest": search.earliest.astimezone(tz).isoformat(),
                "slots": [
                    {"start": s.astimezone(tz).isoformat(), "end": e.astimezone(tz).isoformat()}
                    for s, e in search.slots
                ],
            }
        )


router = SimpleRouter()
router.register("calendar-periods", CalendarPeriodViewSet, basename="calendar-period")
router.register("trust-calendar-periods", TrustPeriodViewSet, basename="trust-calendar-period")

urlpatterns = [
    path("changes/<str:id>/conflicts/", ChangeConflictsView.as_view(), name="change-conflicts"),
    path("schedule/slots/", SafeSlotsView.as_view(), name="schedule-slots"),
    *router.urls,
]
