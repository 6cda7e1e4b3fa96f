"""Forms of the release pages. The rules live in `services.releases` and `workflow`; these
collect input and put the errors those raise next to the fields they concern."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from changedesk.accounts.choices import Role
from changedesk.accounts.models import School, User
from changedesk.changes.choices import TERMINAL_STATES
from changedesk.changes.forms import DateTimeLocalInput, PersonChoiceField
from changedesk.changes.models import Change
from changedesk.releases import workflow
from changedesk.releases.models import Build, Release, ReleaseChange

# The most RFCs offered to add (the newest open ones of the school).
MOST_OFFERED = 200


class ReleaseForm(forms.Form):
    """A release's title, description, manager and planned window (in the school's zone)."""

    title = forms.CharField(
        max_length=200, label=_("Title"), help_text=_("e.g. “Summer 2027 refresh”.")
    )
    description = forms.CharField(
        required=False,
        max_length=10000,
        label=_("Description"),
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("What it brings, and why."),
    )
    manager = PersonChoiceField(
        queryset=User.objects.none(),
        required=False,
        label=_("Manager"),
        help_text=_("A release manager of the school."),
    )
    planned_start = forms.DateTimeField(
        required=False,
        widget=DateTimeLocalInput(),
        label=_("Installed from"),
        help_text=_("In the school's time zone."),
    )
    planned_end = forms.DateTimeField(
        required=False, widget=DateTimeLocalInput(), label=_("Installed until")
    )

    def __init__(
        self, *args: Any, school: School, release: Release | None = None, **kwargs: Any
    ) -> None:
        if release is not None and not args:
            kwargs.setdefault(
                "initial",
                {
                    "title": release.title,
                    "description": release.description,
                    "manager": release.manager_id,
                    "planned_start": release.planned_start,
                    "planned_end": release.planned_end,
                },
            )
        super().__init__(*args, **kwargs)
        field: Any = self.fields["manager"]
        field.queryset = school.holders_of(Role.RELEASE_MANAGER).order_by("first_name", "pk")

    def values(self) -> dict[str, Any]:
        return dict(self.cleaned_data)


class ActForm(forms.Form):
    """A step of the release: the action, and what it carries."""

    action = forms.ChoiceField(choices=[(a, a) for a in workflow.ACTIONS])
    reason = forms.CharField(
        required=False,
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 2}),
        label=_("Why it is cancelled"),
    )
    comment = forms.CharField(
        required=False,
        max_length=5000,
        label=_("Comment"),
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class BuildChoiceForm(forms.Form):
    """Add a build of the school to the release, or take one out."""

    build = forms.ModelChoiceField(queryset=Build.objects.none(), empty_label=None)

    def __init__(self, *args: Any, release: Release, adding: bool, **kwargs: Any) -> None:
        # Two of a kind on one page: their ids differ (add-…, remove-…).
        kwargs.setdefault("auto_id", ("add-" if adding else "remove-") + "%s")
        super().__init__(*args, **kwargs)
        field: Any = self.fields["build"]
        inside = release.builds.values("pk")
        if adding:
            field.queryset = (
                Build.objects.filter(school_id=release.school_id, is_active=True)
                .exclude(pk__in=inside)
                .order_by("name")
            )
        else:
            field.queryset = Build.objects.filter(pk__in=inside).order_by("name")
        field.label = gettext("Build to add") if adding else gettext("Build to take out")


class ChangeChoiceForm(forms.Form):
    """Add an open RFC of the school (in no release) to the release, or take one out."""

    change = forms.ModelChoiceField(queryset=Change.objects.none(), empty_label=None)

    def __init__(self, *args: Any, release: Release, adding: bool, **kwargs: Any) -> None:
        # Two of a kind on one page: their ids differ (add-…, remove-…).
        kwargs.setdefault("auto_id", ("add-" if adding else "remove-") + "%s")
        super().__init__(*args, **kwargs)
        field: Any = self.fields["change"]
        linked = ReleaseChange.objects.filter(school_id=release.school_id)
        if adding:
            ids = list(
                Change.objects.filter(school_id=release.school_id)
                .exclude(state__in=TERMINAL_STATES)
                .exclude(pk__in=linked.values("change_id"))
                .order_by("-created_at", "-id")
                .values_list("pk", flat=True)[:MOST_OFFERED]
            )
            field.queryset = Change.objects.filter(pk__in=ids).order_by("-created_at", "-id")
        else:
            field.queryset = Change.objects.filter(
                pk__in=linked.filter(release=release).values("change_id")
            ).order_by("id")
        field.label = gettext("RFC to add") if adding else gettext("RFC to take out")
        field.label_from_instance = lambda c: f"{c.reference}: {c.title}"
