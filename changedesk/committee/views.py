"""Pages of the change advisory committee: the meetings of a school, a meeting with its
agenda and the decision forms, attendance, the printable minutes, the reminder settings.

A school's meetings are visible to its members; anyone else gets a 404. Planning a
meeting and the settings need the school administrator role; running one (attendance,
agenda, decisions) needs to chair it or be a school administrator (403 otherwise).
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from changedesk.accounts.current import current_user as _current_user
from changedesk.accounts.current import member_school
from changedesk.accounts.models import School
from changedesk.committee import services
from changedesk.committee.agenda import APPROVER_FIELDS, agenda_rows
from changedesk.committee.forms import (
    AttendanceForm,
    DecisionForm,
    MeetingForm,
    ReminderSettingsForm,
)
from changedesk.committee.models import AgendaItem, Meeting
from changedesk.lib.errors import WorkflowError
from changedesk.lib.forms import show_workflow_error

PAGE_SIZE = 25


def _meeting(request: HttpRequest, slug: str, pk: int) -> Meeting:
    queryset = services.visible_meetings(_current_user(request)).select_related(
        "school", "chair", "created_by"
    )
    return get_object_or_404(queryset, school__slug=slug, pk=pk)


def _running(request: HttpRequest, slug: str, pk: int) -> Meeting:
    meeting = _meeting(request, slug, pk)
    if not services.may_run(_current_user(request), meeting):
        raise PermissionDenied(
            f"Only the chair of “{meeting.title}” or a school administrator may do this."
        )
    return meeting


@require_GET
def index(request: HttpRequest) -> HttpResponse:
    schools = list(School.objects.for_user(_current_user(request)))
    if len(schools) == 1:
        return redirect("committee:list", slug=schools[0].slug)
    return render(request, "committee/index.html", {"schools": schools})


@require_GET
def meeting_list(request: HttpRequest, slug: str) -> HttpResponse:
    school = member_school(request, slug)
    meetings = (
        Meeting.objects.filter(school=school)
        .select_related("chair")
        .annotate(
            item_count=Count("items", distinct=True),
            decided_count=Count("items", filter=~Q(items__decision=""), distinct=True),
        )
        .order_by("-held_at", "-id")
    )
    page = Paginator(meetings, PAGE_SIZE).get_page(request.GET.get("page"))
    with timezone.override(school.zone):
        return render(
            request,
            "committee/meeting_list.html",
            {
                "school": school,
                "page": page,
                "waiting": services.awaiting_approval(school).count(),
                "is_admin": services.is_school_admin(_current_user(request), school),
            },
        )


@require_http_methods(["GET", "POST"])
def meeting_create(request: HttpRequest, slug: str) -> HttpResponse:
    school = member_school(request, slug)
    user = _current_user(request)
    if not services.is_school_admin(user, school):
        raise PermissionDenied(f"Only a school administrator of {school.name} may plan a meeting.")
    with timezone.override(school.zone):
        form = MeetingForm(request.POST or None, school=school)
        status = 400 if form.is_bound else 200
        if form.is_bound and form.is_valid():
            try:
                meeting = services.create_meeting(school, user, form.values())
            except WorkflowError as error:
                show_workflow_error(form, error)
                status = error.status
            else:
                messages.success(request, "The meeting is planned. Build its agenda when ready.")
                return redirect(meeting)
        return render(
            request,
            "committee/meeting_form.html",
            {"form": form, "school": school, "meeting": None},
            status=status,
        )


@require_http_methods(["GET", "POST"])
def meeting_edit(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    meeting = _running(request, slug, pk)
    with timezone.override(meeting.school.zone):
        form = MeetingForm(request.POST or None, school=meeting.school, meeting=meeting)
        status = 400 if form.is_bound else 200
        if form.is_bound and form.is_valid():
            try:
                services.update_meeting(meeting.pk, _current_user(request), form.values())
            except WorkflowError as error:
                show_workflow_error(form, error)
                status = error.status
            else:
                messages.success(request, "The meeting is saved.")
                return redirect(meeting)
        return render(
            request,
            "committee/meeting_form.html",
            {"form": form, "school": meeting.school, "meeting": meeting},
            status=status,
        )


def _items(meeting: Meeting) -> list[AgendaItem]:
    return list(
        meeting.items.select_related(
            "change", "decided_by", "decided_for", *(f"change__{f}" for f in APPROVER_FIELDS)
        )
    )


def _render_detail(
    request: HttpRequest,
    meeting: Meeting,
    failed: tuple[int, DecisionForm] | None = None,
    status: int = 200,
) -> HttpResponse:
    user = _current_user(request)
    may_run = services.may_run(user, meeting)
    present = list(meeting.members_present.all())
    rows = agenda_rows(_items(meeting), present, may_run, failed)
    with timezone.override(meeting.school.zone):
        return render(
            request,
            "committee/meeting_detail.html",
            {
                "meeting": meeting,
                "school": meeting.school,
                "present": present,
                "rows": rows,
                "may_run": may_run,
                "is_planned": meeting.status == "planned",
            },
            status=status,
        )


@require_GET
def meeting_detail(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    return _render_detail(request, _meeting(request, slug, pk))


@require_http_methods(["GET", "POST"])
def attendees(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    meeting = _running(request, slug, pk)
    form = AttendanceForm(request.POST or None, meeting=meeting)
    status = 400 if form.is_bound else 200
    if form.is_bound and form.is_valid():
        try:
            services.record_attendance(
                meeting.pk, _current_user(request), form.cleaned_data["members_present"]
            )
        except WorkflowError as error:
            show_workflow_error(form, error)
            status = error.status
        else:
            messages.success(request, "The attendance is recorded.")
            return redirect(meeting)
    return render(
        request,
        "committee/attendees.html",
        {"form": form, "meeting": meeting, "school": meeting.school},
        status=status,
    )


@require_POST
def build_agenda(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    meeting = _running(request, slug, pk)
    try:
        added = services.build_agenda(meeting.pk, _current_user(request))
    except WorkflowError as error:
        messages.error(request, error.message)
        return redirect(meeting)
    if added:
        messages.success(request, f"{added} RFC{'s' if added != 1 else ''} added to the agenda.")
    else:
        messages.info(request, "No RFC awaiting approval is missing from the agenda.")
    return redirect(meeting)


@require_POST
def decide(request: HttpRequest, slug: str, pk: int, item_pk: int) -> HttpResponse:
    meeting = _running(request, slug, pk)
    item = get_object_or_404(meeting.items.select_related("change"), pk=item_pk)
    decisions = services.possible_decisions(item)
    if not decisions:
        # Decided already, here or outside the meeting, perhaps from another tab.
        messages.error(request, f"{item.change.reference} no longer awaits a decision.")
        return redirect(f"{meeting.get_absolute_url()}#item-{item.pk}")
    form = DecisionForm(request.POST, prefix=f"item{item.pk}", decisions=decisions)
    if not form.is_valid():
        return _render_detail(request, meeting, (item.pk, form), status=400)
    try:
        services.decide(
            item.pk,
            _current_user(request),
            form.cleaned_data["decision"],
            form.cleaned_data["minute"],
            expected_version=form.cleaned_data["version"],
        )
    except WorkflowError as error:
        show_workflow_error(form, error)
        return _render_detail(request, meeting, (item.pk, form), status=error.status)
    item.refresh_from_db(fields=["decision"])
    messages.success(
        request,
        f"The decision on {item.change.reference} is minuted: "
        f"{item.get_decision_display().lower()}.",
    )
    return redirect(f"{meeting.get_absolute_url()}#item-{item.pk}")


@require_GET
def minutes(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    meeting = _meeting(request, slug, pk)
    with timezone.override(meeting.school.zone):
        return render(
            request,
            "committee/minutes.html",
            {
                "meeting": meeting,
                "school": meeting.school,
                "present": list(meeting.members_present.all()),
                "items": _items(meeting),
            },
        )


@require_http_methods(["GET", "POST"])
def settings_page(request: HttpRequest, slug: str) -> HttpResponse:
    school = member_school(request, slug)
    if not services.is_school_admin(_current_user(request), school):
        raise PermissionDenied(f"Only a school administrator of {school.name} may do this.")
    form = ReminderSettingsForm(
        request.POST or None, instance=services.reminder_settings_for(school)
    )
    if form.is_bound and form.is_valid():
        form.save()
        messages.success(request, "The reminder settings are saved.")
        return redirect("committee:list", slug=school.slug)
    return render(
        request,
        "committee/settings.html",
        {"school": school, "form": form},
        status=400 if form.is_bound else 200,
    )
