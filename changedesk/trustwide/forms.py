"""The forms of the trust-wide change pages: raising one change for many schools, copying
a plan to them, and acting on many. The rules live in `services`, and in the RFC's own
services and workflow, which put their refusals on these forms."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from changedesk.accounts.models import School
from changedesk.changes.choices import Action, Outcome
from changedesk.changes.forms import TEXTAREA_ROWS, DateTimeLocalInput
from changedesk.schedule.calendar import sane_year
from changedesk.trustwide.models import Child
from changedesk.trustwide.services import Placement

WINDOW_CHOICES = [
    ("each", _("Each school's next safe slot")),
    ("same", _("The same window in every school")),
    ("later", _("Plan the windows later")),
]


def _text(label: Any, name: str, required: bool = True, help_text: Any = "") -> forms.CharField:
    rows = TEXTAREA_ROWS.get(name, 3)
    return forms.CharField(
        label=label,
        required=required,
        help_text=help_text,
        widget=forms.Textarea(attrs={"rows": rows}),
    )


class WindowFields(forms.Form):
    """Where each school's window goes: its own next safe slot, one window for all, or
    none yet. Checked here only for what is missing; the RFC's services check the rest."""

    window = forms.ChoiceField(
        label=_("Windows"), choices=WINDOW_CHOICES, initial="each", widget=forms.RadioSelect
    )
    minutes = forms.IntegerField(
        label=_("How long it takes (minutes)"),
        min_value=15,
        max_value=7 * 24 * 60,
        required=False,
        help_text=_(
            "Each school gets the first slot of this length free of its lessons, "
            "exams, freezes and other changes, after its lead time."
        ),
    )
    after = forms.DateTimeField(
        label=_("Not before"),
        required=False,
        widget=DateTimeLocalInput(),
        help_text=_("Optional: search from this time (the schools' time zone)."),
    )
    planned_start = forms.DateTimeField(
        label=_("Planned start"), required=False, widget=DateTimeLocalInput()
    )
    planned_end = forms.DateTimeField(
        label=_("Planned end"), required=False, widget=DateTimeLocalInput()
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        for name in ("after", "planned_start", "planned_end"):
            when = data.get(name)
            if when is not None and not sane_year(when.year + 1):
                self.add_error(name, gettext("Choose a time between 1900 and 2998."))
        window = data.get("window")
        if window == "each" and not data.get("minutes"):
            self.add_error("minutes", gettext("Say how long it takes, to find each school's slot."))
        if window == "same":
            for name in ("planned_start", "planned_end"):
                if not data.get(name):
                    self.add_error(name, gettext("Give the window's start and end."))
        return data

    def placement(self) -> Placement:
        data = self.cleaned_data
        if data["window"] == "each":
            return Placement(minutes=data["minutes"], after=data.get("after"))
        if data["window"] == "same":
            return Placement(start=data["planned_start"], end=data["planned_end"])
        return Placement()


class RaiseForm(WindowFields):
    """One change for many of a trust's schools."""

    all_schools = forms.BooleanField(
        label=_("All the trust's schools"),
        required=False,
        help_text=_("Including any school that joins before you raise it."),
    )
    schools = forms.ModelMultipleChoiceField(
        label=_("Or choose the schools"),
        queryset=School.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        to_field_name="slug",
    )
    title = forms.CharField(
        label=_("Name"),
        max_length=200,
        help_text=_(
            "A short name people will recognise, e.g. “Block social media on the guest Wi-Fi”."
        ),
    )
    description = _text(_("Brief description"), "description")
    reason = _text(
        _("Reason for the change"),
        "reason",
        help_text=_("Why it is needed: each school's approvers read it before they decide."),
    )
    is_emergency = forms.BooleanField(
        label=_("Emergency change"),
        required=False,
        help_text=_("Only when it cannot wait for the normal approvals."),
    )
    emergency_justification = _text(_("Why it cannot wait"), "emergency_justification", False)
    details = _text(
        _("Full details of the change"),
        "details",
        False,
        _("The steps, in order. You can also plan later and copy the plan to every school."),
    )
    impact = _text(_("Impact on ICT services and users"), "impact", False)
    risk = _text(_("Risk of failure and impact of failure"), "risk", False)
    fallback_plan = _text(_("Fallback plan"), "fallback_plan", False)
    submit_now = forms.BooleanField(
        label=_("Submit each school's RFC for initial approval straight away"),
        required=False,
        initial=True,
        help_text=_(
            "A school where something is missing (e.g. no initial approver) is left "
            "as a draft, and you are told which."
        ),
    )

    field_order = [
        "all_schools", "schools", "title", "description", "reason", "is_emergency",
        "emergency_justification", "details", "impact", "risk", "fallback_plan", "window",
        "minutes", "after", "planned_start", "planned_end", "submit_now",
    ]  # fmt: skip

    def __init__(self, *args: Any, schools: list[School], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["schools"]
        assert isinstance(field, forms.ModelMultipleChoiceField)
        field.queryset = School.objects.filter(pk__in=[s.pk for s in schools]).order_by("name")

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if not data.get("all_schools") and not data.get("schools"):
            self.add_error("schools", gettext("Choose the schools, or all the trust's schools."))
        return data

    def values(self) -> dict[str, Any]:
        """The RFC fields every school's RFC is raised with."""
        names = (
            "title", "description", "reason", "is_emergency", "emergency_justification",
            "details", "impact", "risk", "fallback_plan",
        )  # fmt: skip
        return {name: self.cleaned_data[name] for name in names if self.cleaned_data[name] != ""}


class ChildrenField(forms.MultipleChoiceField):
    """Which of the parent's schools an action is for (by slug)."""

    widget = forms.CheckboxSelectMultiple


class CopyPlanForm(WindowFields):
    """One plan copied to the chosen schools' RFCs."""

    schools = ChildrenField(label=_("Schools"))
    details = _text(_("Full details of the change"), "details")
    impact = _text(_("Impact on ICT services and users"), "impact")
    risk = _text(_("Risk of failure and impact of failure"), "risk")
    fallback_plan = _text(_("Fallback plan"), "fallback_plan")
    comment = forms.CharField(label=_("Note for the history (optional)"), required=False)

    field_order = [
        "details", "impact", "risk", "fallback_plan", "window", "minutes", "after",
        "planned_start", "planned_end", "comment", "schools",
    ]  # fmt: skip

    def __init__(self, *args: Any, choices: list[tuple[str, str]], **kwargs: Any) -> None:
        kwargs.setdefault("prefix", "plan")
        super().__init__(*args, **kwargs)
        self.fields["schools"].choices = choices  # type: ignore[attr-defined]

    def plan(self) -> dict[str, Any]:
        return {n: self.cleaned_data[n] for n in ("details", "impact", "risk", "fallback_plan")}


BULK_ACTIONS = [
    (Action.SUBMIT.value, _("Submit for initial approval")),
    (Action.SUBMIT_PLAN.value, _("Submit the plan")),
    (Action.RECORD_OUTCOME.value, _("Record the outcome")),
    (Action.CLOSE.value, _("Close (records updated)")),
    (Action.WITHDRAW.value, _("Withdraw")),
]


class BulkActionForm(forms.Form):
    """One action taken on the chosen schools' RFCs, each through the workflow."""

    schools = ChildrenField(label=_("Schools"))
    action = forms.ChoiceField(label=_("Action"), choices=BULK_ACTIONS)
    outcome = forms.ChoiceField(
        label=_("Outcome (when recording it)"),
        # The outcomes' labels are the catalogue's (lib/labels.py).
        choices=[("", "—"), *((value, _(label)) for value, label in Outcome.choices)],
        required=False,
    )
    caused_incidents = forms.ChoiceField(
        label=_("Did it cause any incidents? (when closing)"),
        choices=[("", "—"), ("no", _("No")), ("yes", _("Yes"))],
        required=False,
    )
    users_informed = forms.ChoiceField(
        label=_("Were the users told? (when closing)"),
        choices=[("", "—"), ("yes", _("Yes")), ("no", _("No"))],
        required=False,
    )
    comment = forms.CharField(label=_("Comment (optional)"), required=False)

    def __init__(self, *args: Any, choices: list[tuple[str, str]], **kwargs: Any) -> None:
        kwargs.setdefault("prefix", "bulk")
        super().__init__(*args, **kwargs)
        self.fields["schools"].choices = choices  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("action") == Action.RECORD_OUTCOME and not data.get("outcome"):
            self.add_error("outcome", gettext("Choose the outcome to record."))
        if data.get("action") == Action.CLOSE:
            for name in ("caused_incidents", "users_informed"):
                if not data.get(name):
                    self.add_error(name, gettext("Answer yes or no to close."))
        return data

    def payload(self) -> dict[str, Any]:
        """What the action carries, as the workflow reads it."""
        data = self.cleaned_data
        if data["action"] == Action.RECORD_OUTCOME:
            return {"outcome": data["outcome"]}
        if data["action"] == Action.CLOSE:
            return {
                "records_updated": True,
                "caused_incidents": data["caused_incidents"] == "yes",
                "users_informed": data["users_informed"] == "yes",
            }
        return {}


def child_choices(children: list[Child]) -> list[tuple[str, str]]:
    """The schools of a parent's children, for the forms (slug, "School — RFC-0003")."""
    return [(c.school.slug, f"{c.school.name} — {c.change.reference}") for c in children]
