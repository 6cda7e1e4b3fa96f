"""The review checklist's form: the school's answer (yes, no or partly) and a note for each
item the data cannot judge, a note on the whole review, and when the next one is due."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy

from changedesk.adoption import checklist

ANSWER_CHOICES = [
    ("yes", gettext_lazy("Yes")),
    ("no", gettext_lazy("No")),
    ("partly", gettext_lazy("Partly")),
]
_IN_MONTHS = {
    3: gettext_lazy("In 3 months"),
    6: gettext_lazy("In 6 months"),
    12: gettext_lazy("In 12 months"),
}
DUE_CHOICES = [(str(n), _IN_MONTHS[n]) for n in checklist.DUE_CHOICES]


class ReviewForm(forms.Form):
    """Built with a field pair per school-judged item: `answer_<key>` and `note_<key>`."""

    note = forms.CharField(
        label=gettext_lazy("Note on the review"),
        required=False,
        max_length=checklist.MOST_NOTE,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=gettext_lazy("What you agreed to improve, and who will do it."),
    )
    next_in_months = forms.TypedChoiceField(
        label=gettext_lazy("Next review"),
        choices=DUE_CHOICES,
        coerce=int,
        initial=str(checklist.DEFAULT_DUE),
        help_text=gettext_lazy("FITS suggests revisiting the checklist at regular intervals."),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for key in checklist.SCHOOL_KEYS:
            self.fields[f"answer_{key}"] = forms.ChoiceField(
                label=str(checklist.SHOWN_LABELS[key]),
                choices=ANSWER_CHOICES,
                widget=forms.RadioSelect,
                error_messages={"required": gettext_lazy("Answer yes, no or partly.")},
            )
            self.fields[f"note_{key}"] = forms.CharField(
                label=gettext_lazy("Note on this item"),
                required=False,
                max_length=checklist.MOST_NOTE,
                widget=forms.Textarea(attrs={"rows": 2}),
            )
        # Placed before the overall note and the due date.
        order = [f"{p}_{k}" for k in checklist.SCHOOL_KEYS for p in ("answer", "note")]
        self.order_fields([*order, "note", "next_in_months"])

    def answer_pairs(self) -> list[tuple[str, forms.BoundField, forms.BoundField]]:
        return [(key, self[f"answer_{key}"], self[f"note_{key}"]) for key in checklist.SCHOOL_KEYS]

    def values(self) -> tuple[dict[str, str], dict[str, str], str, int]:
        data = self.cleaned_data
        answers = {key: data[f"answer_{key}"] for key in checklist.SCHOOL_KEYS}
        notes = {key: data[f"note_{key}"] for key in checklist.SCHOOL_KEYS}
        return answers, notes, data["note"], data["next_in_months"]
