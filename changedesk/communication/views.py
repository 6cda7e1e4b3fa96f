"""Pages for telling the school: the notice board (for members, and by secret link for
anyone), its printable A4 version, the communicators' overview, notices and settings.

The board shows the apps' sections after the notices (`sections.py`: release
management's policy in force, say), on the page, its print and by the secret link.

A school's pages are visible to its members (any role, the viewer included); anyone else
gets a 404. Writing notices needs the communicator role or, for an RFC's notice, being
its originator; the settings need the school administrator role (403 otherwise).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import PermissionDenied
from django.db.models import Exists, OuterRef, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from changedesk.accounts.current import current_user as _current_user
from changedesk.accounts.current import member_school
from changedesk.accounts.models import School, User
from changedesk.accounts.permissions import is_school_admin
from changedesk.changes.choices import State
from changedesk.changes.models import Change
from changedesk.communication import services
from changedesk.communication.choices import NoticeStatus
from changedesk.communication.filters import NoticeFilterSet
from changedesk.communication.forms import CommunicationSettingsForm, NoticeForm
from changedesk.communication.mail import board_path
from changedesk.communication.models import CommunicationSettings, Notice
from changedesk.communication.sections import sections_for
from changedesk.lib.errors import WorkflowError
from changedesk.lib.views import act, forbid, form_page


def _notice(request: HttpRequest, slug: str, pk: int) -> Notice:
    user = _current_user(request)
    queryset = services.visible_notices(user).select_related(
        "school", "change", "change__school", "published_by", "created_by"
    )
    return get_object_or_404(queryset, school__slug=slug, pk=pk)


# --- The board. ---


def _board(request: HttpRequest, school: School, template: str, **extra: Any) -> HttpResponse:
    # The apps' sections (`sections.py`); the public board's viewer is nobody.
    viewer = None if extra.get("public") else _current_user(request)
    with timezone.override(school.zone):
        return render(
            request,
            template,
            {
                "school": school,
                "board": services.board_for(school),
                "sections": sections_for(school, viewer),
                **extra,
            },
        )


@require_GET
def index(request: HttpRequest) -> HttpResponse:
    schools = list(School.objects.for_user(_current_user(request)))
    if len(schools) == 1:
        return redirect("communication:school_board", slug=schools[0].slug)
    return render(request, "communication/index.html", {"schools": schools})


@require_GET
def school_board(request: HttpRequest, slug: str) -> HttpResponse:
    school = member_school(request, slug)
    user = _current_user(request)
    return _board(
        request,
        school,
        "communication/board.html",
        may_manage=services.may_manage(user, school),
        print_url_name="communication:school_board_print",
        print_arg=school.slug,
    )


@require_GET
def school_board_print(request: HttpRequest, slug: str) -> HttpResponse:
    school = member_school(request, slug)
    return _board(request, school, "communication/board_print.html", back_arg=school.slug)


def _public(response: HttpResponse) -> HttpResponse:
    # The link is the secret: keep it out of search engines and other sites' logs.
    response["X-Robots-Tag"] = "noindex, nofollow"
    response["Referrer-Policy"] = "no-referrer"
    response["Cache-Control"] = "private, no-cache"
    return response


def _by_key(key: str) -> School:
    configs = CommunicationSettings.objects.select_related("school")
    return get_object_or_404(configs, board_key=key).school


@login_not_required
@require_GET
def public_board(request: HttpRequest, key: str) -> HttpResponse:
    school = _by_key(key)
    return _public(
        _board(
            request,
            school,
            "communication/board.html",
            public=True,
            print_url_name="communication:board_print",
            print_arg=key,
        )
    )


@login_not_required
@require_GET
def public_board_print(request: HttpRequest, key: str) -> HttpResponse:
    school = _by_key(key)
    return _public(
        _board(request, school, "communication/board_print.html", public=True, back_key=key)
    )


# --- The communicators' overview. ---


def _with_status(notices: QuerySet[Notice], status: str) -> QuerySet[Notice]:
    """The overview's lists narrow the school's notices as the API's `?status=` does."""
    return NoticeFilterSet({"status": status}, queryset=notices).qs


@require_GET
def manage(request: HttpRequest, slug: str) -> HttpResponse:
    school = member_school(request, slug)
    user = _current_user(request)
    if not services.may_manage(user, school):
        raise PermissionDenied(
            gettext("Only a communicator of %(school)s may manage its notices.")
            % {"school": school.name}
        )
    config = services.settings_for(school)
    notices = Notice.objects.filter(school=school).select_related("change")
    has_notice = Notice.objects.filter(change=OuterRef("pk"))
    waiting = (
        Change.objects.filter(school=school, state=State.APPROVED)
        .exclude(Exists(has_notice))
        .select_related("originator")
        .order_by("planned_start", "id")[:50]
    )
    drafts = _with_status(notices, NoticeStatus.DRAFT).order_by("-updated_at")
    withdrawn = _with_status(notices, NoticeStatus.WITHDRAWN).order_by("-updated_at")[:20]
    with timezone.override(school.zone):
        return render(
            request,
            "communication/manage.html",
            {
                "school": school,
                "config": config,
                "board_path": board_path(config),
                "untold": list(services.untold_changes_starting(school)),
                "waiting": list(waiting),
                "drafts": list(drafts),
                "published": list(
                    notices.on_board(timezone.now()).order_by("starts_at", "id")[:100]
                ),
                "withdrawn": list(withdrawn),
                "is_communicator": services.is_communicator(user, school),
                "is_admin": is_school_admin(user, school),
            },
        )


# --- Notices. ---


@require_GET
def notice_detail(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    notice = _notice(request, slug, pk)
    return _render_detail(request, notice)


def _render_detail(
    request: HttpRequest, notice: Notice, error: WorkflowError | None = None
) -> HttpResponse:
    user = _current_user(request)
    with timezone.override(notice.school.zone):
        return render(
            request,
            "communication/notice_detail.html",
            {"notice": notice, "may_edit": services.may_edit(user, notice), "error": error},
            status=error.status if error else 200,
        )


@require_http_methods(["GET", "POST"])
def notice_create(request: HttpRequest, slug: str) -> HttpResponse:
    school = member_school(request, slug)
    user = _current_user(request)
    if not services.is_communicator(user, school):
        raise PermissionDenied(
            gettext("Only a communicator of %(school)s may write a notice.")
            % {"school": school.name}
        )
    with timezone.override(school.zone):
        form = NoticeForm(request.POST or None)
        return form_page(
            request,
            form,
            "communication/notice_form.html",
            {"school": school, "notice": None},
            save=lambda: services.create_notice(school, user, form.values()),
            done=gettext("The notice is saved as a draft."),
        )


@require_POST
def notice_draft(request: HttpRequest, slug: str, change_id: int) -> HttpResponse:
    """Draft the notice of an approved RFC, or open the one it has."""
    user = _current_user(request)
    change = get_object_or_404(
        Change.objects.visible_to(user).filter(school__slug=slug), pk=change_id
    )
    return act(
        request,
        lambda: services.draft_from_change(change.pk, user),
        done=lambda drafted: (
            gettext("A notice is drafted from %(reference)s: check the words.")
            % {"reference": change.reference}
            if drafted[1]
            else ""
        ),
        then=change,
        done_then=lambda drafted: reverse("communication:edit", args=[slug, drafted[0].pk]),
        refused=forbid,
    )


@require_http_methods(["GET", "POST"])
def notice_edit(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    notice = _notice(request, slug, pk)
    user = _current_user(request)
    if not services.may_edit(user, notice):
        raise PermissionDenied(gettext("You may not change this notice."))
    with timezone.override(notice.school.zone):
        form = NoticeForm(request.POST or None, notice=notice)
        return form_page(
            request,
            form,
            "communication/notice_form.html",
            {"school": notice.school, "notice": notice},
            save=lambda: services.update_notice(notice.pk, user, form.values()),
            done=gettext("The notice is saved."),
        )


def _act(
    request: HttpRequest, slug: str, pk: int, run: Callable[[int, User], Notice], done: str
) -> HttpResponse:
    """Publish or withdraw: a refusal for the role is the 403 page; any other is the notice
    again, with the error and its status."""
    notice = _notice(request, slug, pk)
    user = _current_user(request)

    def refused(error: WorkflowError) -> HttpResponse:
        forbid(error)
        return _render_detail(request, notice, error)

    return act(request, lambda: run(notice.pk, user), done=done, then=notice, refused=refused)


@require_POST
def notice_publish(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    return _act(
        request,
        slug,
        pk,
        services.publish_notice,
        gettext("The notice is on the board, and the staff list has been e-mailed."),
    )


@require_POST
def notice_withdraw(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    return _act(
        request, slug, pk, services.withdraw_notice, gettext("The notice is taken off the board.")
    )


# --- Settings. ---


def _administered(request: HttpRequest, slug: str) -> School:
    school = member_school(request, slug)
    if not is_school_admin(_current_user(request), school):
        raise PermissionDenied(
            gettext("Only a school administrator of %(school)s may do this.")
            % {"school": school.name}
        )
    return school


@require_http_methods(["GET", "POST"])
def settings_page(request: HttpRequest, slug: str) -> HttpResponse:
    school = _administered(request, slug)
    config = services.settings_for(school)
    form = CommunicationSettingsForm(request.POST or None, instance=config)
    return form_page(
        request,
        form,
        "communication/settings.html",
        {"school": school, "config": config, "board_path": board_path(config)},
        save=form.save,
        done=gettext("The communication settings are saved."),
        success_url=reverse("communication:settings", args=[school.slug]),
    )


@require_POST
def board_key_regenerate(request: HttpRequest, slug: str) -> HttpResponse:
    school = member_school(request, slug)
    return act(
        request,
        lambda: services.regenerate_board_key(school, _current_user(request)),
        done=gettext(
            "The notice board has a new link. The old one no longer works: share the new one."
        ),
        then=reverse("communication:settings", args=[school.slug]),
        refused=forbid,
    )
