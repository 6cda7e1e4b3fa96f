"""The release policy's form: its title, summary and rules, with its release windows as a
formset of name, first day and last day (with room for more). The rules (at least one rule,
windows that do not overlap, sane years) are `services.policy`'s. Both forms carry the
revision of the draft they were made from (`services.revision`, hidden), so a write based
on a draft someone else has changed since is refused (409) rather than made."""

from __future__ import annotations

from datetime import date
from typing import Any

from django import forms
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from changedesk.accounts.models import School
from changedesk.releases.choices import PolicyState
from changedesk.releases.models import ReleasePolicy
from changedesk.releases.services import policy as services

# Empty rows offered under the windows, for new ones.
EXTRA_WINDOWS = 3


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self) -> None:
        super().__init__(format="%Y-%m-%d")


class WindowForm(forms.Form):
    name = forms.CharField(max_length=200, required=False, label=_("Name"))
    first_day = forms.DateField(required=False, widget=DateInput(), label=_("First day"))
    last_day = forms.DateField(required=False, widget=DateInput(), label=_("Last day"))

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        given = [data.get(n) for n in ("name", "first_day", "last_day")]
        if any(given) and not all(given):
            raise forms.ValidationError(gettext("Give the window's name, first day and last day."))
        return data


WindowFormSet = forms.formset_factory(
    WindowForm, extra=EXTRA_WINDOWS, max_num=services.MOST_WINDOWS
)


def _revision() -> forms.CharField:
    return forms.CharField(max_length=100, widget=forms.HiddenInput(), label="Revision")


class PolicyForm(forms.Form):
    revision = _revision()
    title = forms.CharField(max_length=200, label=_("Title"))
    summary = forms.CharField(
        required=False,
        max_length=5000,
        label=_("Summary"),
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Why the school has these rules, in a sentence or two."),
    )
    rules = forms.CharField(
        max_length=services.MOST_RULES_CHARS,
        label=_("Rules"),
        widget=forms.Textarea(attrs={"rows": 8}),
        help_text=_(
            "One rule per line, e.g. “New computers are installed only in the release windows.”"
        ),
    )

    def __init__(self, data: Any, *, school: School, policy: ReleasePolicy | None) -> None:
        initial: dict[str, Any] = {}
        windows: list[dict[str, Any]] = []
        draft = policy if policy is not None and policy.state == PolicyState.DRAFT else None
        if policy is not None:
            initial = {"title": policy.title, "summary": policy.summary, "rules": policy.rules}
            for window in policy.windows.order_by("starts_at", "id"):
                first, last = services.window_days(window, school)
                windows.append({"name": window.name, "first_day": first, "last_day": last})
        else:
            initial = {"title": services.DEFAULT_TITLE}
        initial["revision"] = services.revision(draft)
        super().__init__(data, initial=initial)
        self.windows = WindowFormSet(data, initial=windows, prefix="windows")
        for number, row in enumerate(self.windows.forms, start=1):
            # Each row's labels say which window they are of (for a screen reader).
            for field in row.fields.values():
                field.label = gettext("Window %(number)s: %(field)s") % {
                    "number": number,
                    "field": str(field.label).lower(),
                }

    def is_valid(self) -> bool:
        mine = super().is_valid()
        theirs = self.windows.is_valid()
        if not theirs and not self.errors.get("__all__"):
            self.add_error(None, gettext("Some release windows need correcting: see below."))
        return mine and theirs

    def values(self) -> dict[str, Any]:
        return {n: self.cleaned_data[n] for n in ("title", "summary", "rules")}

    def window_values(self) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        for form in self.windows.forms:
            data = form.cleaned_data
            first: date | None = data.get("first_day")
            if data.get("name") and first is not None:
                rows.append(
                    {"name": data["name"], "first_day": first, "last_day": data.get("last_day")}
                )
        return rows


class PublishForm(forms.Form):
    revision = _revision()
    comment = forms.CharField(
        required=False,
        max_length=2000,
        label=_("What changed"),
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Kept with the version, in the list of versions."),
    )
