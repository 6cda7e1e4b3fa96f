"""Forms of the install request pages: the short request any member sends, and the
installers' answers."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from changedesk.accounts.models import School
from changedesk.configuration.models import ConfigurationItem
from changedesk.releases.models import Build, Software


class RequestForm(forms.Form):
    what = forms.CharField(
        max_length=300, label=_("What should be installed"), help_text=_("e.g. “Scratch 3”.")
    )
    where = forms.CharField(
        max_length=300,
        required=False,
        label=_("Where"),
        help_text=_("Which computers, room or group of devices."),
    )
    reason = forms.CharField(
        max_length=5000,
        required=False,
        label=_("Why it is needed"),
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("e.g. for which lessons."),
    )
    needed_by = forms.DateField(
        required=False, label=_("Needed by"), widget=forms.DateInput(attrs={"type": "date"})
    )
    software = forms.ModelChoiceField(
        queryset=Software.objects.none(),
        required=False,
        label=_("From the software library (if you know)"),
    )
    build = forms.ModelChoiceField(
        queryset=Build.objects.none(), required=False, label=_("Build (if you know)")
    )
    item = forms.ModelChoiceField(
        queryset=ConfigurationItem.objects.none(),
        required=False,
        label=_("Computer or device group (if listed)"),
    )
    change = forms.IntegerField(
        required=False, widget=forms.HiddenInput, min_value=1, max_value=2**63 - 1
    )

    def __init__(self, *args: Any, school: School | None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        pk = school.pk if school else 0
        fields: Any = self.fields
        fields["software"].queryset = Software.objects.filter(school_id=pk, is_active=True)
        fields["build"].queryset = Build.objects.filter(school_id=pk, is_active=True)
        fields["item"].queryset = ConfigurationItem.objects.filter(
            school_id=pk, is_active=True
        ).order_by("name")

    def values(self) -> dict[str, Any]:
        data = {k: v for k, v in self.cleaned_data.items() if v not in (None, "")}
        for name in ("software", "build", "item"):
            if name in data:
                data[name] = data[name].pk
        return data


class AnswerForm(forms.Form):
    """An installer's answer: accept, decline (with why) or done."""

    step = forms.ChoiceField(
        choices=[("accept", "accept"), ("decline", "decline"), ("done", "done")]
    )
    answer = forms.CharField(
        required=False,
        max_length=5000,
        label=_("Your answer"),
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Needed to decline: the requester reads it."),
    )
    installation = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=2**63 - 1,
        label=_("Installation (its number, if recorded)"),
    )
