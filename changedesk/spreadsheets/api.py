"""Spreadsheets in the REST API: importing a change log, and the exports.

    /api/v1/spreadsheets/imports/             POST (multipart) school, file, mapping: upload
                                              a CSV or XLSX change log and have every row
                                              checked (the preview: row errors, the first
                                              rows)
    /api/v1/spreadsheets/imports/{id}/        GET: an import, its mapping, its state and
                                              progress, its preview
    /api/v1/spreadsheets/imports/{id}/apply/  POST: import every row as an RFC, or none
    /api/v1/spreadsheets/changes.xlsx         GET: the change log as XLSX (the change log's
                                              filters, as the CSV export)
    /api/v1/spreadsheets/schools/{slug}/archive.zip  GET: everything of a school, ZIP

The checking and the applying are the worker's (a small file's are done at once, in the
request): the answer's `state` is then `queued`, `checking` or `applying`, and `phase`,
`progress_done`, `progress_total` and `percent` say how far the worker has got; ask for the
import again (its GET) until it is `previewed`, `done` or `failed`. Only the person who
uploaded a file may apply it.

Importing and the archive are the school administrator's (403 otherwise; another school's
import or archive is a 404); the XLSX is anyone's, of their own schools' RFCs. `mapping`
is a JSON object naming, by the file's column headers, the field each holds (`""` to leave
a column out); columns it does not name keep the field guessed from their headers, or the
one the school chose last time.
"""

from __future__ import annotations

import json
from typing import Any

from django.http.response import HttpResponseBase
from django.urls import path
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.generics import GenericAPIView
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from changedesk.accounts.api import SchoolField
from changedesk.accounts.models import School, User
from changedesk.accounts.permissions import with_roles
from changedesk.changes.filters import ChangeFilterSet
from changedesk.changes.models import Change
from changedesk.lib import converters  # noqa: F401  (registers <id:...>)
from changedesk.lib.api import BAD_INPUT, FORBIDDEN, RefuseUnknownFields
from changedesk.lib.errors import InvalidAction, NotPermitted
from changedesk.spreadsheets import exports, importer, views
from changedesk.spreadsheets.models import ChangeImport, TrustChangeImport

IMPORT_NOT_FOUND = OpenApiResponse(description="No such import among your schools.")
SCHOOL_NOT_FOUND = OpenApiResponse(description="No such school among yours.")


class ImportSerializer(serializers.ModelSerializer[ChangeImport]):
    """An import: the file's columns and the field each is mapped to, its state and the
    worker's progress (while `queued`, `checking` or `applying`), the rows' problems (each
    [row, field, message]; the first 500) and its first rows (200); once done, how many
    RFCs it made and their numbers."""

    school: serializers.SlugRelatedField[School] = serializers.SlugRelatedField(
        slug_field="slug", read_only=True
    )
    created_by: serializers.SlugRelatedField[User] = serializers.SlugRelatedField(
        slug_field="username", read_only=True
    )
    mapping = serializers.SerializerMethodField()
    fields_available = serializers.SerializerMethodField()
    percent = serializers.IntegerField(
        read_only=True, help_text="How far the worker has got with its step, 0 to 100."
    )

    class Meta:
        model = ChangeImport
        fields = (
            "id",
            "school",
            "created_by",
            "file_name",
            "size",
            "state",
            "phase",
            "progress_done",
            "progress_total",
            "percent",
            "header_row",
            "columns",
            "mapping",
            "fields_available",
            "rows",
            "error_count",
            "errors",
            "preview",
            "created_count",
            "first_number",
            "last_number",
            "failure",
            "created_at",
            "checked_at",
            "confirmed_at",
            "finished_at",
        )
        read_only_fields = fields

    def get_mapping(self, job: ChangeImport) -> dict[str, str]:
        """Each column (by its header) and its field, "" where it is left out."""
        return {name: field for name, field in zip(job.columns, job.mapping, strict=False)}

    def get_fields_available(self, job: ChangeImport) -> dict[str, str]:
        """The fields a column may hold, with what each is."""
        return dict(importer.FIELD_CHOICES)


class UploadSerializer(RefuseUnknownFields, serializers.Serializer[dict[str, Any]]):
    school = SchoolField(help_text="The school's slug.")
    file = serializers.FileField(help_text="The change log: CSV or XLSX.")
    mapping = serializers.CharField(
        required=False,
        allow_blank=True,
        help_text='A JSON object: a column\'s header to its field, e.g. {"Ref": "reference", '
        '"Notes": ""} ("" leaves a column out). Columns not named keep the field guessed.',
    )

    def validate_mapping(self, value: str) -> dict[str, str]:
        if not value.strip():
            return {}
        try:
            parsed = json.loads(value)
        except ValueError:
            raise serializers.ValidationError("Not JSON.") from None
        if not isinstance(parsed, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in parsed.items()
        ):
            raise serializers.ValidationError("A JSON object of column headers to field names.")
        return parsed


def _caller(request: Request) -> User:
    return with_roles(request.user)


def _mapping(job: ChangeImport | TrustChangeImport, given: dict[str, str]) -> list[str]:
    by_name = {name.strip().lower(): index for index, name in enumerate(job.columns)}
    mapping = list(job.mapping)
    for name, field in given.items():
        index = by_name.get(name.strip().lower())
        if index is None:
            raise InvalidAction(
                "Some columns are not in the file.",
                {"mapping": f"The file has no column “{name[:60]}”."},
            )
        mapping[index] = field
    return mapping


class ImportCreateView(APIView):
    parser_classes = [MultiPartParser]

    @extend_schema(
        summary="Upload a change log (CSV or XLSX) and have every row checked (the school "
        "administrator)",
        request={"multipart/form-data": UploadSerializer},
        responses={201: ImportSerializer, 400: BAD_INPUT, 403: FORBIDDEN},
    )
    def post(self, request: Request) -> Response:
        user = _caller(request)
        given = UploadSerializer(data=request.data, context={"request": request, "actor": user})
        given.is_valid(raise_exception=True)
        school: School = given.validated_data["school"]
        upload = given.validated_data["file"]
        if not importer.may_import(user, school):
            raise NotPermitted(f"Only a school administrator of {school.name} may import.")
        try:
            if upload.size > importer.MAX_BYTES:
                # Refused before it is read into memory.
                raise importer.ImportRefused(importer.too_big(upload.size))
            job = importer.start(school, user, upload.read(), upload.name or "")
        except importer.ImportRefused as refusal:
            raise InvalidAction(str(refusal), {"file": str(refusal)}) from None
        job = importer.check(job, user, _mapping(job, given.validated_data.get("mapping", {})))
        return Response(ImportSerializer(job).data, status=status.HTTP_201_CREATED)


def _job(request: Request, pk: int) -> ChangeImport:
    user = _caller(request)
    job = (
        ChangeImport.objects.visible_to(user).light().select_related("school").filter(pk=pk).first()
    )
    if job is None:
        raise NotFound("No such import among your schools.")
    if not importer.may_import(user, job.school):
        raise NotPermitted(f"Only a school administrator of {job.school.name} may see it.")
    return importer.live_progress(job)


class ImportDetailView(APIView):
    @extend_schema(
        summary="An import: its columns, mapping, state, progress and preview",
        responses={200: ImportSerializer, 403: FORBIDDEN, 404: IMPORT_NOT_FOUND},
    )
    def get(self, request: Request, pk: int) -> Response:
        return Response(ImportSerializer(_job(request, pk)).data)


class ImportApplyView(APIView):
    @extend_schema(
        summary="Import every row of a checked change log as an RFC, or none (the person who "
        "uploaded it)",
        request=None,
        responses={200: ImportSerializer, 400: BAD_INPUT, 403: FORBIDDEN, 404: IMPORT_NOT_FOUND},
    )
    def post(self, request: Request, pk: int) -> Response:
        done = importer.apply(_job(request, pk), _caller(request))
        return Response(ImportSerializer(done).data)


class ChangesXlsxView(GenericAPIView[Change]):
    filterset_class = ChangeFilterSet
    queryset = Change.objects.none()
    pagination_class = None

    @extend_schema(
        operation_id="spreadsheets_changes_xlsx",
        summary="The change log as an Excel workbook (the change log's filters)",
        filters=True,
        responses={
            (200, views.XLSX): OpenApiTypes.BINARY,
            400: BAD_INPUT,
        },
    )
    def get(self, request: Request) -> HttpResponseBase:
        user = _caller(request)
        if exports.filtered(user, request.query_params) is None:
            filterset = ChangeFilterSet(request.query_params, queryset=Change.objects.none())
            errors = {name: " ".join(e) for name, e in filterset.errors.items()}
            raise InvalidAction("Some filters are not valid.", errors)
        return views.xlsx_response(user, request._request)


class ArchiveView(APIView):
    @extend_schema(
        operation_id="spreadsheets_school_archive",
        summary="Everything of a school as a ZIP archive of JSON and CSV files (the school "
        "administrator)",
        responses={
            (200, "application/zip"): OpenApiTypes.BINARY,
            403: FORBIDDEN,
            404: SCHOOL_NOT_FOUND,
        },
    )
    def get(self, request: Request, slug: str) -> HttpResponseBase:
        user = _caller(request)
        school = School.objects.for_user(user).filter(slug=slug).first()
        if school is None:
            raise NotFound("No such school among yours.")
        if not importer.may_import(user, school):
            raise NotPermitted(f"Only a school administrator of {school.name} may export it.")
        return views.archive_response(school, user)


urlpatterns = [
    path("spreadsheets/imports/", ImportCreateView.as_view(), name="spreadsheets-imports"),
    path(
        "spreadsheets/imports/<id:pk>/",
        ImportDetailView.as_view(),
        name="spreadsheets-import",
    ),
    path(
        "spreadsheets/imports/<id:pk>/apply/",
        ImportApplyView.as_view(),
        name="spreadsheets-import-apply",
    ),
    path("spreadsheets/changes.xlsx", ChangesXlsxView.as_view(), name="spreadsheets-xlsx"),
    path(
        "spreadsheets/schools/<slug:slug>/archive.zip",
        ArchiveView.as_view(),
        name="spreadsheets-archive",
    ),
]
