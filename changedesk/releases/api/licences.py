"""The software licence log in the REST API. Mounted under /api/v1/ from `urlpatterns`.

    /api/v1/licences/                      GET (members; LicenceFilterSet), POST (a release
                                           manager or a school administrator)
    /api/v1/licences/{id}/                 GET, PATCH
    /api/v1/licences/{id}/assignments/     GET: its holders; POST {item | user | person}:
                                           give it to one
    /api/v1/licence-assignments/{id}/      DELETE: take it back

Each licence carries its figures (`used`, `free`, `over_allocated`, `under_used`,
`expiring`, `expired`: see `services.licences`). The viewsets only parse and authorise;
every write goes through `services.licences`, whose errors become 400/403. Anything of a
school the caller is not a member of is a 404.
"""

from __future__ import annotations

from typing import Any, cast

from django.db.models import QuerySet
from django.utils.translation import gettext_noop
from drf_spectacular.utils import extend_schema, extend_schema_field, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import SimpleRouter

from changedesk.accounts.api import SchoolField
from changedesk.accounts.models import School, loaded_schools, member_schools
from changedesk.lib.api import BAD_INPUT, FORBIDDEN, QuickRepresentation, RefuseUnknownFields
from changedesk.lib.loading import attach
from changedesk.releases.api.common import MAX_ID, Rows, not_found
from changedesk.releases.choices import LicenceKind
from changedesk.releases.filters.licences import LicenceFilterSet
from changedesk.releases.models import Licence, LicenceAssignment
from changedesk.releases.services import licences as services

MOST_HOLDERS = 1000

LICENCE_NOT_FOUND = not_found("licence")
ASSIGNMENT_NOT_FOUND = not_found("licence holder")


@extend_schema_field(
    {
        "type": "string",
        "pattern": "^(" + "|".join(LicenceKind.values) + ")$",
        "description": "per_device, per_user, site or subscription.",
        "example": "per_device",
    }
)
class LicenceKindField(serializers.ChoiceField):
    """The licence's kind, described by a pattern: as an enum its name would collide with
    the other choice sets called `kind` (as the library's does too)."""


class LicenceSerializer(
    QuickRepresentation, RefuseUnknownFields, serializers.ModelSerializer[Licence]
):
    """One licence of the log and its figures. On create `school` is required; afterwards
    it stays there."""

    read_only_messages = {
        "school": "A licence stays in the school it was added to.",
        "used": "This field is read-only: give the licence out at its assignments endpoint.",
    }

    school = SchoolField(help_text="The school's slug; set on create only.")
    kind = LicenceKindField(choices=LicenceKind.choices, required=False)
    used = serializers.SerializerMethodField(help_text="How many hold it.")
    free = serializers.SerializerMethodField(
        help_text="Seats not given out (null: a licence without a number of seats)."
    )
    over_allocated = serializers.SerializerMethodField(help_text="More holders than seats.")
    under_used = serializers.SerializerMethodField(
        help_text="At least 4 seats, fewer than three quarters of them given out."
    )
    expiring = serializers.SerializerMethodField(
        help_text="It expires within its notice days of today, where the school is."
    )
    expired = serializers.SerializerMethodField(help_text="Its expiry day has passed.")

    class Meta:
        model = Licence
        fields: tuple[str, ...] = ("id", "school", *services.LICENCE_FIELDS, "used", "free",
                                   "over_allocated", "under_used", "expiring", "expired",
                                   "created_at", "updated_at")  # fmt: skip
        read_only_fields = ("id", "created_at", "updated_at")
        validators: list[Any] = []

    def _figures(self, licence: Licence) -> services.Figures:
        if not hasattr(licence, "figures"):
            services.attach_figures([licence])
        return cast(services.Figures, licence.figures)  # type: ignore[attr-defined]

    def get_used(self, licence: Licence) -> int:
        return self._figures(licence).used

    def get_free(self, licence: Licence) -> int | None:
        return self._figures(licence).free

    def get_over_allocated(self, licence: Licence) -> bool:
        return self._figures(licence).over_allocated

    def get_under_used(self, licence: Licence) -> bool:
        return self._figures(licence).under_used

    def get_expiring(self, licence: Licence) -> bool:
        return self._figures(licence).expiring

    def get_expired(self, licence: Licence) -> bool:
        return self._figures(licence).expired


class LicenceEditSerializer(LicenceSerializer):
    school = SchoolField(read_only=True)


class AssignmentSerializer(
    QuickRepresentation, RefuseUnknownFields, serializers.ModelSerializer[LicenceAssignment]
):
    """A licence's holder: one of an item (its id), a member (their username) or a
    person's name."""

    item = serializers.IntegerField(
        source="item_id",
        required=False,
        allow_null=True,
        min_value=1,
        max_value=MAX_ID,
        help_text="A configuration item of the school, by id.",
    )
    item_name = serializers.SerializerMethodField(help_text="The item's name.")
    user = serializers.CharField(
        required=False,
        allow_null=True,
        allow_blank=True,
        max_length=150,
        help_text="A member of the school, by username.",
    )
    person = serializers.CharField(
        required=False, allow_blank=True, max_length=200, help_text="Someone without an account."
    )
    licence = serializers.IntegerField(source="licence_id", read_only=True)
    holder = serializers.CharField(read_only=True, help_text="Who or what holds it, as text.")
    assigned_by = serializers.SerializerMethodField(help_text="Who gave it out (a username).")

    class Meta:
        model = LicenceAssignment
        fields = ("id", "licence", "item", "item_name", "user", "person", "holder",
                  "assigned_by", "assigned_at")  # fmt: skip
        read_only_fields = ("id", "assigned_at")
        validators: list[Any] = []

    def get_item_name(self, row: LicenceAssignment) -> str | None:
        return row.item.name if row.item_id and row.item else None

    def get_assigned_by(self, row: LicenceAssignment) -> str | None:
        return row.assigned_by.username if row.assigned_by_id and row.assigned_by else None

    def to_representation(self, instance: Any) -> dict[str, Any]:
        shown = super().to_representation(instance)
        shown["user"] = instance.user.username if instance.user_id else None
        return shown


def _load(rows: list[Licence], actor: Any) -> None:
    attach(rows, "school", known=loaded_schools(actor) if actor is not None else ())
    services.attach_figures(rows)


@extend_schema_view(
    list=extend_schema(summary="The licence log of your schools, with each licence's figures"),
    create=extend_schema(
        summary="Add a licence (a release manager or a school administrator)",
        request=LicenceSerializer,
        responses={201: LicenceSerializer, 400: BAD_INPUT, 403: FORBIDDEN},
    ),
    retrieve=extend_schema(
        summary="One licence", responses={200: LicenceSerializer, 404: LICENCE_NOT_FOUND}
    ),
    partial_update=extend_schema(
        summary="Edit a licence (a release manager or a school administrator); fewer seats "
        "than holders is allowed and shows as over_allocated",
        request=LicenceEditSerializer,
        responses={
            200: LicenceSerializer,
            400: BAD_INPUT,
            403: FORBIDDEN,
            404: LICENCE_NOT_FOUND,
        },
    ),
)
class LicenceViewSet(
    Rows,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet[Licence],
):
    serializer_class = LicenceSerializer
    filterset_class = LicenceFilterSet
    missing = gettext_noop("No such licence among your schools.")
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self) -> QuerySet[Licence]:
        # By product within a school: the index (school, product, id) serves it.
        actor = self._actor() or self.request.user
        return Licence.objects.visible_to(actor).order_by("product", "id")

    def load(self, rows: list[Licence]) -> None:
        _load(rows, self._actor())

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        school = cast(School, data.pop("school"))
        licence = services.save_licence(school, self._caller(), data)
        return self._render(licence.pk, status.HTTP_201_CREATED)

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        licence = self.get_object()
        serializer = LicenceEditSerializer(
            licence, data=request.data, partial=True, context=self.get_serializer_context()
        )
        serializer.is_valid(raise_exception=True)
        services.save_licence(
            licence.school, self._caller(), dict(serializer.validated_data), licence
        )
        return self._render(licence.pk)

    @extend_schema(
        methods=["GET"],
        summary="A licence's holders (the first 1,000, oldest first)",
        request=None,
        responses={200: AssignmentSerializer(many=True), 404: LICENCE_NOT_FOUND},
    )
    @extend_schema(
        methods=["POST"],
        summary="Give a licence to one holder: an item (id), a member (username) or a "
        "person's name (a release manager or a school administrator)",
        request=AssignmentSerializer,
        responses={
            201: AssignmentSerializer,
            400: BAD_INPUT,
            403: FORBIDDEN,
            404: LICENCE_NOT_FOUND,
        },
    )
    @action(detail=True, methods=["get", "post"], pagination_class=None, filterset_class=None)
    def assignments(self, request: Request, id: str) -> Response:
        licence = self.get_object()
        context = self.get_serializer_context()
        if request.method == "GET":
            rows = list(
                LicenceAssignment.objects.filter(licence=licence).order_by("assigned_at", "id")[
                    :MOST_HOLDERS
                ]
            )
            attach(rows, "item", "user", "assigned_by")
            return Response(AssignmentSerializer(rows, many=True, context=context).data)
        serializer = AssignmentSerializer(data=request.data, context=context)
        serializer.is_valid(raise_exception=True)
        given = dict(serializer.validated_data)
        data = {
            "item": given.get("item_id"),
            "user": given.get("user") or None,
            "person": given.get("person") or "",
        }
        row = services.assign(licence, self._caller(), {k: v for k, v in data.items() if v})
        attach([row], "item", "user", "assigned_by")
        return Response(
            AssignmentSerializer(row, context=context).data, status=status.HTTP_201_CREATED
        )


@extend_schema_view(
    destroy=extend_schema(
        summary="Take a licence back from a holder (a release manager or a school administrator)",
        responses={204: None, 403: FORBIDDEN, 404: ASSIGNMENT_NOT_FOUND},
    ),
)
class LicenceAssignmentViewSet(
    Rows, mixins.DestroyModelMixin, viewsets.GenericViewSet[LicenceAssignment]
):
    serializer_class = AssignmentSerializer
    missing = gettext_noop("No such licence holder among your schools.")
    filterset_class = None
    pagination_class = None

    def get_queryset(self) -> QuerySet[LicenceAssignment]:
        actor = self._actor() or self.request.user
        return LicenceAssignment.objects.filter(member_schools(actor))

    def load(self, rows: list[LicenceAssignment]) -> None:
        """Nothing to attach: the row is only taken back."""

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        services.unassign(self.get_object(), self._caller())
        return Response(status=status.HTTP_204_NO_CONTENT)


router = SimpleRouter()
router.register("licences", LicenceViewSet, basename="licence")
router.register("licence-assignments", LicenceAssignmentViewSet, basename="licence-assignment")
urlpatterns = router.urls
