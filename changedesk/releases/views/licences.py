"""The software licence log's pages: the log (with its figures and a summary of what needs
attention), a licence with its holders, adding and editing licences, giving a licence to a
holder and taking it back, importing a CSV file and exporting the filtered log.

Every member of the school reads them; the release manager (or a school administrator)
writes (`permissions.may_manage`, asked again by the services).
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from changedesk.accounts import permissions as accounts
from changedesk.accounts.current import current_user
from changedesk.accounts.models import (
    School,
    User,
    loaded_schools,
    member_schools,
    seen_school_ids,
)
from changedesk.lib import (
    converters,  # noqa: F401  (registers <id:...>)
    paging,
)
from changedesk.lib.errors import InvalidAction, NotPermitted
from changedesk.lib.loading import attach
from changedesk.lib.views import act, forbid, form_page, warning
from changedesk.releases import licence_import, permissions
from changedesk.releases.filters.licences import LicenceFilterSet
from changedesk.releases.forms.licences import AssignForm, LicenceForm
from changedesk.releases.models import Licence, LicenceAssignment
from changedesk.releases.services import licences as services
from changedesk.releases.views.common import (
    chosen_school,
    query_without_page,
    require,
    schools_where,
    visible,
)

PAGE_SIZE = 50
MOST_HOLDERS_SHOWN = 500
# The 403 for anyone else: a whole sentence, which translates where a role's name would not.
WHO = _("Only a release manager or a school administrator of %(school)s may do that.")
LIST_COLUMNS = ("id", "school_id", "product", "kind", "seats", "expires_on", "notice_days",
                "is_active", "supplier")  # fmt: skip
EXPORT_COLUMNS = ("id", "school__slug", "product", "kind", "seats", "bought_on", "expires_on",
                  "supplier", "order_reference", "notice_days", "is_active")  # fmt: skip
EXPORT_CHUNK = 1000


def _filters(request: HttpRequest, user: User, schools: list[School]) -> LicenceFilterSet:
    return LicenceFilterSet(
        request.GET,
        queryset=Licence.objects.visible_to(user),
        schools=None if user.is_superuser else schools,
    )


@require_GET
def licence_list(request: HttpRequest) -> HttpResponse:
    user = current_user(request)
    schools = accounts.schools(user)
    filters = _filters(request, user, schools)
    valid = filters.is_valid()
    queryset = filters.qs if valid else Licence.objects.none()
    ids = seen_school_ids(user)
    chosen = chosen_school(request, schools) if request.GET.get("school") else None
    if chosen is not None:
        ids = [chosen.pk]
    page = paging.page(
        queryset.order_by("product", "id"),
        request.GET.get("page"),
        PAGE_SIZE,
        load=services.with_used(Licence.objects.only(*LIST_COLUMNS)),
        schools=ids,
    )
    licences = list(page.object_list)
    attach(licences, "school", known=loaded_schools(user))
    services.attach_figures(licences)
    attention = _attention(user, schools, chosen)
    query = query_without_page(request)
    return render(
        request,
        "releases/licences/list.html",
        {
            "filters": filters,
            "page": page,
            "licences": licences,
            "schools": schools,
            "attention": attention,
            "query": query,
            "may_write": bool(schools_where(user, permissions.may_manage)),
        },
        # A filter it cannot use (an unknown status, say) is shown with the form's errors.
        status=200 if valid else 400,
    )


def _attention(
    user: User, schools: list[School], chosen: School | None
) -> list[tuple[int, str, str]]:
    """What needs attention among the school chosen (else all the person's): how many of
    each status, each linking to the list filtered by it (one query)."""
    scope = Licence.objects.visible_to(user)
    if chosen is not None:
        scope = scope.filter(school=chosen)
    among = [chosen] if chosen else (None if user.is_superuser else schools)
    counts = services.summary(scope, among)
    base = {"school": chosen.slug} if chosen else {}
    return [
        (count, services.STATUS_LABELS[status], "?" + urlencode({**base, "status": status}))
        for status, count in counts.items()
        if count
    ]


@require_GET
def licence_export(request: HttpRequest) -> HttpResponse | StreamingHttpResponse:
    """The filtered log as CSV, written as the rows are read."""
    user = current_user(request)
    filters = _filters(request, user, accounts.schools(user))
    if not filters.is_valid():
        return HttpResponse(
            "; ".join(f"{k}: {' '.join(v)}" for k, v in filters.errors.items()),
            status=400,
            content_type="text/plain; charset=utf-8",
        )
    queryset = services.with_used_column(filters.qs.order_by("product", "id"))
    stamp = timezone.localtime().strftime("%Y-%m-%d")
    response = StreamingHttpResponse(_csv(queryset), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="licences-{stamp}.csv"'
    return response


class _Line:
    def write(self, value: str) -> str:
        return value


def _csv(queryset: Any) -> Iterator[str]:
    writer = csv.writer(_Line())
    yield writer.writerow(["id", "school", "product", "kind", "seats", "bought_on",
                           "expires_on", "supplier", "order_reference", "notice_days",
                           "is_active", "used"])  # fmt: skip
    last = 0
    while True:
        chunk = list(
            queryset.filter(pk__gt=last)
            .order_by("pk")
            .values_list(*EXPORT_COLUMNS, "holders")[:EXPORT_CHUNK]
        )
        for row in chunk:
            yield writer.writerow(["" if v is None else _plain(v) for v in row])
        if len(chunk) < EXPORT_CHUNK:
            return
        last = chunk[-1][0]


def _plain(value: Any) -> Any:
    """A cell a spreadsheet will not run as a formula."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


@require_GET
def licence_detail(request: HttpRequest, pk: int) -> HttpResponse:
    licence = visible(request, Licence, pk)
    user = current_user(request)
    holders = list(
        LicenceAssignment.objects.filter(licence=licence).order_by("assigned_at", "id")[
            :MOST_HOLDERS_SHOWN
        ]
    )
    attach(holders, "item", "user")
    services.attach_figures([licence])
    may_write = permissions.may_manage(user, licence.school)
    return render(
        request,
        "releases/licences/detail.html",
        _detail_context(licence, holders, may_write, AssignForm(school=licence.school)),
    )


def _detail_context(
    licence: Licence, holders: list[LicenceAssignment], may_write: bool, form: AssignForm
) -> dict[str, Any]:
    return {
        "licence": licence,
        "school": licence.school,
        "holders": holders,
        "more_holders": max(0, licence.figures.used - len(holders)),  # type: ignore[attr-defined]
        "software": list(licence.software.order_by("title", "id")[:200]),
        "may_write": may_write,
        "form": form,
    }


def _saved(licence: Licence) -> str:
    used = licence.assignments.count()
    if licence.seats is not None and used > licence.seats:
        return warning(
            gettext(
                "The licence is saved, but it is over-allocated: %(holders)s. Take it back "
                "from %(over)s or add seats."
            )
            % {"holders": services.holders_for(used, licence.seats), "over": used - licence.seats}
        )
    return gettext("The licence is saved.")


@require_http_methods(["GET", "POST"])
def licence_create(request: HttpRequest) -> HttpResponse:
    user = current_user(request)
    schools = schools_where(user, permissions.may_manage)
    if not schools:
        raise PermissionDenied(
            gettext("Only a release manager or a school administrator may add licences.")
        )
    school = chosen_school(request, schools)
    if school is None:
        return render(request, "releases/licences/choose_school.html", {"schools": schools})
    form = LicenceForm(
        request.POST if request.method == "POST" else None,
        initial={"kind": "per_device", "notice_days": 60, "is_active": True},
    )
    return form_page(
        request,
        form,
        "releases/licences/form.html",
        {"school": school, "licence": None, "multiple_schools": len(schools) > 1},
        save=lambda: services.save_licence(school, user, form.values()),
        done=lambda lic: gettext("%(product)s is in the log.") % {"product": lic.product},
    )


@require_http_methods(["GET", "POST"])
def licence_edit(request: HttpRequest, pk: int) -> HttpResponse:
    licence = visible(request, Licence, pk)
    user = require(request, licence.school, permissions.may_manage, WHO)
    form = LicenceForm(request.POST if request.method == "POST" else None, instance=licence)
    return form_page(
        request,
        form,
        "releases/licences/form.html",
        {"school": licence.school, "licence": licence},
        save=lambda: services.save_licence(licence.school, user, form.values(), licence),
        done=_saved,
    )


@require_POST
def licence_assign(request: HttpRequest, pk: int) -> HttpResponse:
    licence = visible(request, Licence, pk)
    user = require(request, licence.school, permissions.may_manage, WHO)
    form = AssignForm(request.POST, school=licence.school)
    if form.is_valid():
        try:
            services.assign(licence, user, form.values())
        except InvalidAction as error:
            for name, message in error.fields.items():
                form.add_error(name if name in form.fields else None, message)
            if not error.fields:
                form.add_error(None, error.message)
        except NotPermitted as error:
            raise PermissionDenied(error.message) from None
        else:
            messages.success(request, gettext("The licence is given out."))
            return redirect(licence.get_absolute_url())
    holders = list(LicenceAssignment.objects.filter(licence=licence)[:MOST_HOLDERS_SHOWN])
    attach(holders, "item", "user")
    services.attach_figures([licence])
    context = _detail_context(licence, holders, True, form)
    return render(request, "releases/licences/detail.html", context, status=400)


@require_POST
def assignment_remove(request: HttpRequest, pk: int) -> HttpResponse:
    assignment = get_object_or_404(
        LicenceAssignment.objects.filter(member_schools(current_user(request))).select_related(
            "school", "licence", "item", "user"
        ),
        pk=pk,
    )
    user = require(request, assignment.school, permissions.may_manage, WHO)
    return act(
        request,
        lambda: services.unassign(assignment, user),
        done=gettext("%(holder)s no longer holds the licence.") % {"holder": assignment.holder},
        then=reverse("releases:licence", args=[assignment.licence_id]),
        refused=forbid,
    )


# --- Importing. ---


PREVIEW_ROWS = 100
SHOWN_ERRORS = 200
MEGABYTES = licence_import.MOST_BYTES // (1024 * 1024)
EXAMPLE = (
    "product,kind,seats,bought_on,expires_on,supplier,order_reference,notes,assigned_to\n"
    "Windows 11 Education,per device,60,2026-09-01,2027-08-31,Trust agreement,TR-2026-01,,"
    "ICT-01;ICT-02\n"
    "SMART Notebook,site,,01/09/2026,31/08/2027,SMART Technologies,SM-8812,,\n"
)


class ImportForm(forms.Form):
    school = forms.ChoiceField(label=_("School"), help_text=_("The school whose log it is."))
    file = forms.FileField(
        label=_("CSV file"),
        required=False,
        widget=forms.FileInput(attrs={"accept": ".csv,text/csv"}),
    )
    csv = forms.CharField(required=False, strip=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, schools: list[School], importing: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.schools = {s.slug: s for s in schools}
        self.importing = importing
        self.fields["file"].help_text = gettext(
            "UTF-8 CSV, comma- or semicolon-separated, at most %(megabytes)s MB and %(rows)s "
            "rows, with the column names in the first row."
        ) % {"megabytes": MEGABYTES, "rows": f"{licence_import.MOST_ROWS:,}"}
        school = self.fields["school"]
        assert isinstance(school, forms.ChoiceField)
        school.choices = [(s.slug, s.name) for s in schools]
        if len(schools) == 1:
            school.widget = forms.HiddenInput()
            school.required = False
            self.initial["school"] = schools[0].slug

    def clean_school(self) -> School:
        slug = self.cleaned_data["school"] or next(iter(self.schools))
        return self.schools[slug]

    def clean_file(self) -> str:
        upload = self.cleaned_data.get("file")
        if self.importing:
            return ""
        if upload is None:
            raise ValidationError(gettext("Choose the CSV file to import."))
        if upload.size is not None and upload.size > licence_import.MOST_BYTES:
            raise ValidationError(
                gettext(
                    "The file is %(size)s MB; at most %(most)s MB can be imported at once. "
                    "Split it into smaller files."
                )
                % {"size": f"{upload.size / (1024 * 1024):.1f}", "most": MEGABYTES}
            )
        try:
            return str(upload.read().decode("utf-8"))
        except UnicodeDecodeError as error:
            raise ValidationError(
                gettext(
                    "The file is not UTF-8 text (byte %(byte)s cannot be read). Save it from "
                    "your spreadsheet as “CSV UTF-8” and try again."
                )
                % {"byte": error.start + 1}
            ) from None

    def text(self) -> str:
        return str(self.cleaned_data["csv" if self.importing else "file"])


@require_http_methods(["GET", "POST"])
def import_licences(request: HttpRequest) -> HttpResponse:
    """GET: the form. POST `action=preview`: what the file would do. POST `action=import`:
    import it, all or nothing, and go to the log."""
    user = current_user(request)
    schools = schools_where(user, permissions.may_manage)
    if not schools:
        raise PermissionDenied(
            gettext("Only a release manager or a school administrator may import licences.")
        )
    importing = request.POST.get("action") == "import"
    bound = request.method == "POST"
    form = ImportForm(
        request.POST if bound else None,
        request.FILES if bound else None,
        schools=schools,
        importing=importing,
        initial={"school": request.GET["school"]} if "school" in request.GET else None,
    )
    if not bound or not form.is_valid():
        return _import_page(request, form, None, "", status=400 if bound else 200)
    school: School = form.cleaned_data["school"]
    text = form.text()
    if importing:
        try:
            added, updated = licence_import.apply(school, user, text)
        except NotPermitted as refusal:
            raise PermissionDenied(refusal.message) from None
        except InvalidAction as refusal:
            said = [f"{n}: {m}" for n, m in refusal.fields.items() if n != "file"]
            form.add_error(None, " ".join([refusal.message, *said]))
            preview = licence_import.parse(school, text)
            return _import_page(request, form, preview, text, status=400)
        messages.success(
            request,
            ngettext(
                "Added %(added)s licence and updated %(updated)s.",
                "Added %(added)s licences and updated %(updated)s.",
                added,
            )
            % {"added": added, "updated": updated},
        )
        return redirect(reverse("releases:licences"))
    return _import_page(request, form, licence_import.parse(school, text), text)


def _import_page(
    request: HttpRequest,
    form: ImportForm,
    preview: licence_import.Preview | None,
    text: str,
    *,
    status: int = 200,
) -> HttpResponse:
    context: dict[str, Any] = {
        "form": form,
        "columns": licence_import.COLUMNS,
        "most_rows": f"{licence_import.MOST_ROWS:,}",
        "megabytes": MEGABYTES,
        "example": EXAMPLE,
    }
    if preview is not None:
        errors = preview.errors
        rows = preview.rows[:PREVIEW_ROWS]
        changes = len(preview.to_create) + len(preview.to_update)
        context.update(
            preview=preview,
            school=preview.school,
            rows=rows,
            hidden_rows=max(0, len(preview.rows) - PREVIEW_ROWS),
            errors=errors[:SHOWN_ERRORS],
            hidden_errors=max(0, len(errors) - SHOWN_ERRORS),
            error_count=len(errors),
            added=len(preview.to_create),
            updated=len(preview.to_update),
            text=text if (not errors and changes) else "",
        )
    return render(request, "releases/licences/import.html", context, status=status)


urlpatterns = [
    path("licences/", licence_list, name="licences"),
    path("licences/new/", licence_create, name="licence_create"),
    path("licences/export.csv", licence_export, name="licence_export"),
    path("licences/import/", import_licences, name="licence_import"),
    path("licences/<id:pk>/", licence_detail, name="licence"),
    path("licences/<id:pk>/edit/", licence_edit, name="licence_edit"),
    path("licences/<id:pk>/assign/", licence_assign, name="licence_assign"),
    path(
        "licences/assignments/<id:pk>/remove/", assignment_remove, name="licence_assignment_remove"
    ),
]
