"""The release policy's pages: the version in force with its rules and release windows, the
draft (for those who may write it), the versions, the draft's form, publishing, the A4 print
and any one version.

    /releases/policy/                 releases:policy          ?school=<slug>
    /releases/policy/edit/            releases:policy_edit     the draft's form
    /releases/policy/publish/         releases:policy_publish  POST
    /releases/policy/discard/         releases:policy_discard  POST
    /releases/policy/print/           releases:policy_print    A4 print of the version in force
    /releases/policy/v<version>/      releases:policy_version

Every member of a school reads them; a school the person is not in is a 404; the writes
are the release manager's or the school administrator's (403 for other members).
"""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import path, reverse
from django.utils.translation import gettext, gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from changedesk.accounts import permissions
from changedesk.accounts.current import current_user
from changedesk.accounts.models import School
from changedesk.lib import converters  # noqa: F401  (registers <id:...>)
from changedesk.lib.errors import StaleChange, WorkflowError
from changedesk.lib.views import act, forbid, form_page
from changedesk.releases.choices import PolicyState
from changedesk.releases.forms.policy import PolicyForm, PublishForm
from changedesk.releases.models import ReleasePolicy
from changedesk.releases.permissions import may_manage
from changedesk.releases.services import policy as services
from changedesk.releases.views.common import require

# The 403 for anyone else: a whole sentence, which translates where a role's name would not.
WHO = gettext_lazy("Only a release manager or the school administrator of %(school)s may do that.")
# A school has a handful of versions: the list is not paged beyond this.
MOST_VERSIONS = 200
MOST_VERSION_NUMBER = 2**31 - 1


def _school(request: HttpRequest) -> School | None:
    """`?school=<slug>` among the person's schools (404 if not one of them), the only one,
    or None: the person must choose."""
    schools = permissions.schools(current_user(request))
    slug = request.GET.get("school") or request.POST.get("school") or ""
    if slug:
        school = next((s for s in schools if s.slug == slug), None)
        if school is None:
            raise Http404("No such school among yours.")
        return school
    if not schools:
        raise Http404("You are not a member of any school.")
    return schools[0] if len(schools) == 1 else None


def _choose(request: HttpRequest, what: str) -> HttpResponse:
    schools = permissions.schools(current_user(request))
    return render(request, "releases/policy/choose_school.html", {"schools": schools, "what": what})


def _here(school: School) -> str:
    return f"{reverse('releases:policy')}?school={school.slug}"


@require_GET
def policy_page(request: HttpRequest) -> HttpResponse:
    school = _school(request)
    if school is None:
        return _choose(request, gettext("Release policy"))
    return _page(request, school)


def _page(
    request: HttpRequest,
    school: School,
    publish_form: PublishForm | None = None,
    status: int = 200,
    refusal: str = "",
) -> HttpResponse:
    """The policy page; after a refused publish, with the form's errors or the refusal, and
    the draft as it is now (the form's revision is that draft's)."""
    user = current_user(request)
    manages = may_manage(user, school)
    versions = list(
        ReleasePolicy.objects.filter(school=school)
        .exclude(state=PolicyState.DRAFT)
        .select_related("published_by")
        .order_by("-version")[:MOST_VERSIONS]
    )
    policy = next((v for v in versions if v.state == PolicyState.PUBLISHED), None)
    draft = services.draft_of(school) if manages else None
    fresh = {"revision": services.revision(draft)}
    if publish_form is None:
        publish_form = PublishForm(initial=fresh)
    elif publish_form.is_bound:
        publish_form.data = {**dict(publish_form.data.items()), **fresh}
    return render(
        request,
        "releases/policy/page.html",
        {
            "school": school,
            "policy": policy,
            "windows": services.shown_windows(policy, school),
            "draft": draft,
            "draft_windows": services.shown_windows(draft, school),
            "versions": versions,
            "may_manage": manages,
            "many_schools": len(permissions.schools(user)) > 1,
            "publish_form": publish_form,
            "refusal": refusal,
        },
        status=status,
    )


@require_http_methods(["GET", "POST"])
def policy_edit(request: HttpRequest) -> HttpResponse:
    school = _school(request)
    if school is None:
        return _choose(request, gettext("Write the release policy"))
    user = require(request, school, may_manage, WHO)
    base = services.draft_of(school) or services.current(school)
    form = PolicyForm(
        request.POST if request.method == "POST" else None, school=school, policy=base
    )

    stale: list[StaleChange] = []

    def save() -> ReleasePolicy:
        try:
            return services.save_draft(
                school,
                user,
                form.values(),
                form.window_values(),
                expected=form.cleaned_data["revision"],
            )
        except StaleChange as error:
            stale.append(error)
            raise

    def context() -> dict[str, Any]:
        draft = base if base and base.state == PolicyState.DRAFT else None
        extra: dict[str, Any] = {"school": school, "draft": draft, "in_force": base is not None}
        if stale:
            # Refused as stale: show the draft as it is now, and carry its revision so
            # that saving again (having read it) replaces it.
            now = services.draft_of(school)
            extra["stale"] = True
            extra["current_draft"] = now
            extra["current_windows"] = services.shown_windows(now, school)
            form.data = {**dict(form.data.items()), "revision": services.revision(now)}
        return extra

    return form_page(
        request,
        form,
        "releases/policy/edit.html",
        context,
        save=save,
        done=gettext("The draft is saved. Publish it when it is ready."),
        success_url=_here(school),
    )


def _school_of_post(request: HttpRequest) -> School:
    school = _school(request)
    if school is None:
        raise Http404("Choose the school.")
    return school


@require_POST
def policy_publish(request: HttpRequest) -> HttpResponse:
    school = _school_of_post(request)
    user = require(request, school, may_manage, WHO)
    form = PublishForm(request.POST)
    if not form.is_valid():
        return _page(request, school, form, status=400, refusal="Nothing was published.")

    def refused(error: WorkflowError) -> HttpResponse | None:
        forbid(error)
        if isinstance(error, StaleChange):
            return _page(request, school, form, status=409, refusal=error.message)
        return None

    return act(
        request,
        lambda: services.publish(
            school, user, form.cleaned_data["comment"], expected=form.cleaned_data["revision"]
        ),
        done=lambda p: (
            gettext("Version %(number)s of the release policy is published.")
            % {"number": p.version}
        ),
        then=_here(school),
        refused=refused,
    )


@require_POST
def policy_discard(request: HttpRequest) -> HttpResponse:
    school = _school_of_post(request)
    user = require(request, school, may_manage, WHO)
    return act(
        request,
        lambda: services.discard_draft(school, user),
        done=gettext("The draft is discarded."),
        then=_here(school),
        refused=forbid,
    )


@require_GET
def policy_print(request: HttpRequest) -> HttpResponse:
    school = _school(request)
    if school is None:
        return _choose(request, gettext("Print the release policy"))
    policy = services.current(school)
    return render(
        request,
        "releases/policy/print.html",
        {"school": school, "policy": policy, "windows": services.shown_windows(policy, school)},
    )


@require_GET
def policy_version(request: HttpRequest, version: int) -> HttpResponse:
    school = _school(request)
    if school is None:
        return _choose(request, gettext("Release policy, version %(number)s") % {"number": version})
    if version > MOST_VERSION_NUMBER:
        raise Http404("No such version.")
    user = current_user(request)
    versions = ReleasePolicy.objects.filter(school=school, version=version)
    if not may_manage(user, school):
        versions = versions.exclude(state=PolicyState.DRAFT)
    policy = get_object_or_404(versions.select_related("published_by"))
    return render(
        request,
        "releases/policy/version.html",
        {"school": school, "policy": policy, "windows": services.shown_windows(policy, school)},
    )


urlpatterns = [
    path("policy/", policy_page, name="policy"),
    path("policy/edit/", policy_edit, name="policy_edit"),
    path("policy/publish/", policy_publish, name="policy_publish"),
    path("policy/discard/", policy_discard, name="policy_discard"),
    path("policy/print/", policy_print, name="policy_print"),
    path("policy/v<id:version>/", policy_version, name="policy_version"),
]
