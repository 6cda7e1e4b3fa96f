"""Forms for the school calendar, the .ics import, the slot finder and the feed links.

Times typed into these forms are in the school's time zone; the forms turn them into
instants (`calendar.local_at`), so 09:00 means 09:00 in the school whatever the season.
The forms collect and check input; the writes, and the rules a value must meet, are in
`services` (the forms ask the same rules, to show every error at once).
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

from django import forms
from django.utils.dates import WEEKDAYS
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from changedesk.accounts.models import School
from changedesk.changes import forms as changes_forms
from changedesk.configuration.models import ConfigurationItem
from changedesk.schedule.calendar import (
    all_day_bounds,
    local_at,
    sane_year,
)
from changedesk.schedule.models import (
    CalendarPeriod,
    FeedKind,
    MaintenanceWindow,
    PeriodKind,
    SchoolCalendar,
    TrustPeriod,
)
from changedesk.schedule.services import period_errors, teaching_day_errors, window_errors
from changedesk.schedule.slots import CHANGE_KIND_CHOICES, ChangeKind

WEEKDAY_CHOICES = [(str(i), WEEKDAYS[i]) for i in range(7)]


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self) -> None:
        super().__init__(format="%Y-%m-%d")


class TimeInput(forms.TimeInput):
    input_type = "time"

    def __init__(self) -> None:
        super().__init__(format="%H:%M")


class WeekdaysField(forms.TypedMultipleChoiceField):
    widget = forms.CheckboxSelectMultiple

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(choices=WEEKDAY_CHOICES, coerce=int, **kwargs)


class PeriodForm(forms.Form):
    """A term, holiday, exam period, INSET day or freeze: whole days, or from a time to a time."""

    kind = forms.ChoiceField(label=_("Kind"), choices=PeriodKind.choices)
    name = forms.CharField(
        label=_("Name"), max_length=200, help_text=_("E.g. “Spring term” or “GCSE mocks”.")
    )
    first_day = forms.DateField(label=_("First day"), widget=DateInput())
    last_day = forms.DateField(
        label=_("Last day"), widget=DateInput(), help_text=_("The same as the first for one day.")
    )
    all_day = forms.BooleanField(
        label=_("Whole days"), required=False, initial=True, help_text=_("Untick to give times.")
    )
    start_time = forms.TimeField(
        label=_("Start time"),
        required=False,
        widget=TimeInput(),
        help_text=_("On the first day, if not whole days."),
    )
    end_time = forms.TimeField(
        label=_("End time"),
        required=False,
        widget=TimeInput(),
        help_text=_("On the last day, if not whole days."),
    )
    is_hard = forms.BooleanField(
        label=_("Hard freeze"),
        required=False,
        help_text=_(
            "Nothing may be approved inside a hard freeze (emergencies aside); a soft "
            "freeze needs an override reason."
        ),
    )
    notes = forms.CharField(
        label=_("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )

    def __init__(
        self,
        *args: Any,
        school: School,
        period: CalendarPeriod | TrustPeriod | None = None,
        **kw: Any,
    ):
        self.school = school
        self.period = period
        if period is not None and "initial" not in kw:
            kw["initial"] = period_initial(period, school)
        super().__init__(*args, **kw)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if "is_hard" in period_errors(data.get("kind"), None, None, data.get("is_hard")):
            self.add_error("is_hard", gettext("Only a change freeze can be hard."))
        first, last = data.get("first_day"), data.get("last_day")
        for name, day in (("first_day", first), ("last_day", last)):
            if day is not None and not sane_year(day.year):
                self.add_error(name, gettext("Choose a date between 1900 and 2999."))
                return data
        if first is None or last is None:
            return data
        tz = self.school.zone
        if data.get("all_day"):
            if last < first:
                self.add_error("last_day", gettext("The last day cannot be before the first."))
                return data
            data["starts_at"], data["ends_at"] = all_day_bounds(first, last, tz)
        else:
            start_time, end_time = data.get("start_time"), data.get("end_time")
            if start_time is None:
                self.add_error("start_time", gettext("Give a start time, or tick “Whole days”."))
            if end_time is None:
                self.add_error("end_time", gettext("Give an end time, or tick “Whole days”."))
            if start_time is None or end_time is None:
                return data
            data["starts_at"] = local_at(first, start_time, tz)
            data["ends_at"] = local_at(last, end_time, tz)
            wrong = period_errors(None, data["starts_at"], data["ends_at"], False)
            if "ends_at" in wrong:
                self.add_error("end_time", wrong["ends_at"])
        return data

    def values(self) -> dict[str, Any]:
        """What `services.create_period` and `update_period` take."""
        data = self.cleaned_data
        return {
            "kind": data["kind"],
            "name": data["name"],
            "starts_at": data["starts_at"],
            "ends_at": data["ends_at"],
            "is_hard": bool(data["is_hard"]),
            "notes": data["notes"],
        }


def period_initial(period: CalendarPeriod | TrustPeriod, school: School) -> dict[str, Any]:
    tz = school.zone
    start, end = period.starts_at.astimezone(tz), period.ends_at.astimezone(tz)
    all_day = start.time() == time(0) and end.time() == time(0)
    return {
        "kind": period.kind,
        "name": period.name,
        "first_day": start.date(),
        "last_day": (end - timedelta(days=1)).date() if all_day else end.date(),
        "all_day": all_day,
        "start_time": None if all_day else start.time(),
        "end_time": None if all_day else end.time(),
        "is_hard": period.is_hard,
        "notes": period.notes,
    }


class TeachingDayForm(forms.ModelForm[SchoolCalendar]):
    school_days = WeekdaysField(label=_("School days"), help_text=_("The days the school teaches."))

    class Meta:
        model = SchoolCalendar
        fields = ("teaching_day_start", "teaching_day_end", "school_days")
        labels = {
            "teaching_day_start": _("The teaching day starts at"),
            "teaching_day_end": _("The teaching day ends at"),
        }
        widgets = {"teaching_day_start": TimeInput(), "teaching_day_end": TimeInput()}

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        errors = teaching_day_errors(data.get("teaching_day_start"), data.get("teaching_day_end"))
        for name, message in errors.items():
            self.add_error(name, message)
        return data

    def values(self) -> dict[str, Any]:
        return {name: self.cleaned_data[name] for name in self.Meta.fields}


class MaintenanceWindowForm(forms.ModelForm[MaintenanceWindow]):
    weekdays = WeekdaysField(label=_("Days"))

    class Meta:
        model = MaintenanceWindow
        fields = ("name", "weekdays", "start_time", "end_time")
        labels = {"name": _("Name"), "start_time": _("From"), "end_time": _("Until")}
        help_texts = {
            "name": _("E.g. “Weekday evenings” or “Weekends”."),
            "end_time": _("Leave empty for midnight. An earlier time than “From” runs overnight."),
        }
        widgets = {"start_time": TimeInput(), "end_time": TimeInput()}

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        for name, message in window_errors(data.get("start_time"), data.get("end_time")).items():
            self.add_error(name, message)
        return data

    def values(self) -> dict[str, Any]:
        return {name: self.cleaned_data[name] for name in self.Meta.fields}


KIND_GUESS = "guess"


class IcsUploadForm(forms.Form):
    file = forms.FileField(
        label=_("iCalendar file (.ics)"),
        help_text=_("Exported from the school's or the local authority's calendar."),
    )
    kind = forms.ChoiceField(
        label=_("Import the events as"),
        choices=[(KIND_GUESS, _("Guess from each event's name")), *PeriodKind.choices],
        initial=KIND_GUESS,
    )

    def chosen_kind(self) -> str | None:
        kind = self.cleaned_data["kind"]
        return None if kind == KIND_GUESS else str(kind)


class ItemChoiceField(changes_forms.ItemChoiceField):
    """The RFC form's item picker (ticked boxes, `_item_picker.html`), naming each item's
    school when the person has several."""

    widget = forms.CheckboxSelectMultiple
    show_school = False

    def clean(self, value: Any) -> Any:
        # An id no database column can hold is simply not one of the choices (not a 500).
        for pk in value if isinstance(value, list | tuple) else ():
            text = str(pk)
            if not (text.isascii() and text.isdecimal()) or len(text) > 18:
                raise forms.ValidationError(
                    self.error_messages["invalid_pk_value"],
                    code="invalid_pk_value",
                    params={"pk": pk},
                )
        return super().clean(value)

    def label_from_instance(self, obj: Any) -> str:
        item: ConfigurationItem = obj
        label = super().label_from_instance(item)
        return f"{label} ({item.school.name})" if self.show_school else label


class SlotsForm(forms.Form):
    """What the slot finder needs: the school, how long, the kind of change (which sets the
    lead time), the items touched, from when."""

    school = forms.ModelChoiceField(
        label=_("School"), queryset=School.objects.none(), to_field_name="slug"
    )
    minutes = forms.IntegerField(
        label=_("How long (minutes)"), min_value=15, max_value=7 * 24 * 60, initial=60
    )
    type = forms.ChoiceField(
        label=_("Kind of change"),
        choices=CHANGE_KIND_CHOICES,
        initial=ChangeKind.NORMAL.value,
        required=False,
        widget=forms.RadioSelect,
        help_text=_(
            "Sets how far ahead slots start: a normal change needs time to be approved "
            "and for its users to be told."
        ),
    )
    items = ItemChoiceField(
        label=_("Configuration items it touches"),
        queryset=ConfigurationItem.objects.none(),
        required=False,
        help_text=_("Slots avoid other changes to these."),
    )
    after = forms.DateField(
        label=_("From"),
        required=False,
        widget=DateInput(),
        help_text=_("Leave empty for the soonest the school's lead time allows."),
    )
    change = forms.IntegerField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, schools: list[School], **kw: Any) -> None:
        super().__init__(*args, **kw)
        school_field = self.fields["school"]
        assert isinstance(school_field, forms.ModelChoiceField)
        school_field.queryset = School.objects.filter(pk__in=[s.pk for s in schools])
        if len(schools) == 1:
            school_field.initial = schools[0].slug
        items_field = self.fields["items"]
        assert isinstance(items_field, ItemChoiceField)
        items_field.queryset = (
            ConfigurationItem.objects.filter(school__in=[s.pk for s in schools], is_active=True)
            .select_related("school")
            .order_by("school__name", "name", "id")
        )
        items_field.show_school = len(schools) > 1

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        after = data.get("after")
        if after is not None and not sane_year(after.year + 1):
            self.add_error("after", gettext("Choose a date between 1900 and 2998."))
        school = data.get("school")
        if school is not None and any(i.school_id != school.pk for i in data.get("items", [])):
            self.add_error("items", gettext("Choose items of the school the change is in."))
        return data

    def kind(self) -> ChangeKind:
        return ChangeKind(self.cleaned_data.get("type") or ChangeKind.NORMAL)

    def after_instant(self) -> datetime | None:
        after = self.cleaned_data.get("after")
        school: School = self.cleaned_data["school"]
        return local_at(after, time(0), school.zone) if after else None


class FeedTokenForm(forms.Form):
    """Which feed to make a link to, from the feeds page: the services check the rest."""

    kind = forms.ChoiceField(choices=FeedKind.choices)
    school = forms.SlugField(required=False, max_length=60)
