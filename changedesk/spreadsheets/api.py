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
from collections.abc import Callable
from typing import Any, TypeVar

from django.core.files.uploadedfile import UploadedFile
from django.http.response import HttpResponseBase
from django.urls import path
from django.utils.translation import gettext
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
from changedesk.spreadsheets import columns, exports, importer, views, wording
from changedesk.spreadsheets.models import ChangeImport, ChangeLogImport

IMPORT_NOT_FOUND = OpenApiResponse(description="No such import among your schools.")
SCHOOL_NOT_FOUND = OpenApiResponse(description="No such school among yours.")


def import_fields(place: str, *outcome: str) -> tuple[str, ...]:
    """An import serializer's fields, in order: its `place` (school or trust) and the
    `outcome` fields of its kind among the ones every import has."""
    return (
        "id",
        place,
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
        *outcome,
        "failure",
        "created_at",
        "checked_at",
        "confirmed_at",
        "finished_at",
    )


class ChangeLogImportSerializer(serializers.ModelSerializer[Any]):
    """What a school's and a trust's import show alike (each serializer names its model, its
    place and its fields in its `Meta`)."""

    created_by: serializers.SlugRelatedField[User] = serializers.SlugRelatedField(
        slug_field="username", read_only=True
    )
    mapping = serializers.SerializerMethodField()
    fields_available = serializers.SerializerMethodField()
    percent = serializers.IntegerField(
        read_only=True, help_text="How far the worker has got with its step, 0 to 100."
    )

    def get_mapping(self, job: ChangeLogImport) -> dict[str, str]:
        """Each column (by its header) and its field, "" where it is left out."""
        return job.column_fields()

    def get_fields_available(self, job: ChangeLogImport) -> dict[str, str]:
        """The fields a column may hold, with what each is."""
        return dict(columns.FIELD_CHOICES)


class ImportSerializer(ChangeLogImportSerializer):
    """An import: the file's columns and the field each is mapped to, its state and the
    worker's progress (while `queued`, `checking` or `applying`), the rows' problems (each
    [row, field, message]; the first 500) and its first rows (200); once done, how many
    RFCs it made and their numbers."""

    school: serializers.SlugRelatedField[School] = serializers.SlugRelatedField(
        slug_field="slug", read_only=True
    )

    class Meta:
        model = ChangeImport
        fields = import_fields("school", "first_number", "last_number")
        read_only_fields = fields


# An upload's `mapping`, read; each upload serializer declares its fields, in its order.
# (No docstring: the schema describes the uploads with `RefuseUnknownFields`'s.)
class MappingUploadSerializer(RefuseUnknownFields, serializers.Serializer[dict[str, Any]]):
    def validate_mapping(self, value: str) -> dict[str, str]:
        if not value.strip():
            return {}
        try:
            parsed = json.loads(value)
        except ValueError:
            raise serializers.ValidationError(gettext("Not JSON.")) from None
        if not isinstance(parsed, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in parsed.items()
        ):
            raise serializers.ValidationError(
                gettext("A JSON object of column headers to field names.")
            )
        return parsed


def mapping_field(example: str) -> serializers.CharField:
    """An upload's `mapping` field, its help giving `example` as a column mapped."""
    return serializers.CharField(
        required=False,
        allow_blank=True,
        help_text=f"A JSON object: a column's header to its field, e.g. {{{example}, "
        '"Notes": ""} ("" leaves a column out). Columns not named keep the field guessed.',
    )


class UploadSerializer(MappingUploadSerializer):
    school = SchoolField(help_text="The school's slug.")
    file = serializers.FileField(help_text="The change log: CSV or XLSX.")
    mapping = mapping_field('"Ref": "reference"')


def _caller(request: Request) -> User:
    return with_roles(request.user)


def _mapping(job: ChangeLogImport, given: dict[str, str]) -> list[str]:
    by_name = {name.strip().lower(): index for index, name in enumerate(job.columns)}
    mapping = list(job.mapping)
    for name, field in given.items():
        index = by_name.get(name.strip().lower())
        if index is None:
            raise InvalidAction(
                gettext("Some columns are not in the file."),
                {"mapping": gettext("The file has no column “%(name)s”.") % {"name": name[:60]}},
            )
        mapping[index] = field
    return mapping


J = TypeVar("J")


def started(upload: UploadedFile[bytes], start: Callable[[bytes, str], J]) -> J:
    """The import `start` makes of an uploaded file (a school's or a trust's); a file
    refused is a 400 against `file`."""
    try:
        return importer.started(upload, start)
    except importer.ImportRefused as refusal:
        said = wording.in_language(str(refusal))
        raise InvalidAction(said, {"file": said}) from None


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
            raise NotPermitted(
                gettext("Only a school administrator of %(school)s may import.")
                % {"school": school.name}
            )
        job = started(upload, lambda data, name: importer.start(school, user, data, name))
        job = importer.check(job, user, _mapping(job, given.validated_data.get("mapping", {})))
        return Response(ImportSerializer(job).data, status=status.HTTP_201_CREATED)


def _job(request: Request, pk: int) -> ChangeImport:
    user = _caller(request)
    job = (
        ChangeImport.objects.visible_to(user).light().select_related("school").filter(pk=pk).first()
    )
    if job is None:
        raise NotFound(gettext("No such import among your schools."))
    if not importer.may_import(user, job.school):
        raise NotPermitted(
            gettext("Only a school administrator of %(school)s may see it.")
            % {"school": job.school.name}
        )
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
            raise InvalidAction(gettext("Some filters are not valid."), errors)
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
            raise NotFound(gettext("No such school among yours."))
        if not importer.may_import(user, school):
            raise NotPermitted(
                gettext("Only a school administrator of %(school)s may export it.")
                % {"school": school.name}
            )
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
