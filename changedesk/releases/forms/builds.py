"""Forms of the build pages: a build, a version of its procedure (components as rows, steps
and criteria one per line), a decision, starting an installation and the install build
checklist. They parse and offer only the school's choices; the rules live in
`releases.services.builds`."""

from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import Q
from django.utils.translation import gettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from changedesk.changes.choices import TERMINAL_STATES
from changedesk.changes.models import Change
from changedesk.configuration.models import ConfigurationItem, ItemKind
from changedesk.lib.forms import IdsInRange
from changedesk.releases.choices import OPEN_RELEASE_STATES, OPEN_REQUEST_STATES, CriterionResult
from changedesk.releases.models import (
    Build,
    BuildVersion,
    Installation,
    InstallRequest,
    Release,
    Software,
)

# How a withdrawn piece the version still names is shown among the choices.
WITHDRAWN = "(withdrawn)"
# Blank component rows offered below the version's own (no script adds rows).
BLANK_COMPONENT_ROWS = 3
# The most open RFCs offered to link an installation to (the newest).
OFFERED_CHANGES = 100


class RowChoiceField(IdsInRange, forms.ModelChoiceField[Any]):
    pass


class ItemField(RowChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        item: ConfigurationItem = obj
        return f"{item.name} ({item.identifier})" if item.identifier else item.name


class BuildForm(forms.Form):
    name = forms.CharField(
        max_length=200, label=_("Name"), help_text=_("e.g. “Curriculum laptop image 2027”.")
    )
    service = ItemField(
        queryset=ConfigurationItem.objects.none(),
        required=False,
        label=_("Service"),
        empty_label=_("(no service)"),
        help_text=_("The service this build provides."),
    )
    description = forms.CharField(
        required=False, label=_("Description"), widget=forms.Textarea(attrs={"rows": 3})
    )
    is_active = forms.BooleanField(required=False, initial=True, label=_("In use"))

    def __init__(self, *args: Any, school_id: int, build: Build | None = None, **kwargs: Any):
        if build is not None and "initial" not in kwargs:
            kwargs["initial"] = {
                "name": build.name,
                "service": build.service_id,
                "description": build.description,
                "is_active": build.is_active,
            }
        super().__init__(*args, **kwargs)
        field: Any = self.fields["service"]
        # Services in use, and the one the build names already (kept even if retired since:
        # `services.builds.open_link` refuses only a retired service newly named).
        kept = Q(pk=build.service_id) if build is not None and build.service_id else Q(pk__in=[])
        field.queryset = (
            ConfigurationItem.objects.filter(school_id=school_id, kind=ItemKind.SERVICE)
            .filter(Q(is_active=True) | kept)
            .order_by("name", "id")
        )

    def values(self) -> dict[str, Any]:
        return dict(self.cleaned_data)


class VersionForm(forms.Form):
    """A version's parts. Components are rows `component-N-software` (a piece of the
    library) or `component-N-title` and `-version` typed; steps and criteria one per line."""

    label = forms.CharField(
        max_length=50,
        required=False,
        label=_("Label"),
        help_text=_("How the build names it, e.g. 2027.1."),
    )
    steps = forms.CharField(
        label=_("Installation steps"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 10}),
        help_text=_("One step per line, in order: they are numbered."),
    )
    stability_tests = forms.CharField(
        label=_("Stability tests"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("What it must not harm: the environment it is tested against."),
    )
    criteria = forms.CharField(
        label=_("Acceptance criteria"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text=_("One criterion per line: each is passed or failed at installation."),
    )
    notes = forms.CharField(
        required=False, label=_("Notes"), widget=forms.Textarea(attrs={"rows": 3})
    )

    def __init__(self, *args: Any, version: BuildVersion, **kwargs: Any) -> None:
        kwargs.setdefault(
            "initial",
            {
                "label": version.label,
                "steps": "\n".join(version.steps),
                "stability_tests": version.stability_tests,
                "criteria": "\n".join(version.criteria),
                "notes": version.notes,
            },
        )
        super().__init__(*args, **kwargs)
        # The library's pieces in use, and those the version names already even if withdrawn
        # since (kept, marked): the service refuses only a withdrawn piece newly named.
        named = [c["software"] for c in version.components if c.get("software")]
        pieces = list(
            Software.objects.filter(school_id=version.school_id)
            .filter(Q(is_active=True) | Q(pk__in=named))
            .order_by("title", "version", "id")
        )
        self.piece_choices = [("", gettext("(type it below)"))] + [
            (str(p.pk), str(p) if p.is_active else f"{p} {WITHDRAWN}") for p in pieces
        ]
        self.rows: list[dict[str, Any]] = []
        existing = list(version.components) + [{}] * BLANK_COMPONENT_ROWS
        for n, component in enumerate(existing):
            software = forms.TypedChoiceField(
                label=gettext("Component %(number)s: from the library") % {"number": n + 1},
                choices=self.piece_choices,
                required=False,
                coerce=int,
                empty_value=None,
                initial=component.get("software") or "",
            )
            title = forms.CharField(
                label=gettext("Component %(number)s: or its title") % {"number": n + 1},
                max_length=200,
                required=False,
                initial="" if component.get("software") else component.get("title", ""),
            )
            version_field = forms.CharField(
                label=gettext("Component %(number)s: version") % {"number": n + 1},
                max_length=100,
                required=False,
                initial="" if component.get("software") else component.get("version", ""),
            )
            self.fields[f"component-{n}-software"] = software
            self.fields[f"component-{n}-title"] = title
            self.fields[f"component-{n}-version"] = version_field
        self.row_count = len(existing)

    def component_rows(self) -> list[tuple[Any, Any, Any]]:
        return [
            (
                self[f"component-{n}-software"],
                self[f"component-{n}-title"],
                self[f"component-{n}-version"],
            )
            for n in range(self.row_count)
        ]

    def values(self) -> dict[str, Any]:
        data = self.cleaned_data
        components = []
        for n in range(self.row_count):
            software = data.get(f"component-{n}-software")
            title = (data.get(f"component-{n}-title") or "").strip()
            version = (data.get(f"component-{n}-version") or "").strip()
            if software:
                components.append({"software": software})
            elif title or version:
                components.append({"title": title, "version": version})
        return {
            "label": data["label"],
            "components": components,
            "steps": [s for s in data["steps"].splitlines() if s.strip()],
            "stability_tests": data["stability_tests"],
            "criteria": [c for c in data["criteria"].splitlines() if c.strip()],
            "notes": data["notes"],
        }


class DecisionForm(forms.Form):
    comment = forms.CharField(
        required=False,
        label=_("Comment"),
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Required when returning it: say what needs more work."),
    )


class StartForm(forms.Form):
    item = ItemField(
        queryset=ConfigurationItem.objects.none(),
        required=False,
        label=_("Item"),
        empty_label=_("(choose an item)"),
        help_text=_("The computer or group of devices, from the configuration items."),
    )
    target = forms.CharField(
        max_length=200,
        required=False,
        label=_("Or type what it is installed on"),
        help_text=_("When it is not a configuration item, e.g. “Spare laptop in the office”."),
    )
    release = RowChoiceField(
        queryset=Release.objects.none(), required=False, label=pgettext_lazy("noun", "Release")
    )
    change = RowChoiceField(queryset=Change.objects.none(), required=False, label=_("RFC"))
    request = RowChoiceField(
        queryset=InstallRequest.objects.none(), required=False, label=_("Install request")
    )

    def __init__(self, *args: Any, school_id: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        fields: Any = self.fields
        fields["item"].queryset = ConfigurationItem.objects.filter(
            school_id=school_id, is_active=True
        ).order_by("name", "id")
        fields["release"].queryset = Release.objects.filter(
            school_id=school_id, state__in=OPEN_RELEASE_STATES
        ).order_by("-created_at", "-id")
        offered = (
            Change.objects.filter(school_id=school_id)
            .exclude(state__in=TERMINAL_STATES)
            .order_by("-created_at", "-id")
            .values_list("pk", flat=True)[:OFFERED_CHANGES]
        )
        fields["change"].queryset = Change.objects.filter(pk__in=list(offered)).order_by(
            "-created_at", "-id"
        )
        fields["request"].queryset = InstallRequest.objects.filter(
            school_id=school_id, state__in=OPEN_REQUEST_STATES
        ).order_by("-created_at", "-id")

    def values(self) -> dict[str, Any]:
        return {k: v for k, v in self.cleaned_data.items() if v not in (None, "")}


class ChecklistForm(forms.Form):
    """The install build checklist: a checkbox per step (`step-N`), a passed/failed choice
    (`result-N`) and a note (`note-N`) per criterion, and the notes."""

    notes = forms.CharField(
        required=False, label=_("Notes"), widget=forms.Textarea(attrs={"rows": 4})
    )

    def __init__(self, *args: Any, installation: Installation, **kwargs: Any) -> None:
        initial = {"notes": installation.notes}
        for n, step in enumerate(installation.checklist):
            initial[f"step-{n}"] = step["done"]
        for n, result in enumerate(installation.results):
            initial[f"result-{n}"] = result["result"]
            initial[f"note-{n}"] = result["note"]
        kwargs.setdefault("initial", initial)
        super().__init__(*args, **kwargs)
        self.installation = installation
        for n, step in enumerate(installation.checklist):
            self.fields[f"step-{n}"] = forms.BooleanField(
                required=False, label=f"{n + 1}. {step['step']}"
            )
        for n, result in enumerate(installation.results):
            self.fields[f"result-{n}"] = forms.ChoiceField(
                choices=CriterionResult.choices,
                required=False,
                widget=forms.RadioSelect,
                label=f"{n + 1}. {result['criterion']}",
            )
            self.fields[f"note-{n}"] = forms.CharField(
                required=False,
                max_length=2000,
                label=gettext("Note on criterion %(number)s") % {"number": n + 1},
            )

    def steps(self) -> list[Any]:
        return [self[f"step-{n}"] for n in range(len(self.installation.checklist))]

    def criteria(self) -> list[tuple[Any, Any]]:
        return [
            (self[f"result-{n}"], self[f"note-{n}"]) for n in range(len(self.installation.results))
        ]

    def values(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "checklist": [
                bool(data.get(f"step-{n}")) for n in range(len(self.installation.checklist))
            ],
            "results": [
                {"result": data.get(f"result-{n}") or "", "note": data.get(f"note-{n}") or ""}
                for n in range(len(self.installation.results))
            ],
            "notes": data["notes"],
        }
