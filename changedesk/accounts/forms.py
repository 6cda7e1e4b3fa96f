"""Forms for signing in and for running a school: members, roles, settings, delegations."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm, PasswordResetForm
from django.contrib.auth.password_validation import validate_password
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.core.exceptions import ValidationError
from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from changedesk.accounts import throttle
from changedesk.accounts.choices import APPROVER_ROLES, Language, Role, TrustRole
from changedesk.accounts.mail import queue_mail
from changedesk.accounts.models import Delegation, Membership, School, User
from changedesk.accounts.permissions import holds, may_deputise, roles_to_deputise
from changedesk.accounts.throttle import SignInPaused, client_address
from changedesk.accounts.trusts import OTHER_ZONE


class ThrottledSignIn(AuthenticationForm):
    """Sign-in with `accounts.throttle`: failures counted per username, with a far higher
    ceiling per client address; a paused sign-in is told when it may try again."""

    paused: SignInPaused | None = None

    def clean(self) -> dict[str, Any]:
        username, password = self.data.get("username"), self.data.get("password")
        if not (isinstance(username, str) and username and password):
            return super().clean()  # nothing to check a password against: not an attempt
        address = client_address(self.request) if self.request else "unknown"
        try:
            throttle.begin(username, address)
        except SignInPaused as paused:
            self.paused = paused
            raise ValidationError(paused.message, code="throttled") from None
        try:
            return super().clean()
        finally:
            # The password was right (even if the account may not sign in here).
            if self.user_cache is not None:
                throttle.succeeded(username, address)


class ThrottledAuthenticationForm(ThrottledSignIn):
    """The sign-in page's form."""


class ThrottledAdminAuthenticationForm(ThrottledSignIn, AdminAuthenticationForm):
    """The admin's sign-in (`/admin/login/`), throttled as the sign-in page is."""


class QueuedPasswordResetForm(PasswordResetForm):
    """Asks for a reset link. The link is queued through the outbox rather than sent during
    the request, so the answer comes as soon whether or not the address is known."""

    def send_mail(
        self,
        subject_template_name: str,
        email_template_name: str,
        context: dict[str, Any],
        from_email: str | None,
        to_email: str,
        html_email_template_name: str | None = None,
    ) -> None:
        user: User = context["user"]
        token: str = context["token"]
        path = reverse(
            "accounts:password_reset_confirm", kwargs={"uidb64": context["uid"], "token": token}
        )
        queue_mail(
            to_address=to_email,
            recipient=user,
            template="password_reset",
            context={
                "recipient_name": user.display_name,
                "username": user.username,
                "reset_path": path,
            },
            key=f"password-reset:{user.pk}:{token}",
        )


# The labels are in the catalogue through lib/labels.py: translated as the form renders.
ROLE_CHOICES = [(role.value, _(role.label)) for role in Role]


class InvitationForm(forms.Form):
    """Invite someone to a school by e-mail address, with the roles offered. The same
    whether or not an account has the address: the school learns nothing until they accept."""

    email = forms.EmailField(
        label=_("E-mail address"),
        help_text=_(
            "They get a link to accept or decline, with an account they have or a new one."
        ),
    )
    roles = forms.MultipleChoiceField(choices=ROLE_CHOICES, widget=forms.CheckboxSelectMultiple)

    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.fields["roles"].error_messages["required"] = _("Choose at least one role.")


class JoinForm(forms.Form):
    """A new account, made from an invitation's link, with the address invited."""

    username = forms.CharField(
        label=_("Sign-in name"),
        max_length=150,
        validators=[UnicodeUsernameValidator()],
        help_text=_("Letters, digits and @ . + - _ only."),
    )
    first_name = forms.CharField(label=_("First name"), max_length=150)
    last_name = forms.CharField(label=_("Last name"), max_length=150)
    job_title = forms.CharField(
        label=_("Job title"),
        max_length=100,
        required=False,
        help_text=_("Shown beside your name on a printed RFC."),
    )
    password1 = forms.CharField(
        label=_("Password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    password2 = forms.CharField(
        label=_("Password again"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def __init__(self, *args: Any, email: str, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.email = email
        self.fields["username"].widget.attrs["autocomplete"] = "username"

    def clean_username(self) -> str:
        username: str = self.cleaned_data["username"].strip()
        if User.objects.filter(username__iexact=username).exists():
            raise forms.ValidationError(_("That sign-in name is taken: choose another."))
        return username

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        first, second = data.get("password1"), data.get("password2")
        if first and second and first != second:
            self.add_error("password2", _("The two passwords differ."))
        elif first:
            candidate = User(
                username=data.get("username", ""),
                email=self.email,
                first_name=data.get("first_name", ""),
                last_name=data.get("last_name", ""),
            )
            try:
                validate_password(first, candidate)
            except ValidationError as error:
                self.add_error("password1", error)
        return data

    def values(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "username": data["username"],
            "first_name": data["first_name"],
            "last_name": data["last_name"],
            "job_title": data["job_title"],
            "password": data["password1"],
        }


class RolesForm(forms.Form):
    roles = forms.MultipleChoiceField(
        choices=ROLE_CHOICES, widget=forms.CheckboxSelectMultiple, required=False
    )
    is_ict_staff = forms.BooleanField(
        label=_("ICT staff"),
        required=False,
        help_text=_(
            "Works in ICT support (technician, network manager, ICT co-ordinator, supplier). "
            "FITS advises that, in time, the final approver is someone outside ICT support."
        ),
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
            "language",
            "bilingual_notices",
        ]
        # The model's words, here again to be translated.
        labels = {
            "name": _("Name"),
            "timezone": _("Timezone"),
            "peer_review_enabled": _("Peer review plans before final approval"),
            "final_approver_may_be_originator": _("The final approver may be the originator"),
            "decision_links_enabled": _("Approve from e-mail"),
            "normal_lead_days": _("Lead time for normal changes (working days)"),
            "standard_lead_hours": _("Lead time for standard changes (hours)"),
            "language": _("Default language"),
            "bilingual_notices": _("Bilingual notices: Welsh first, then English"),
        }
        help_texts = {
            "timezone": _("An IANA time zone, e.g. Europe/London."),
            "peer_review_enabled": _(
                "FITS allows a school to leave peer review out while it starts out."
            ),
            "final_approver_may_be_originator": _(
                "Allow the final approver of an RFC to be the person who raised it."
            ),
            "decision_links_enabled": _(
                "Approvers' e-mails carry a link that lets them decide on that one RFC without "
                "signing in (single-use, expiring, void once the RFC changes)."
            ),
            "normal_lead_days": _(
                "The next safe slot for a normal change starts at least this many working days "
                "ahead: time to approve it and to tell the users."
            ),
            "standard_lead_hours": _(
                "The next safe slot for a standard (pre-approved) change starts this far ahead."
            ),
            "language": _(
                "For members who have not chosen their own language, and for the notice board, "
                "its print and the staff list's e-mails."
            ),
            "bilingual_notices": _(
                "As Welsh-medium schools expect: every heading of a notice in Welsh, then in "
                "English. Write the notice's own words in both languages too."
            ),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # A form from before the languages came (a script's POST) leaves them as they are.
        self.fields["language"].required = False

    def clean_language(self) -> str:
        return str(self.cleaned_data.get("language") or self.instance.language)

    def clean_timezone(self) -> str:
        """A school of a trust keeps the trust's time zone (its calendar is set in one)."""
        zone = str(self.cleaned_data.get("timezone") or "")
        school = self.instance
        if school.trust_id is None or zone == school.timezone:
            return zone
        theirs = (
            School.objects.filter(trust_id=school.trust_id)
            .exclude(pk=school.pk)
            .values_list("timezone", flat=True)
            .first()
        )
        if theirs is not None and theirs != zone:
            raise forms.ValidationError(
                gettext(OTHER_ZONE).format(school=school.name, zone=zone, theirs=theirs)
            )
        return zone


class LanguageForm(forms.ModelForm[User]):
    """The language a person chooses on their profile; blank is their school's."""

    class Meta:
        model = User
        fields = ["language"]
        labels = {"language": _("Language")}
        help_texts = {
            "language": _(
                "The language of changedesk's pages and e-mails for you. Leave it on your "
                "school's to follow your school."
            )
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        language = self.fields["language"]
        assert isinstance(language, forms.TypedChoiceField)
        language.choices = [("", _("Your school's language")), *Language.choices]


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
        labels = {
            "approver": _("Approver"),
            "deputy": _("Deputy"),
            "role": _("For which approval"),
            "starts_at": _("Starts"),
            "ends_at": _("Ends"),
            "reason": _("Reason (e.g. on a course)"),
        }
        help_texts = {"role": _("Leave blank to cover every approval role the approver holds.")}

    def __init__(self, *args: Any, school: School, user: User, is_admin: bool, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.instance.school = school
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
        # A viewer decides nothing, so is not offered (unless an approver too; see `clean`).
        viewers = (
            Membership.objects.filter(school=school, roles__role=Role.VIEWER)
            .exclude(roles__role__in=APPROVER_ROLES)
            .values("user_id")
        )
        deputy.queryset = (
            User.objects.filter(is_active=True, memberships__school=school)
            .exclude(pk__in=viewers)
            .distinct()
        )
        role = self.fields["role"]
        assert isinstance(role, forms.ChoiceField)
        role.choices = [("", _("Every approval I give"))] + [
            (r.value, _(r.label)) for r in APPROVER_ROLES
        ]
        self.fields["starts_at"].initial = timezone.localtime().replace(second=0, microsecond=0)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        approver, deputy = data.get("approver"), data.get("deputy")
        if approver and deputy and approver.pk == deputy.pk:
            self.add_error("deputy", _("Choose someone other than the approver."))
        start, end = data.get("starts_at"), data.get("ends_at")
        if start and end and end <= start:
            self.add_error("ends_at", _("The end must be after the start."))
        if end and end <= timezone.now():
            self.add_error("ends_at", _("The end must be in the future."))
        role = data.get("role")
        school = self.instance.school
        if approver and role and not holds(approver, role, school):
            self.add_error(
                "role",
                gettext("%(name)s does not hold that role here.") % {"name": approver.display_name},
            )
        elif approver and deputy and not may_deputise(deputy, approver, role or "", school):
            needed = roles_to_deputise(approver, role or "", school)
            names = gettext(" and ").join(
                sorted(gettext(Role(r).label).lower() for r in needed)
            ) or gettext("approver")
            self.add_error(
                "deputy",
                gettext(
                    "%(name)s is a viewer here, who decides nothing: a viewer may stand in only "
                    "as a %(roles)s they are themself."
                )
                % {"name": deputy.display_name, "roles": names},
            )
        return data


# --- Trusts (accounts/trusts.py). ---

TRUST_ROLE_CHOICES = [(role.value, _(role.label)) for role in TrustRole]


class TrustRolesForm(forms.Form):
    """A person's trust roles (none: they leave the trust)."""

    roles = forms.MultipleChoiceField(
        choices=TRUST_ROLE_CHOICES, widget=forms.CheckboxSelectMultiple, required=False
    )


class TrustPersonForm(TrustRolesForm):
    """Give trust roles to someone the trust knows: a member of one of its schools, or one
    of its people already (an operator may name anyone with an account). The trust learns
    nothing of other accounts."""

    person = forms.CharField(
        label=_("Sign-in name or e-mail address"),
        max_length=254,
        help_text=_("Someone in one of the trust's schools."),
    )
    field_order = ["person", "roles"]

    def __init__(self, *args: Any, known: models.QuerySet[User], **kwargs: Any) -> None:
        self.known = known
        super().__init__(*args, **kwargs)

    def clean_person(self) -> User:
        given = self.cleaned_data["person"].strip()
        found = list(
            self.known.filter(is_active=True)
            .filter(models.Q(username__iexact=given) | models.Q(email__iexact=given))
            .distinct()[:2]
        )
        if not found:
            raise ValidationError(
                _(
                    "No one in the trust's schools has that sign-in name or address: invite "
                    "them to a school first."
                )
            )
        if len(found) > 1:
            raise ValidationError(
                _("More than one account has that address: give the sign-in name.")
            )
        return found[0]

    def clean_roles(self) -> list[str]:
        roles: list[str] = self.cleaned_data["roles"]
        if not roles:
            raise ValidationError(_("Choose at least one trust role."))
        return roles


class TrustSchoolForm(forms.ModelForm[School]):
    """A new school in the trust, and whom to invite as its first administrator."""

    admin_email = forms.EmailField(
        label=_("Its administrator's e-mail address"),
        required=False,
        help_text=_(
            "Invited to administer the school (its members and settings): a school's "
            "administrator is its own, not the trust's."
        ),
    )

    class Meta:
        model = School
        fields = ["name", "slug", "timezone"]
        labels = {"name": _("Name"), "slug": _("Short name"), "timezone": _("Timezone")}
        help_texts = {
            "slug": _("A short name for its references and addresses, e.g. riverside."),
            "timezone": _("An IANA time zone, e.g. Europe/London."),
        }
        error_messages = {"slug": {"unique": _("A school with this short name exists already.")}}
