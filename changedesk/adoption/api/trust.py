"""A trust's compliance across its schools in the REST API (`adoption.trust_compliance`).

    GET /api/v1/trusts/{slug}/compliance/?period=week|month&start=YYYY-MM-DD

A row per school of the trust now: going live, patch compliance (the patches released in the
last 90 days), the RFCs open and overdue now, failed and emergency in the period, and the
latest review checklist; with the totals. Read by the trust's people (any trust role) and
operators; a member of one of its schools without a trust role 403; anyone else 404; a bad
period or day 400.
"""

from __future__ import annotations

from typing import Any

from django.urls import URLPattern, path
from django.utils.translation import gettext
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from changedesk.accounts.api import CallerMixin
from changedesk.adoption.views.trust import BadPeriod, read
from changedesk.lib.api import BAD_INPUT, FORBIDDEN
from changedesk.releases.api.releases import FigureDayField
from changedesk.reports import figures


class _Query(serializers.Serializer[dict[str, Any]]):
    period = serializers.ChoiceField(
        choices=figures.PERIODS, required=False, help_text="week or month (by default month)."
    )
    start = FigureDayField(
        required=False,
        help_text="Any day (YYYY-MM-DD) of the period wanted; by default today. "
        + figures.DAYS_TEXT,
    )


class _Named(serializers.Serializer[dict[str, Any]]):
    id = serializers.IntegerField()
    slug = serializers.CharField()
    name = serializers.CharField()


class _Tally(serializers.Serializer[dict[str, Any]]):
    applicable = serializers.IntegerField(help_text="Released in the window and applying.")
    on_time = serializers.IntegerField()
    late = serializers.IntegerField()
    overdue = serializers.IntegerField()
    in_time = serializers.IntegerField()
    deferred = serializers.IntegerField()
    not_applicable = serializers.IntegerField()
    deployed = serializers.IntegerField()
    percent_on_time = serializers.IntegerField(
        allow_null=True, help_text="Of those deployed or due, the share on time (null: none)."
    )


class _GoingLive(serializers.Serializer[dict[str, Any]]):
    state = serializers.ChoiceField(choices=["not_begun", "go_live_set", "live"])
    go_live_on = serializers.DateField(allow_null=True)
    live_on = serializers.DateField(allow_null=True)


class _Rfcs(serializers.Serializer[dict[str, Any]]):
    open = serializers.IntegerField(help_text="Open now.")
    overdue = serializers.IntegerField(help_text="Not implemented, its planned end passed.")
    failed = serializers.IntegerField(help_text="Failed and backed out in the period.")
    emergencies = serializers.IntegerField(help_text="Emergency changes raised in the period.")


class _Review(serializers.Serializer[dict[str, Any]]):
    reviewed_on = serializers.DateField()
    passed = serializers.IntegerField()
    judged = serializers.IntegerField()
    next_due = serializers.DateField()
    overdue = serializers.BooleanField()


class _School(serializers.Serializer[dict[str, Any]]):
    school = _Named()
    going_live = _GoingLive()
    patches = _Tally()
    rfcs = _Rfcs()
    review = _Review(allow_null=True, help_text="The latest review checklist (null: none).")


class _Totals(serializers.Serializer[dict[str, Any]]):
    schools = serializers.IntegerField()
    live = serializers.IntegerField()
    patches = _Tally()
    open = serializers.IntegerField()
    overdue = serializers.IntegerField()
    failed = serializers.IntegerField()
    emergencies = serializers.IntegerField()
    reviewed = serializers.IntegerField()
    review_overdue = serializers.IntegerField()


class TrustComplianceSerializer(serializers.Serializer[dict[str, Any]]):
    trust = _Named()
    period = serializers.ChoiceField(choices=figures.PERIODS)
    start = serializers.DateField()
    end = serializers.DateField(help_text="The day after the period.")
    patches_since = serializers.DateField(help_text="Patches released since this day count.")
    schools = _School(many=True)
    totals = _Totals()


NO_TRUST = OpenApiResponse(description="No such trust among yours.")


class TrustComplianceView(CallerMixin, APIView):
    @extend_schema(
        operation_id="trusts_compliance",
        summary="A trust's compliance across its schools",
        description="Each school of the trust now (one that left drops out): going live with "
        "FITS, patch compliance, its RFCs open, overdue, failed and emergency, and its latest "
        "review checklist, with the totals. The same query count however many schools.",
        parameters=[
            _Query,
            OpenApiParameter("slug", str, OpenApiParameter.PATH, description="The trust's slug."),
        ],
        responses={200: TrustComplianceSerializer, 400: BAD_INPUT, 403: FORBIDDEN, 404: NO_TRUST},
        filters=False,
    )
    def get(self, request: Request, slug: str) -> Response:
        empty = [n for n in ("period", "start") if request.query_params.get(n, None) == ""]
        if empty:
            raise ValidationError(
                {name: [gettext("Leave it out or give a value.")] for name in empty}
            )
        try:
            found = read(self._caller(), slug, request.query_params)
        except BadPeriod as error:
            raise ValidationError({k: [v] for k, v in error.errors.items()}) from error
        return Response(found.as_dict())


urlpatterns: list[URLPattern] = [
    path(
        "trusts/<slug:slug>/compliance/",
        TrustComplianceView.as_view(),
        name="trusts-compliance",
    ),
]
