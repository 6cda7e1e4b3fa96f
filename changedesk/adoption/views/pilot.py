"""Pilot mode and going live.

    /getting-started/pilot/               adoption:pilot             ?school=<slug>
    /getting-started/pilot/choose/        adoption:pilot_choose      POST (the lead)
    /getting-started/pilot/answer/        adoption:pilot_answer      the form (a participant)
    /getting-started/pilot/discussion/    adoption:pilot_discussion  POST (the lead)
    /getting-started/go-live/             adoption:go_live           POST (the lead)

The pilot page shows the pilot RFC and its state, who takes part, every answer to the
review once the RFC has closed, the discussion note, and the Go live form (with, when the
school started without peer review and it is still off, the offer to switch it back on).
Every member reads it; the answers are the participants' own; the rest is the lead's.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path
from django.utils.translation import gettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from changedesk.accounts.choices import Role
from changedesk.accounts.current import current_user
from changedesk.accounts.models import School
from changedesk.adoption import permissions, services
from changedesk.adoption.forms import DiscussionForm, GoLiveForm, PilotAnswerForm, PilotChoiceForm
from changedesk.adoption.views.getting_started import choose, here, lead, posted_school, school_of
from changedesk.changes.choices import State
from changedesk.lib.views import act, forbid, form_page


def _page(
    request: HttpRequest,
    school: School,
    choice_form: PilotChoiceForm | None = None,
    discussion_form: DiscussionForm | None = None,
    status: int = 200,
) -> HttpResponse:
    user = current_user(request)
    facts = services.load(school)
    adoption = facts.adoption
    people = services.pilot_participants(facts)
    may_lead = permissions.may_lead(user, school)
    answers = {a.user_id: a for a in facts.answers}
    labels = dict(services.SECTIONS)
    for answer in facts.answers:
        answer.section_labels = [labels[k] for k in answer.sections_lacking if k in labels]  # type: ignore[attr-defined]
    closed = adoption.pilot is not None and adoption.pilot.state == State.CLOSED
    peer_reviewer_held = bool(services.holders(facts).get(Role.PEER_REVIEWER))
    if choice_form is None and may_lead and not adoption.is_live:
        initial = {"change": adoption.pilot_id} if adoption.pilot_id else {}
        choice_form = PilotChoiceForm(initial=initial, changes=services.pilot_choices(school))
    return render(
        request,
        "adoption/pilot.html",
        {
            "school": school,
            "adoption": adoption,
            "pilot": adoption.pilot,
            "closed": closed,
            "participants": [(p, answers.get(pk)) for pk, p in people.items()],
            "answered": sum(1 for pk in people if pk in answers),
            "is_participant": user.pk in people,
            "my_answer": answers.get(user.pk),
            "review_held": services.review_held(facts),
            "may_lead": may_lead,
            "choice_form": choice_form,
            "discussion_form": discussion_form
            or DiscussionForm(initial={"pilot_discussion": adoption.pilot_discussion}),
            "go_live_form": GoLiveForm(initial={"peer_review": peer_reviewer_held}),
            "peer_reviewer_held": peer_reviewer_held,
            "offers_peer_review": services.offers_peer_review(adoption, school),
            "outstanding": [t for t in _tasks(facts) if t.key != "pilot"],
        },
        status=status,
    )


def _tasks(facts: services.Facts) -> list[Any]:
    from changedesk.adoption import tasks

    return tasks.outstanding(tasks.evaluate(facts))


@require_GET
def pilot(request: HttpRequest) -> HttpResponse:
    school = school_of(request)
    if school is None:
        return choose(request, gettext("The pilot"))
    return _page(request, school)


@require_POST
def pilot_choose(request: HttpRequest) -> HttpResponse:
    school = posted_school(request)
    user = lead(request, school)
    form = PilotChoiceForm(request.POST, changes=services.pilot_choices(school))
    return form_page(
        request,
        form,
        "adoption/pilot_choose.html",
        {"school": school},
        save=lambda: services.choose_pilot(school, user, form.cleaned_data["change"]),
        done=gettext("The pilot RFC is chosen. Take it through every step, then close it."),
        success_url=here("adoption:pilot", school),
    )


@require_http_methods(["GET", "POST"])
def pilot_answer(request: HttpRequest) -> HttpResponse:
    school = school_of(request)
    if school is None:
        return choose(request, gettext("The pilot review"))
    user = current_user(request)
    facts = services.load(school)
    if user.pk not in services.pilot_participants(facts):
        raise PermissionDenied(
            gettext(
                "Only the pilot's participants answer its review: its originator, approvers, "
                "implementer and the school's communicators."
            )
        )
    mine = next((a for a in facts.answers if a.user_id == user.pk), None)
    initial: dict[str, Any] = {}
    if mine is not None:
        initial = {
            name: "yes" if getattr(mine, name) else "no"
            for name in ("understood_part", "needs_training", "caused_incidents", "everyone_knew")
        }
        initial.update({"sections_lacking": mine.sections_lacking, "comment": mine.comment})
    form = PilotAnswerForm(request.POST or None, initial=initial)
    return form_page(
        request,
        form,
        "adoption/pilot_answer.html",
        {"school": school, "pilot": facts.adoption.pilot, "answer": mine},
        save=lambda: services.answer_pilot(school, user, form.values()),
        done=gettext("Thank you: your answers are recorded."),
        success_url=here("adoption:pilot", school, "#answers"),
    )


@require_POST
def pilot_discussion(request: HttpRequest) -> HttpResponse:
    school = posted_school(request)
    user = lead(request, school)
    form = DiscussionForm(request.POST)
    return form_page(
        request,
        form,
        "adoption/pilot_discussion.html",
        {"school": school},
        save=lambda: services.save_discussion(school, user, form.cleaned_data["pilot_discussion"]),
        done=gettext("The discussion is noted."),
        success_url=here("adoption:pilot", school, "#discussion"),
    )


def _live(school: School, peer_review_on: bool) -> str:
    if peer_review_on:
        message = gettext(
            "%(school)s is live with FITS change management. Peer review is on again."
        )
    else:
        message = gettext("%(school)s is live with FITS change management.")
    return message % {"school": school.name}


@require_POST
def go_live(request: HttpRequest) -> HttpResponse:
    school = posted_school(request)
    user = lead(request, school)
    form = GoLiveForm(request.POST)
    form.is_valid()
    peer_review = bool(form.cleaned_data.get("peer_review"))
    return act(
        request,
        lambda: services.go_live(school, user, peer_review=peer_review),
        done=lambda a: _live(school, peer_review and school.peer_review_enabled),
        then=here("adoption:pilot", school, "#go-live"),
        done_then=lambda a: here("adoption:getting_started", school),
        refused=forbid,
    )


urlpatterns = [
    path("pilot/", pilot, name="pilot"),
    path("pilot/choose/", pilot_choose, name="pilot_choose"),
    path("pilot/answer/", pilot_answer, name="pilot_answer"),
    path("pilot/discussion/", pilot_discussion, name="pilot_discussion"),
    path("go-live/", go_live, name="go_live"),
]
