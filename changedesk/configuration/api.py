"""Configuration items in the REST API: list, add, read, edit (and retire) an item, and the
RFCs that touched it.

The same rules as the pages: items of a school the caller is not in are a 404; adding and
editing need a school administrator or an originator there (403), through `services`.
Retiring is `PATCH {"is_active": false}`; items are never deleted through the API.
"""

from __future__ import annotations

from typing import Any, cast

from django.db.models import Count, QuerySet
from django.utils.translation import gettext
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import SimpleRouter

from changedesk.accounts.api import SchoolField
from changedesk.accounts.models import School, User
from changedesk.configuration import services
from changedesk.configuration.filters import ItemFilterSet
from changedesk.configuration.models import ConfigurationItem
from changedesk.lib.api import (
    BAD_INPUT,
    FORBIDDEN,
    NOT_FOUND,
    QuickRepresentation,
    RefuseUnknownFields,
    UsernameField,
)

READ_ONLY_MESSAGES = {
    "school": "An item stays in the school it was added to.",
}


class ItemSerializer(
    QuickRepresentation, RefuseUnknownFields, serializers.ModelSerializer[ConfigurationItem]
):
    """A configuration item. On create `school` is required; afterwards it stays there."""

    read_only_messages = READ_ONLY_MESSAGES

    school = SchoolField(help_text="The school's slug; set on create only.")
    owner = UsernameField(required=False, allow_null=True)
    change_count = serializers.IntegerField(
        read_only=True, help_text="How many RFCs have named it."
    )
    url = serializers.SerializerMethodField()

    class Meta:
        model = ConfigurationItem
        fields = (
            "id",
            "school",
            "name",
            "kind",
            "identifier",
            "location",
            "owner",
            "users_affected",
            "notes",
            "is_active",
            "change_count",
            "created_at",
            "updated_at",
            "url",
        )
        read_only_fields = ("id", "change_count", "created_at", "updated_at", "url")
        extra_kwargs = {
            "users_affected": {
                "min_value": 0,
                "max_value": services.MAX_USERS,
                "error_messages": {"max_value": f"It must be at most {services.MAX_USERS:,}."},
            },
            "notes": {"max_length": services.TEXT_LIMITS["notes"]},
        }

    def get_url(self, item: ConfigurationItem) -> str:
        """The item's page."""
        request: Request | None = self.context.get("request")
        path = item.get_absolute_url()
        return request.build_absolute_uri(path) if request is not None else path

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        """Turn the owner's username into a member of the item's school."""
        school: School = self.instance.school if self.instance is not None else attrs["school"]
        username = attrs.get("owner")
        if username is not None:
            owner = services.school_members(school).filter(username=username).first()
            if owner is None:
                raise serializers.ValidationError(
                    {
                        "owner": [
                            gettext("No one called “%(name)s” is an active member of %(school)s.")
                            % {"name": username, "school": school.name}
                        ]
                    }
                )
            attrs["owner"] = owner
        return attrs


class ItemEditSerializer(ItemSerializer):
    school = SchoolField(read_only=True)


def _rfc_states() -> list[tuple[str, str]]:
    """The RFC's states by their API names. The catalogue sits below the RFC and imports
    none of it: they are read from the model that links an RFC to its items."""
    link: Any = ConfigurationItem.change_links.rel.related_model
    state: Any = link._meta.get_field("change").related_model._meta.get_field("state")
    return list(state.choices)


class ItemChangeSerializer(serializers.Serializer[Any]):
    """An RFC that named the item, and what it changed on the item when it closed."""

    id = serializers.IntegerField(source="change.id")
    reference = serializers.CharField(source="change.reference")
    title = serializers.CharField(source="change.title")
    state = serializers.ChoiceField(source="change.state", choices=_rfc_states())
    is_emergency = serializers.BooleanField(source="change.is_emergency")
    planned_start = serializers.DateTimeField(source="change.planned_start", allow_null=True)
    planned_end = serializers.DateTimeField(source="change.planned_end", allow_null=True)
    outcome = serializers.SerializerMethodField()
    what_changed = serializers.CharField()
    recorded_at = serializers.DateTimeField(allow_null=True)
    recorded_by = UsernameField(allow_null=True)
    url = serializers.SerializerMethodField()

    def get_outcome(self, link: Any) -> str | None:
        return link.change.outcome or None

    def get_url(self, link: Any) -> str:
        """The RFC's page."""
        request: Request | None = self.context.get("request")
        path = link.change.get_absolute_url()
        return request.build_absolute_uri(path) if request is not None else path


ITEM_ERRORS = {400: BAD_INPUT, 403: FORBIDDEN, 404: NOT_FOUND}


@extend_schema_view(
    list=extend_schema(
        summary="Configuration items in your schools, filtered (in use unless status is given)"
    ),
    create=extend_schema(
        summary="Add a configuration item (a school administrator or an originator)",
        request=ItemSerializer,
        responses={201: ItemSerializer, 400: BAD_INPUT, 403: FORBIDDEN},
    ),
    retrieve=extend_schema(summary="One configuration item", responses={200: ItemSerializer}),
    partial_update=extend_schema(
        summary="Edit or retire a configuration item",
        request=ItemEditSerializer,
        responses={200: ItemSerializer, **ITEM_ERRORS},
    ),
)
class ItemViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet[ConfigurationItem],
):
    serializer_class = ItemSerializer
    filterset_class = ItemFilterSet
    lookup_url_kwarg = "id"
    # Digits only: anything else, or a number too big for the database, is simply not found.
    lookup_value_regex = r"\d{1,18}"
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self) -> Any:
        queryset = ConfigurationItem.objects.visible_to(self.request.user).order_by(
            "school__name", "name", "id"
        )
        # A list chooses its page's ids on the items alone (lib.paging), then `loaded`.
        return queryset if self.action == "list" else self.loaded(queryset)

    def loaded(self, queryset: Any) -> Any:
        return queryset.select_related("school", "owner").annotate(
            change_count=Count("change_links")
        )

    def get_object(self) -> ConfigurationItem:
        # The detail views use the unfiltered queryset: a retired item is still found.
        item: ConfigurationItem | None = (
            self.get_queryset().filter(pk=int(self.kwargs["id"])).first()
        )
        if item is None:
            raise NotFound(gettext("No such configuration item among your schools."))
        self.check_object_permissions(self.request, item)
        return item

    def _caller(self) -> User:
        # The services load the caller's roles (`permissions.with_roles`) when they check.
        return cast(User, self.request.user)

    def _render(self, item_id: int, status_code: int = status.HTTP_200_OK) -> Response:
        item = self.get_queryset().get(pk=item_id)
        return Response(self.get_serializer(item).data, status=status_code)

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        school = data.pop("school")
        item = services.create_item(school, self._caller(), data)
        return self._render(item.pk, status.HTTP_201_CREATED)

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        item = self.get_object()
        serializer = ItemEditSerializer(
            item, data=request.data, partial=True, context=self.get_serializer_context()
        )
        serializer.is_valid(raise_exception=True)
        services.update_item(item.pk, self._caller(), dict(serializer.validated_data))
        return self._render(item.pk)

    @extend_schema(
        summary="The RFCs that named this item, newest first, with what each changed on it",
        responses={200: ItemChangeSerializer(many=True), 404: NOT_FOUND},
        filters=False,
    )
    @action(detail=True, methods=["get"], filter_backends=[])
    def changes(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        item = self.get_object()
        # The RFCs' links to it (`changes.ChangeItem`), paged by this viewset of items.
        links: QuerySet[Any] = item.change_links.select_related("change", "recorded_by").order_by(
            "-change__created_at", "-change_id"
        )
        page = self.paginate_queryset(links)
        context = self.get_serializer_context()
        if page is not None:
            data = ItemChangeSerializer(page, many=True, context=context).data
            return self.get_paginated_response(data)
        return Response(ItemChangeSerializer(links, many=True, context=context).data)


router = SimpleRouter()
router.register("items", ItemViewSet, basename="item")
urlpatterns = router.urls
