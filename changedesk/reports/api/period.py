"""/api/v1/reports/: a period report as JSON, the same dict the page shows and the archive
freezes (`reports.figures.report`).

    GET /api/v1/reports/?school=<slug>|all&period=week|month&start=YYYY-MM-DD
    GET /api/v1/reports/?trust=<slug>&period=week|month&start=YYYY-MM-DD

The query is read as the page reads it (`reports.filters.ask`): `school` may be left out
when the caller reads one school's reports only; `all` gives the schools whose reports they
read together (`report_many`: counts summed, medians over all; its `school` has a null id
and `schools` names them). `trust` gives a trust's schools together (its `trust` names it),
for the trust's people and operators: a member of one of its schools without a trust role
403, anyone else 404. Bad input is a 400 with the field's error; a school not theirs a
404; a school whose reports their roles do not read a 403.
"""

from __future__ import annotations

from typing import Any

from django.urls import URLPattern, path
from django.utils.translation import gettext
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from changedesk.accounts.api import CallerMixin
from changedesk.lib.api import BAD_INPUT, FORBIDDEN
from changedesk.releases.api.releases import FigureDayField
from changedesk.reports import figures
from changedesk.reports.filters import BadQuery, MustChoose, ask


class ReportQuerySerializer(serializers.Serializer[dict[str, Any]]):
    """The query's parameters, as the schema shows them (read by `reports.filters.ask`)."""

    school = serializers.CharField(
        required=False,
        max_length=100,
        help_text="A school's slug, or `all` for your schools together. Needed unless you "
        "read one school's reports only.",
    )
    trust = serializers.CharField(
        required=False,
        max_length=100,
        help_text="A trust's slug, instead of `school`: the trust's schools together (for "
        "its administrators, technicians and peer reviewers).",
    )
    period = serializers.ChoiceField(
        choices=figures.PERIODS,
        required=False,
        help_text="week or month; by default the school's frequency.",
    )
    start = FigureDayField(
        required=False,
        help_text="Any day (YYYY-MM-DD) of the period wanted; by default today. "
        + figures.DAYS_TEXT,
    )


QUERY = ("school", "trust", "period", "start")
EXAMPLE = {
    "school": {"id": 1, "slug": "greenfield", "name": "Greenfield Primary"},
    "period": "month",
    "start": "2026-11-01",
    "end": "2026-12-01",
    "groups": [
        {
            "key": "change",
            "label": "Change management",
            "figures": [
                {
                    "key": "raised",
                    "label": "RFCs raised",
                    "value": 2,
                    "unit": "count",
                    "ids": [41, 42],
                },
                {
                    "key": "stage_planning",
                    "label": "Median hours planning",
                    "value": None,
                    "unit": "hours",
                    "ids": [],
                    "note": "No RFC left this stage in the period.",
                },
            ],
        }
    ],
    "trend": {
        "raised": [
            {"start": "2025-12-01", "end": "2026-01-01", "value": 3},
            {"start": "2026-11-01", "end": "2026-12-01", "value": 2},
        ]
    },
}

NO_SCHOOL = OpenApiResponse(OpenApiTypes.OBJECT, description="No such school among yours.")


class ReportView(CallerMixin, APIView):
    @extend_schema(
        operation_id="reports_period",
        summary="A school's report for a week or a month",
        description="FITS's change, release and patch figures for the period holding "
        "`start`, each with the RFC ids behind it, and each figure's trend over the last 12 "
        "periods. Counted in the school's own days (its time zone). A trust's report "
        "(`trust=`) also has `trust_wide`: the trust-wide changes raised in the period "
        "(`changes`, the first 100, oldest first, each with `id`, `reference`, `title`, "
        "`raised_at`, `schools` and `states`: how many of its schools' RFCs stand in each "
        "state, as `state`, `label` and `count`) and `more` (how many else).",
        parameters=[ReportQuerySerializer],
        responses={
            200: OpenApiResponse(
                OpenApiTypes.OBJECT,
                description="The report.",
                examples=[OpenApiExample("A month", value=EXAMPLE)],
            ),
            400: BAD_INPUT,
            403: FORBIDDEN,
            404: NO_SCHOOL,
        },
        filters=False,
    )
    def get(self, request: Request) -> Response:
        empty = [name for name in QUERY if request.query_params.get(name, None) == ""]
        if empty:
            said = gettext("Leave it out or give a value.")
            raise ValidationError({name: [said] for name in empty})
        try:
            asked = ask(self._caller(), request.query_params)
        except BadQuery as error:
            raise ValidationError({k: [v] for k, v in error.errors.items()}) from error
        except MustChoose as error:
            slugs = ", ".join(s.slug for s in error.schools[:10])
            more = "…" if len(error.schools) > 10 else ""
            raise ValidationError(
                {
                    "school": [
                        gettext("Choose a school (one of %(slugs)s), or all.")
                        % {"slugs": f"{slugs}{more}"}
                    ]
                }
            ) from error
        return Response(asked.report())


urlpatterns: list[URLPattern] = [
    path("reports/", ReportView.as_view(), name="reports-period"),
]
