"""Forms for the standard change pages. They parse and offer only the school's choices;
the rules (who may, what a template must say, what raising it needs) live in `services`."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from django import forms
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from changedesk.accounts.choices import Role
from changedesk.accounts.models import School, User
from changedesk.changes.forms import DateTimeLocalInput, ItemChoiceField, PersonChoiceField
from changedesk.changes.services import PLANNING_HORIZON, default_people
from changedesk.configuration.models import ConfigurationItem
from changedesk.schedule.calendar import describe_window
from changedesk.schedule.models import MaintenanceWindow
from changedesk.standard.models import CONTENT, Template, TemplateState
from changedesk.standard.services import DEFAULT_REVIEW

TEXTAREA_ROWS = {"description": 3, "reason": 3, "details": 6, "impact": 3, "risk": 3,
                 "fallback_plan": 3}  # fmt: skip
MAX_MINUTES = 7 * 24 * 60


class PeopleChoiceField(forms.ModelMultipleChoiceField[User]):
    def label_from_instance(self, obj: Any) -> str:
        user: User = obj
        return f"{user.display_name} ({user.job_title})" if user.job_title else user.display_name


class WindowChoiceField(forms.ModelMultipleChoiceField[MaintenanceWindow]):
    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.name} ({describe_window(obj)})"


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self) -> None:
        super().__init__(format="%Y-%m-%d")


class TemplateForm(forms.ModelForm[Template]):
    """A template's content, the items it may touch, who may raise it and its review date.
    Its school is chosen before the form (as for a new RFC), and never changes."""

    items = ItemChoiceField(
        queryset=ConfigurationItem.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label=_("Configuration items it may touch"),
        help_text=_(
            "An RFC raised from it may name only these. Tick none to allow any of the "
            "school's items."
        ),
    )
    windows = WindowChoiceField(
        queryset=MaintenanceWindow.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label=_("Maintenance windows it must fit in"),
        help_text=_(
            "An RFC raised from it must start and end inside one of these. Tick none "
            "to allow any time the school calendar allows."
        ),
    )
    raisers = PeopleChoiceField(
        queryset=User.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label=_("Who may raise it"),
        help_text=_("Tick none to let every originator of the school raise it."),
    )
    duration_minutes = forms.IntegerField(
        label=_("How long it usually takes (minutes)"),
        min_value=5,
        max_value=MAX_MINUTES,
        help_text=_(
            "From 5 minutes to a week (10080). An RFC raised from it ends this long "
            "after it starts, unless its end is given."
        ),
    )
    comment = forms.CharField(
        label=_("Note on this edit"),
        required=False,
        max_length=500,
        help_text=_("Optional: kept in its history."),
    )

    class Meta:
        model = Template
        fields = [*CONTENT, "review_date", "items", "windows", "raisers"]
        widgets = {
            "review_date": DateInput(),
            **{name: forms.Textarea(attrs={"rows": rows}) for name, rows in TEXTAREA_ROWS.items()},
        }
        labels = {
            "title": _("Name"),
            "description": _("Brief description"),
            "reason": _("Reason for the change"),
            "details": _("Full details of the change (the steps)"),
            "impact": _("Impact on ICT services and users"),
            "risk": _("Risk of failure and impact of failure"),
            "fallback_plan": _("Fallback plan"),
            "review_date": _("Review date"),
        }
        help_texts = {
            "title": _(
                "What people will recognise it by, e.g. “Monthly security updates”. "
                "Each RFC raised from it is called this."
            ),
            "description": _("What it is, in a sentence or two."),
            "reason": _("Why it is needed, each time it is done."),
            "details": _("The steps, in order, as the implementer follows them every time."),
            "impact": _("Who and what is affected, and for how long (e.g. downtime)."),
            "risk": _("Why it is low risk, and what happens if it fails."),
            "fallback_plan": _("How to put things back if it goes wrong."),
            "review_date": _("After this day it cannot be raised until it is reviewed."),
        }

    def __init__(
        self, *args: Any, school: School, template: Template | None = None, **kwargs: Any
    ) -> None:
        kwargs["instance"] = template
        super().__init__(*args, **kwargs)
        self.school = school
        self.template = template
        if template is None:
            del self.fields["comment"]
            self.fields["review_date"].initial = timezone.localdate() + DEFAULT_REVIEW
        for name in CONTENT:
            self.fields[name].required = True
        items = self.fields["items"]
        assert isinstance(items, forms.ModelMultipleChoiceField)
        # The school's items in use, and any retired one the template already names.
        named = Q(pk__in=template.items.values("pk")) if template is not None else Q(pk__in=[])
        items.queryset = (
            ConfigurationItem.objects.filter(school=school)
            .filter(Q(is_active=True) | named)
            .order_by("name", "id")
        )
        windows = self.fields["windows"]
        assert isinstance(windows, forms.ModelMultipleChoiceField)
        windows.queryset = MaintenanceWindow.objects.filter(school=school).order_by("id")
        raisers = self.fields["raisers"]
        assert isinstance(raisers, forms.ModelMultipleChoiceField)
        # The school's originators, and anyone it names who no longer is one: shown ticked,
        # for the service to say so rather than the form dropping them unseen.
        originators = Q(pk__in=school.holders_of(Role.ORIGINATOR).values("pk"))
        if template is not None:
            originators |= Q(pk__in=template.raisers.values("pk"))
        raisers.queryset = User.objects.filter(originators).order_by(
            "first_name", "last_name", "username"
        )

    def _post_clean(self) -> None:
        # The model's own validation runs in the service, with the rules in one place.
        pass

    def clean_review_date(self) -> date:
        review: date = self.cleaned_data["review_date"]
        unchanged = self.template is not None and review == self.template.review_date
        if review < timezone.localdate() and not unchanged:
            raise forms.ValidationError(gettext("Choose today or a later day."))
        if review > timezone.localdate() + PLANNING_HORIZON:
            raise forms.ValidationError(gettext("Choose a day within 20 years of today."))
        return review

    def values(self) -> dict[str, Any]:
        """The template's own fields, for `services.create_template` and `update_template`."""
        return {name: self.cleaned_data[name] for name in (*CONTENT, "review_date")}

    def chosen_items(self) -> list[ConfigurationItem]:
        return list(self.cleaned_data.get("items") or [])

    def chosen_windows(self) -> list[MaintenanceWindow]:
        return list(self.cleaned_data.get("windows") or [])

    def chosen_raisers(self) -> list[User]:
        return list(self.cleaned_data.get("raisers") or [])

    @property
    def needs_approval_again(self) -> bool:
        """Whether saving a change to it makes a new version, to be approved again."""
        approved = (TemplateState.APPROVED, TemplateState.SUSPENDED)
        return self.template is not None and self.template.state in approved


class SchoolChoiceForm(forms.Form):
    """Which school a new template is for, when the person may write them in several."""

    school = forms.ModelChoiceField(
        label=_("School"), queryset=School.objects.none(), empty_label=None, to_field_name="slug"
    )

    def __init__(self, *args: Any, schools: list[School], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["school"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = School.objects.filter(pk__in=[s.pk for s in schools]).order_by("name")


class RaiseForm(forms.Form):
    """When an RFC raised from a template happens, what it touches and who carries it out.
    Times are read in the school's time zone (the view sets it)."""

    planned_start = forms.DateTimeField(
        label=_("Planned start"),
        widget=DateTimeLocalInput(),
        help_text=_("Date and time, in the school's time zone."),
    )
    planned_end = forms.DateTimeField(
        label=_("Planned end"),
        required=False,
        widget=DateTimeLocalInput(),
        help_text=_("Optional."),
    )
    items = ItemChoiceField(
        queryset=ConfigurationItem.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label=_("Configuration items it touches"),
    )
    implementer = PersonChoiceField(
        label=_("Implementer"),
        queryset=User.objects.none(),
        required=False,
        empty_label=_("— not chosen yet —"),
        help_text=_("Who carries it out and records the outcome."),
    )

    def __init__(self, *args: Any, template: Template, originator: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.template = template
        school = template.school
        named = list(template.items.all())
        items = self.fields["items"]
        assert isinstance(items, forms.ModelMultipleChoiceField)
        if named:
            items.queryset = ConfigurationItem.objects.filter(
                pk__in=[i.pk for i in named]
            ).order_by("name", "id")
            items.initial = [i.pk for i in named]
            items.help_text = gettext(
                "The template covers these: untick any this change leaves alone."
            )
        else:
            items.queryset = ConfigurationItem.objects.filter(
                school=school, is_active=True
            ).order_by("name", "id")
            items.help_text = gettext("The template names none: tick those this change touches.")
        self.fields["planned_end"].help_text = gettext(
            "Optional: left empty, it ends %(duration)s after the start, as the template says."
        ) % {"duration": duration_words(template.duration_minutes)}
        implementer = self.fields["implementer"]
        assert isinstance(implementer, forms.ModelChoiceField)
        implementer.queryset = school.holders_of(Role.IMPLEMENTER).order_by(
            "first_name", "last_name", "username"
        )
        default = default_people(school, originator).get("implementer")
        if default is not None:
            implementer.initial = default.pk

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        now = timezone.now()
        for name in ("planned_start", "planned_end"):
            when: datetime | None = cleaned.get(name)
            # Far from today is refused before the service adds the template's duration
            # to it (near the year 9999 that would overflow).
            if when is not None and abs(when - now) > PLANNING_HORIZON - timedelta(days=7):
                self.add_error(name, gettext("Choose a time within 20 years of today."))
        start, end = cleaned.get("planned_start"), cleaned.get("planned_end")
        if start is not None and end is not None and end <= start:
            self.add_error(
                "planned_end", gettext("The planned end must be after the planned start.")
            )
        return cleaned

    def raise_values(self) -> dict[str, Any]:
        """What `services.raise_change` takes besides the template and the person."""
        return {
            "planned_start": self.cleaned_data["planned_start"],
            "planned_end": self.cleaned_data.get("planned_end"),
            "items": list(self.cleaned_data.get("items") or []),
            "implementer": self.cleaned_data.get("implementer"),
        }


class ReinstateForm(forms.Form):
    comment = forms.CharField(
        label=_("What the review found"),
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Why it is safe to raise again, e.g. what was changed after the failure."),
    )


def duration_words(minutes: int) -> str:
    """“90” → “1 hour 30 minutes”."""
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    units = (
        (days, ngettext("%(count)s day", "%(count)s days", days)),
        (hours, ngettext("%(count)s hour", "%(count)s hours", hours)),
        (mins, ngettext("%(count)s minute", "%(count)s minutes", mins)),
    )
    parts = [words % {"count": n} for n, words in units if n]
    return " ".join(parts) or ngettext("%(count)s minute", "%(count)s minutes", 0) % {"count": 0}
