"""The licence log's forms: a licence, and giving it to a holder."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from changedesk.accounts.models import School, User
from changedesk.configuration.models import ConfigurationItem
from changedesk.lib.forms import IdsInRange
from changedesk.releases.models import Licence
from changedesk.releases.services.licences import LICENCE_FIELDS

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class LicenceForm(forms.ModelForm[Licence]):
    class Meta:
        model = Licence
        fields = list(LICENCE_FIELDS)
        labels = {
            "product": _("Product"),
            "kind": _("Kind"),
            "seats": _("Seats"),
            "supplier": _("Supplier"),
            "notes": _("Notes"),
            "bought_on": _("Bought on"),
            "expires_on": _("Expires on"),
            "order_reference": _("Order reference"),
            "notice_days": _("Warn this many days before it expires"),
            "is_active": _("In use (untick when it has lapsed)"),
        }
        help_texts = {
            "seats": _("How many devices or people it covers. Leave blank for a site licence."),
            "order_reference": _("The purchase order or invoice: an import matches on it."),
            "notice_days": _("How many days before it expires to warn."),
            "is_active": _("Lapsed licences stay in the log."),
        }
        widgets = {
            "bought_on": DATE,
            "expires_on": DATE,
            "notes": forms.Textarea(attrs={"rows": 3}),
        }

    def values(self) -> dict[str, Any]:
        return {n: self.cleaned_data[n] for n in LICENCE_FIELDS}

    def validate_unique(self) -> None:
        """The service checks the order reference is the log's only one for the product."""

    def _post_clean(self) -> None:
        """The service checks the licence (with the messages the API gives too)."""


class ItemChoiceField(IdsInRange, forms.ModelChoiceField[ConfigurationItem]):
    pass


class MemberChoiceField(IdsInRange, forms.ModelChoiceField[User]):
    def label_from_instance(self, obj: User) -> str:
        return f"{obj.get_full_name() or obj.username} ({obj.username})"


class AssignForm(forms.Form):
    """One holder: an item, a member or a person's name (the service checks just one)."""

    item = ItemChoiceField(
        queryset=ConfigurationItem.objects.none(), required=False, label=_("An item (device)")
    )
    user = MemberChoiceField(queryset=User.objects.none(), required=False, label=_("A member"))
    person = forms.CharField(
        required=False,
        max_length=200,
        label=_("Or a person's name"),
        help_text=_("Someone who does not sign in to changedesk."),
    )

    def __init__(self, *args: Any, school: School, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        item = self.fields["item"]
        user = self.fields["user"]
        assert isinstance(item, forms.ModelChoiceField)
        assert isinstance(user, forms.ModelChoiceField)
        item.queryset = ConfigurationItem.objects.filter(school=school, is_active=True).order_by(
            "name", "id"
        )
        user.queryset = User.objects.filter(is_active=True, memberships__school=school).order_by(
            "first_name", "last_name", "username"
        )

    def values(self) -> dict[str, Any]:
        return {n: self.cleaned_data[n] for n in ("item", "user", "person") if self.cleaned_data[n]}
