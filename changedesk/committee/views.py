"""Pages of the change advisory committee: the meetings of a school, a meeting with its
agenda and the decision forms, attendance, the printable minutes, the reminder settings.

A school's meetings are visible to its members; anyone else gets a 404. Planning a
meeting and the settings need the school administrator role (a superuser counts as one);
running one (attendance, agenda, decisions) needs to chair it or be a school
administrator (403 otherwise).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext, ngettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from changedesk.accounts.current import current_user as _current_user
from changedesk.accounts.current import member_school
from changedesk.accounts.models import School, User
from changedesk.accounts.permissions import is_school_admin
from changedesk.changes.views import confirmation
from changedesk.changes.workflow import waiting_on
from changedesk.committee import services
from changedesk.committee.agenda import PEOPLE, agenda_rows
from changedesk.committee.choices import Decision, MeetingStatus
from changedesk.committee.filters import MeetingFilterSet
from changedesk.committee.forms import (
    AttendanceForm,
    DecisionForm,
    MeetingForm,
    ReminderSettingsForm,
)
from changedesk.committee.models import AgendaItem, Meeting
from changedesk.lib import paging
from changedesk.lib.views import act, form_page, info

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
            gettext("Only the chair of “%(title)s” or a school administrator may do this.")
            % {"title": meeting.title}
        )
    return meeting


def _administered(request: HttpRequest, slug: str, what: str = "do this") -> School:
    school = member_school(request, slug)
    if not is_school_admin(_current_user(request), school):
        refusals = {
            "plan a meeting": gettext(
                "Only a school administrator of %(school)s may plan a meeting."
            ),
            "do this": gettext("Only a school administrator of %(school)s may do this."),
        }
        raise PermissionDenied(refusals[what] % {"school": school.name})
    return school


@require_GET
def index(request: HttpRequest) -> HttpResponse:
    schools = list(School.objects.for_user(_current_user(request)))
    if len(schools) == 1:
        return redirect("committee:list", slug=schools[0].slug)
    return render(request, "committee/index.html", {"schools": schools})


@require_GET
def meeting_list(request: HttpRequest, slug: str) -> HttpResponse:
    school = member_school(request, slug)
    base = Meeting.objects.filter(school=school).order_by("-held_at", "-id")
    # The school is the page's own; the API's other filters apply as they are.
    filterset = MeetingFilterSet({**request.GET.dict(), "school": school.slug}, queryset=base)
    meetings = filterset.qs if filterset.is_valid() else base.none()
    shown = Meeting.objects.select_related("chair").annotate(
        item_count=Count("items", distinct=True),
        decided_count=Count("items", filter=~Q(items__decision=""), distinct=True),
    )
    page = paging.page(meetings, request.GET.get("page"), PAGE_SIZE, load=shown)
    status = filterset.form.cleaned_data.get("status", "") if filterset.is_valid() else ""
    with timezone.override(school.zone):
        return render(
            request,
            "committee/meeting_list.html",
            {
                "school": school,
                "page": page,
                "filter": filterset,
                "statuses": MeetingStatus.choices,
                "status": status,
                "query": urlencode({"status": status}) if status else "",
                "waiting": services.awaiting_approval(school).count(),
                "is_admin": is_school_admin(_current_user(request), school),
            },
        )


@require_http_methods(["GET", "POST"])
def meeting_create(request: HttpRequest, slug: str) -> HttpResponse:
    school = _administered(request, slug, "plan a meeting")
    user = _current_user(request)
    with timezone.override(school.zone):
        form = MeetingForm(request.POST or None, school=school)
        return form_page(
            request,
            form,
            "committee/meeting_form.html",
            {"school": school, "meeting": None},
            save=lambda: services.create_meeting(school, user, form.values()),
            done=gettext("The meeting is planned. Build its agenda when ready."),
        )


@require_http_methods(["GET", "POST"])
def meeting_edit(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    meeting = _running(request, slug, pk)
    user = _current_user(request)
    with timezone.override(meeting.school.zone):
        form = MeetingForm(request.POST or None, school=meeting.school, meeting=meeting)
        return form_page(
            request,
            form,
            "committee/meeting_form.html",
            {"school": meeting.school, "meeting": meeting},
            save=lambda: services.update_meeting(meeting.pk, user, form.values()),
            done=gettext("The meeting is saved."),
        )


def _items(meeting: Meeting) -> list[AgendaItem]:
    return list(
        meeting.items.select_related(
            "change__school", "decided_by", "decided_for", *(f"change__{f}" for f in PEOPLE)
        )
    )


def _detail(
    request: HttpRequest, meeting: Meeting, failed: tuple[int, DecisionForm] | None = None
) -> dict[str, Any]:
    """What the meeting page shows; `failed` is the (item id, form) of a refused decision."""
    may_run = services.may_run(_current_user(request), meeting)
    # Whoever runs the meeting is offered decisions: what the committee may decide for each
    # approver present depends on their roles.
    if may_run:
        present = services.present_with_roles(meeting)
    else:
        present = list(meeting.members_present.all())
    return {
        "meeting": meeting,
        "school": meeting.school,
        "present": present,
        "rows": agenda_rows(_items(meeting), present, may_run, failed),
        "may_run": may_run,
        "is_planned": meeting.status == "planned",
    }


@require_GET
def meeting_detail(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    meeting = _meeting(request, slug, pk)
    with timezone.override(meeting.school.zone):
        return render(request, "committee/meeting_detail.html", _detail(request, meeting))


@require_http_methods(["GET", "POST"])
def attendees(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    meeting = _running(request, slug, pk)
    user = _current_user(request)
    form = AttendanceForm(request.POST or None, meeting=meeting)
    return form_page(
        request,
        form,
        "committee/attendees.html",
        {"meeting": meeting, "school": meeting.school},
        save=lambda: services.record_attendance(
            meeting.pk, user, form.cleaned_data["members_present"]
        ),
        done=gettext("The attendance is recorded."),
    )


def _added(added: int) -> str:
    if added:
        return ngettext(
            "%(count)s RFC added to the agenda.", "%(count)s RFCs added to the agenda.", added
        ) % {"count": added}
    return info(gettext("No RFC awaiting approval is missing from the agenda."))


@require_POST
def build_agenda(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    meeting = _running(request, slug, pk)
    user = _current_user(request)
    return act(request, lambda: services.build_agenda(meeting.pk, user), done=_added, then=meeting)


@require_POST
def decide(request: HttpRequest, slug: str, pk: int, item_pk: int) -> HttpResponse:
    meeting = _running(request, slug, pk)
    user = _current_user(request)
    item = get_object_or_404(meeting.items.select_related("change"), pk=item_pk)
    back = f"{meeting.get_absolute_url()}#item-{item.pk}"
    # Read against all the workflow has in the RFC's state: one the committee cannot take
    # now (its approver absent, say) is refused by `services.decide` in words, on the item.
    decisions = services.decisions_in_state(item)
    if not decisions:
        # Decided already, here or outside the meeting, perhaps from another tab.
        messages.error(
            request,
            gettext("%(reference)s no longer awaits a decision.")
            % {"reference": item.change.reference},
        )
        return redirect(back)
    form = DecisionForm(request.POST, prefix=f"item{item.pk}", decisions=decisions)
    with timezone.override(meeting.school.zone):
        return form_page(
            request,
            form,
            "committee/meeting_detail.html",
            lambda: _detail(request, meeting, (item.pk, form)),
            save=lambda: services.decide(
                item.pk,
                user,
                form.cleaned_data["decision"],
                form.cleaned_data["minute"],
                expected_version=form.cleaned_data["version"],
            ),
            done=lambda decided: decided_message(decided, user),
            success_url=back,
        )


def decided_message(item: AgendaItem, actor: User) -> str:
    """What the decision did, in plain words, and who is asked to act next (from the
    workflow's table), as the RFC page says it: "RFC-0007 approved at the meeting. Ivan
    Ivanov has been asked to carry it out and record the outcome." """
    change = item.change
    if item.decision != Decision.DEFERRED:
        return confirmation(change, item.decision, actor, where="at the meeting")
    said = f"{change.reference} deferred to a later meeting."
    step, person = waiting_on(change) or (None, None)
    if step is None or person is None:
        return said
    return f"{said} It still waits for {person.display_name} to {step.task}."


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
    school = _administered(request, slug)
    form = ReminderSettingsForm(
        request.POST or None, instance=services.reminder_settings_for(school)
    )
    return form_page(
        request,
        form,
        "committee/settings.html",
        {"school": school},
        save=form.save,
        done=gettext("The reminder settings are saved."),
        success_url=reverse("committee:list", args=[school.slug]),
    )
