"""A school's rules for signing in: the e-mail domains whose people it knows, whether its
members must use single sign-on, and whether new people from those domains get an account.

Kept beside the school rather than on it, as `accounts` knows nothing of single sign-on."""

from __future__ import annotations

from django.db import models

from changedesk.accounts.models import School, SchoolScopedQuerySet, Trust, User


class SchoolSignIn(models.Model):
    """One school's sign-in rules. A school without a row has the defaults: no domains,
    passwords allowed, no accounts made."""

    school = models.OneToOneField(School, on_delete=models.CASCADE, related_name="signin")
    require_sso = models.BooleanField(
        "require single sign-on for members",
        default=False,
        help_text=(
            "Members sign in with single sign-on only: their passwords are refused "
            "(an operator's superuser account excepted)."
        ),
    )
    create_accounts = models.BooleanField(
        "create accounts for new people from an allowed domain",
        default=False,
        help_text=(
            "Someone from an allowed domain who signs in with single sign-on and has no "
            "account gets one, as a member with no roles until an administrator gives them some."
        ),
    )
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    objects = SchoolScopedQuerySet.as_manager()

    class Meta:
        verbose_name = "school sign-in rules"
        verbose_name_plural = "school sign-in rules"
        indexes = [models.Index(fields=["require_sso", "school"])]

    def __str__(self) -> str:
        return f"Sign-in rules of {self.school}"


class AllowedDomain(models.Model):
    """An e-mail domain whose people a school knows: single sign-on is open to addresses at
    it (matched exactly: `school.org.uk`, not its subdomains)."""

    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="signin_domains")
    domain = models.CharField(max_length=253)

    objects = SchoolScopedQuerySet.as_manager()

    class Meta:
        ordering = ["school", "domain"]
        constraints = [
            models.UniqueConstraint(fields=["school", "domain"], name="signin_domain_unique")
        ]
        indexes = [models.Index(fields=["domain"])]

    def __str__(self) -> str:
        return f"{self.domain} at {self.school}"


class TrustSignIn(models.Model):
    """A trust's sign-in rules, set by its administrator for every school of the trust. A
    school's own rules add to them and cannot loosen them (`services.effective_rules`):
    its domains are its own and the trust's; single sign-on is required where either
    requires it; new people get accounts by the rule that allowed their domain."""

    trust = models.OneToOneField(Trust, on_delete=models.CASCADE, related_name="signin")
    require_sso = models.BooleanField(
        "require single sign-on in every school of the trust",
        default=False,
        help_text=(
            "Every member of the trust's schools, and the trust's own people, sign in with "
            "single sign-on only (an operator's superuser account excepted). A school "
            "cannot switch this off for itself."
        ),
    )
    create_accounts = models.BooleanField(
        "create accounts for new people from the trust's domains",
        default=False,
        help_text=(
            "Someone from one of the trust's domains who signs in with single sign-on and "
            "has no account gets one, as a member with no roles of each of the trust's "
            "schools, until an administrator gives them some."
        ),
    )
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = "trust sign-in rules"
        verbose_name_plural = "trust sign-in rules"
        indexes = [models.Index(fields=["require_sso", "trust"])]

    def __str__(self) -> str:
        return f"Sign-in rules of {self.trust}"


class TrustDomain(models.Model):
    """An e-mail domain a trust allows for all its schools (matched exactly, as a school's)."""

    trust = models.ForeignKey(Trust, on_delete=models.CASCADE, related_name="signin_domains")
    domain = models.CharField(max_length=253)

    class Meta:
        ordering = ["trust", "domain"]
        constraints = [
            models.UniqueConstraint(fields=["trust", "domain"], name="signin_trust_domain_unique")
        ]
        indexes = [models.Index(fields=["domain"])]

    def __str__(self) -> str:
        return f"{self.domain} in {self.trust}"


class SignInRecord(models.Model):
    """Since when a person has signed in only with single sign-on: set by their first
    sign-in with it after one with a password, cleared by a sign-in with a password. An API
    token made before then may have been made in a password session, so where single
    sign-on is required of them it is refused (`services.token_refusal`)."""

    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="signin_record")
    sso_since = models.DateTimeField(null=True, blank=True)
    last_password_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"Sign-ins of {self.user}"
