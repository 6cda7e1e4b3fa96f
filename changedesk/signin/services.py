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
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
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
    """The domain of an address, as `normal_domain` keeps it ("" if it has none, or if it
    is written in a form that only IDNA's mapping makes into a domain: `school.org` with a
    long s (U+017F) or in full-width letters is not `school.org`, though Python's codec maps
    both to it)."""
    _, at, domain = email.rpartition("@")
    if not at:
        return ""
    try:
        kept = normal_domain(domain)
        written = domain.strip().lower().rstrip(".")
        if written != kept and written != kept.encode("ascii").decode("idna"):
            return ""
    except (ValueError, UnicodeError):
        return ""
    return kept


ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def same_address(one: str, other: str) -> bool:
    """Whether two e-mail addresses are the same: the local part alike but for the case of
    ASCII letters, the domain alike as `domain_of` keeps it. Unicode's case rules are not
    used: they make the Kelvin sign a "k" and a dotless i (U+0131) an "I" (PostgreSQL's UPPER
    does the same), which would let an address spelt with a Kelvin sign (U+212A) for its
    "k" be matched to the account of the person whose address has the letter."""
    local = one.strip().rpartition("@")[0]
    other_local = other.strip().rpartition("@")[0]
    if not local or not other_local:
        return False
    return (
        local.translate(ASCII_LOWER) == other_local.translate(ASCII_LOWER)
        and domain_of(one) != ""
        and domain_of(one) == domain_of(other)
    )


def valid_address(email: str) -> bool:
    """Whether `email` is one address as Django's EmailValidator takes it (not a list, no
    control characters) with a domain `domain_of` accepts, short enough for an account."""
    try:
        validate_email(email)
    except ValidationError:
        return False
    return (
        domain_of(email) != ""
        and email == email.strip()
        and "\x00" not in email
        and len(email) <= User._meta.get_field("email").max_length  # type: ignore[operator]
    )


def organisation_allowed(claimed: object) -> bool:
    """Whether the domain a provider names as the account's organisation (Google's `hd`)
    is one some school allows."""
    if not isinstance(claimed, str):
        return False
    try:
        domain = normal_domain(claimed)
    except ValueError:
        return False
    return AllowedDomain.objects.filter(domain=domain).exists()


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
    if not valid_address(email):
        raise SignInRefused(
            f"{name} gave an e-mail address changedesk cannot use ({email[:100]!r}). Ask "
            "your school's changedesk administrator."
        )
    domain = domain_of(email)
    school_ids = list(
        AllowedDomain.objects.filter(domain=domain).values_list("school_id", flat=True)
    )
    if not domain or not school_ids:
        raise SignInRefused(
            f"Signing in with {name} is not open to addresses at {domain or email}. "
            "Ask your school's changedesk administrator to allow your school's domain."
        )
    # The database's case-insensitive match finds the candidates (SQLite's is ASCII only,
    # PostgreSQL's Unicode); `same_address` decides, the same on both.
    found = [
        user
        for user in User.objects.filter(email__iexact=email)[:20]
        if same_address(user.email, email)
    ]
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
        # The school's row is locked, not only its rules': two first saves at once would
        # otherwise both make a rules row (or the same domain), and one would fail with a 500.
        School.objects.select_for_update().filter(pk=school.pk).first()
        rules = SchoolSignIn.objects.filter(school=school).first()
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
    only_oidc = _only_oidc()
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


def _only_oidc() -> bool:
    """Whether OpenID Connect is the only single sign-on here (no directory), so that who
    can use it is known from their address alone."""
    return provider.enabled() and all(
        path in PASSWORD_BACKENDS or path.startswith("changedesk.signin.oidc")
        for path in settings.AUTHENTICATION_BACKENDS
    )


def stranded_members(school: School) -> list[User]:
    """The school's members who could not sign in were single sign-on required of them:
    their address is at no domain any school allows, and they are not operators. Known
    only where OpenID Connect is the only single sign-on; empty otherwise."""
    if not _only_oidc():
        return []
    allowed = set(AllowedDomain.objects.values_list("domain", flat=True))
    members = User.objects.filter(
        memberships__school=school, is_active=True, is_superuser=False
    ).distinct()
    return [
        person
        for person in members.order_by("last_name", "first_name", "username")
        if domain_of(person.email) not in allowed
    ]
