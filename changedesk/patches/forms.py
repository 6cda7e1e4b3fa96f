"""Forms for the patch pages. They parse and offer only the school's choices; the rules (who
may, what each step needs) live in `services` and `workflow`."""

from __future__ import annotations

from datetime import date
from typing import Any

from django import forms
from django.utils.formats import date_format
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from changedesk.changes.choices import TERMINAL_STATES
from changedesk.changes.forms import DateTimeLocalInput, ItemChoiceField
from changedesk.changes.models import Change
from changedesk.configuration.models import ConfigurationItem
from changedesk.lib.forms import IdsInRange
from changedesk.patches.choices import CheckResult, Decision, Severity
from changedesk.patches.models import Patch, PatchPolicy, Source, Vendor
from changedesk.standard.models import Template, TemplateState

# The most open RFCs offered to put a patch on (the newest).
OFFERED_CHANGES = 100


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self) -> None:
        super().__init__(format="%Y-%m-%d")


def _items(school_id: int) -> Any:
    return ConfigurationItem.objects.filter(school_id=school_id, is_active=True).order_by(
        "name", "id"
    )


class VendorForm(forms.ModelForm[Vendor]):
    website = forms.URLField(required=False, assume_scheme="https", max_length=200)
    products_text = forms.CharField(
        label=_("Products"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("One per line: the vendor's products the school runs."),
    )

    class Meta:
        model = Vendor
        fields = ["name", "website", "notes"]
        widgets = {"notes": forms.Textarea(attrs={"rows": 3})}
        labels = {"name": _("Name"), "website": _("Website"), "notes": _("Notes")}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["products_text"].initial = "\n".join(self.instance.products)

    def values(self) -> dict[str, Any]:
        data = {n: self.cleaned_data[n] for n in ("name", "website", "notes")}
        return {**data, "products": self.cleaned_data["products_text"].splitlines()}

    def validate_unique(self) -> None:
        """The service checks the name is the school's only one."""


class SourceForm(forms.ModelForm[Source]):
    class Meta:
        model = Source
        fields = ["kind", "location", "product", "is_active"]
        labels = {
            "kind": _("Kind"),
            "location": _("Address"),
            "product": _("Product"),
            "is_active": _("Fetch it (a feed)"),
        }
        help_texts = {
            "location": _(
                "A feed's or web page's address (https://…), or a mailing list's e-mail address."
            ),
            "product": _("The product its patches are for, when it is one."),
            "is_active": _("Fetched by the worker."),
        }

    def values(self) -> dict[str, Any]:
        return {n: self.cleaned_data[n] for n in self.Meta.fields}


class VendorChoiceField(IdsInRange, forms.ModelChoiceField[Vendor]):
    pass


class PatchForm(forms.ModelForm[Patch]):
    link = forms.URLField(
        required=False,
        assume_scheme="https",
        max_length=1000,
        label=_("Link to the vendor's page"),
    )
    items = ItemChoiceField(
        queryset=ConfigurationItem.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label=_("Configuration items it applies to"),
    )

    class Meta:
        model = Patch
        fields = ["vendor", "product", "title", "reference", "cves", "release_date", "severity",
                  "link", "description", "items"]  # fmt: skip
        widgets = {"release_date": DateInput(), "description": forms.Textarea(attrs={"rows": 4})}
        field_classes = {"vendor": VendorChoiceField}
        labels = {
            "vendor": _("Vendor"),
            "product": _("Product"),
            "title": _("Title"),
            "reference": _("Reference"),
            "cves": _("CVE ids"),
            "release_date": _("Release date"),
            "severity": _("Severity"),
            "description": _("Description"),
        }
        help_texts = {
            "reference": _("The vendor's reference, e.g. KB5031234."),
            "cves": _("Comma-separated, e.g. CVE-2026-21001, CVE-2026-21002."),
        }

    def __init__(self, *args: Any, school_id: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        vendor = self.fields["vendor"]
        assert isinstance(vendor, forms.ModelChoiceField)
        vendor.queryset = Vendor.objects.filter(school_id=school_id).order_by("name", "id")
        items = self.fields["items"]
        assert isinstance(items, forms.ModelMultipleChoiceField)
        items.queryset = _items(school_id)

    def values(self) -> dict[str, Any]:
        return {n: self.cleaned_data[n] for n in self.Meta.fields if n != "items"}

    def chosen_items(self) -> list[ConfigurationItem]:
        return list(self.cleaned_data["items"])


class PolicyForm(forms.ModelForm[PatchPolicy]):
    class Meta:
        model = PatchPolicy
        fields = ["critical_days", "high_days", "medium_days", "low_days", "nudge_overdue"]
        labels = {
            "critical_days": _("Critical: days to deploy"),
            "high_days": _("High (important): days to deploy"),
            "medium_days": _("Medium: days to deploy"),
            "low_days": _("Low: days to deploy"),
            "nudge_overdue": _("Remind the patch administrators of overdue patches each day"),
        }
        help_texts = {
            "nudge_overdue": _("Tell the patch administrators each day a patch is overdue."),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in self.Meta.fields[:4]:
            field = self.fields[name]
            assert isinstance(field, forms.IntegerField)
            field.min_value, field.max_value = 1, 365
            field.widget.attrs.update({"min": 1, "max": 365})

    def values(self) -> dict[str, Any]:
        return {n: self.cleaned_data[n] for n in self.Meta.fields}


class AssessForm(forms.Form):
    decision = forms.ChoiceField(
        choices=Decision.choices,
        widget=forms.RadioSelect,
        initial=Decision.DEPLOY,
        label=_("Decision"),
    )
    severity = forms.ChoiceField(
        choices=Severity.choices,
        label=_("Severity for the school"),
        help_text=_("As the vendor rates it, unless it matters more or less here."),
    )
    items = ItemChoiceField(
        queryset=ConfigurationItem.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label=_("It applies to"),
    )
    reason = forms.CharField(
        required=False,
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 2}),
        label=_("Reason"),
        help_text=_("Why it is deferred or does not apply (needed for those)."),
    )
    defer_until = forms.DateField(
        required=False,
        widget=DateInput(),
        label=_("Look at it again on"),
        help_text=_("If deferred."),
    )
    comment = forms.CharField(required=False, max_length=2000, label=_("Note"))

    def __init__(
        self, *args: Any, patch: Patch, aside: tuple[str, ...] = (), **kwargs: Any
    ) -> None:
        """`aside`: the decisions left once it is assessed (defer, not applicable)."""
        super().__init__(*args, **kwargs)
        self.aside = aside
        if aside:
            decision = self.fields["decision"]
            assert isinstance(decision, forms.ChoiceField)
            decision.choices = [(v, label) for v, label in Decision.choices if v in aside]
            decision.initial = aside[0]
            decision.label = _("Decision")
            for name in ("severity", "items"):
                del self.fields[name]
            return
        self.fields["severity"].initial = patch.severity
        items = self.fields["items"]
        assert isinstance(items, forms.ModelMultipleChoiceField)
        items.queryset = _items(patch.school_id)
        items.initial = [i.pk for i in patch.items.all()]

    def action(self) -> tuple[str, dict[str, Any]]:
        """The action the decision is, and its payload."""
        data = self.cleaned_data
        decision = data["decision"]
        if decision == Decision.DEPLOY:
            return "assess", {"severity": data["severity"], "items": [i.pk for i in data["items"]]}
        if decision == Decision.DEFER:
            return "defer", {"reason": data["reason"], "defer_until": data["defer_until"]}
        return "not_applicable", {"reason": data["reason"]}


class ChecksForm(forms.Form):
    """Results on named machines: the pilot ring's tests, or the verification."""

    passed = ItemChoiceField(
        queryset=ConfigurationItem.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label=_("Passed on"),
    )
    failed = ItemChoiceField(
        queryset=ConfigurationItem.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label=_("Failed on"),
    )
    notes = forms.CharField(required=False, max_length=2000, label=_("Notes on the results"))
    comment = forms.CharField(required=False, max_length=2000, label=_("Note"))

    def __init__(self, *args: Any, patch: Patch, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in ("passed", "failed"):
            field = self.fields[name]
            assert isinstance(field, forms.ModelMultipleChoiceField)
            field.queryset = _items(patch.school_id)

    def results(self) -> list[dict[str, Any]]:
        notes = self.cleaned_data["notes"]
        return [
            *({"item": i.pk, "result": CheckResult.PASSED, "notes": notes}
              for i in self.cleaned_data["passed"]),
            *({"item": i.pk, "result": CheckResult.FAILED, "notes": notes}
              for i in self.cleaned_data["failed"]),
        ]  # fmt: skip


class TemplateChoiceField(IdsInRange, forms.ModelChoiceField[Template]):
    pass


class ChangeChoiceField(IdsInRange, forms.ModelChoiceField[Change]):
    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.reference}: {obj.title}"


class PatchChoiceField(IdsInRange, forms.ModelMultipleChoiceField[Patch]):
    def label_from_instance(self, obj: Any) -> str:
        return gettext("%(patch)s (%(severity)s, due %(day)s)") % {
            "patch": obj,
            "severity": obj.get_severity_display(),
            "day": date_format(obj.due_on, "j M"),
        }


class ScheduleForm(forms.Form):
    change = ChangeChoiceField(
        queryset=Change.objects.none(),
        label=_("The RFC that deploys it"),
        help_text=_("An RFC of the school still to be carried out (the newest 100)."),
    )
    comment = forms.CharField(required=False, max_length=2000, label=_("Note"))

    def __init__(self, *args: Any, patch: Patch, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["change"]
        assert isinstance(field, forms.ModelChoiceField)
        open_ids = (
            Change.objects.filter(school_id=patch.school_id, outcome="")
            .exclude(state__in=TERMINAL_STATES)
            .order_by("-created_at", "-id")
            .values_list("pk", flat=True)[:OFFERED_CHANGES]
        )
        field.queryset = Change.objects.filter(pk__in=list(open_ids)).order_by("-created_at")


class CloseForm(forms.Form):
    version = forms.CharField(
        required=False,
        max_length=200,
        label=_("What the items now run"),
        help_text=_(
            "Recorded on each item, e.g. “Windows 11 23H2, build 22631.4460”. Left "
            "empty: the patch's reference."
        ),
    )
    comment = forms.CharField(required=False, max_length=2000, label=_("Note"))


class ReasonForm(forms.Form):
    comment = forms.CharField(required=False, max_length=2000, label=_("Note"))


class RunForm(forms.Form):
    """The patch run: which template, which tested patches, when. Times are the school's."""

    template = TemplateChoiceField(
        queryset=Template.objects.none(),
        label=_("Standard change"),
        help_text=_(
            "An approved standard change of the school, e.g. the monthly security updates."
        ),
    )
    patches = PatchChoiceField(
        queryset=Patch.objects.none(),
        widget=forms.CheckboxSelectMultiple,
        label=_("Patches it deploys"),
    )
    planned_start = forms.DateTimeField(
        label=_("Planned start"),
        widget=DateTimeLocalInput(),
        help_text=_("In the school's time zone; choose one of the safe slots offered."),
    )
    planned_end = forms.DateTimeField(
        label=_("Planned end"),
        required=False,
        widget=DateTimeLocalInput(),
        help_text=_("Optional: left empty, it takes as long as the standard change says."),
    )

    def __init__(self, *args: Any, school_id: int, today: date, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        template = self.fields["template"]
        assert isinstance(template, forms.ModelChoiceField)
        template.queryset = Template.objects.filter(
            school_id=school_id, state=TemplateState.APPROVED, review_date__gte=today
        ).order_by("title", "id")
        patches = self.fields["patches"]
        assert isinstance(patches, forms.ModelMultipleChoiceField)
        patches.queryset = Patch.objects.filter(school_id=school_id, state="tested").order_by(
            "due_on", "id"
        )
