"""Training in the product: a guide per role, the overview of the three processes, and who
has confirmed which guide.

    /getting-started/training/                      adoption:training           ?school=<slug>
    /getting-started/training/overview/             adoption:training_overview
    /getting-started/training/<role>/               adoption:training_guide
    /getting-started/training/<key>/confirm/        adoption:training_confirm   POST

Every member reads the guides and confirms those they have read ("I have read this and
know my part", dated). The school's table of who has confirmed which guide of their roles
is seen by the lead and the approvers; anyone else sees their own row.
"""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path, reverse
from django.utils.translation import gettext
from django.views.decorators.http import require_GET, require_POST

from changedesk.accounts.current import current_user
from changedesk.accounts.models import School
from changedesk.adoption import guidance, permissions, services
from changedesk.adoption.views.getting_started import choose, here, posted_school, school_of
from changedesk.lib.views import act, forbid


@require_GET
def training(request: HttpRequest) -> HttpResponse:
    school = school_of(request)
    if school is None:
        return choose(request, gettext("Training"))
    user = current_user(request)
    facts = services.load(school)
    rows = services.training_rows(facts)
    sees_all = permissions.may_see_training_table(user, school)
    mine = [r for r in rows if r.user.pk == user.pk]
    return render(
        request,
        "adoption/training.html",
        {
            "school": school,
            "guides": guidance.GUIDES.values(),
            "rows": rows if sees_all else mine,
            "sees_all": sees_all,
            "my_roles": set(user.roles_in(school)),
            "confirmed": {k: v for (uid, k), v in facts.confirmed.items() if uid == user.pk},
        },
    )


def _guide_page(request: HttpRequest, school: School, key: str) -> HttpResponse:
    user = current_user(request)
    facts = services.load(school)
    context = {
        "school": school,
        "key": key,
        "title": guidance.guide_title(key),
        "confirmed_at": facts.confirmed.get((user.pk, key)),
        "holds": key in user.roles_in(school),
        "is_member": any(m.school_id == school.pk for m in user.memberships.all()),
    }
    if key == guidance.OVERVIEW_KEY:
        return render(
            request,
            "adoption/training_overview.html",
            {**context, "processes": guidance.OVERVIEW, "steps": guidance.STEPS},
        )
    return render(
        request, "adoption/training_guide.html", {**context, "guide": guidance.GUIDES[key]}
    )


@require_GET
def overview(request: HttpRequest) -> HttpResponse:
    school = school_of(request)
    if school is None:
        return choose(request, gettext("The three processes"))
    return _guide_page(request, school, guidance.OVERVIEW_KEY)


@require_GET
def guide(request: HttpRequest, role: str) -> HttpResponse:
    if role not in guidance.GUIDES:
        raise Http404("No such guide.")
    school = school_of(request)
    if school is None:
        return choose(request, gettext(guidance.guide_title(role)))  # a role: in the catalogue
    return _guide_page(request, school, role)


@require_POST
def confirm(request: HttpRequest, key: str) -> HttpResponse:
    if key not in guidance.guide_keys():
        raise Http404("No such guide.")
    school = posted_school(request)
    user = current_user(request)
    target = (
        here("adoption:training_overview", school)
        if key == guidance.OVERVIEW_KEY
        else f"{reverse('adoption:training_guide', args=[key])}?school={school.slug}"
    )
    return act(
        request,
        lambda: services.confirm_training(school, user, key),
        done=gettext("Thank you: you have confirmed the %(guide)s guide.")
        % {"guide": gettext(guidance.guide_title(key)).lower()},
        then=target,
        refused=forbid,
    )


urlpatterns = [
    path("training/", training, name="training"),
    path("training/overview/", overview, name="training_overview"),
    path("training/<slug:key>/confirm/", confirm, name="training_confirm"),
    path("training/<slug:role>/", guide, name="training_guide"),
]
