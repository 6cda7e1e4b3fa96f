"""A trust's change log import in the REST API (`trust_importer`), beside a school's (`api`):

    /api/v1/spreadsheets/trusts/{slug}/imports/                POST (multipart) file,
                                                               mapping: upload the trust's
                                                               log and have every row checked
    /api/v1/spreadsheets/trusts/{slug}/imports/{id}/           GET: the import, its progress
    /api/v1/spreadsheets/trusts/{slug}/imports/{id}/apply/     POST: every row an RFC of its
                                                               school, or none in any

The fields are a school import's, with `trust` for `school`, the extra field `school` among
`fields_available` (the column naming each row's school), and, once done, `results`: each
school's slug, name, `count` and the `first` and `last` numbers it got. The trust's
administrator's: anyone with no role in the trust gets a 404, another trust role a 403.
"""

from __future__ import annotations

from typing import Any

from django.urls import path
from django.utils.translation import gettext
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from changedesk.accounts.models import Trust, User
from changedesk.accounts.permissions import is_trust_admin, trust_roles, with_roles
from changedesk.lib import converters  # noqa: F401  (registers <id:...>)
from changedesk.lib.api import BAD_INPUT, FORBIDDEN
from changedesk.lib.errors import NotPermitted
from changedesk.spreadsheets import trust_importer
from changedesk.spreadsheets.api import (
    ChangeLogImportSerializer,
    MappingUploadSerializer,
    _mapping,
    import_fields,
    mapping_field,
    started,
)
from changedesk.spreadsheets.models import ChangeLogImport, TrustChangeImport

TRUST_NOT_FOUND = OpenApiResponse(description="No such trust among yours.")
IMPORT_NOT_FOUND = OpenApiResponse(description="No such import in the trust.")


class SchoolResultSerializer(serializers.Serializer[dict[str, Any]]):
    school = serializers.CharField(help_text="The school's slug.")
    name = serializers.CharField()
    count = serializers.IntegerField(help_text="RFCs imported into the school.")
    first = serializers.IntegerField(help_text="The first RFC number it got.")
    last = serializers.IntegerField(help_text="The last RFC number it got.")


class TrustImportSerializer(ChangeLogImportSerializer):
    """A trust's import: as a school's, with `trust`, and `results` once done."""

    trust: serializers.SlugRelatedField[Trust] = serializers.SlugRelatedField(
        slug_field="slug", read_only=True
    )
    results = SchoolResultSerializer(many=True, read_only=True)

    class Meta:
        model = TrustChangeImport
        fields = import_fields("trust", "results")
        read_only_fields = fields

    def get_fields_available(self, job: ChangeLogImport) -> dict[str, str]:
        """The fields a column may hold, with what each is (`school` among them)."""
        return dict(trust_importer.FIELD_CHOICES)


class TrustUploadSerializer(MappingUploadSerializer):
    file = serializers.FileField(help_text="The trust's change log: CSV or XLSX.")
    mapping = mapping_field('"Academy": "school"')


def _trust(request: Request, slug: str) -> tuple[Trust, User]:
    """The trust, if the caller administers it: 404 with no role in it, else 403."""
    user = with_roles(request.user)
    trust = Trust.objects.filter(slug=slug).first()
    if trust is None or not (is_trust_admin(user, trust) or trust_roles(user, trust)):
        raise NotFound(gettext("No such trust among yours."))
    if not trust_importer.may_import(user, trust):
        raise NotPermitted(
            gettext("Only an administrator of %(trust)s may import its change log.")
            % {"trust": trust.name}
        )
    return trust, user


class TrustImportCreateView(APIView):
    parser_classes = [MultiPartParser]

    @extend_schema(
        operation_id="spreadsheets_trust_imports_create",
        summary="Upload a trust's change log (CSV or XLSX, with each row's school) and have "
        "every row checked (the trust's administrator)",
        request={"multipart/form-data": TrustUploadSerializer},
        responses={
            201: TrustImportSerializer,
            400: BAD_INPUT,
            403: FORBIDDEN,
            404: TRUST_NOT_FOUND,
        },
    )
    def post(self, request: Request, slug: str) -> Response:
        trust, user = _trust(request, slug)
        given = TrustUploadSerializer(data=request.data, context={"request": request})
        given.is_valid(raise_exception=True)
        upload = given.validated_data["file"]
        job = started(upload, lambda data, name: trust_importer.start(trust, user, data, name))
        mapping = _mapping(job, given.validated_data.get("mapping", {}))
        job = trust_importer.check(job, user, mapping)
        return Response(TrustImportSerializer(job).data, status=status.HTTP_201_CREATED)


def _job(request: Request, slug: str, pk: int) -> tuple[TrustChangeImport, User]:
    trust, user = _trust(request, slug)
    job = trust_importer.QUEUE.light().filter(pk=pk, trust=trust).first()
    if job is None:
        raise NotFound(gettext("No such import in the trust."))
    job.trust = trust
    return trust_importer.live_progress(job), user


class TrustImportDetailView(APIView):
    @extend_schema(
        operation_id="spreadsheets_trust_imports_retrieve",
        summary="A trust's import: its columns, mapping, state, progress and preview",
        responses={200: TrustImportSerializer, 403: FORBIDDEN, 404: IMPORT_NOT_FOUND},
    )
    def get(self, request: Request, slug: str, pk: int) -> Response:
        job, _ = _job(request, slug, pk)
        return Response(TrustImportSerializer(job).data)


class TrustImportApplyView(APIView):
    @extend_schema(
        operation_id="spreadsheets_trust_imports_apply",
        summary="Import every row of a checked trust change log as an RFC of its school, or "
        "none (the person who uploaded it)",
        request=None,
        responses={
            200: TrustImportSerializer,
            400: BAD_INPUT,
            403: FORBIDDEN,
            404: IMPORT_NOT_FOUND,
        },
    )
    def post(self, request: Request, slug: str, pk: int) -> Response:
        job, user = _job(request, slug, pk)
        return Response(TrustImportSerializer(trust_importer.apply(job, user)).data)


urlpatterns = [
    path(
        "spreadsheets/trusts/<slug:slug>/imports/",
        TrustImportCreateView.as_view(),
        name="spreadsheets-trust-imports",
    ),
    path(
        "spreadsheets/trusts/<slug:slug>/imports/<id:pk>/",
        TrustImportDetailView.as_view(),
        name="spreadsheets-trust-import",
    ),
    path(
        "spreadsheets/trusts/<slug:slug>/imports/<id:pk>/apply/",
        TrustImportApplyView.as_view(),
        name="spreadsheets-trust-import-apply",
    ),
]
