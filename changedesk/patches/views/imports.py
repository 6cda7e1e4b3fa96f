"""Importing patches from a CSV file: upload it, see what it would do (the preview), then
import every row or none (`importer`).

The preview's page carries the file's text back in a hidden field for the import; nothing
is trusted from it: the school is checked against those the person manages, and `apply`
asks again who may and checks every row again as the database is then.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.formats import number_format
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods

from changedesk.accounts.current import current_user
from changedesk.accounts.models import School
from changedesk.lib.errors import InvalidAction, NotPermitted
from changedesk.patches import importer
from changedesk.patches.views.common import managed_schools

# The rows the preview shows, and the problems it lists.
PREVIEW_ROWS = 100
SHOWN_ERRORS = 200
MEGABYTES = importer.MOST_BYTES // (1024 * 1024)
EXAMPLE = (
    "vendor,product,title,reference,cves,release_date,severity,items\n"
    "Microsoft,Windows 11,Cumulative update for Windows 11,KB5031234,"
    '"CVE-2026-21001, CVE-2026-21002",2026-03-10,critical,Pilot laptop ICT-01;Staff laptops\n'
    "Adobe,Acrobat Reader,Security update for Acrobat Reader,APSB26-01,,12/03/2026,important,\n"
)


class ImportForm(forms.Form):
    school = forms.ChoiceField(label=_("School"), help_text=_("The school the patches are for."))
    file = forms.FileField(
        label=_("CSV file"),
        required=False,
        widget=forms.FileInput(attrs={"accept": ".csv,text/csv"}),
    )
    # The previewed file, posted back by the import button.
    csv = forms.CharField(required=False, strip=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, schools: list[School], importing: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.schools = {s.slug: s for s in schools}
        self.importing = importing
        self.fields["file"].help_text = gettext(
            "UTF-8 CSV, comma- or semicolon-separated, at most %(megabytes)s MB and "
            "%(rows)s rows, with the column names in the first row."
        ) % {"megabytes": MEGABYTES, "rows": f"{importer.MOST_ROWS:,}"}
        school = self.fields["school"]
        assert isinstance(school, forms.ChoiceField)
        school.choices = [(s.slug, s.name) for s in schools]
        if len(schools) == 1:
            # Nothing to choose: the one school, whether or not it is posted.
            school.widget = forms.HiddenInput()
            school.required = False
            self.initial["school"] = schools[0].slug

    def clean_school(self) -> School:
        slug = self.cleaned_data["school"] or next(iter(self.schools))
        return self.schools[slug]

    def clean_file(self) -> str:
        """The uploaded file's text (for a preview)."""
        upload = self.cleaned_data.get("file")
        if self.importing:
            return ""
        if upload is None:
            raise ValidationError(gettext("Choose the CSV file to import."))
        if upload.size is not None and upload.size > importer.MOST_BYTES:
            raise ValidationError(
                gettext(
                    "The file is %(size)s MB; at most %(most)s MB can be imported at once. "
                    "Split it into smaller files."
                )
                % {"size": number_format(upload.size / (1024 * 1024), 1), "most": MEGABYTES}
            )
        try:
            return str(upload.read().decode("utf-8"))
        except UnicodeDecodeError as error:
            raise ValidationError(
                gettext(
                    "The file is not UTF-8 text (byte %(byte)s cannot be read). Save it "
                    "from your spreadsheet as “CSV UTF-8” and try again."
                )
                % {"byte": error.start + 1}
            ) from None

    def text(self) -> str:
        if self.importing:
            return str(self.cleaned_data["csv"])
        return str(self.cleaned_data["file"])


@require_http_methods(["GET", "POST"])
def patch_import(request: HttpRequest) -> HttpResponse:
    """GET: the form. POST `action=preview`: what the file would do. POST `action=import`:
    import it, all or nothing, and go to the patches."""
    user = current_user(request)
    schools = managed_schools(user)
    if not schools:
        raise PermissionDenied(
            gettext("Only a patch administrator or a school administrator may import patches.")
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
        return _page(request, form, None, "", status=400 if bound else 200)
    school: School = form.cleaned_data["school"]
    text = form.text()
    if importing:
        try:
            count = importer.apply(school, user, text)
        except NotPermitted as refusal:
            raise PermissionDenied(refusal.message) from None
        except InvalidAction as refusal:
            # The file's own problems are in the preview; any other is said here.
            said = [f"{n}: {m}" for n, m in refusal.fields.items() if n != "file"]
            form.add_error(None, " ".join([refusal.message, *said]))
            return _page(request, form, importer.parse(school, text), text, status=400)
        messages.success(
            request,
            ngettext(
                "Imported %(count)s patch into %(school)s.",
                "Imported %(count)s patches into %(school)s.",
                count,
            )
            % {"count": count, "school": school.name},
        )
        return redirect(reverse("patches:list"))
    return _page(request, form, importer.parse(school, text), text)


def _page(
    request: HttpRequest,
    form: ImportForm,
    preview: importer.Preview | None,
    text: str,
    *,
    status: int = 200,
) -> HttpResponse:
    context: dict[str, Any] = {
        "form": form,
        "columns": importer.COLUMNS,
        "most_rows": f"{importer.MOST_ROWS:,}",
        "megabytes": MEGABYTES,
        "example": EXAMPLE,
    }
    if preview is not None:
        errors = preview.errors
        count = len(preview.to_create)
        rows = preview.rows[:PREVIEW_ROWS]
        context.update(
            preview=preview,
            school=preview.school,
            rows=rows,
            last_shown=rows[-1].number if rows else 0,
            hidden_rows=max(0, len(preview.rows) - PREVIEW_ROWS),
            errors=errors[:SHOWN_ERRORS],
            hidden_errors=max(0, len(errors) - SHOWN_ERRORS),
            error_count=len(errors),
            error_rows=len({e.row for e in errors}),
            count=count,
            there=len(preview.already_there),
            # The import button, for a file found sound, posts it back.
            text=text if (not errors and count) else "",
        )
    return render(request, "patches/import.html", context, status=status)
