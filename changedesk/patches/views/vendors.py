"""The vendors a school watches, and where each publishes its patches (with how its feed is
doing)."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils.translation import gettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from changedesk.accounts import permissions
from changedesk.accounts.current import current_user
from changedesk.accounts.models import loaded_schools
from changedesk.lib.loading import attach
from changedesk.lib.views import act, forbid, form_page
from changedesk.patches import services
from changedesk.patches.filters import VendorFilterSet
from changedesk.patches.forms import SourceForm, VendorForm
from changedesk.patches.models import Patch, Source, Vendor
from changedesk.patches.views.common import (
    chosen_school,
    managed_schools,
    require_manager,
    visible_vendor,
)

# A school watches a handful of vendors: the list is not paged beyond this.
MOST_VENDORS = 500


@require_GET
def vendor_list(request: HttpRequest) -> HttpResponse:
    user = current_user(request)
    schools = permissions.schools(user)
    filters = VendorFilterSet(request.GET, queryset=Vendor.objects.visible_to(user))
    vendors = list(
        (filters.qs if filters.is_valid() else Vendor.objects.none()).order_by("name", "id")[
            :MOST_VENDORS
        ]
    )
    attach(vendors, "school", known=loaded_schools(user))
    sources = Source.objects.filter(vendor__in=[v.pk for v in vendors]).order_by("id")
    by_vendor: dict[int, list[Source]] = {v.pk: [] for v in vendors}
    for source in sources:
        by_vendor[source.vendor_id].append(source)
    return render(
        request,
        "patches/vendors.html",
        {
            "rows": [(v, by_vendor[v.pk]) for v in vendors],
            "filters": filters,
            "schools": schools,
            "may_write": bool(managed_schools(user)),
        },
    )


@require_GET
def vendor_detail(request: HttpRequest, pk: int) -> HttpResponse:
    vendor = visible_vendor(request, pk)
    user = current_user(request)
    return render(
        request,
        "patches/vendor.html",
        {
            "vendor": vendor,
            "school": vendor.school,
            "sources": list(vendor.sources.order_by("id")),
            "recent": list(
                Patch.objects.filter(vendor=vendor).order_by("-release_date", "-id")[:10]
            ),
            "may_write": services.may_manage(user, vendor.school),
            "source_form": SourceForm(initial={"kind": "feed", "is_active": True}),
        },
    )


@require_http_methods(["GET", "POST"])
def vendor_create(request: HttpRequest) -> HttpResponse:
    user = current_user(request)
    schools = managed_schools(user)
    if not schools:
        raise PermissionDenied(
            gettext("Only a patch administrator or a school administrator may add vendors.")
        )
    school = chosen_school(request, schools)
    if school is None:
        return render(
            request, "patches/choose_school.html", {"schools": schools, "what": "Add a vendor"}
        )
    form = VendorForm(request.POST if request.method == "POST" else None)
    return form_page(
        request,
        form,
        "patches/vendor_form.html",
        {"school": school, "vendor": None, "multiple_schools": len(schools) > 1},
        save=lambda: services.save_vendor(school, user, form.values()),
        done=lambda v: (
            gettext("%(vendor)s is added. Add where it publishes its patches: its feed.")
            % {"vendor": v.name}
        ),
    )


@require_http_methods(["GET", "POST"])
def vendor_edit(request: HttpRequest, pk: int) -> HttpResponse:
    vendor = visible_vendor(request, pk)
    user = require_manager(request, vendor.school)
    form = VendorForm(request.POST if request.method == "POST" else None, instance=vendor)
    return form_page(
        request,
        form,
        "patches/vendor_form.html",
        {"school": vendor.school, "vendor": vendor},
        save=lambda: services.save_vendor(vendor.school, user, form.values(), vendor_id=vendor.pk),
        done=gettext("The vendor is saved."),
    )


@require_http_methods(["GET", "POST"])
def source_create(request: HttpRequest, pk: int) -> HttpResponse:
    vendor = visible_vendor(request, pk)
    user = require_manager(request, vendor.school)
    form = SourceForm(
        request.POST if request.method == "POST" else None,
        initial={"kind": "feed", "is_active": True},
    )
    return form_page(
        request,
        form,
        "patches/source_form.html",
        {"vendor": vendor, "school": vendor.school, "source": None},
        save=lambda: services.save_source(vendor.school, user, {**form.values(), "vendor": vendor}),
        done=lambda s: (
            gettext("The feed is added: the worker fetches it within a minute.")
            if s.kind == "feed"
            else gettext("The source is added.")
        ),
        success_url=vendor.get_absolute_url(),
    )


def _source(request: HttpRequest, pk: int) -> Source:
    user = current_user(request)
    return get_object_or_404(
        Source.objects.visible_to(user).select_related("school", "vendor"), pk=pk
    )


@require_http_methods(["GET", "POST"])
def source_edit(request: HttpRequest, pk: int) -> HttpResponse:
    source = _source(request, pk)
    user = require_manager(request, source.school)
    form = SourceForm(request.POST if request.method == "POST" else None, instance=source)
    return form_page(
        request,
        form,
        "patches/source_form.html",
        {"vendor": source.vendor, "school": source.school, "source": source},
        save=lambda: services.save_source(source.school, user, form.values(), source_id=source.pk),
        done=gettext("The source is saved."),
        success_url=source.vendor.get_absolute_url(),
    )


@require_POST
def source_check(request: HttpRequest, pk: int) -> HttpResponse:
    source = _source(request, pk)
    user = current_user(request)
    return act(
        request,
        lambda: services.check_now(source.pk, user),
        done=gettext(
            "The feed is fetched on the worker's next pass, within a minute: reload to see."
        ),
        then=source.vendor,
        refused=forbid,
    )


@require_POST
def source_delete(request: HttpRequest, pk: int) -> HttpResponse:
    source = _source(request, pk)
    user = current_user(request)
    return act(
        request,
        lambda: services.delete_source(source.pk, user),
        done=gettext("The source is removed; the patches it brought stay."),
        then=source.vendor,
        refused=forbid,
    )
