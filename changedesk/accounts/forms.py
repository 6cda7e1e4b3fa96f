"""Forms for signing in and for running a school: members, roles, settings, delegations."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.core.cache import cache
from django.utils import timezone

from changedesk.accounts.choices import APPROVER_ROLES, Role
from changedesk.accounts.models import Delegation, School, User
from changedesk.accounts.permissions import holds


class ThrottledAuthenticationForm(AuthenticationForm):
    """Sign-in that refuses further attempts for a while after too many failures.

    Failures are counted per username and per address, in the shared cache, so the limit
    holds across web processes.
    """

    error_messages = {
        **AuthenticationForm.error_messages,
        "throttled": "Too many failed sign-ins. Wait %(minutes)s minutes and try again.",
    }

    def _keys(self) -> list[str]:
        username = (self.data.get("username") or "").strip().lower()
        address = self.request.META.get("REMOTE_ADDR", "") if self.request else ""
        return [f"login-fail:user:{username}", f"login-fail:addr:{address}"]

    def clean(self) -> dict[str, Any]:
        limit = settings.LOGIN_ATTEMPTS_LIMIT
        window = settings.LOGIN_ATTEMPTS_WINDOW
        keys = self._keys()
        if any((cache.get(key) or 0) >= limit for key in keys):
            raise forms.ValidationError(
                self.error_messages["throttled"],
                code="throttled",
                params={"minutes": max(1, window // 60)},
            )
        try:
            return super().clean()
        except forms.ValidationError:
            for key in keys:
                cache.add(key, 0, window)
                try:
                    cache.incr(key)
                except ValueError:
                    cache.set(key, 1, window)
            raise


ROLE_CHOICES = [(role.value, role.label) for role in Role]


class MemberForm(forms.Form):
    """Add a person to a school: an existing account by username, or a new one."""

    username = forms.CharField(
        max_length=150,
        validators=[UnicodeUsernameValidator()],
        help_text="Their sign-in name: letters, digits and @ . + - _ only.",
    )
    email = forms.EmailField(
        required=False, help_text="Needed for a new person: they get a link to set a password."
    )
    first_name = forms.CharField(max_length=150, required=False)
    last_name = forms.CharField(max_length=150, required=False)
    job_title = forms.CharField(max_length=100, required=False)
    roles = forms.MultipleChoiceField(
        choices=ROLE_CHOICES, widget=forms.CheckboxSelectMultiple, required=False
    )

    def __init__(self, *args: Any, school: School, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.school = school
        self.existing: User | None = None

    def clean_username(self) -> str:
        username: str = self.cleaned_data["username"].strip()
        self.existing = User.objects.filter(username__iexact=username).first()
        if self.existing and self.existing.memberships.filter(school=self.school).exists():
            raise forms.ValidationError(
                f"{self.existing.display_name} is already a member; change their roles instead."
            )
        return username

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.existing is None and "username" in data and not data.get("email"):
            self.add_error("email", "Give an e-mail address for a new person.")
        if not data.get("roles"):
            self.add_error("roles", "Choose at least one role.")
        return data


class RolesForm(forms.Form):
    roles = forms.MultipleChoiceField(
        choices=ROLE_CHOICES, widget=forms.CheckboxSelectMultiple, required=False
    )


class SchoolSettingsForm(forms.ModelForm[School]):
    class Meta:
        model = School
        fields = [
            "name",
            "timezone",
            "peer_review_enabled",
            "final_approver_may_be_originator",
            "decision_links_enabled",
            "normal_lead_days",
            "standard_lead_hours",
        ]
        labels = {
            "peer_review_enabled": "Peer review plans before final approval",
            "final_approver_may_be_originator": "The final approver may be the originator",
        }
        help_texts = {"timezone": "An IANA time zone, e.g. Europe/London."}


class DelegationForm(forms.ModelForm[Delegation]):
    """An approver names a deputy for a period (a school administrator may do it for them)."""

    class Meta:
        model = Delegation
        fields = ["approver", "deputy", "role", "starts_at", "ends_at", "reason"]
        widgets = {
            "starts_at": forms.DateTimeInput(
                attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"
            ),
            "ends_at": forms.DateTimeInput(
                attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"
            ),
        }
        labels = {"role": "For which approval", "reason": "Reason (e.g. on a course)"}

    def __init__(self, *args: Any, school: School, user: User, is_admin: bool, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.instance.school = school
        members = User.objects.filter(is_active=True, memberships__school=school).distinct()
        approvers = User.objects.filter(
            is_active=True,
            memberships__school=school,
            memberships__roles__role__in=APPROVER_ROLES,
        ).distinct()
        approver = self.fields["approver"]
        deputy = self.fields["deputy"]
        assert isinstance(approver, forms.ModelChoiceField)
        assert isinstance(deputy, forms.ModelChoiceField)
        approver.queryset = approvers if is_admin else approvers.filter(pk=user.pk)
        if not is_admin:
            approver.initial = user.pk
        deputy.queryset = members
        role = self.fields["role"]
        assert isinstance(role, forms.ChoiceField)
        role.choices = [("", "Every approval I give")] + [
            (r.value, r.label) for r in APPROVER_ROLES
        ]
        self.fields["starts_at"].initial = timezone.localtime().replace(second=0, microsecond=0)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        approver, deputy = data.get("approver"), data.get("deputy")
        if approver and deputy and approver.pk == deputy.pk:
            self.add_error("deputy", "Choose someone other than the approver.")
        start, end = data.get("starts_at"), data.get("ends_at")
        if start and end and end <= start:
            self.add_error("ends_at", "The end must be after the start.")
        if end and end <= timezone.now():
            self.add_error("ends_at", "The end must be in the future.")
        role = data.get("role")
        if approver and role and not holds(approver, role, self.instance.school):
            self.add_error("role", f"{approver.display_name} does not hold that role here.")
        return data
