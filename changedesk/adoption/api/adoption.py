"""A school's adoption of FITS in the REST API.

    /api/v1/adoption/{school}/                      GET: the state (tasks ticked from the
                                                    data, go-live date and countdown, live,
                                                    the pilot, the training table, warnings);
                                                    PATCH {go_live_on?, self_review_on?,
                                                    self_review_note?, pilot_discussion?}
    /api/v1/adoption/{school}/training/             POST {role}: "I have read this guide"
    /api/v1/adoption/{school}/plan/                 POST: the team has agreed the plan
    /api/v1/adoption/{school}/materials/            POST: the materials are available
    /api/v1/adoption/{school}/introduction/         POST: draft the introduction notice
    /api/v1/adoption/{school}/pilot/                POST {change}: choose the pilot RFC
    /api/v1/adoption/{school}/pilot/answers/        POST: your answers to the pilot review
    /api/v1/adoption/{school}/go-live/              POST {peer_review?}: go live

`{school}` is the school's slug: a school the caller is not in is a 404. Every member
reads the state and confirms their own training; the training table lists everyone for the
lead and the approvers, else only the caller. The writes are the lead's (the school
administrator or the initial approver), the notice a communicator's and the answers the
pilot's participants' (403 for anyone else); bad input is a 400 with field errors.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.http import Http404
from django.urls import URLPattern, path
from django.utils import translation
from django.utils.translation import gettext
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    inline_serializer,
)
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from changedesk.accounts.models import School, User
from changedesk.accounts.permissions import with_roles
from changedesk.adoption import permissions, services, tasks
from changedesk.adoption.guidance import guide_keys
from changedesk.lib.api import BAD_INPUT, FORBIDDEN, RefuseUnknownFields
from changedesk.lib.errors import InvalidAction, NotPermitted

_DETAIL = inline_serializer("AdoptionErrorDetail", {"detail": serializers.CharField()})
SCHOOL_NOT_FOUND = OpenApiResponse(_DETAIL, description="No such school among yours.")
OUT_OF_TURN = OpenApiResponse(_DETAIL, description="Not now: e.g. the school is already live.")
SCHOOL = OpenApiParameter(
    "school", str, OpenApiParameter.PATH, description="The school's slug.", pattern=r"^[-\w]+$"
)
ERRORS = {400: BAD_INPUT, 403: FORBIDDEN, 404: SCHOOL_NOT_FOUND, 409: OUT_OF_TURN}


class TaskSerializer(serializers.Serializer[Any]):
    key = serializers.CharField()
    title = serializers.CharField()
    done = serializers.BooleanField()
    optional = serializers.BooleanField()
    detail = serializers.CharField()
    link = serializers.CharField(help_text="Where the task is done (a page of the site).")


class GuideStateSerializer(serializers.Serializer[Any]):
    role = serializers.CharField()
    confirmed_at = serializers.DateTimeField(allow_null=True)


class TrainingRowSerializer(serializers.Serializer[Any]):
    username = serializers.CharField()
    name = serializers.CharField()
    done = serializers.BooleanField()
    guides = GuideStateSerializer(many=True)


class WarningSerializer(serializers.Serializer[Any]):
    key = serializers.CharField()
    role = serializers.CharField()
    message = serializers.CharField()


class PilotSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    reference = serializers.CharField()
    title = serializers.CharField()
    state = serializers.CharField()
    participants = serializers.ListField(child=serializers.CharField())
    answered = serializers.ListField(child=serializers.CharField())
    review_held = serializers.BooleanField()


class AdoptionSerializer(serializers.Serializer[Any]):
    school = serializers.CharField()
    tasks = TaskSerializer(many=True)
    ready = serializers.BooleanField(help_text="Every task but the optional ones is done.")
    go_live_on = serializers.DateField(allow_null=True)
    countdown_days = serializers.IntegerField(
        allow_null=True, help_text="Days from the school's today to the go-live date."
    )
    live_at = serializers.DateTimeField(allow_null=True)
    plan_agreed_at = serializers.DateTimeField(allow_null=True)
    materials_ready_at = serializers.DateTimeField(allow_null=True)
    introduction_notice = serializers.IntegerField(allow_null=True)
    pilot = PilotSerializer(allow_null=True)
    pilot_discussion = serializers.CharField()
    started_without_peer_review = serializers.BooleanField()
    peer_review_enabled = serializers.BooleanField()
    self_review_on = serializers.DateField(allow_null=True)
    self_review_note = serializers.CharField()
    training = TrainingRowSerializer(many=True)
    training_summary = inline_serializer(
        "AdoptionTrainingSummary",
        {"participants": serializers.IntegerField(), "confirmed": serializers.IntegerField()},
    )
    warnings = WarningSerializer(many=True)


class AdoptionEditSerializer(RefuseUnknownFields, serializers.Serializer[Any]):
    go_live_on = serializers.DateField(
        required=False, help_text=f"At least {services.MIN_LEAD_DAYS} days ahead."
    )
    self_review_on = serializers.DateField(required=False)
    self_review_note = serializers.CharField(
        required=False, allow_blank=True, max_length=services.MOST_TEXT
    )
    pilot_discussion = serializers.CharField(
        required=False, allow_blank=True, max_length=services.MOST_TEXT
    )


class TrainingSerializer(RefuseUnknownFields, serializers.Serializer[Any]):
    role = serializers.ChoiceField(
        choices=guide_keys(), help_text="The guide read: a role's name, or `overview`."
    )


class PilotChoiceSerializer(RefuseUnknownFields, serializers.Serializer[Any]):
    change = serializers.IntegerField(min_value=1, max_value=2**31 - 1, help_text="The RFC's id.")


class PilotAnswerSerializer(RefuseUnknownFields, serializers.Serializer[Any]):
    understood_part = serializers.BooleanField()
    sections_lacking = serializers.ListField(
        child=serializers.ChoiceField(choices=[k for k, _ in services.SECTIONS]),
        required=False,
        max_length=len(services.SECTIONS),
        help_text="The RFC's sections not completed well enough.",
    )
    needs_training = serializers.BooleanField()
    caused_incidents = serializers.BooleanField()
    everyone_knew = serializers.BooleanField()
    comment = serializers.CharField(required=False, allow_blank=True, max_length=services.MOST_TEXT)


class GoLiveSerializer(RefuseUnknownFields, serializers.Serializer[Any]):
    peer_review = serializers.BooleanField(
        required=False,
        default=False,
        help_text="Switch peer review back on (only when the school started without it).",
    )


def _school(request: Request, slug: str) -> tuple[School, User]:
    user = with_roles(request.user)
    school = School.objects.for_user(user).filter(slug=slug).first()
    if school is None:
        raise Http404("No such school among yours.")
    return school, user


def state(school: School, user: User) -> dict[str, Any]:
    facts = services.load(school)
    adoption = facts.adoption
    # The API's words stay English whatever the person's language (pages translate them).
    with translation.override("en-gb"):
        found = tasks.evaluate(facts)
    rows = services.training_rows(facts)
    shown = (
        rows
        if permissions.may_see_training_table(user, school)
        else [r for r in rows if r.user.pk == user.pk]
    )
    pilot = adoption.pilot
    people = services.pilot_participants(facts)
    return {
        "school": school.slug,
        "tasks": [
            {
                "key": t.key,
                "title": t.title,
                "done": t.done,
                "optional": t.optional,
                "detail": t.detail,
                "link": t.link,
            }
            for t in found
        ],
        "ready": not tasks.outstanding(found),
        "go_live_on": adoption.go_live_on,
        "countdown_days": services.countdown(facts),
        "live_at": adoption.live_at,
        "plan_agreed_at": adoption.plan_agreed_at,
        "materials_ready_at": adoption.materials_ready_at,
        "introduction_notice": adoption.introduction_notice_id,
        "pilot": None
        if pilot is None
        else {
            "id": pilot.pk,
            "reference": pilot.reference,
            "title": pilot.title,
            "state": pilot.state,
            "participants": [p.username for p in people.values()],
            "answered": [a.user.username for a in facts.answers],
            "review_held": services.review_held(facts),
        },
        "pilot_discussion": adoption.pilot_discussion,
        "started_without_peer_review": adoption.started_without_peer_review,
        "peer_review_enabled": school.peer_review_enabled,
        "self_review_on": adoption.self_review_on,
        "self_review_note": adoption.self_review_note,
        "training": [
            {
                "username": r.user.username,
                "name": r.user.display_name,
                "done": r.done,
                "guides": [{"role": k, "confirmed_at": when} for k, _, when in r.guides],
            }
            for r in shown
        ],
        "training_summary": {
            "participants": len(rows),
            "confirmed": sum(1 for r in rows if r.done),
        },
        "warnings": [
            {"key": w.key, "role": w.role, "message": w.message} for w in services.warnings(facts)
        ],
    }


def _answer(school: School, user: User, code: int = 200) -> Response:
    return Response(AdoptionSerializer(state(school, user)).data, status=code)


def _valid(serializer_class: type[serializers.Serializer[Any]], request: Request) -> Any:
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


class AdoptionView(APIView):
    @extend_schema(
        summary="A school's adoption of FITS: the preparation tasks and where it stands",
        parameters=[SCHOOL],
        responses={200: AdoptionSerializer, 404: SCHOOL_NOT_FOUND},
    )
    def get(self, request: Request, school: str) -> Response:
        return _answer(*_school(request, school))

    @extend_schema(
        summary="Set the go-live date, the self-review or the pilot's discussion (the lead)",
        parameters=[SCHOOL],
        request=AdoptionEditSerializer,
        responses={200: AdoptionSerializer, **ERRORS},
    )
    def patch(self, request: Request, school: str) -> Response:
        place, user = _school(request, school)
        if not permissions.may_lead(user, place):
            raise NotPermitted(permissions.not_lead(place))
        data = _valid(AdoptionEditSerializer, request)
        if not data:
            raise InvalidAction(gettext("Give at least one field to change."))
        with transaction.atomic():
            if "go_live_on" in data:
                services.set_go_live(place, user, data["go_live_on"])
            if "self_review_on" in data or "self_review_note" in data:
                current = services.adoption_for(place)
                services.record_self_review(
                    place,
                    user,
                    data.get("self_review_on", current.self_review_on),
                    data.get("self_review_note", current.self_review_note),
                )
            if "pilot_discussion" in data:
                services.save_discussion(place, user, data["pilot_discussion"])
        return _answer(place, user)


class TrainingView(APIView):
    @extend_schema(
        summary="Confirm you have read a guide and know your part (dated)",
        parameters=[SCHOOL],
        request=TrainingSerializer,
        responses={201: AdoptionSerializer, **ERRORS},
    )
    def post(self, request: Request, school: str) -> Response:
        place, user = _school(request, school)
        data = _valid(TrainingSerializer, request)
        services.confirm_training(place, user, data["role"])
        return _answer(place, user, status.HTTP_201_CREATED)


class PlanView(APIView):
    @extend_schema(
        summary="Record that the team has agreed the plan (the lead)",
        parameters=[SCHOOL],
        request=None,
        responses={200: AdoptionSerializer, **ERRORS},
    )
    def post(self, request: Request, school: str) -> Response:
        place, user = _school(request, school)
        services.agree_plan(place, user)
        return _answer(place, user)


class MaterialsView(APIView):
    @extend_schema(
        summary="Record that the materials are available (the lead)",
        parameters=[SCHOOL],
        request=None,
        responses={200: AdoptionSerializer, **ERRORS},
    )
    def post(self, request: Request, school: str) -> Response:
        place, user = _school(request, school)
        services.materials_ready(place, user)
        return _answer(place, user)


class IntroductionView(APIView):
    @extend_schema(
        summary="Draft the notice introducing change management (a communicator)",
        parameters=[SCHOOL],
        request=None,
        responses={200: AdoptionSerializer, **ERRORS},
    )
    def post(self, request: Request, school: str) -> Response:
        place, user = _school(request, school)
        services.draft_introduction(place, user)
        return _answer(place, user)


class PilotView(APIView):
    @extend_schema(
        summary="Choose the pilot RFC (the lead)",
        parameters=[SCHOOL],
        request=PilotChoiceSerializer,
        responses={200: AdoptionSerializer, **ERRORS},
    )
    def post(self, request: Request, school: str) -> Response:
        place, user = _school(request, school)
        data = _valid(PilotChoiceSerializer, request)
        services.choose_pilot(place, user, data["change"])
        return _answer(place, user)


class PilotAnswerView(APIView):
    @extend_schema(
        summary="Your answers to the pilot review, once the pilot RFC is closed (a participant)",
        parameters=[SCHOOL],
        request=PilotAnswerSerializer,
        responses={201: AdoptionSerializer, **ERRORS},
    )
    def post(self, request: Request, school: str) -> Response:
        place, user = _school(request, school)
        data = _valid(PilotAnswerSerializer, request)
        services.answer_pilot(place, user, dict(data))
        return _answer(place, user, status.HTTP_201_CREATED)


class GoLiveView(APIView):
    @extend_schema(
        summary="Go live: ends the pilot, once its RFC is closed (the lead)",
        parameters=[SCHOOL],
        request=GoLiveSerializer,
        responses={200: AdoptionSerializer, **ERRORS},
    )
    def post(self, request: Request, school: str) -> Response:
        place, user = _school(request, school)
        data = _valid(GoLiveSerializer, request)
        services.go_live(place, user, peer_review=data["peer_review"])
        return _answer(place, user)


def _path(suffix: str, view: type[APIView], name: str) -> URLPattern:
    return path(f"adoption/<slug:school>/{suffix}", view.as_view(), name=name)


urlpatterns = [
    _path("", AdoptionView, "adoption"),
    _path("training/", TrainingView, "adoption-training"),
    _path("plan/", PlanView, "adoption-plan"),
    _path("materials/", MaterialsView, "adoption-materials"),
    _path("introduction/", IntroductionView, "adoption-introduction"),
    _path("pilot/", PilotView, "adoption-pilot"),
    _path("pilot/answers/", PilotAnswerView, "adoption-pilot-answers"),
    _path("go-live/", GoLiveView, "adoption-go-live"),
]
