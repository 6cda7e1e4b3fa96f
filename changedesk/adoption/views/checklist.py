"""The review checklist's pages: FITS's change and release review items judged from the data,
each with what fails it, the school's answers to the rest, recording a review, the past
reviews, and when the next one is due.

    /getting-started/review/              adoption:checklist          ?school=<slug>
    /getting-started/review/record/       adoption:checklist_record   POST (the form)
    /getting-started/review/<id>/         adoption:checklist_review   a past review

Every member of the school reads them (another school's is a 404); a review is recorded by
the school administrator, the initial approver or the final approver (403 for others).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import path, reverse
from django.utils.translation import gettext
from django.views.decorators.http import require_GET, require_POST

from changedesk.accounts import permissions
from changedesk.accounts.current import current_user
from changedesk.accounts.models import School
from changedesk.adoption import checklist
from changedesk.adoption.checklist_forms import ReviewForm
from changedesk.adoption.models import Adoption, ChecklistReview
from changedesk.adoption.views.getting_started import school_of
from changedesk.lib import converters  # noqa: F401  (registers <id:...>)
from changedesk.lib.days import today_in
from changedesk.lib.views import form_page

STYLESHEET = "changedesk/adoption.css"
# A school reviews a few times a year: the page lists this many past reviews.
MOST_PAST = 20


def _here(school: School) -> str:
    return f"{reverse('adoption:checklist')}?school={school.slug}"


def due_note(school: School, latest: ChecklistReview | None) -> dict[str, Any]:
    """When the next review is due and whether it has come (the reminder on the page)."""
    due: date | None
    if latest is not None:
        due = latest.next_due
    else:
        live = Adoption.objects.filter(school=school).values_list("live_at", flat=True).first()
        due = checklist.first_due(school, live)
    today = today_in(school)
    return {"due": due, "overdue": due is not None and due <= today}


def _page(request: HttpRequest, school: School, form: ReviewForm | None = None) -> dict[str, Any]:
    user = current_user(request)
    items = checklist.evaluate(school)
    past = list(
        ChecklistReview.objects.filter(school=school)
        .select_related("reviewed_by")
        .order_by("-reviewed_on", "-id")[:MOST_PAST]
    )
    may_record = checklist.may_record(user, school)
    if form is None and may_record:
        form = ReviewForm()
    return {
        "school": school,
        "schools": permissions.schools(user),
        "change_items": [checklist.for_display(i.as_dict()) for i in items if i.area == "change"],
        "release_items": [checklist.for_display(i.as_dict()) for i in items if i.area == "release"],
        "failing": sum(1 for i in items if i.passed is False),
        "past": past,
        "may_record": may_record,
        "form": form,
        "stylesheet": STYLESHEET,
        **due_note(school, past[0] if past else None),
    }


@require_GET
def checklist_page(request: HttpRequest) -> HttpResponse:
    school = school_of(request)
    if school is None:
        return render(
            request,
            "adoption/checklist_choose.html",
            {"schools": permissions.schools(current_user(request))},
        )
    return render(request, "adoption/checklist.html", _page(request, school))


@require_POST
def record(request: HttpRequest) -> HttpResponse:
    school = school_of(request)
    if school is None:
        raise Http404("Choose the school.")
    user = current_user(request)
    if not checklist.may_record(user, school):
        raise PermissionDenied(checklist.not_recorder(school))
    form = ReviewForm(request.POST)

    def save() -> str:
        answers, notes, note, months = form.values()
        read, note, months = checklist.read_answers(answers, notes, note, months)
        review = checklist.record_review(school, user, read, note, months)
        return reverse("adoption:checklist_review", args=[review.pk])

    return form_page(
        request,
        form,
        "adoption/checklist.html",
        lambda: _page(request, school, form),
        save=save,
        done=gettext("The review is recorded."),
    )


@require_GET
def review_page(request: HttpRequest, pk: int) -> HttpResponse:
    user = current_user(request)
    review = get_object_or_404(
        ChecklistReview.objects.visible_to(user).select_related("school", "reviewed_by"), pk=pk
    )
    items = [
        checklist.for_display({"key": k, **v})
        for k, v in review.items.items()
        if isinstance(v, dict)
    ]
    return render(
        request,
        "adoption/checklist_review.html",
        {
            "review": review,
            "school": review.school,
            "change_items": [i for i in items if i.get("area") == "change"],
            "release_items": [i for i in items if i.get("area") == "release"],
            "back": _here(review.school),
            "stylesheet": STYLESHEET,
        },
    )


urlpatterns = [
    path("review/", checklist_page, name="checklist"),
    path("review/record/", record, name="checklist_record"),
    path("review/<id:pk>/", review_page, name="checklist_review"),
]
