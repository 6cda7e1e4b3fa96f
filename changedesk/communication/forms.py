"""Forms for notices and a school's communication settings. The rules live in `services`."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from changedesk.communication.choices import LEAD_TIME_CHOICES, SummaryFrequency
from changedesk.communication.models import CommunicationSettings, Notice
from changedesk.communication.plain import plain_lead


class DateTimeLocalInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self) -> None:
        super().__init__(format="%Y-%m-%dT%H:%M")


class NoticeForm(forms.Form):
    """The words of a notice; a general notice also has its own dates."""

    title = forms.CharField(
        label=_("Title"),
        max_length=200,
        help_text=_("What staff will see first, e.g. “ICT suite 2 closed”."),
    )
    what = forms.CharField(
        label=_("What is happening"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("In plain words, without ICT jargon."),
    )
    when_text = forms.CharField(
        label=_("When"),
        max_length=200,
        required=False,
        help_text=_("As people say it, e.g. “Tuesday 4 March, 18:00 to 19:00”."),
    )
    what_you_will_notice = forms.CharField(
        label=_("What people will notice"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("E.g. “The computers in ICT suite 2 cannot reach the internet.”"),
    )
    what_to_do = forms.CharField(
        label=_("What to do"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("E.g. “Save your work and sign out before 18:00.” Leave blank if nothing."),
    )
    who_to_ask = forms.CharField(label=_("Who to ask"), max_length=200, required=False)
    starts_at = forms.DateTimeField(
        label=_("Starts"), required=False, widget=DateTimeLocalInput(), help_text=_("Optional.")
    )
    ends_at = forms.DateTimeField(
        label=_("Ends"),
        required=False,
        widget=DateTimeLocalInput(),
        help_text=_("The notice leaves the board after this."),
    )

    def __init__(self, *args: Any, notice: Notice | None = None, **kwargs: Any) -> None:
        if notice is not None and "initial" not in kwargs:
            kwargs["initial"] = {name: getattr(notice, name) for name in self.base_fields}
        super().__init__(*args, **kwargs)
        self.notice = notice
        if notice is not None and notice.change_id is not None:
            # A change's notice takes its dates from the RFC.
            del self.fields["starts_at"]
            del self.fields["ends_at"]

    def values(self) -> dict[str, Any]:
        return {name: self.cleaned_data[name] for name in self.fields}


class LeadTimesField(forms.TypedMultipleChoiceField):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(coerce=int, widget=forms.CheckboxSelectMultiple, **kwargs)

    def prepare_value(self, value: Any) -> Any:
        return [str(v) for v in value] if isinstance(value, list) else value


class CommunicationSettingsForm(forms.ModelForm[CommunicationSettings]):
    reminder_lead_minutes = LeadTimesField(
        label=_("Remind the staff list"),
        required=False,
        help_text=_("Before a change starts. Tick none to send no reminders."),
    )

    class Meta:
        model = CommunicationSettings
        fields = ["staff_list_address", "reminder_lead_minutes", "summary_frequency"]
        labels = {
            "staff_list_address": _("Staff e-mail list"),
            "summary_frequency": _("Summary of approvals and rejections"),
        }
        help_texts = {
            "staff_list_address": _(
                "One address that reaches every member of staff, e.g. staff@school.example. "
                "Leave it blank to post notices on the board only."
            ),
            "summary_frequency": _(
                "Posted on the notice board and e-mailed to the staff list, "
                "on Monday morning or on the first of the month."
            ),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices: list[tuple[int, Any]] = [(m, _(label)) for m, label in LEAD_TIME_CHOICES]
        offered = {minutes for minutes, _label in choices}
        # A time set through the API stays visible, so saving the form does not drop it.
        for minutes in self.instance.lead_minutes:
            if minutes not in offered:
                choices.append((minutes, f"{plain_lead(minutes)} before"))
        # The labels (choices.py) reach the catalogue through gettext_noop there.
        frequency = self.fields["summary_frequency"]
        assert isinstance(frequency, forms.TypedChoiceField)
        frequency.choices = [(value, _(label)) for value, label in SummaryFrequency.choices]
        field = self.fields["reminder_lead_minutes"]
        assert isinstance(field, forms.TypedMultipleChoiceField)
        field.choices = sorted(choices, key=lambda c: -int(c[0]))

    def clean_reminder_lead_minutes(self) -> list[int]:
        return sorted(set(self.cleaned_data["reminder_lead_minutes"]), reverse=True)
