"""Forms for the RFC pages. The rules live in `services` and `workflow`; these only collect
input and put the errors those raise next to the fields they concern."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django import forms
from django.db.models import Q, QuerySet
from django.utils.translation import gettext, gettext_lazy

from changedesk.accounts import permissions
from changedesk.accounts.choices import Role
from changedesk.accounts.models import School, User
from changedesk.changes import extensions
from changedesk.changes.choices import Action, Outcome
from changedesk.changes.items import MAX_NOTE, items_editable
from changedesk.changes.models import Change, ChangeItem
from changedesk.changes.services import EDITABLE_FIELDS, PERSON_ROLES, default_people
from changedesk.changes.workflow import editable_fields
from changedesk.configuration.models import ConfigurationItem
from changedesk.lib.forms import IdsInRange


class PersonChoiceField(forms.ModelChoiceField[User]):
    def label_from_instance(self, obj: Any) -> str:
        user: User = obj
        return f"{user.display_name} ({user.job_title})" if user.job_title else user.display_name


class DateTimeLocalInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self) -> None:
        super().__init__(format="%Y-%m-%dT%H:%M")


class ItemChoiceField(IdsInRange, forms.ModelMultipleChoiceField[ConfigurationItem]):
    def label_from_instance(self, obj: Any) -> str:
        item: ConfigurationItem = obj
        label = f"{item.name} ({item.identifier})" if item.identifier else item.name
        return label if item.is_active else gettext("%(item)s (retired)") % {"item": label}


TEXTAREA_ROWS = {"description": 3, "reason": 3, "emergency_justification": 2, "details": 6}


class ChangeForm(forms.ModelForm[Change]):
    """The RFC form. Only the fields the originator may still change are offered.

    `items` is not a field of the RFC: the items it touches are saved with
    `changes.items.set_change_items`, and may change wherever the plan may.
    """

    items = ItemChoiceField(
        queryset=ConfigurationItem.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label=gettext_lazy("Configuration items it touches"),
        help_text=gettext_lazy(
            "The services, servers, devices and software this change will touch."
        ),
    )

    class Meta:
        model = Change
        fields = list(EDITABLE_FIELDS)
        field_classes = {name: PersonChoiceField for name in PERSON_ROLES}
        widgets = {
            "planned_start": DateTimeLocalInput(),
            "planned_end": DateTimeLocalInput(),
            **{name: forms.Textarea(attrs={"rows": rows}) for name, rows in TEXTAREA_ROWS.items()},
        }
        labels = {
            "emergency_justification": gettext_lazy("Emergency justification"),
            "planned_start": gettext_lazy("Planned start"),
            "planned_end": gettext_lazy("Planned end"),
        }
        help_texts = {
            "title": gettext_lazy(
                "A short name people will recognise, e.g. “Replace the ICT suite 2 switch”."
            ),
            "reason": gettext_lazy("Why it is needed: the problem it solves or the need it meets."),
            "details": gettext_lazy("The steps, in order, as the implementer will follow them."),
            "impact": gettext_lazy(
                "Who and what will be affected, and for how long (e.g. downtime)."
            ),
            "fallback_plan": gettext_lazy("How to put things back if it goes wrong."),
            "is_emergency": gettext_lazy("Only when it cannot wait for the normal approvals."),
            "planned_start": gettext_lazy("In the school's time zone."),
        }

    def __init__(
        self, *args: Any, school: School, originator: User, change: Change | None = None, **kw: Any
    ) -> None:
        kw["instance"] = change
        super().__init__(*args, **kw)
        self.school = school
        allowed = editable_fields(change) if change is not None else frozenset(EDITABLE_FIELDS)
        for name in list(self.fields):
            if name not in allowed and name != "items":
                del self.fields[name]
        self.extension_names = []
        for extra in extensions.change_fields():
            if change is None or extra.editable(change):
                self.fields[extra.name] = extra.form_field(school, change)
                if change is not None:
                    self.fields[extra.name].initial = extra.value(change)
                self.extension_names.append(extra.name)
        if change is not None and not items_editable(change):
            del self.fields["items"]
        else:
            self._set_up_items(school, change)
        for name, role in PERSON_ROLES.items():
            if name in self.fields:
                field = self.fields[name]
                assert isinstance(field, forms.ModelChoiceField)
                field.queryset = _holders(school, role, originator, name)
                field.empty_label = gettext("— not chosen yet —")
        if change is None:
            # The sensible default: the sole holder of each role, as the API does.
            for name, person in default_people(school, originator).items():
                if name in self.fields and person is not None:
                    self.fields[name].initial = person.pk
        for name in ("title", "description", "reason"):
            if name in self.fields:
                self.fields[name].required = True

    def _set_up_items(self, school: School, change: Change | None) -> None:
        field = self.fields["items"]
        assert isinstance(field, forms.ModelMultipleChoiceField)
        # The school's items in use, and any retired one the RFC already names.
        named = Q(change_links__change=change) if change is not None else Q(pk__in=[])
        field.queryset = (
            ConfigurationItem.objects.filter(school=school)
            .filter(Q(is_active=True) | named)
            .distinct()
            .order_by("name", "id")
        )
        if change is not None:
            field.initial = list(
                ChangeItem.objects.filter(change=change).values_list("item_id", flat=True)
            )

    def _post_clean(self) -> None:
        # The model's own validation runs in the service, with the rules in one place.
        pass

    def changed_values(self) -> dict[str, Any]:
        """The RFC's own fields, for `services.create_change` and `update_change`."""
        return {
            name: self.cleaned_data[name]
            for name in self.fields
            if name in self.cleaned_data and name != "items" and name not in self.extension_names
        }

    def extension_values(self) -> dict[str, Any]:
        """What the apps' fields were given, for `extensions.save_change_fields`."""
        return {name: self.cleaned_data[name] for name in self.extension_names}

    @property
    def extension_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in self.extension_names]

    def chosen_items(self) -> list[ConfigurationItem] | None:
        """The items chosen, or None when the form does not offer them."""
        if "items" not in self.fields:
            return None
        return list(self.cleaned_data.get("items") or [])


def _holders(school: School, role: str, originator: User, field_name: str) -> QuerySet[User]:
    people = school.holders_of(role).order_by("first_name", "last_name", "username")
    if not permissions.originator_may_be(role, school):
        people = people.exclude(pk=originator.pk)
    return people


class SchoolChoiceForm(forms.Form):
    school = forms.ModelChoiceField(queryset=School.objects.none(), empty_label=None)

    def __init__(self, *args: Any, user: User, **kw: Any) -> None:
        super().__init__(*args, **kw)
        field = self.fields["school"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = School.objects.filter(
            memberships__user=user, memberships__roles__role=Role.ORIGINATOR
        ).distinct()
        field.to_field_name = "slug"


YES_NO = [("yes", gettext_lazy("Yes")), ("no", gettext_lazy("No"))]


class ActionForm(forms.Form):
    """One workflow action from the RFC page: the action, a comment, and what it carries."""

    action = forms.CharField()
    comment = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}))
    version = forms.IntegerField(required=False, widget=forms.HiddenInput)
    outcome = forms.ChoiceField(
        choices=[("", gettext_lazy("— choose —")), *Outcome.choices], required=False
    )
    records_updated = forms.ChoiceField(
        label=gettext_lazy("Have the configuration records been updated?"),
        choices=YES_NO,
        required=False,
        widget=forms.RadioSelect,
    )
    caused_incidents = forms.ChoiceField(
        label=gettext_lazy("Did the change cause any incidents?"),
        choices=YES_NO,
        required=False,
        widget=forms.RadioSelect,
    )
    users_informed = forms.ChoiceField(
        label=gettext_lazy("Were the users told beforehand?"),
        choices=YES_NO,
        required=False,
        widget=forms.RadioSelect,
    )

    def __init__(self, *args: Any, items: Sequence[ConfigurationItem] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # What the apps add to a decision (e.g. why approve despite the conflicts).
        for extra in extensions.action_fields():
            self.fields[extra.name] = extra.form_field()
        # On closing (FITS step 9): what changed on each item the RFC names.
        for item in items:
            self.fields[f"item_{item.pk}"] = forms.CharField(
                label=gettext("What changed on %(item)s") % {"item": item.name},
                required=False,
                max_length=MAX_NOTE,
                widget=forms.Textarea(attrs={"rows": 2}),
            )

    @property
    def item_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in self.fields if name.startswith("item_")]

    def item_changes(self) -> dict[str, str]:
        notes: dict[str, str] = {}
        for name in self.fields:
            text = (self.cleaned_data.get(name) or "") if name.startswith("item_") else ""
            if text.strip():
                notes[name.removeprefix("item_")] = text.strip()
        return notes

    def payload(self, action: str) -> dict[str, Any]:
        """What the action carries, for `workflow.perform`'s `data`."""
        data: dict[str, Any] = {}
        for extra in extensions.action_fields():
            value = self.cleaned_data.get(extra.name)
            if isinstance(value, str):
                value = value.strip()
            if value not in (None, ""):
                data[extra.name] = value
        if self.cleaned_data.get("outcome"):
            data["outcome"] = self.cleaned_data["outcome"]
        for name in ("records_updated", "caused_incidents", "users_informed"):
            answer = self.cleaned_data.get(name)
            if answer in ("yes", "no"):
                data[name] = answer == "yes"
        if action == Action.CLOSE:
            data["item_changes"] = self.item_changes()
        return data
