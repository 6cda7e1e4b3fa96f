"""Forms for the committee's pages. They parse; the rules live in `services`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django import forms
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from changedesk.accounts.models import School, User
from changedesk.committee.choices import Decision
from changedesk.committee.models import Meeting, ReminderSettings


class DateTimeLocalInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self) -> None:
        super().__init__(format="%Y-%m-%dT%H:%M")


class PersonChoiceField(forms.ModelChoiceField[User]):
    def label_from_instance(self, obj: Any) -> str:
        return str(obj.display_name)


class PeopleChoiceField(forms.ModelMultipleChoiceField[User]):
    def label_from_instance(self, obj: Any) -> str:
        title = f", {obj.job_title}" if obj.job_title else ""
        return f"{obj.display_name}{title}"


def school_members(school: School) -> Any:
    return User.objects.filter(is_active=True, memberships__school=school).order_by(
        "first_name", "last_name", "username"
    )


class MeetingForm(forms.Form):
    title = forms.CharField(
        label=_("Title"), max_length=200, help_text=_("E.g. “CAC, spring term 2”.")
    )
    held_at = forms.DateTimeField(label=_("Date and time"), widget=DateTimeLocalInput())
    chair = PersonChoiceField(
        label=_("Chair"), queryset=User.objects.none(), empty_label=_("Choose the chair")
    )
    minutes = forms.CharField(
        label=_("General minutes"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_(
            "Apologies, matters arising, other business. The decisions are minuted "
            "item by item on the agenda."
        ),
    )

    def __init__(
        self, *args: Any, school: School, meeting: Meeting | None = None, **kwargs: Any
    ) -> None:
        if meeting is not None and "initial" not in kwargs:
            kwargs["initial"] = {
                "title": meeting.title,
                "held_at": meeting.held_at,
                "chair": meeting.chair_id,
                "minutes": meeting.minutes,
            }
        super().__init__(*args, **kwargs)
        field = self.fields["chair"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = school_members(school)

    def values(self) -> dict[str, Any]:
        return {name: self.cleaned_data[name] for name in self.fields}


class AttendanceForm(forms.Form):
    members_present = PeopleChoiceField(
        label=_("Members present"),
        queryset=User.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("The committee can decide for an approver only if they are ticked here."),
    )

    def __init__(self, *args: Any, meeting: Meeting, **kwargs: Any) -> None:
        if "initial" not in kwargs:
            kwargs["initial"] = {"members_present": [u.pk for u in meeting.members_present.all()]}
        super().__init__(*args, **kwargs)
        field = self.fields["members_present"]
        assert isinstance(field, forms.ModelMultipleChoiceField)
        field.queryset = school_members(meeting.school)
        # Whom the committee has decided for: `record_attendance` keeps them on the list,
        # so the page does not offer to take them off.
        self.kept = {
            str(pk)
            for pk in meeting.items.exclude(decided_for=None).values_list("decided_for", flat=True)
        }

    def boxes(self) -> list[tuple[Any, bool]]:
        """Each member's box, and whether it stays ticked (decided for)."""
        return [(box, str(box.data["value"]) in self.kept) for box in self["members_present"]]


class DecisionForm(forms.Form):
    decision = forms.ChoiceField(
        label=_("Decision"), choices=Decision.choices, widget=forms.RadioSelect
    )
    minute = forms.CharField(
        label=_("Minute"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("What the committee said, for the minutes."),
    )
    version = forms.IntegerField(widget=forms.HiddenInput, required=False, min_value=1)

    def __init__(self, *args: Any, decisions: list[Decision] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if decisions is not None:
            self.offer(decisions)

    def offer(self, decisions: Sequence[Decision], needs_minute: Sequence[Decision] = ()) -> None:
        """Offer only `decisions`; the minute is needed for `needs_minute`, being the
        reason the originator reads. On a bound form, what it shows again."""
        field = self.fields["decision"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [(d.value, d.label) for d in decisions]
        if len(decisions) == 1:
            self.initial["decision"] = decisions[0].value
        if needs_minute:
            which = gettext(" or ").join(str(d.label).lower() for d in needs_minute)
            self.fields["minute"].help_text = gettext(
                "What the committee said. Needed to %(which)s: it is the reason the "
                "originator reads."
            ) % {"which": which}


class ReminderSettingsForm(forms.ModelForm[ReminderSettings]):
    class Meta:
        model = ReminderSettings
        fields = ["nudges_enabled", "nudge_after_days"]
        labels = {
            "nudges_enabled": _("Send reminders"),
            "nudge_after_days": _("Remind after (days)"),
        }
        help_texts = {
            "nudges_enabled": _(
                "E-mail the people an RFC is waiting for when it has waited too long."
            ),
            "nudge_after_days": _("And again every this many days while it still waits."),
        }
