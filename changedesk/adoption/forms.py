"""The getting-started pages' forms: the go-live date, the ICT self-review, the pilot's
choice, the pilot review's five questions, the discussion note, and going live. The rules
(two weeks ahead, a past day, a closed pilot…) are `services`'; the forms only read the
values."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.text import format_lazy
from django.utils.translation import gettext, ngettext_lazy
from django.utils.translation import gettext_lazy as _

from changedesk.adoption import services
from changedesk.changes.models import Change


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self) -> None:
        super().__init__(format="%Y-%m-%d")


class GoLiveDateForm(forms.Form):
    go_live_on = forms.DateField(
        label=_("Go-live date"),
        widget=DateInput(),
        help_text=format_lazy(
            ngettext_lazy(
                "At least {days} day from today.",
                "At least {days} days from today.",
                services.MIN_LEAD_DAYS,
            ),
            days=services.MIN_LEAD_DAYS,
        ),
    )


class SelfReviewForm(forms.Form):
    self_review_on = forms.DateField(label=_("Day of the review"), widget=DateInput())
    self_review_note = forms.CharField(
        label=_("What it found"),
        max_length=services.MOST_TEXT,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class PilotChoiceForm(forms.Form):
    change = forms.TypedChoiceField(label=_("The pilot RFC"), coerce=int, choices=())

    def __init__(self, *args: Any, changes: list[Change], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field: Any = self.fields["change"]
        field.choices = [
            (c.pk, f"{c.reference}: {c.title} ({gettext(str(c.get_state_display())).lower()})")
            for c in changes
        ]


YES_NO = [("yes", _("Yes")), ("no", _("No"))]


def _question(label: Any) -> forms.ChoiceField:
    return forms.ChoiceField(label=label, choices=YES_NO, widget=forms.RadioSelect)


class PilotAnswerForm(forms.Form):
    understood_part = _question(_("Did you understand your part?"))
    sections_lacking = forms.MultipleChoiceField(
        label=_("Which sections of the RFC were not completed well enough?"),
        choices=[(key, _(label)) for key, label in services.SECTIONS],
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Leave them all unticked if every section was good enough."),
    )
    needs_training = _question(_("Do you need more training?"))
    caused_incidents = _question(_("Did the change cause any incidents?"))
    everyone_knew = _question(_("Did everyone affected know beforehand?"))
    comment = forms.CharField(
        label=_("Anything else"),
        required=False,
        max_length=services.MOST_TEXT,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def values(self) -> dict[str, Any]:
        data = self.cleaned_data
        answers: dict[str, Any] = {
            name: data[name] == "yes"
            for name in ("understood_part", "needs_training", "caused_incidents", "everyone_knew")
        }
        answers["sections_lacking"] = list(data["sections_lacking"])
        answers["comment"] = data["comment"]
        return answers


class DiscussionForm(forms.Form):
    pilot_discussion = forms.CharField(
        label=_("What the team decided after the pilot"),
        required=False,
        max_length=services.MOST_TEXT,
        widget=forms.Textarea(attrs={"rows": 4}),
    )


class GoLiveForm(forms.Form):
    peer_review = forms.BooleanField(
        label=_("Switch peer review back on"),
        required=False,
        help_text=_("The school started without peer review; from now on plans are checked."),
    )
