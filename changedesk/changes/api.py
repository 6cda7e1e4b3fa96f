"""The RFC in the REST API: list, create, read, edit, act on and read the history of an RFC.

Thin on purpose: the serializers parse and render, the viewset fetches and authorises
(invisible -> 404), and every write goes through `services.create_change`,
`services.update_change` or `workflow.perform`, whose `WorkflowError`s become 400/403/409
in `changedesk.lib.api.exception_handler`.
"""

from __future__ import annotations

import functools
from typing import Any

from django.db import transaction
from django.utils.translation import gettext
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    PolymorphicProxySerializer,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response

from changedesk.accounts.api import CallerMixin, SchoolField
from changedesk.accounts.models import School, User, loaded_schools, seen_school_ids
from changedesk.changes import extensions, services, tally, workflow
from changedesk.changes import items as rfc_items
from changedesk.changes.choices import Action, ChangeType, Outcome, State
from changedesk.changes.filters import ChangeFilterSet
from changedesk.changes.models import (
    PEOPLE_FIELDS,
    Change,
    ChangeEvent,
    ChangeItem,
    ChangeQuerySet,
)
from changedesk.configuration.models import ConfigurationItem
from changedesk.lib.api import (
    BAD_INPUT,
    ERRORS,
    FORBIDDEN,
    NOT_FOUND,
    AwareDateTimeField,
    QuickRepresentation,
    RefuseUnknownFields,
    UsernameField,
    if_match_version,
)
from changedesk.lib.loading import attach

# --- Fields. ---


@extend_schema_field(
    {
        "type": "array",
        "items": {"type": "integer"},
        "description": "The ids of the configuration items it touches (see /api/v1/items/).",
        "example": [3, 7],
    }
)
class ItemIdsField(serializers.Field[Any, Any, list[int], Any]):
    """The configuration items an RFC touches, by id. Resolved against its school in `validate`."""

    most = 500  # ids at most
    default_error_messages = {
        "invalid": "Give a list of item ids, e.g. [3, 7].",
        "too_many": "At most 500 items on one request for change.",
    }

    def to_representation(self, row: Any) -> list[int]:
        # Loaded with the rows (`load_item_ids`), else asked for.
        loaded: list[int] | None = getattr(row, "_item_ids", None)
        return loaded if loaded is not None else self.ask(row)

    def ask(self, row: Any) -> list[int]:
        """The ids of the items `row` (an RFC) touches, when they were not loaded with it."""
        return sorted(ChangeItem.objects.filter(change=row).values_list("item_id", flat=True))

    def get_attribute(self, instance: Change) -> Change:
        return instance

    def to_internal_value(self, data: Any) -> list[int]:
        if not isinstance(data, list) or not all(
            isinstance(v, int) and not isinstance(v, bool) and 0 < v < 2**63 for v in data
        ):
            self.fail("invalid")
        if len(data) > self.most:
            self.fail("too_many")
        return sorted(set(data))


class LinkedItemIdsField(ItemIdsField):
    """The items of a row that names them in a many-to-many `items` (an app's: a standard
    change template, a patch), when they were not loaded with it."""

    def ask(self, row: Any) -> list[int]:
        return sorted(row.items.values_list("pk", flat=True))


# --- Serializers. ---

WRITABLE_FIELDS = services.EDITABLE_FIELDS
READ_ONLY_FIELDS = (
    "id",
    "reference",
    "qualified_reference",
    "state",
    "type",
    "originator",
    "outcome",
    "ratified",
    "records_updated",
    "caused_incidents",
    "users_informed",
    "version",
    "allowed_actions",
    "created_at",
    "updated_at",
    "url",
)
READ_ONLY_MESSAGES = {
    "state": "This field is read-only: use the actions endpoint to move the RFC on.",
    "school": "An RFC stays in the school it was raised in.",
}


class ChangeSerializer(
    QuickRepresentation, RefuseUnknownFields, serializers.ModelSerializer[Change]
):
    """An RFC. On create `school` is required; afterwards the RFC stays in its school."""

    read_only_messages = READ_ONLY_MESSAGES

    reference = serializers.CharField(read_only=True, help_text="RFC-0001, unique in the school.")
    qualified_reference = serializers.CharField(
        read_only=True, help_text="The school and the reference, e.g. greenfield:RFC-0001."
    )
    school = SchoolField(help_text="The school's slug; set on create only.")
    type = serializers.ChoiceField(
        choices=ChangeType.choices,
        source="change_type",
        read_only=True,
        help_text="normal, emergency, or standard: raised from a standard change template "
        "approved once (/api/v1/standard-changes/{id}/raise/).",
    )
    originator = UsernameField(read_only=True)
    initial_approver = UsernameField(required=False, allow_null=True)
    peer_reviewer = UsernameField(required=False, allow_null=True)
    final_approver = UsernameField(required=False, allow_null=True)
    implementer = UsernameField(required=False, allow_null=True)
    planned_start = AwareDateTimeField(required=False, allow_null=True)
    planned_end = AwareDateTimeField(required=False, allow_null=True)
    items = ItemIdsField(required=False)
    outcome = serializers.SerializerMethodField()
    allowed_actions = serializers.SerializerMethodField()
    url = serializers.SerializerMethodField()

    class Meta:
        model = Change
        fields: tuple[str, ...] = (
            "id",
            "reference",
            "qualified_reference",
            "school",
            "state",
            "type",
            *WRITABLE_FIELDS,
            "items",
            "originator",
            "outcome",
            "ratified",
            "records_updated",
            "caused_incidents",
            "users_informed",
            "version",
            "allowed_actions",
            "created_at",
            "updated_at",
            "url",
        )
        read_only_fields = READ_ONLY_FIELDS

    @extend_schema_field(
        serializers.ChoiceField(choices=Outcome.choices, allow_null=True, read_only=True)
    )
    def get_outcome(self, change: Change) -> str | None:
        return change.outcome or None

    @extend_schema_field(
        serializers.ListField(child=serializers.ChoiceField(choices=Action.choices))
    )
    def get_allowed_actions(self, change: Change) -> list[str]:
        actor: User | None = self.context.get("actor")
        return workflow.allowed_actions(change, actor) if actor is not None else []

    def get_url(self, change: Change) -> str:
        """The RFC's page."""
        # (The docstring is the schema's description.) Its address differs from another
        # RFC's by the id alone: a page's first is built (`reverse`, `build_absolute_uri`:
        # a fifth of the time a 50-row page took to show) and the others from it.
        pk = str(change.pk)
        around: tuple[str, str] | None = self.__dict__.get("_url_around")
        if around is not None:
            return around[0] + pk + around[1]
        request: Request | None = self.context.get("request")
        path = change.get_absolute_url()
        url = request.build_absolute_uri(path) if request is not None else path
        if type(change.pk) is int and path.count(pk) == 1 and url.count(pk) == 1:
            before, after = url.split(pk)
            self.__dict__["_url_around"] = (before, after)
        return url

    def get_fields(self) -> dict[str, serializers.Field[Any, Any, Any, Any]]:
        # What the apps add to the RFC (see changes.extensions): shown, and set on create
        # and edit where the app allows it.
        fields = super().get_fields()
        for extra in extensions.change_fields():
            field = extra.serializer_field()
            # The app says what the RFC shows; no attribute of the RFC holds it.
            field.get_attribute = extra.value  # type: ignore[method-assign,assignment]
            fields[extra.name] = field
        for fact in extensions.read_fields():
            shown = fact.serializer_field()
            shown.read_only = True
            # Loaded with the page (`load_for_api`), else asked for.
            shown.get_attribute = functools.partial(  # type: ignore[method-assign]
                extensions.read_field_value, name=fact.name
            )
            fields[fact.name] = shown
        return fields

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        """Turn the usernames into people, and the item ids into items, of the RFC's school."""
        locked = [
            extra.name
            for extra in extensions.change_fields()
            if extra.name in attrs
            and self.instance is not None
            and not extra.editable(self.instance)
        ]
        if locked:
            raise serializers.ValidationError(
                {name: [gettext("This cannot be changed now.")] for name in locked}
            )
        school: School = self.instance.school if self.instance is not None else attrs["school"]
        if "items" in attrs:
            attrs["items"] = items_of(school, attrs["items"])
        named = {n: attrs[n] for n in PEOPLE_FIELDS if attrs.get(n) is not None}
        return {**attrs, **people_of(school, named)}


def people_of(school: School, named: dict[str, str | None]) -> dict[str, User | None]:
    """The people named on an RFC (a field of `PEOPLE_FIELDS` to a username, or None for no
    one) as active members of `school`; a 400 naming each field whose person is not one."""
    usernames = {username for username in named.values() if username is not None}
    found = {
        u.username: u
        for u in User.objects.filter(
            username__in=usernames, is_active=True, memberships__school=school
        )
    }
    errors = {
        name: [f"No one called “{username}” is an active member of {school.name}."]
        for name, username in named.items()
        if username is not None and username not in found
    }
    if errors:
        raise serializers.ValidationError(errors)
    return {name: None if u is None else found[u] for name, u in named.items()}


def load_for_api(changes: list[Change], actor: User | None) -> None:
    """What the RFC API shows of `changes`, loaded after them, a query per table rather than
    joined (lib.loading: an eight-table join took 4-8 ms to plan): their school and people
    (the actor's schools known already, with their memberships) and their items."""
    attach(changes, "school", "originator", *PEOPLE_FIELDS, known=loaded_schools(actor))
    load_item_ids(changes)
    extensions.load_read_fields(changes)


def load_item_ids(changes: list[Change]) -> None:
    """The ids of the items `changes` touch, sorted, in one query of two columns (what
    `ItemIdsField` shows; a prefetch would make a row object of each link)."""
    found: dict[int, list[int]] = {change.pk: [] for change in changes}
    links = ChangeItem.objects.filter(change_id__in=list(found)).order_by("change_id", "item_id")
    for change_id, item_id in links.values_list("change_id", "item_id"):
        found[change_id].append(item_id)
    for change in changes:
        change._item_ids = found[change.pk]  # type: ignore[attr-defined]


def _app_values(data: dict[str, Any]) -> dict[str, Any]:
    """Take the apps' fields out of `data` (what the RFC's services do not know)."""
    return {e.name: data.pop(e.name) for e in extensions.change_fields() if e.name in data}


def no_such_change(key: str, *, ambiguous: bool = False) -> str:
    """The 404 of an RFC asked for by `key`; `ambiguous`: a bare reference seen in two schools,
    which needs its school."""
    if ambiguous:
        return gettext(
            "No request for change %(key)s among your schools. Give it with its school, e.g. "
            "school:RFC-0001."
        ) % {"key": key}
    return gettext("No request for change %(key)s among your schools.") % {"key": key}


def items_of(school: School, ids: list[int], field: str = "items") -> list[ConfigurationItem]:
    """The configuration items of `school` with `ids`; a 400 on `field` naming the others."""
    items = list(ConfigurationItem.objects.filter(school=school, pk__in=ids))
    missing = sorted(set(ids) - {item.pk for item in items})
    if missing:
        raise serializers.ValidationError({field: [rfc_items.no_item(missing, school)]})
    return items


class EditSerializer(ChangeSerializer):
    """What a PATCH accepts: the editable fields, an optional comment and expected version."""

    school = SchoolField(read_only=True)
    comment = serializers.CharField(required=False, allow_blank=True, write_only=True)
    expected_version = serializers.IntegerField(
        required=False, min_value=1, max_value=2**31 - 1, write_only=True
    )

    class Meta(ChangeSerializer.Meta):
        fields = (*ChangeSerializer.Meta.fields, "comment", "expected_version")


class ChangeActionSerializer(RefuseUnknownFields, serializers.Serializer[Any]):
    """An action on an RFC and what it carries; the workflow checks the rest."""

    action = serializers.ChoiceField(
        choices=Action.choices,
        error_messages={"invalid_choice": f"Unknown action “{{input}}”. Use one of: "
                        f"{', '.join(Action.values)}."},
    )  # fmt: skip
    comment = serializers.CharField(
        required=False, allow_blank=True, default="", help_text="Required to reject or return."
    )
    outcome = serializers.ChoiceField(
        choices=Outcome.choices, required=False, help_text="For record_outcome."
    )
    records_updated = serializers.BooleanField(required=False, help_text="For close.")
    caused_incidents = serializers.BooleanField(required=False, help_text="For close.")
    users_informed = serializers.BooleanField(required=False, help_text="For close.")
    item_changes = serializers.DictField(
        child=serializers.CharField(allow_blank=True, max_length=rfc_items.MAX_NOTE),
        required=False,
        help_text="For close: what changed on each item the RFC names, "
        '{"<item id>": "what changed"} (FITS step 9).',
    )
    expected_version = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=2**31 - 1,
        help_text="The version you loaded; a different current version answers 409.",
    )

    # What the actions carry, as the workflow's table says (each has its field above).
    PAYLOAD = tuple(dict.fromkeys(name for t in workflow.TRANSITIONS for name in t.payload))

    def get_fields(self) -> dict[str, serializers.Field[Any, Any, Any, Any]]:
        # What the apps add to a decision, e.g. `override_reason` (see changes.extensions).
        fields = super().get_fields()
        for extra in extensions.action_fields():
            fields[extra.name] = extra.serializer_field()
        return fields

    def payload(self) -> dict[str, Any]:
        """What the action carries, for `workflow.perform`'s `data`."""
        data = self.validated_data
        names = (*self.PAYLOAD, *(f.name for f in extensions.action_fields()))
        return {name: data[name] for name in names if name in data}


STATE_OR_NULL = serializers.ChoiceField(choices=State.choices, allow_null=True, read_only=True)


class ChangeEventSerializer(QuickRepresentation, serializers.ModelSerializer[ChangeEvent]):
    """One entry in an RFC's hash-chained history."""

    actor = UsernameField(read_only=True)
    actor_name = serializers.CharField(source="actor.display_name", read_only=True)
    on_behalf_of = UsernameField(read_only=True, allow_null=True)
    on_behalf_of_name = serializers.SerializerMethodField()
    from_state = serializers.SerializerMethodField()
    to_state = serializers.SerializerMethodField()

    class Meta:
        model = ChangeEvent
        fields = (
            "sequence",
            "kind",
            "actor",
            "actor_name",
            "on_behalf_of",
            "on_behalf_of_name",
            "from_state",
            "to_state",
            "comment",
            "diffs",
            "data",
            "digest",
            "hash",
            "previous_hash",
            "created_at",
        )
        read_only_fields = fields
        extra_kwargs = {
            "diffs": {"help_text": "The fields it changed: [{field, before, after}, …]."},
            "data": {"help_text": "What the action carried, e.g. the outcome."},
        }

    def get_on_behalf_of_name(self, event: ChangeEvent) -> str | None:
        return event.on_behalf_of.display_name if event.on_behalf_of else None

    @extend_schema_field(STATE_OR_NULL)
    def get_from_state(self, event: ChangeEvent) -> str | None:
        return event.from_state or None

    @extend_schema_field(STATE_OR_NULL)
    def get_to_state(self, event: ChangeEvent) -> str | None:
        return event.to_state or None


# --- The viewset. ---

ID_PARAMETER = OpenApiParameter(
    "id",
    OpenApiTypes.STR,
    OpenApiParameter.PATH,
    description="The numeric id, or the school-qualified reference, e.g. greenfield:RFC-0001.",
)


class ChangeAPIFilterSet(ChangeFilterSet):
    """The change log's filters; a search lists every match, best first (the page lists
    the newest `lib.search.LIMIT`): `count` and the pages are of them all."""

    search_limit = None


# The very filters of the change log, those the apps add included (changes.extensions adds
# them to ChangeFilterSet's), not a copy made when this class was.
ChangeAPIFilterSet.base_filters = ChangeFilterSet.base_filters


@extend_schema_view(
    list=extend_schema(summary="The change log: RFCs in your schools, filtered"),
    # Its body and answers: `schema_request` and `schema_responses` below.
    create=extend_schema(summary="Raise an RFC"),
    retrieve=extend_schema(
        summary="One RFC",
        parameters=[ID_PARAMETER],
        responses={200: ChangeSerializer, 404: NOT_FOUND},
    ),
    partial_update=extend_schema(
        summary="Edit an RFC (the originator, in the sections still open)",
        parameters=[ID_PARAMETER],
        request=EditSerializer,
        responses={200: ChangeSerializer, **ERRORS},
    ),
)
class ChangeViewSet(
    CallerMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet[Change],
):
    serializer_class = ChangeSerializer
    filterset_class = ChangeAPIFilterSet
    lookup_url_kwarg = "id"
    # Numeric ids and school-qualified references (greenfield:RFC-0001) alike.
    lookup_value_regex = r"[^/]+"

    def get_queryset(self) -> ChangeQuerySet:
        return (
            # The caller as loaded with their memberships: their schools cost no query.
            Change.objects.visible_to(self._actor() or self.request.user).order_by(
                "-created_at", "-id"
            )
        )

    def paged_schools(self) -> list[int] | None:
        """The caller's schools, for the list to be paged school by school (lib.paging)."""
        return seen_school_ids(self._caller())

    def paged_rows(self, rows: list[Change]) -> None:
        """A page's RFCs, loaded: their school, people and items (lib.paging)."""
        self._load(rows)

    def _load(self, changes: list[Change]) -> None:
        load_for_api(changes, self._actor())

    def paged_count(self) -> int | None:
        """How many RFCs the list holds, from the tallies where they tell (changes/tally.py;
        the filter set the list used, found valid before the list is paged)."""
        filterset = getattr(self, "used_filterset", None)
        if filterset is None or not filterset.is_valid():
            return None
        return tally.count_for(filterset, self.paged_schools())

    def get_object(self) -> Change:
        key = str(self.kwargs[self.lookup_url_kwarg]).strip()
        queryset = self.get_queryset()
        if key.isascii() and key.isdecimal():
            matches = list(queryset.filter(pk=int(key))[:1]) if len(key) < 19 else []
        else:
            matches = list(queryset.by_reference(key)[:2])
        if len(matches) != 1:
            # A plain RFC-0001 seen in two schools is ambiguous: the qualified form is needed.
            raise NotFound(no_such_change(key, ambiguous=bool(matches)))
        self._load(matches)
        self.check_object_permissions(self.request, matches[0])
        return matches[0]

    # --- The schema of raising: the apps' other ways to raise (changes.extensions
    # `creators`) make the create's body and its 201 a `oneOf` of the RFC's own and each
    # creator's (lib.schema.AutoSchema asks these when the schema is made). ---

    def schema_request(self, found: Any) -> Any:
        creators = extensions.creators()
        if self.action != "create" or not creators:
            return found
        return PolymorphicProxySerializer(
            component_name="RaiseAnRFC",
            serializers=[ChangeSerializer, *(c.request() for c in creators)],
            resource_type_field_name=None,
        )

    def schema_responses(self, found: Any) -> Any:
        if self.action != "create":
            return found
        creators = extensions.creators()
        raised: Any = ChangeSerializer
        if creators:
            raised = PolymorphicProxySerializer(
                component_name="RaisedRFC",
                serializers=[ChangeSerializer, *(c.response() for c in creators)],
                resource_type_field_name=None,
            )
        return {201: raised, 400: BAD_INPUT, 403: FORBIDDEN}

    def _render(self, change_id: int, status_code: int = status.HTTP_200_OK) -> Response:
        change = self.get_queryset().get(pk=change_id)
        self._load([change])
        return Response(self.get_serializer(change).data, status=status_code)

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        creator = extensions.creator_for(request.data)
        if creator is not None:
            return creator.create(request, self._caller())
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        school = data.pop("school")
        items = data.pop("items", None)
        extra = _app_values(data)
        with transaction.atomic():
            change = services.create_change(school, self._caller(), data, items=items or [])
            extensions.save_change_fields(change, extra, self._caller())
        return self._render(change.pk, status.HTTP_201_CREATED)

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        change = self.get_object()
        serializer = EditSerializer(
            change, data=request.data, partial=True, context=self.get_serializer_context()
        )
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        comment = data.pop("comment", "")
        expected = data.pop("expected_version", None)
        items = data.pop("items", None)
        extra = _app_values(data)
        with transaction.atomic():
            edited = services.update_change(
                change.pk,
                self._caller(),
                data,
                comment=comment,
                expected_version=expected if expected is not None else if_match_version(request),
            )
            if items is not None:
                unedited = edited.version == change.version
                rfc_items.set_change_items(
                    edited, items, self._caller(), comment=comment if unedited else ""
                )
            extensions.save_change_fields(edited, extra, self._caller())
        return self._render(change.pk)

    @extend_schema(
        summary="Take an action: submit, approve, return, reject, submit_plan, …",
        parameters=[ID_PARAMETER],
        request=ChangeActionSerializer,
        responses={200: ChangeSerializer, **ERRORS},
    )
    @action(detail=True, methods=["post"], url_path="actions")
    def actions(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        change = self.get_object()
        serializer = ChangeActionSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        expected = data.get("expected_version")
        workflow.perform(
            change.pk,
            data["action"],
            self._caller(),
            comment=data["comment"],
            data=serializer.payload(),
            expected_version=expected if expected is not None else if_match_version(request),
        )
        return self._render(change.pk)

    @extend_schema(
        summary="The RFC's history, oldest first",
        parameters=[ID_PARAMETER],
        responses={200: ChangeEventSerializer(many=True), 404: NOT_FOUND},
        filters=False,
    )
    @action(detail=True, methods=["get"], pagination_class=None, filterset_class=None)
    def history(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        change = self.get_object()
        events = change.events.select_related("actor", "on_behalf_of").order_by("sequence")
        return Response(ChangeEventSerializer(events, many=True).data)
