"""The review checklist in the REST API.

    /api/v1/adoption/{school}/review/   GET: each item of the checklist as the data judges it
                                        now (with what fails it), when the next review is due,
                                        and the past reviews (newest first, the latest whole);
                                        POST {answers, notes?, note?, next_in_months?}: record
                                        a review (201, the review as stored)

`answers` gives yes, no or partly for each item the data cannot judge (`by: "school"`);
`notes` an optional note per item; `next_in_months` is 3, 6 or 12 (default 6). Every member
of the school reads it; the school administrator, the initial approver or the final
approver records a review (403 for other members); another school is a 404.
"""

from __future__ import annotations

from typing import Any

from django.urls import path
from django.utils.translation import gettext
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    inline_serializer,
)
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from changedesk.accounts.models import School
from changedesk.accounts.permissions import with_roles
from changedesk.adoption import checklist
from changedesk.adoption.models import ChecklistReview
from changedesk.adoption.views.checklist import due_note
from changedesk.lib.api import BAD_INPUT, FORBIDDEN, RefuseUnknownFields
from changedesk.lib.errors import NotPermitted

MOST_PAST = 20

_DETAIL = inline_serializer("AdoptionReviewErrorDetail", {"detail": serializers.CharField()})
SCHOOL_NOT_FOUND = OpenApiResponse(_DETAIL, description="No such school among yours.")
SCHOOL_PARAMETER = OpenApiParameter(
    "school", str, OpenApiParameter.PATH, description="The school's slug."
)


class TextField(serializers.CharField):
    """Text, and only text: a number or a yes/no in its place is refused, not turned into
    text (JSON's types mean what they say)."""

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return str(super().to_internal_value(data))


class ReviewInputSerializer(RefuseUnknownFields, serializers.Serializer[dict[str, Any]]):
    answers = serializers.DictField(
        child=serializers.ChoiceField(choices=list(checklist.ANSWERS)),
        help_text="yes, no or partly for each item the data cannot judge: "
        + ", ".join(checklist.SCHOOL_KEYS)
        + ".",
    )
    notes = serializers.DictField(
        child=TextField(max_length=checklist.MOST_NOTE, allow_blank=True),
        required=False,
        help_text="An optional note per item, by its key.",
    )
    note = serializers.CharField(
        max_length=checklist.MOST_NOTE,
        required=False,
        allow_blank=True,
        help_text="On the whole review.",
    )
    next_in_months = serializers.ChoiceField(
        choices=list(checklist.DUE_CHOICES),
        required=False,
        help_text="When the next review is due, in months (default 6).",
    )


FAILING = inline_serializer(
    "ChecklistFailing",
    {
        "label": serializers.CharField(),
        "why": serializers.CharField(),
        "url": serializers.CharField(),
    },
    many=True,
)
ITEM = inline_serializer(
    "ChecklistItem",
    {
        "key": serializers.CharField(),
        "area": serializers.ChoiceField(choices=["change", "release"]),
        "label": serializers.CharField(),
        "by": serializers.ChoiceField(choices=["data", "school"]),
        "passed": serializers.BooleanField(allow_null=True),
        "detail": serializers.CharField(),
        "link": serializers.CharField(),
        "link_text": serializers.CharField(),
        "failing": FAILING,
    },
    many=True,
)
REVIEW_FIELDS: dict[str, serializers.Field[Any, Any, Any, Any]] = {
    "id": serializers.IntegerField(),
    "reviewed_on": serializers.DateField(),
    "next_due": serializers.DateField(),
    "reviewed_by": serializers.CharField(help_text="The username of who recorded it."),
    "note": serializers.CharField(),
}
ITEMS_AS_RECORDED = serializers.DictField(
    help_text="Each item as it stood, by key: label, area, by, passed, answer, detail, note, "
    "failing."
)
REVIEW = inline_serializer("ChecklistReview", {**REVIEW_FIELDS, "items": ITEMS_AS_RECORDED})
PAST_REVIEWS = inline_serializer(
    "ChecklistPastReview",
    {
        **REVIEW_FIELDS,
        "items": serializers.DictField(required=False, help_text="The latest's only."),
    },
    many=True,
)
CHECKLIST = inline_serializer(
    "Checklist",
    {
        "school": serializers.CharField(),
        "items": ITEM,
        "next_due": serializers.DateField(allow_null=True),
        "due": serializers.BooleanField(help_text="Whether a review has fallen due."),
        "may_record": serializers.BooleanField(),
        "reviews": PAST_REVIEWS,
    },
)


def _review(review: ChecklistReview, whole: bool) -> dict[str, Any]:
    shown: dict[str, Any] = {
        "id": review.pk,
        "reviewed_on": review.reviewed_on.isoformat(),
        "next_due": review.next_due.isoformat(),
        "reviewed_by": review.reviewed_by.username,
        "note": review.note,
    }
    if whole:
        shown["items"] = review.items
    return shown


class ChecklistView(APIView):
    """The school's review checklist, and recording a review."""

    def _school(self, request: Request, slug: str) -> tuple[Any, School]:
        user = with_roles(request.user)
        school = School.objects.for_user(user).filter(slug=slug[:100]).first()
        if school is None:
            raise NotFound(gettext("No such school among yours."))
        return user, school

    @extend_schema(
        summary="The school's review checklist, judged from the data, and its past reviews",
        parameters=[SCHOOL_PARAMETER],
        responses={200: CHECKLIST, 404: SCHOOL_NOT_FOUND},
    )
    def get(self, request: Request, school: str) -> Response:
        user, found = self._school(request, school)
        past = list(
            ChecklistReview.objects.filter(school=found)
            .select_related("reviewed_by")
            .order_by("-reviewed_on", "-id")[:MOST_PAST]
        )
        due = due_note(found, past[0] if past else None)
        return Response(
            {
                "school": found.slug,
                "items": [item.as_dict() for item in checklist.evaluate(found)],
                "next_due": due["due"].isoformat() if due["due"] else None,
                "due": due["overdue"],
                "may_record": checklist.may_record(user, found),
                "reviews": [_review(r, n == 0) for n, r in enumerate(past)],
            }
        )

    @extend_schema(
        summary="Record a review (the school administrator, the initial or the final approver)",
        parameters=[SCHOOL_PARAMETER],
        request=ReviewInputSerializer,
        responses={201: REVIEW, 400: BAD_INPUT, 403: FORBIDDEN, 404: SCHOOL_NOT_FOUND},
    )
    def post(self, request: Request, school: str) -> Response:
        user, found = self._school(request, school)
        if not checklist.may_record(user, found):
            raise NotPermitted(checklist.not_recorder(found))
        given = ReviewInputSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        data = given.validated_data
        answers, note, months = checklist.read_answers(
            data["answers"], data.get("notes", {}), data.get("note", ""), data.get("next_in_months")
        )
        review = checklist.record_review(found, user, answers, note, months)
        review.reviewed_by = user
        return Response(_review(review, True), status=status.HTTP_201_CREATED)


urlpatterns = [
    path("adoption/<str:school>/review/", ChecklistView.as_view(), name="adoption-review"),
]
