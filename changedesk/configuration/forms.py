"""Forms for the item pages. The rules live in `services`; these collect input and show errors."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from changedesk.accounts.models import School, User
from changedesk.configuration.importer import MAX_BYTES, MAX_ROWS
from changedesk.configuration.models import ConfigurationItem
from changedesk.configuration.services import school_members


class OwnerChoiceField(forms.ModelChoiceField[User]):
    def label_from_instance(self, obj: Any) -> str:
        user: User = obj
        return f"{user.display_name} ({user.username})"


class ItemForm(forms.ModelForm[ConfigurationItem]):
    class Meta:
        model = ConfigurationItem
        fields = ["name", "kind", "identifier", "location", "owner", "users_affected", "notes"]
        labels = {
            "name": _("Name"),
            "kind": _("Kind"),
            "identifier": _("Identifier or asset tag"),
            "location": _("Location"),
            "owner": _("Owner"),
            "users_affected": _("Users who depend on it"),
            "notes": _("Notes"),
        }
        field_classes = {"owner": OwnerChoiceField}
        widgets = {"notes": forms.Textarea(attrs={"rows": 4})}
        help_texts = {
            "name": _("What people call it, e.g. “ICT suite 2, 30 PCs” or “MIS server”."),
            "identifier": _("An asset tag or hostname; unique in the school. Optional."),
            "location": _("Where it is, e.g. “Server room” or “Block B, room 12”."),
            "users_affected": _("Roughly how many people use it; 0 if unsure."),
        }

    def __init__(self, *args: Any, school: School, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.school = school
        owner = self.fields["owner"]
        assert isinstance(owner, forms.ModelChoiceField)
        owner.queryset = school_members(school)
        owner.empty_label = gettext("— no one named —")
        users = self.fields["users_affected"]
        users.required = False
        users.widget.attrs.update({"min": 0})

    def _post_clean(self) -> None:
        # The model's own validation runs in the service, with the rules in one place.
        pass

    def values(self) -> dict[str, Any]:
        values = {n: self.cleaned_data[n] for n in self.fields if n in self.cleaned_data}
        if values.get("users_affected") is None:
            values["users_affected"] = 0
        return values


class ImportForm(forms.Form):
    file = forms.FileField(
        label=_("CSV file"),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv"}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["file"].help_text = gettext(
            "UTF-8 CSV, at most %(megabytes)s MB (%(rows)s rows), with the column names in the "
            "first row."
        ) % {"megabytes": MAX_BYTES // (1024 * 1024), "rows": f"{MAX_ROWS:,}"}
