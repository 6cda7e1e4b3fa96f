"""Who may sign in with single sign-on, who must, and the one writer of a school's rules.

- A person signing in with the OpenID Connect provider is matched to their account by the
  e-mail address the provider has verified, and only when some school allows the address's
  domain. Where no account has it, one is made only if a school that allows the domain asks
  for it; the newcomer is then a member of each such school with no roles, so they see
  nothing and do nothing until an administrator gives them some.
- A member of a school that requires single sign-on may not sign in with a password
  (`backends.PasswordBackend`), unless they are a superuser (an operator must always be
  able to get in) or this changedesk offers no other way to sign in.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.db import transaction

from changedesk.accounts.models import Membership, School, User
from changedesk.accounts.permissions import is_school_admin
from changedesk.accounts.services import create_user, set_membership
from changedesk.lib.errors import InvalidAction, NotPermitted
from changedesk.signin import provider
from changedesk.signin.models import AllowedDomain, SchoolSignIn

PASSWORD_BACKENDS = {
    "changedesk.signin.backends.PasswordBackend",
    "django.contrib.auth.backends.ModelBackend",
}
MAX_DOMAINS = 50
_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")


class SignInRefused(Exception):
    """Single sign-on was refused; `message` is written for the person signing in."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


# --- Domains. ---


def normal_domain(raw: str) -> str:
    """`raw` as a domain is kept: lower case, no "@" or trailing dot, international names in
    their ASCII form; ValueError when it is not a domain."""
    text = raw.strip().lower().lstrip("@").rstrip(".")
    try:
        ascii_name = text.encode("idna").decode("ascii")
    except UnicodeError:
        raise ValueError(f"“{raw.strip()}” is not a domain.") from None
    labels = ascii_name.split(".")
    if len(ascii_name) > 253 or len(labels) < 2 or not all(_LABEL.match(p) for p in labels):
        raise ValueError(f"“{raw.strip()}” is not a domain such as school.org.uk.")
    return ascii_name


def domain_of(email: str) -> str:
    """The domain of an address, as `normal_domain` keeps it ("" if it has none)."""
    _, at, domain = email.rpartition("@")
    if not at:
        return ""
    try:
        return normal_domain(domain)
    except ValueError:
        return ""


# --- Who must use single sign-on. ---


def sso_available() -> bool:
    """Whether this changedesk offers any way to sign in other than a password."""
    return provider.enabled() or any(
        path not in PASSWORD_BACKENDS for path in settings.AUTHENTICATION_BACKENDS
    )


def sso_required_for(user: Any) -> bool:
    """Whether `user` must sign in with single sign-on: a member of a school that requires
    it, unless a superuser, or while no single sign-on is configured (then no one could
    sign in at all)."""
    if user.is_superuser or not sso_available():
        return False
    schools = Membership.objects.filter(user=user).values("school_id")
    return SchoolSignIn.objects.filter(require_sso=True, school_id__in=schools).exists()


def sso_required_message() -> str:
    if provider.enabled():
        return (
            f"Your school asks its members to sign in with {provider.name()}, not with a "
            f"password: use “Sign in with {provider.name()}”."
        )
    return "Your school asks its members to sign in with single sign-on, not with a password."


# --- Matching a person to their account. ---


def account_for(email: str, claims: dict[str, Any]) -> User:
    """The account of the person whose verified address is `email`, made when a school
    allows it (see the module's docstring); SignInRefused when there is none to be had."""
    name = provider.name()
    domain = domain_of(email)
    school_ids = list(
        AllowedDomain.objects.filter(domain=domain).values_list("school_id", flat=True)
    )
    if not domain or not school_ids:
        raise SignInRefused(
            f"Signing in with {name} is not open to addresses at {domain or email}. "
            "Ask your school's changedesk administrator to allow your school's domain."
        )
    found = list(User.objects.filter(email__iexact=email)[:2])
    if len(found) > 1:
        raise SignInRefused(
            f"More than one changedesk account has the address {email}, so signing in with "
            f"{name} cannot tell which is yours. Ask your school's administrator."
        )
    if found:
        if not found[0].is_active:
            raise SignInRefused("Your changedesk account is switched off.")
        return found[0]
    creating = list(
        School.objects.filter(pk__in=school_ids, signin__create_accounts=True).order_by("pk")
    )
    if not creating:
        raise SignInRefused(
            f"No changedesk account has the address {email}. Ask your school's changedesk "
            "administrator to invite you."
        )
    return _new_person(email, claims, creating)


def _new_person(email: str, claims: dict[str, Any], schools: list[School]) -> User:
    """An account for `email` (no password: it signs in with single sign-on), a member of
    each of `schools` with no roles."""
    with transaction.atomic():
        user = create_user(
            _free_username(email),
            email=email,
            password=None,
            first_name=_claim(claims, "given_name", 150),
            last_name=_claim(claims, "family_name", 150),
            check_password=False,
        )
        for school in schools:
            set_membership(user, school, [])
    return user


def _claim(claims: dict[str, Any], key: str, limit: int) -> str:
    value = claims.get(key)
    return value.strip()[:limit] if isinstance(value, str) else ""


def _free_username(email: str) -> str:
    """The address as a username (what Django's usernames may hold of it), numbered when
    taken."""
    base = re.sub(r"[^\w.@+-]", "", email.lower())[:140] or "person"
    candidate, number = base, 1
    while User.objects.filter(username__iexact=candidate).exists():
        number += 1
        candidate = f"{base}-{number}"
    return candidate


# --- A school's rules. ---


def rules_of(school: School) -> tuple[SchoolSignIn, list[str]]:
    """The school's rules (unsaved defaults when it has none) and its domains, sorted."""
    rules = SchoolSignIn.objects.filter(school=school).first() or SchoolSignIn(school=school)
    domains = sorted(AllowedDomain.objects.filter(school=school).values_list("domain", flat=True))
    return rules, domains


def update_rules(
    school: School,
    actor: User,
    *,
    domains: Iterable[str] | None = None,
    require_sso: bool | None = None,
    create_accounts: bool | None = None,
) -> tuple[SchoolSignIn, list[str]]:
    """Change what is given of a school's rules, as its administrator `actor`; refuses with
    field errors, writing nothing, when they do not hold together."""
    if not is_school_admin(actor, school):
        raise NotPermitted(f"Only a school administrator of {school.name} may do this.")
    with transaction.atomic():
        rules = SchoolSignIn.objects.select_for_update().filter(school=school).first()
        rules = rules or SchoolSignIn(school=school)
        current = sorted(
            AllowedDomain.objects.filter(school=school).values_list("domain", flat=True)
        )
        wanted = _clean_domains(domains) if domains is not None else current
        if require_sso is not None:
            rules.require_sso = require_sso
        if create_accounts is not None:
            rules.create_accounts = create_accounts
        _check(rules, wanted, actor)
        rules.updated_by = actor
        rules.save()
        AllowedDomain.objects.filter(school=school).exclude(domain__in=wanted).delete()
        AllowedDomain.objects.bulk_create(
            [AllowedDomain(school=school, domain=d) for d in wanted if d not in current]
        )
    return rules, wanted


def _clean_domains(domains: Iterable[str]) -> list[str]:
    cleaned: set[str] = set()
    for raw in domains:
        if not raw.strip():
            continue
        try:
            cleaned.add(normal_domain(raw))
        except ValueError as error:
            raise InvalidAction("Some domains need correcting.", {"domains": str(error)}) from None
    if len(cleaned) > MAX_DOMAINS:
        raise InvalidAction(
            "Too many domains.", {"domains": f"A school may allow at most {MAX_DOMAINS}."}
        )
    return sorted(cleaned)


def _check(rules: SchoolSignIn, domains: list[str], actor: User) -> None:
    """The rules hold together: single sign-on is required only where there is one, and
    an administrator does not lock themself out."""
    if rules.create_accounts and not domains:
        raise InvalidAction(
            "Accounts can only be made for allowed domains.",
            {"create_accounts": "Allow at least one domain first."},
        )
    if not rules.require_sso:
        return
    if not sso_available():
        raise InvalidAction(
            "This changedesk offers no single sign-on.",
            {
                "require_sso": "No single sign-on is configured here: ask the person who runs "
                "changedesk to set it up first."
            },
        )
    only_oidc = provider.enabled() and all(
        path in PASSWORD_BACKENDS or path.startswith("changedesk.signin.oidc")
        for path in settings.AUTHENTICATION_BACKENDS
    )
    own = domain_of(actor.email)
    allowed = own in domains or (
        AllowedDomain.objects.filter(domain=own).exclude(school=rules.school_id).exists()
    )
    if only_oidc and not actor.is_superuser and not allowed:
        raise InvalidAction(
            "You would lock yourself out.",
            {
                "require_sso": f"Your own address ({actor.email or 'none'}) is not at an "
                f"allowed domain, so you could not sign in with {provider.name()}."
            },
        )
