"""The getting-started pages' forms: the go-live date, the ICT self-review, the pilot's
choice, the pilot review's five questions, the discussion note, and going live. The rules
(two weeks ahead, a past day, a closed pilot…) are `services`'; the forms only read the
values."""

from __future__ import annotations

from typing import Any

from django import forms

from changedesk.adoption import services
from changedesk.changes.models import Change


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self) -> None:
        super().__init__(format="%Y-%m-%d")


class GoLiveDateForm(forms.Form):
    go_live_on = forms.DateField(
        label="Go-live date",
        widget=DateInput(),
        help_text=f"At least {services.MIN_LEAD_DAYS} days from today.",
    )


class SelfReviewForm(forms.Form):
    self_review_on = forms.DateField(label="Day of the review", widget=DateInput())
    self_review_note = forms.CharField(
        label="What it found",
        max_length=services.MOST_TEXT,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class PilotChoiceForm(forms.Form):
    change = forms.TypedChoiceField(label="The pilot RFC", coerce=int, choices=())

    def __init__(self, *args: Any, changes: list[Change], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field: Any = self.fields["change"]
        field.choices = [
            (c.pk, f"{c.reference}: {c.title} ({c.get_state_display().lower()})") for c in changes
        ]


YES_NO = [("yes", "Yes"), ("no", "No")]


def _question(label: str) -> forms.ChoiceField:
    return forms.ChoiceField(label=label, choices=YES_NO, widget=forms.RadioSelect)


class PilotAnswerForm(forms.Form):
    understood_part = _question("Did you understand your part?")
    sections_lacking = forms.MultipleChoiceField(
        label="Which sections of the RFC were not completed well enough?",
        choices=services.SECTIONS,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Leave them all unticked if every section was good enough.",
    )
    needs_training = _question("Do you need more training?")
    caused_incidents = _question("Did the change cause any incidents?")
    everyone_knew = _question("Did everyone affected know beforehand?")
    comment = forms.CharField(
        label="Anything else",
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
        label="What the team decided after the pilot",
        required=False,
        max_length=services.MOST_TEXT,
        widget=forms.Textarea(attrs={"rows": 4}),
    )


class GoLiveForm(forms.Form):
    peer_review = forms.BooleanField(
        label="Switch peer review back on",
        required=False,
        help_text="The school started without peer review; from now on plans are checked.",
    )
