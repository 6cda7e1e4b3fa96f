"""Pages for standard changes: the templates of the person's schools, one template with its
history, its forms, proposing it for approval, raising an RFC from it, reinstating it.

A school's templates are visible to its members; anyone else gets a 404. Writing,
editing and proposing one needs an originator of its school; raising it, an originator it
names (any, when it names none); reinstating a suspended one, an approver (403 otherwise).
Every rule is enforced by `services`; the views put its refusals on the forms.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from changedesk.accounts import permissions
from changedesk.accounts.current import current_user as _current_user
from changedesk.accounts.models import School, User, loaded_schools, seen_school_ids
from changedesk.changes.models import Change
from changedesk.lib import paging
from changedesk.lib.loading import attach
from changedesk.lib.views import act, forbid, form_page, warning
from changedesk.schedule.calendar import month_name
from changedesk.standard import promotion, services
from changedesk.standard.forms import (
    RaiseForm,
    ReinstateForm,
    SchoolChoiceForm,
    TemplateForm,
    duration_words,
)
from changedesk.standard.models import Raised, Template, TemplateEvent, TemplateState

PAGE_SIZE = 50
RECENTLY_RAISED = 10
EXPIRED = "expired"
# The list's state filter: the stored states, and "expired" (approved, past its review).
STATE_FILTER = [*TemplateState.choices, (EXPIRED, _("Expired"))]
LIST_COLUMNS = ("school", "title", "state", "version", "approved_version", "review_date",
                "duration_minutes")  # fmt: skip


def _template(request: HttpRequest, pk: int) -> Template:
    """The template if the person may see it (a member of its school), else 404."""
    user = _current_user(request)
    queryset = Template.objects.visible_to(user).select_related("school")
    return get_object_or_404(queryset, pk=pk)


def _managed(request: HttpRequest, pk: int, what: str) -> Template:
    """The template, if the person may write it: 404 if they may not see it, else 403."""
    template = _template(request, pk)
    if not services.may_manage(_current_user(request), template.school):
        refusals = {
            "edit": gettext("Only an originator at %(school)s may edit a standard change."),
            "propose": gettext("Only an originator at %(school)s may propose a standard change."),
        }
        raise PermissionDenied(refusals[what] % {"school": template.school.name})
    return template


def _today() -> date:
    """Today in the site's time zone: for the list's filter by expiry across schools. What
    each template shows is its school's day (`Template.today`), as `services` and the RFC's
    guard read it, so that a page never offers to raise what the service then refuses."""
    return timezone.localdate(timezone=timezone.get_default_timezone())


def _expired(template: Template, today: date) -> bool:
    return template.state == TemplateState.APPROVED and template.is_expired(today)


def _why_not(template: Template, today: date) -> str:
    """Why it cannot be raised today, in words (empty when it can)."""
    if template.may_be_raised(today):
        return ""
    if _expired(template, today):
        day = template.review_date
        return gettext("its review date, %(date)s, has passed") % {
            "date": f"{day.day} {month_name(day)} {day.year}"
        }
    return {
        TemplateState.DRAFT: gettext("it is a draft, not approved yet"),
        TemplateState.PROPOSED: gettext("it is awaiting approval"),
        TemplateState.SUSPENDED: gettext("it is suspended, as an RFC raised from it failed"),
    }.get(TemplateState(template.state), template.status(today).lower())


def _managed_schools(user: User) -> list[School]:
    return [s for s in permissions.schools(user) if services.may_manage(user, s)]


# --- The list. ---


@dataclass
class Row:
    template: Template
    status: str  # in words, "Expired" included
    expired: bool
    duration: str


def _filtered(
    request: HttpRequest, schools: list[School]
) -> tuple[QuerySet[Template], dict[str, str]]:
    """The person's templates, narrowed by `?school=` and `?state=`; and the filters used."""
    user = _current_user(request)
    queryset = Template.objects.visible_to(user)
    chosen = {"school": request.GET.get("school", ""), "state": request.GET.get("state", "")}
    if chosen["school"]:
        school = next((s for s in schools if s.slug == chosen["school"]), None)
        queryset = queryset.filter(school=school) if school else queryset.none()
    today = _today()
    state = chosen["state"]
    if state == EXPIRED:
        queryset = queryset.filter(state=TemplateState.APPROVED, review_date__lt=today)
    elif state == TemplateState.APPROVED:
        queryset = queryset.filter(state=state, review_date__gte=today)
    elif state in TemplateState.values:
        queryset = queryset.filter(state=state)
    elif state:
        queryset = queryset.none()
    return queryset.order_by("title", "id"), chosen


@require_GET
def template_list(request: HttpRequest) -> HttpResponse:
    user = _current_user(request)
    schools = permissions.schools(user)
    queryset, chosen = _filtered(request, schools)
    ids = seen_school_ids(user)
    if chosen["school"]:
        ids = [s.pk for s in schools if s.slug == chosen["school"]]
    # The rows with only what the list shows, not their long texts.
    shown = Template.objects.only(*LIST_COLUMNS)
    page = paging.page(queryset, request.GET.get("page"), PAGE_SIZE, load=shown, schools=ids)
    templates = list(page.object_list)
    # Their schools are the person's own, loaded with the memberships: no query.
    attach(templates, "school", known=loaded_schools(user))
    rows = [Row(t, t.status(t.today()), _expired(t, t.today()),
                duration_words(t.duration_minutes)) for t in templates]  # fmt: skip
    query = urlencode({k: v for k, v in chosen.items() if v})
    return render(
        request,
        "standard/list.html",
        {
            "page": page,
            "rows": rows,
            "schools": schools,
            "states": STATE_FILTER,
            "chosen": chosen,
            "query": query,
            "may_write": bool(_managed_schools(user)),
            "suggested": _suggested(user, chosen["school"]),
        },
    )


def _suggested(user: User, school_slug: str) -> list[dict[str, Any]]:
    """Kinds of normal change that keep succeeding in the schools the person writes
    templates for (`promotion`), with where to write each from its latest RFC."""
    managed = _managed_schools(user)
    if school_slug:
        managed = [s for s in managed if s.slug == school_slug]
    by_id = {s.pk: s for s in managed}
    return [
        {
            "suggestion": found,
            "school": by_id[found.school_id],
            "url": reverse("standard:create")
            + "?"
            + urlencode({"school": by_id[found.school_id].slug, "from": found.latest}),
        }
        for found in promotion.suggestions(list(by_id))
    ]


# --- Writing one. ---


def _chosen_school(request: HttpRequest, schools: list[School]) -> School | None:
    """The school to write the template for: the only one, or the one chosen."""
    if len(schools) == 1:
        return schools[0]
    chooser = SchoolChoiceForm(request.POST or request.GET or None, schools=schools)
    if chooser.is_bound and chooser.is_valid():
        chosen: School = chooser.cleaned_data["school"]
        return chosen
    return None


def _written_from(request: HttpRequest, user: User, school: School) -> Change | None:
    """The RFC a new template is written from (`?from=`, a suggestion's latest), when it is
    one of the school's that the person sees; else none."""
    given = request.GET.get("from", "")
    if not (given.isascii() and given.isdecimal() and len(given) < 19):
        return None
    return Change.objects.visible_to(user).filter(school=school, pk=int(given)).first()


@require_http_methods(["GET", "POST"])
def template_create(request: HttpRequest) -> HttpResponse:
    user = _current_user(request)
    schools = _managed_schools(user)
    if not schools:
        raise PermissionDenied(gettext("Only an originator may write a standard change."))
    school = _chosen_school(request, schools)
    if school is None:
        chooser = SchoolChoiceForm(schools=schools)
        return render(request, "standard/choose_school.html", {"chooser": chooser})
    written_from = _written_from(request, user, school)
    form = TemplateForm(
        request.POST if request.method == "POST" else None,
        school=school,
        initial=promotion.prefill(written_from) if written_from else None,
    )
    if written_from is not None and request.method != "POST":
        form.initial["items"] = list(written_from.item_links.values_list("item_id", flat=True))
    return form_page(
        request,
        form,
        "standard/form.html",
        {
            "school": school,
            "template": None,
            "multiple_schools": len(schools) > 1,
            "written_from": written_from,
        },
        save=lambda: services.create_template(
            school,
            user,
            form.values(),
            items=form.chosen_items(),
            raisers=form.chosen_raisers(),
            windows=form.chosen_windows(),
        ),
        done=lambda template: (
            gettext("“%(title)s” is saved as a draft. Propose it for approval when it is ready.")
            % {"title": template.title}
        ),
    )


@require_http_methods(["GET", "POST"])
def template_edit(request: HttpRequest, pk: int) -> HttpResponse:
    template = _managed(request, pk, "edit")
    user = _current_user(request)
    if template.state == TemplateState.PROPOSED:
        messages.error(
            request,
            gettext("It is being approved, so it cannot be edited: withdraw its proposal first."),
        )
        return redirect(template)
    version = template.version
    form = TemplateForm(
        request.POST if request.method == "POST" else None,
        school=template.school,
        template=template,
    )

    def done(saved: Template) -> str:
        if saved.version != version:
            return warning(
                gettext(
                    "Saved as version %(version)s, a draft: it cannot be raised until this "
                    "version is approved. Propose it for approval."
                )
                % {"version": saved.version}
            )
        return gettext("The standard change is saved.")

    return form_page(
        request,
        form,
        "standard/form.html",
        {"school": template.school, "template": template},
        save=lambda: services.update_template(
            template.pk,
            user,
            form.values(),
            items=form.chosen_items(),
            raisers=form.chosen_raisers(),
            windows=form.chosen_windows(),
            comment=form.cleaned_data.get("comment", ""),
        ),
        done=done,
    )


# --- One template. ---


def _detail(
    request: HttpRequest, template: Template, reinstate_form: ReinstateForm | None = None
) -> dict[str, Any]:
    user = _current_user(request)
    today = template.today()
    may_manage = services.may_manage(user, template.school)
    may_raise = services.may_raise(user, template)
    may_reinstate = services.may_reinstate(user, template)
    attach([template], "proposal", "suspended_by", "created_by")
    events = TemplateEvent.objects.filter(template=template).select_related("actor", "change")
    raised = (
        Raised.objects.filter(template=template)
        .select_related("change")
        .order_by("-created_at", "-id")[:RECENTLY_RAISED]
    )
    suspended = template.state == TemplateState.SUSPENDED
    return {
        "template": template,
        "school": template.school,
        "status": template.status(today),
        "expired": _expired(template, today),
        "duration": duration_words(template.duration_minutes),
        "items": list(template.items.all()),
        "raisers": list(template.raisers.all()),
        "windows": list(template.windows.all()),
        "events": list(events),
        "raised": list(raised),
        "may_edit": may_manage and template.state != TemplateState.PROPOSED,
        "may_propose": may_manage and template.state == TemplateState.DRAFT,
        "may_raise": may_raise,
        "raisable": may_raise and template.may_be_raised(today),
        "may_reinstate": suspended and may_reinstate,
        "reinstate_form": reinstate_form or ReinstateForm(),
        "normal_change_url": _normal_change_url(template.school),
    }


@require_GET
def template_detail(request: HttpRequest, pk: int) -> HttpResponse:
    template = _template(request, pk)
    with timezone.override(template.school.zone):
        return render(request, "standard/detail.html", _detail(request, template))


@require_POST
def template_propose(request: HttpRequest, pk: int) -> HttpResponse:
    template = _managed(request, pk, "propose")
    user = _current_user(request)
    return act(
        request,
        lambda: services.propose(template.pk, user),
        done=lambda change: (
            gettext(
                "%(reference)s proposes “%(title)s” for approval. Submit it: once "
                "its approvers approve it, so is the standard change."
            )
            % {"reference": change.reference, "title": template.title}
        ),
        then=template,
        done_then=lambda change: change,
        refused=forbid,
    )


@require_POST
def template_reinstate(request: HttpRequest, pk: int) -> HttpResponse:
    template = _template(request, pk)
    user = _current_user(request)
    if not services.may_reinstate(user, template):
        raise PermissionDenied(
            gettext("Only an approver at %(school)s may reinstate a standard change.")
            % {"school": template.school.name}
        )
    if template.state != TemplateState.SUSPENDED:
        # Reinstated already (from another tab, say), or never suspended.
        status = template.status(template.today()).lower()
        messages.info(
            request,
            gettext("It is %(status)s, not suspended: there is nothing to reinstate.")
            % {"status": status},
        )
        return redirect(template)
    form = ReinstateForm(request.POST)
    with timezone.override(template.school.zone):
        return form_page(
            request,
            form,
            "standard/detail.html",
            lambda: _detail(request, template, reinstate_form=form),
            save=lambda: services.reinstate(template.pk, user, form.cleaned_data["comment"]),
            done=gettext("The standard change is reinstated: it may be raised again."),
        )


# --- Raising an RFC from it. ---


def _normal_change_url(school: School, form: RaiseForm | None = None) -> str:
    """The new-RFC page for the school, with the window already typed, when there is one."""
    query = {"school": school.slug}
    if form is not None and form.is_bound:
        for name in ("planned_start", "planned_end"):
            value = form.data.get(name)
            if isinstance(value, str) and value:
                query[name] = value
    return f"{reverse('changes:create')}?{urlencode(query)}"


def _raised_message(change: Change) -> str:
    return gettext(
        "%(reference)s is raised from the standard change and approved: it may go "
        "ahead at its planned time. Record its outcome afterwards."
    ) % {"reference": change.reference}


@require_http_methods(["GET", "POST"])
def template_raise(request: HttpRequest, pk: int) -> HttpResponse:
    template = _template(request, pk)
    user = _current_user(request)
    if not services.may_raise(user, template):
        raise PermissionDenied(
            gettext("You may not raise “%(title)s” at %(school)s.")
            % {"title": template.title, "school": template.school.name}
        )
    today = template.today()
    with timezone.override(template.school.zone):
        data = request.POST if request.method == "POST" else None
        form = RaiseForm(data, template=template, originator=user)
        return form_page(
            request,
            form,
            "standard/raise.html",
            lambda: {
                "template": template,
                "school": template.school,
                "why_not": _why_not(template, today),
                "expired": _expired(template, today),
                "duration": duration_words(template.duration_minutes),
                "windows": list(template.windows.all()),
                "normal_change_url": _normal_change_url(template.school, form),
            },
            save=lambda: services.raise_change(template.pk, user, **form.raise_values()),
            done=_raised_message,
        )
