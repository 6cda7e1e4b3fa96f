"""The definitive software library in the REST API: its pieces and their in/out book.

    /api/v1/software/                     GET (members; SoftwareFilterSet), POST (keepers)
    /api/v1/software/{id}/                GET, PATCH (keepers; withdraw with is_active false)
    /api/v1/software/{id}/checkouts/      GET: its book, newest first; POST: take it out
    /api/v1/checkouts/                    GET: the book across your schools (CheckoutFilterSet)
    /api/v1/checkouts/{id}/               GET
    /api/v1/checkouts/{id}/return/        POST: bring it back

There is no DELETE: a piece leaves the library by `is_active: false` and keeps its book.
Taking out a piece that is out already (or withdrawn) is bad input, 400, with the field
error `software` and a `detail` saying who has it: the service's refusal, as every refusal
of the state of a row in this API (409 is kept for a race on an RFC's version). Returning a
checkout already returned is a 400 with the field error `checkout`.

The viewsets only parse and authorise; every write goes through `services.library`, whose
`WorkflowError`s become 400/403 in `changedesk.lib.api.exception_handler`. Anything of a
school the caller is not a member of is a 404.
"""

from __future__ import annotations

from datetime import date
from typing import Any, cast

from django.db.models import QuerySet
from django.utils.translation import gettext_noop
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
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
from changedesk.accounts.models import School, loaded_schools
from changedesk.lib.api import (
    BAD_INPUT,
    FORBIDDEN,
    QuickRepresentation,
    RefuseUnknownFields,
    UsernameField,
)
from changedesk.lib.loading import attach
from changedesk.releases.api.common import DETAIL, MAX_ID, Rows, not_found
from changedesk.releases.choices import SoftwareKind
from changedesk.releases.filters.library import CheckoutFilterSet, SoftwareFilterSet
from changedesk.releases.models import Checkout, Software
from changedesk.releases.services import library as services

# The newest lines of a piece's book one answer holds.
BOOK_LINES = 500

_DETAIL = DETAIL
SOFTWARE_NOT_FOUND = not_found("piece")
CHECKOUT_NOT_FOUND = not_found("checkout")
TAKE_REFUSED = OpenApiResponse(
    _DETAIL,
    description="Bad input (each field's errors as {field: [message]}), or the piece is out "
    "already or withdrawn: the field error `software`, and a `detail` saying who has it.",
)
RETURN_REFUSED = OpenApiResponse(
    _DETAIL,
    description="Bad input, or the checkout came back already (the field error `checkout`).",
)


class _Today:
    """A school's day, once per school a response (serializers' context)."""

    context: Any

    def _today(self, school: School) -> date:
        days: dict[int, date] = self.context.setdefault("today", {})
        if school.pk not in days:
            days[school.pk] = services.today_in(school)
        return days[school.pk]


def _yes_no(name: str, description: str) -> OpenApiParameter:
    return OpenApiParameter(name, OpenApiTypes.BOOL, description=description, allow_blank=True)


# The lists' yes/no filters read by methods, where the filter sets' fields alone do not say.
SOFTWARE_FILTER_PARAMETERS = [
    _yes_no("out", "Taken out now (true), or in (false)."),
    _yes_no("active", "In the library (true), or withdrawn (false)."),
    OpenApiParameter(
        "q",
        {"type": "string", "maxLength": 200, "pattern": r"^[^\u0000]*$"},
        description="Words in the title, vendor or version.",
    ),
]
CHECKOUT_FILTER_PARAMETERS = [
    _yes_no("out", "Not back yet (true), or back (false)."),
    _yes_no("overdue", "Not back and past its due day (true), or not (false)."),
]


# --- Serializers. ---


# A pattern, not an enum: a second `kind` enum (the licence log's) would make the schema's
# enum names collide (settings' ENUM_NAME_OVERRIDES could name both instead).
@extend_schema_field(
    {"type": "string", "pattern": "^(" + "|".join(SoftwareKind.values) + ")$",
     "description": "installer, image (a build image), licence_key or media."}
)  # fmt: skip
class KindField(serializers.ChoiceField):
    """A piece's kind."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(choices=SoftwareKind.choices, **kwargs)


class CheckoutSerializer(_Today, QuickRepresentation, serializers.ModelSerializer[Checkout]):
    """One line of the in/out book."""

    school = serializers.CharField(source="school.slug", read_only=True)
    software = serializers.IntegerField(source="software_id", read_only=True)
    software_title = serializers.CharField(source="software.__str__", read_only=True)
    taken_by = UsernameField(read_only=True)
    recorded_by = UsernameField(read_only=True, allow_null=True)
    returned_to = UsernameField(read_only=True, allow_null=True)
    change = serializers.IntegerField(
        source="change_id", read_only=True, allow_null=True, help_text="The RFC's id."
    )
    change_reference = serializers.SerializerMethodField(help_text="The RFC's reference.")
    release = serializers.IntegerField(
        source="release_id", read_only=True, allow_null=True, help_text="The release's id."
    )
    is_out = serializers.BooleanField(read_only=True, help_text="Not back yet.")
    overdue = serializers.SerializerMethodField(
        help_text="Not back and past its due day, where the school is."
    )

    class Meta:
        model = Checkout
        fields = ("id", "school", "software", "software_title", "taken_by", "taken_at",
                  "due_back", "purpose", "change", "change_reference", "release",
                  "recorded_by", "is_out", "overdue", "returned_at", "returned_to",
                  "return_notes")  # fmt: skip
        read_only_fields = fields

    def get_change_reference(self, checkout: Checkout) -> str | None:
        return checkout.change.reference if checkout.change is not None else None

    def get_overdue(self, checkout: Checkout) -> bool:
        return checkout.is_out and checkout.due_back < self._today(checkout.school)


class SoftwareSerializer(
    _Today, QuickRepresentation, RefuseUnknownFields, serializers.ModelSerializer[Software]
):
    """A piece of the definitive software library, and who has it when it is out. On create
    `school` is required; afterwards it stays there."""

    read_only_messages = {
        "school": "A piece stays in the school it was added to.",
        "out": "This field is read-only: take it out at /api/v1/software/{id}/checkouts/.",
    }

    url = serializers.SerializerMethodField(help_text="The piece's page.")
    school = SchoolField(help_text="The school's slug; set on create only.")
    checksum = serializers.CharField(
        max_length=200,
        required=False,
        allow_blank=True,
        help_text="The algorithm and the digest in hex: sha256: and 64 hex digits (sha1: 40, "
        "md5: 32, sha512: 128); blank for none.",
    )
    licence = serializers.IntegerField(
        source="licence_id",
        min_value=1,
        max_value=MAX_ID,
        required=False,
        allow_null=True,
        help_text="The id of the school's licence it is covered by (null: none).",
    )
    kind = KindField(required=False)
    licence_product = serializers.SerializerMethodField(help_text="That licence's product.")
    out = serializers.SerializerMethodField(help_text="Its open checkout (null: it is in).")

    class Meta:
        model = Software
        fields: tuple[str, ...] = ("id", "url", "school", "title", "vendor", "version", "kind",
                                   "location", "checksum", "licence", "licence_product", "notes",
                                   "is_active", "out", "created_at", "updated_at")  # fmt: skip
        read_only_fields = ("id", "created_at", "updated_at")
        extra_kwargs = {"is_active": {"help_text": "In the library; false: withdrawn."}}

    def get_url(self, piece: Software) -> str:
        request: Request | None = self.context.get("request")
        path = piece.get_absolute_url()
        return request.build_absolute_uri(path) if request is not None else path

    def get_licence_product(self, piece: Software) -> str | None:
        return piece.licence.product if piece.licence is not None else None

    @extend_schema_field(CheckoutSerializer(allow_null=True))
    def get_out(self, piece: Software) -> dict[str, Any] | None:
        checkout: Checkout | None = getattr(piece, "_out", None)
        if checkout is None:
            return None
        shown: dict[str, Any] = CheckoutSerializer(checkout, context=self.context).data
        return shown

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if "licence_id" in attrs:
            attrs["licence"] = attrs.pop("licence_id")
        return attrs


class SoftwareEditSerializer(SoftwareSerializer):
    school = SchoolField(read_only=True)


class TakeOutSerializer(RefuseUnknownFields, serializers.Serializer[Any]):
    """Take a piece out: who (a member of the piece's school; by default you), until when
    (a day where the school is, not in the past), what for, and the RFC or release it is
    for, if any (of the same school)."""

    taken_by = UsernameField(required=False, help_text="A username; by default you.")
    due_back = serializers.DateField(help_text="A day, YYYY-MM-DD: today or later, within a year.")
    purpose = serializers.CharField(max_length=300, required=False, allow_blank=True)
    change = serializers.IntegerField(
        min_value=1, max_value=MAX_ID, required=False, allow_null=True, help_text="An RFC's id."
    )
    release = serializers.IntegerField(
        min_value=1, max_value=MAX_ID, required=False, allow_null=True, help_text="A release's id."
    )


class ReturnSerializer(RefuseUnknownFields, serializers.Serializer[Any]):
    notes = serializers.CharField(max_length=5000, required=False, allow_blank=True)


# --- Loading. ---


def load_software(pieces: list[Software], actor: Any) -> None:
    """Their school (the caller's, known), licence and open checkout (with its taker)."""
    attach(pieces, "school", "licence", known=loaded_schools(actor))
    out = list(Checkout.objects.filter(software__in=[p.pk for p in pieces]).out())
    load_checkouts(out, actor)
    by_piece = {c.software_id: c for c in out}
    for piece in pieces:
        piece._out = by_piece.get(piece.pk)  # type: ignore[attr-defined]


def load_checkouts(checkouts: list[Checkout], actor: Any) -> None:
    attach(checkouts, "school", "software", "change", "taken_by", "recorded_by", "returned_to",
           known=loaded_schools(actor))  # fmt: skip


# --- Viewsets. ---


@extend_schema_view(
    list=extend_schema(
        summary="The software library of your schools, by title, filtered",
        parameters=SOFTWARE_FILTER_PARAMETERS,
    ),
    create=extend_schema(
        summary="Add a piece to the library (a release manager, build developer or school "
        "administrator)",
        request=SoftwareSerializer,
        responses={201: SoftwareSerializer, 400: BAD_INPUT, 403: FORBIDDEN},
    ),
    retrieve=extend_schema(
        summary="One piece", responses={200: SoftwareSerializer, 404: SOFTWARE_NOT_FOUND}
    ),
    partial_update=extend_schema(
        summary="Edit a piece, or withdraw it (`is_active: false`)",
        request=SoftwareEditSerializer,
        responses={
            200: SoftwareSerializer,
            400: BAD_INPUT,
            403: FORBIDDEN,
            404: SOFTWARE_NOT_FOUND,
        },
    ),
)
class SoftwareViewSet(
    Rows,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet[Software],
):
    serializer_class = SoftwareSerializer
    filterset_class = SoftwareFilterSet
    missing = gettext_noop("No such piece among your schools.")
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self) -> QuerySet[Software]:
        # The index (school, title, id) serves it, school by school.
        return Software.objects.visible_to(self._actor() or self.request.user).order_by(
            "title", "id"
        )

    def load(self, rows: list[Software]) -> None:
        load_software(rows, self._actor())

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        school = cast(School, data.pop("school"))
        piece = services.save_software(school, self._caller(), data)
        return self._render(piece.pk, status.HTTP_201_CREATED)

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        piece = self.get_object()
        serializer = SoftwareEditSerializer(
            piece, data=request.data, partial=True, context=self.get_serializer_context()
        )
        serializer.is_valid(raise_exception=True)
        services.save_software(piece.school, self._caller(), dict(serializer.validated_data), piece)
        return self._render(piece.pk)

    @extend_schema(
        methods=["GET"],
        summary="The piece's in/out book, newest first",
        responses={200: CheckoutSerializer(many=True), 404: SOFTWARE_NOT_FOUND},
        filters=False,
    )
    @extend_schema(
        methods=["POST"],
        summary="Take the piece out (a release role, an implementer or a school administrator)",
        request=TakeOutSerializer,
        responses={
            201: CheckoutSerializer,
            400: TAKE_REFUSED,
            403: FORBIDDEN,
            404: SOFTWARE_NOT_FOUND,
        },
        filters=False,
    )
    @action(detail=True, methods=["get", "post"], pagination_class=None, filterset_class=None)
    def checkouts(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        piece = self.get_object()
        if request.method == "POST":
            serializer = TakeOutSerializer(data=request.data)
            serializer.is_valid(raise_exception=True)
            checkout = services.take_out(piece, self._caller(), dict(serializer.validated_data))
            load_checkouts([checkout], self._actor())
            body = CheckoutSerializer(checkout, context=self.get_serializer_context()).data
            return Response(body, status=status.HTTP_201_CREATED)
        book = list(piece.checkouts.order_by("-taken_at", "-id")[:BOOK_LINES])
        load_checkouts(book, self._actor())
        context = self.get_serializer_context()
        return Response(CheckoutSerializer(book, many=True, context=context).data)


@extend_schema_view(
    list=extend_schema(
        summary="The in/out book across your schools, newest first, filtered",
        parameters=CHECKOUT_FILTER_PARAMETERS,
    ),
    retrieve=extend_schema(
        summary="One line of the book", responses={200: CheckoutSerializer, 404: CHECKOUT_NOT_FOUND}
    ),
)
class CheckoutViewSet(
    Rows, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet[Checkout]
):
    serializer_class = CheckoutSerializer
    filterset_class = CheckoutFilterSet
    missing = gettext_noop("No such checkout among your schools.")
    http_method_names = ["get", "post", "head", "options"]

    def get_queryset(self) -> QuerySet[Checkout]:
        # The index (school, -taken_at, -id) serves it, school by school.
        return Checkout.objects.visible_to(self._actor() or self.request.user).order_by(
            "-taken_at", "-id"
        )

    def load(self, rows: list[Checkout]) -> None:
        load_checkouts(rows, self._actor())

    @extend_schema(
        summary="Bring the piece back (a release role, an implementer or a school administrator)",
        request=ReturnSerializer,
        responses={
            200: CheckoutSerializer,
            400: RETURN_REFUSED,
            403: FORBIDDEN,
            404: CHECKOUT_NOT_FOUND,
        },
        filters=False,
    )
    @action(detail=True, methods=["post"], url_path="return", filterset_class=None)
    def bring_back(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        checkout = self.get_object()
        serializer = ReturnSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.bring_back(checkout, self._caller(), serializer.validated_data.get("notes", ""))
        returned = self.get_queryset().get(pk=checkout.pk)
        load_checkouts([returned], self._actor())
        return Response(self.get_serializer(returned).data)


router = SimpleRouter()
router.register("software", SoftwareViewSet, basename="software")
router.register("checkouts", CheckoutViewSet, basename="checkout")
urlpatterns = router.urls
