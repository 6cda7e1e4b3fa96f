"""The getting-started page, the roles with their guidance, and where a person lands on
signing in.

    /getting-started/                      adoption:getting_started  ?school=<slug>
    /getting-started/welcome/              adoption:welcome          LOGIN_REDIRECT_URL
    /getting-started/roles/                adoption:roles
    /getting-started/go-live-date/         adoption:go_live_date     POST (the lead)
    /getting-started/plan/                 adoption:plan             POST (the lead)
    /getting-started/introduction/         adoption:introduction     POST (a communicator)
    /getting-started/materials-ready/      adoption:materials_ready  POST (the lead)
    /getting-started/self-review/          adoption:self_review      POST (the lead)

Every member of a school reads the pages; a school the person is not in is a 404; the
writes are the lead's (the school administrator or the initial approver: 403 for other
members), but for the introduction notice, which is a communicator's, as every notice is.
The shared helpers (`school_of`, `choose`, `here`, `lead`) serve the training and pilot
pages too.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext, ngettext
from django.views.decorators.http import require_GET, require_POST

from changedesk.accounts import permissions as accounts
from changedesk.accounts.choices import Role
from changedesk.accounts.current import current_user
from changedesk.accounts.models import School, User
from changedesk.adoption import guidance, permissions, services, tasks
from changedesk.adoption.forms import GoLiveDateForm, SelfReviewForm
from changedesk.communication.choices import NoticeStatus
from changedesk.lib.views import act, forbid, form_page


def school_of(request: HttpRequest) -> School | None:
    """`?school=<slug>` among the person's schools (404 if not one of them), the only one,
    or None: the person must choose."""
    schools = accounts.schools(current_user(request))
    slug = request.GET.get("school") or request.POST.get("school") or ""
    if slug:
        school = next((s for s in schools if s.slug == slug), None)
        if school is None:
            raise Http404("No such school among yours.")
        return school
    if not schools:
        raise Http404("You are not a member of any school.")
    return schools[0] if len(schools) == 1 else None


def posted_school(request: HttpRequest) -> School:
    school = school_of(request)
    if school is None:
        raise Http404("Choose the school.")
    return school


def choose(request: HttpRequest, what: str) -> HttpResponse:
    schools = accounts.schools(current_user(request))
    return render(request, "adoption/choose_school.html", {"schools": schools, "what": what})


def here(name: str, school: School, anchor: str = "") -> str:
    return f"{reverse(name)}?school={school.slug}{anchor}"


def lead(request: HttpRequest, school: School) -> User:
    """The person, if they lead the school's adoption; else 403 saying who may."""
    user = current_user(request)
    if not permissions.may_lead(user, school):
        raise PermissionDenied(permissions.not_lead(school))
    return user


@require_GET
def welcome(request: HttpRequest) -> HttpResponse:
    """Where signing in lands (unless `?next=` says otherwise): the getting-started page of
    a school not live yet that the person leads or approves in, else My work."""
    pending = services.pending_schools(current_user(request))
    if pending:
        return redirect(here("adoption:getting_started", pending[0]))
    return redirect("changes:my_work")


@require_GET
def getting_started(request: HttpRequest) -> HttpResponse:
    school = school_of(request)
    if school is None:
        return choose(request, gettext("Getting started"))
    return _page(request, school)


def _page(
    request: HttpRequest,
    school: School,
    date_form: GoLiveDateForm | None = None,
    review_form: SelfReviewForm | None = None,
    status: int = 200,
) -> HttpResponse:
    user = current_user(request)
    facts = services.load(school)
    adoption = facts.adoption
    found = tasks.evaluate(facts)
    return render(
        request,
        "adoption/getting_started.html",
        {
            "school": school,
            "adoption": adoption,
            "tasks": found,
            "outstanding": tasks.outstanding(found),
            "countdown": services.countdown(facts),
            "min_lead_days": services.MIN_LEAD_DAYS,
            "may_lead": permissions.may_lead(user, school),
            "may_draft_notice": accounts.holds_or_superuser(user, Role.COMMUNICATOR, school)
            and (
                adoption.introduction_notice is None
                or adoption.introduction_notice.status == NoticeStatus.WITHDRAWN
            ),
            "many_schools": len(accounts.schools(user)) > 1,
            "date_form": date_form or GoLiveDateForm(initial={"go_live_on": adoption.go_live_on}),
            "review_form": review_form
            or SelfReviewForm(
                initial={
                    "self_review_on": adoption.self_review_on,
                    "self_review_note": adoption.self_review_note,
                }
            ),
            "materials_url": tasks.url("adoption:materials", facts),
        },
        status=status,
    )


@require_POST
def go_live_date(request: HttpRequest) -> HttpResponse:
    school = posted_school(request)
    user = lead(request, school)
    form = GoLiveDateForm(request.POST)
    return form_page(
        request,
        form,
        "adoption/go_live_date.html",
        {"school": school},
        save=lambda: services.set_go_live(school, user, form.cleaned_data["go_live_on"]),
        done=gettext("The go-live date is set."),
        success_url=here("adoption:getting_started", school, "#go-live"),
    )


@require_POST
def self_review(request: HttpRequest) -> HttpResponse:
    school = posted_school(request)
    user = lead(request, school)
    form = SelfReviewForm(request.POST)
    return form_page(
        request,
        form,
        "adoption/self_review.html",
        {"school": school},
        save=lambda: services.record_self_review(
            school, user, form.cleaned_data["self_review_on"], form.cleaned_data["self_review_note"]
        ),
        done=gettext("The ICT self-review is recorded."),
        success_url=here("adoption:getting_started", school, "#self-review"),
    )


@require_POST
def plan(request: HttpRequest) -> HttpResponse:
    school = posted_school(request)
    user = lead(request, school)
    return act(
        request,
        lambda: services.agree_plan(school, user),
        done=gettext("The team's agreement to the plan is recorded."),
        then=here("adoption:getting_started", school, "#plan"),
        refused=forbid,
    )


@require_POST
def materials_ready(request: HttpRequest) -> HttpResponse:
    school = posted_school(request)
    user = lead(request, school)
    return act(
        request,
        lambda: services.materials_ready(school, user),
        done=gettext("The materials are marked as available."),
        then=here("adoption:getting_started", school, "#materials"),
        refused=forbid,
    )


@require_POST
def introduction(request: HttpRequest) -> HttpResponse:
    school = posted_school(request)
    user = current_user(request)
    return act(
        request,
        lambda: services.draft_introduction(school, user),
        done=gettext("The notice is drafted: check the words, then publish it."),
        then=here("adoption:getting_started", school, "#introduction"),
        done_then=lambda notice: reverse("communication:detail", args=[school.slug, notice.pk]),
        refused=forbid,
    )


def _shown_warnings(
    found: list[services.Warning], held: dict[str, list[Any]]
) -> list[dict[str, Any]]:
    """The roles page's warnings in the reader's language (`services.warnings` keeps its
    messages in English for the API). A warning of a kind not known here keeps its English
    message, marked as English."""
    ict_finals = iter(
        m.user.display_name for m in held.get(Role.FINAL_APPROVER, []) if m.is_ict_staff
    )
    shown: list[dict[str, Any]] = []
    for w in found:
        text = None
        if w.key == "no_final_approver":
            text = gettext("No one is the final approver yet: no change can be agreed to go ahead.")
        elif w.key == "many_initial_approvers":
            count = len(held.get(Role.INITIAL_APPROVER, []))
            text = ngettext(
                "%(count)s person is an initial approver. FITS suggests usually one, so "
                "that everyone knows who agrees to start work on a change.",
                "%(count)s people are initial approvers. FITS suggests usually one, so "
                "that everyone knows who agrees to start work on a change.",
                count,
            ) % {"count": count}
        elif w.key == "final_approver_ict":
            name = next(ict_finals, None)
            if name is not None:
                text = gettext(
                    "%(name)s, a final approver, works in ICT support. That is fine while "
                    "you start, but in time the final approver should be someone outside "
                    "ICT, so that those who make changes are not the ones who agree to "
                    "them."
                ) % {"name": name}
        elif w.key == "no_peer_reviewer":
            text = gettext(
                "Peer review is on but no one is a peer reviewer: plans would wait for "
                "ever. Give someone the role, or switch peer review off in the school's "
                "settings while you start out."
            )
        elif w.key == "role_unheld":
            text = gettext("No one holds the %(role)s role yet.") % {
                "role": str(Role(w.role).label).lower()
            }
        shown.append(
            {
                "key": w.key,
                "role": w.role,
                "message": w.message if text is None else text,
                "english": text is None,
            }
        )
    return shown


@require_GET
def roles(request: HttpRequest) -> HttpResponse:
    school = school_of(request)
    if school is None:
        return choose(request, gettext("Roles with guidance"))
    user = current_user(request)
    facts = services.load(school)
    held = services.holders(facts)
    found = _shown_warnings(services.warnings(facts), held)
    shown: list[dict[str, Any]] = []
    for key, guide in guidance.GUIDES.items():
        shown.append(
            {
                "key": key,
                "guide": guide,
                "holders": held.get(key, []),
                "needed": key in facts.needed_roles,
                "warnings": [w for w in found if w["role"] == key],
            }
        )
    return render(
        request,
        "adoption/roles.html",
        {
            "school": school,
            "roles": shown,
            "warnings": found,
            "peer_review": facts.peer_review,
            "is_admin": accounts.is_school_admin(user, school),
        },
    )


urlpatterns = [
    path("", getting_started, name="getting_started"),
    path("welcome/", welcome, name="welcome"),
    path("roles/", roles, name="roles"),
    path("go-live-date/", go_live_date, name="go_live_date"),
    path("plan/", plan, name="plan"),
    path("introduction/", introduction, name="introduction"),
    path("materials-ready/", materials_ready, name="materials_ready"),
    path("self-review/", self_review, name="self_review"),
]
