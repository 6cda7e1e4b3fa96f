"""The trust-wide change pages: the list, raising one change for many schools, and the
parent's page (the matrix of schools, with the plan to copy and the actions on many).

Seen by whoever holds a role in the trust (a superuser: every trust); raised by its trust
technicians. A school's own people meet their school's RFC as any other, with a line
saying it is part of a trust-wide change (trustwide/rfc.py); the other schools' RFCs are
not theirs to see, so the parent's page is a 404 to them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext, ngettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from changedesk.accounts import permissions
from changedesk.accounts.current import current_user, member_trust
from changedesk.accounts.models import School, Trust, User
from changedesk.changes.choices import Action
from changedesk.lib.errors import WorkflowError
from changedesk.lib.forms import show_workflow_error
from changedesk.lib.views import form_page
from changedesk.schedule.queries import DEFAULT_STATES
from changedesk.trustwide import services
from changedesk.trustwide.forms import BulkActionForm, CopyPlanForm, RaiseForm, child_choices
from changedesk.trustwide.models import Child, ParentChange

# The list page shows the newest; the API lists them all, page by page.
LISTED = 200


def _zone(trust: Trust) -> Any:
    """The trust's schools share one time zone (accounts.trusts): its forms read in it."""
    school = School.objects.filter(trust=trust).only("timezone").first()
    return school.zone if school is not None else None


@require_GET
def parent_list(request: HttpRequest) -> HttpResponse:
    user = current_user(request)
    trusts = permissions.trusts(user)
    parents = list(services.visible_parents(user)[: LISTED + 1])
    return render(
        request,
        "trustwide/list.html",
        {
            "parents": parents[:LISTED],
            "more": len(parents) > LISTED,
            "listed": LISTED,
            "may_raise": [t for t in trusts if services.may_raise(user, t)],
            "trusts": trusts,
        },
    )


@require_http_methods(["GET", "POST"])
def parent_create(request: HttpRequest, slug: str) -> HttpResponse:
    trust, _ = member_trust(request, slug)
    user = current_user(request)
    if not services.may_raise(user, trust):
        raise PermissionDenied(
            gettext("Only a trust technician of %(trust)s may raise a trust-wide change.")
            % {"trust": trust.name}
        )
    schools = list(School.objects.filter(trust=trust).order_by("name"))
    with timezone.override(_zone(trust)):
        form = RaiseForm(request.POST or None, schools=schools)

        def save() -> ParentChange:
            chosen = None if form.cleaned_data["all_schools"] else form.cleaned_data["schools"]
            parent, notes = services.raise_for_schools(
                trust,
                user,
                form.values(),
                services.schools_of(trust, None if chosen is None else [s.slug for s in chosen]),
                form.placement(),
            )
            if form.cleaned_data["submit_now"]:
                results = services.act_on_many(
                    parent, user, Action.SUBMIT, services.children(parent)
                )
                notes += [f"{r.school.name}: {r.message}" for r in results if not r.ok]
            for note in notes:
                messages.warning(request, note)
            return parent

        return form_page(
            request,
            form,
            "trustwide/create.html",
            {"trust": trust, "schools": schools},
            save=save,
            done=lambda parent: (
                ngettext(
                    "%(reference)s is raised in %(count)s school.",
                    "%(reference)s is raised in %(count)s schools.",
                    parent.children.count(),
                )
                % {"reference": parent.reference, "count": parent.children.count()}
            ),
        )


def _visible(request: HttpRequest, pk: int) -> ParentChange:
    user = current_user(request)
    parent = get_object_or_404(ParentChange.objects.select_related("trust", "originator"), pk=pk)
    if not services.may_see(user, parent.trust):
        raise Http404(gettext("No such trust-wide change."))
    return parent


@require_GET
def parent_detail(request: HttpRequest, pk: int) -> HttpResponse:
    parent = _visible(request, pk)
    return _detail(request, parent)


def _schedule_query(parent: ParentChange, rows: list[services.Row]) -> str:
    """The forward schedule's query for the parent's RFCs: its trust's agenda from the day
    the first planned window starts (today when none is planned yet)."""
    params = {"view": "agenda", "trust": parent.trust.slug, "parent": parent.pk}
    # Of the RFCs the schedule shows: its schools' still, neither rejected nor withdrawn.
    starts = [
        row.change.planned_start
        for row in rows
        if row.change.planned_start
        and row.change.state in DEFAULT_STATES
        and row.child.school.trust_id == parent.trust_id
    ]
    if starts:
        params["date"] = timezone.localtime(min(starts)).date().isoformat()
    return urlencode(params)


def _detail(
    request: HttpRequest,
    parent: ParentChange,
    *,
    plan_form: CopyPlanForm | None = None,
    bulk_form: BulkActionForm | None = None,
    status: int = 200,
) -> HttpResponse:
    user = current_user(request)
    with timezone.override(_zone(parent.trust)):
        rows = services.matrix(parent)
        choices = child_choices([row.child for row in rows])
        response = render(
            request,
            "trustwide/detail.html",
            {
                "parent": parent,
                "rows": rows,
                "summary": services.summary(rows),
                "schedule_query": _schedule_query(parent, rows),
                "plan_form": plan_form or CopyPlanForm(choices=choices),
                "bulk_form": bulk_form or BulkActionForm(choices=choices),
                "may_act": services.may_raise(user, parent.trust),
            },
            status=status,
        )
    return response


@require_POST
def parent_plan(request: HttpRequest, pk: int) -> HttpResponse:
    return _on_many(
        request,
        pk,
        CopyPlanForm,
        "plan_form",
        lambda parent, user, form, rows: services.copy_plan(
            parent, user, form.plan(), rows, form.placement(), comment=form.cleaned_data["comment"]
        ),
        gettext("The plan is copied in %(went)s of %(count)s schools."),
    )


@require_POST
def parent_act(request: HttpRequest, pk: int) -> HttpResponse:
    return _on_many(
        request,
        pk,
        BulkActionForm,
        "bulk_form",
        lambda parent, user, form, rows: services.act_on_many(
            parent,
            user,
            form.cleaned_data["action"],
            rows,
            comment=form.cleaned_data["comment"],
            data=form.payload(),
        ),
        gettext("Done in %(went)s of %(count)s schools."),
    )


Run = Callable[[ParentChange, User, Any, list[Child]], list[services.Result]]


def _on_many(
    request: HttpRequest, pk: int, make_form: Any, name: str, run: Run, done: str
) -> HttpResponse:
    """A form of the parent's page (`name` in its context) run on the schools it chose:
    the page again with the form's errors, or each school's result as a message."""
    parent = _visible(request, pk)
    user = current_user(request)
    with timezone.override(_zone(parent.trust)):
        form = make_form(request.POST, choices=child_choices(services.children(parent)))
        if not form.is_valid():
            return _detail(request, parent, status=400, **{name: form})
        try:
            # Each school's RFC in its own transaction (services), not all in one.
            rows = services.chosen(parent, form.cleaned_data["schools"])
            results = run(parent, user, form, rows)
        except WorkflowError as error:
            show_workflow_error(form, error)
            return _detail(request, parent, status=error.status, **{name: form})
    _report(request, results, done)
    return redirect(parent)


def _report(request: HttpRequest, results: list[services.Result], done: str) -> None:
    went = [r for r in results if r.ok]
    refused = [r for r in results if not r.ok]
    if went:
        messages.success(request, done % {"went": len(went), "count": len(results)})
    for result in refused:
        messages.error(request, f"{result.school.name}: {result.message}")
