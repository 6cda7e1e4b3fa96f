"""Forms of the library's pages. They parse and offer only the school's choices; the rules
(who may, what a checkout needs, the book's invariants) live in `services.library`."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from changedesk.accounts.models import School, User
from changedesk.changes.choices import TERMINAL_STATES
from changedesk.changes.models import Change
from changedesk.lib.forms import IdsInRange
from changedesk.releases.choices import OPEN_RELEASE_STATES
from changedesk.releases.models import Licence, Release, Software
from changedesk.releases.services import library as library_services

# The most open RFCs and releases offered to take a piece out for (the newest).
OFFERED = 100
SOFTWARE_FIELDS = ["title", "vendor", "version", "kind", "location", "checksum", "licence",
                   "notes", "is_active"]  # fmt: skip


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self) -> None:
        super().__init__(format="%Y-%m-%d")


class LicenceChoiceField(IdsInRange, forms.ModelChoiceField[Licence]):
    pass


class SoftwareForm(forms.ModelForm[Software]):
    licence = LicenceChoiceField(
        queryset=Licence.objects.none(),
        required=False,
        label=_("Licence"),
        empty_label=_("None"),
        help_text=_("The entry of the licence log it is covered by."),
    )

    class Meta:
        model = Software
        fields = SOFTWARE_FIELDS
        labels = {
            "title": _("Title"),
            "vendor": _("Vendor"),
            "version": _("Version"),
            "kind": _("Kind"),
            "location": _("Location"),
            "checksum": _("Checksum"),
            "notes": _("Notes"),
            "is_active": _("In the library (untick to withdraw it)"),
        }
        help_texts = {
            "location": _("Where it is: a shelf, a share path or an address."),
            "checksum": _("e.g. sha256:9f86d081… of the file or image."),
            "is_active": _("Withdrawn pieces stay in history."),
        }
        widgets = {"notes": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args: Any, school: School, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["licence"].queryset = Licence.objects.filter(school=school).order_by(  # type: ignore[attr-defined]
            "product", "id"
        )
        if not self.instance.pk:
            self.fields["is_active"].initial = True

    def values(self) -> dict[str, Any]:
        return {n: self.cleaned_data[n] for n in SOFTWARE_FIELDS}

    def _post_clean(self) -> None:
        """The service checks the piece (and its checksum) and saves it."""


class PersonChoiceField(IdsInRange, forms.ModelChoiceField[User]):
    def label_from_instance(self, obj: Any) -> str:
        person: User = obj
        return person.get_full_name() or person.username


class ChangeChoiceField(IdsInRange, forms.ModelChoiceField[Change]):
    pass


class ReleaseChoiceField(IdsInRange, forms.ModelChoiceField[Release]):
    pass


class TakeOutForm(forms.Form):
    taken_by = PersonChoiceField(
        queryset=User.objects.none(), label=_("Taken by"), empty_label=None
    )
    due_back = forms.DateField(label=_("Due back"), widget=DateInput(), help_text=_("A day."))
    purpose = forms.CharField(
        required=False,
        max_length=300,
        label=_("What for"),
        help_text=_("e.g. “Reimage ICT suite”."),
    )
    change = ChangeChoiceField(
        queryset=Change.objects.none(),
        required=False,
        label=_("For the RFC"),
        empty_label=_("None"),
    )
    release = ReleaseChoiceField(
        queryset=Release.objects.none(),
        required=False,
        label=_("For the release"),
        empty_label=_("None"),
    )

    def __init__(self, *args: Any, school: School, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Only those who may take a piece out (the service refuses anyone else).
        people = library_services.takers(school)
        self.fields["taken_by"].queryset = people.order_by("first_name", "last_name", "pk")  # type: ignore[attr-defined]
        self.fields["taken_by"].initial = user.pk
        changes = (
            Change.objects.filter(school=school)
            .exclude(state__in=TERMINAL_STATES)
            .order_by("-created_at", "-id")
            .values_list("pk", flat=True)[:OFFERED]
        )
        self.fields["change"].queryset = Change.objects.filter(pk__in=list(changes)).order_by(  # type: ignore[attr-defined]
            "-created_at", "-id"
        )
        releases = (
            Release.objects.filter(school=school, state__in=OPEN_RELEASE_STATES)
            .order_by("-created_at", "-id")
            .values_list("pk", flat=True)[:OFFERED]
        )
        self.fields["release"].queryset = Release.objects.filter(pk__in=list(releases)).order_by(  # type: ignore[attr-defined]
            "-created_at", "-id"
        )

    def values(self) -> dict[str, Any]:
        return {n: self.cleaned_data[n] for n in ("taken_by", "due_back", "purpose", "change",
                                                  "release")}  # fmt: skip


class ReturnForm(forms.Form):
    notes = forms.CharField(
        required=False,
        max_length=5000,
        label=_("Notes on its return"),
        widget=forms.Textarea(attrs={"rows": 2}),
    )
