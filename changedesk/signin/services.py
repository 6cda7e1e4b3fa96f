"""Who may sign in with single sign-on, who must, and the one writer of a school's and a
trust's rules.

- A person signing in with the OpenID Connect provider is matched to their account by the
  e-mail address the provider has verified, and only when some school or trust allows the
  address's domain. Where no account has it, one is made only if a rule that allows the
  domain asks for it: a school's (the newcomer joins that school) or a trust's (they join
  every school of the trust), each with no roles, so they see nothing and do nothing until
  an administrator gives them some.
- How a school's rules and its trust's combine (`effective_rules`): the school's domains are
  its own and the trust's; single sign-on is required where either requires it (the
  stricter wins: a school cannot loosen its trust's rule); accounts are made by the rule
  that allowed the domain.
- A member of a school that requires single sign-on (or of a trust's school, or one of the
  trust's people, where the trust requires it) may not sign in with a password
  (`backends.PasswordBackend`), nor stay signed in with one made before, nor use an API
  token made before their single sign-on (`token_refusal`), unless they are a superuser
  (an operator must always be able to get in) or this changedesk offers no other way in.
- Which domains a rule may allow: not one already allowed by a school or trust outside the
  same trust, and no public mail service's (gmail.com...) while accounts are made for it,
  unless an operator (a superuser) sets it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import Exists, Q
from django.utils import timezone
from django.utils.translation import gettext

from changedesk.accounts.models import Membership, School, Trust, TrustMembership, User
from changedesk.accounts.permissions import is_school_admin, is_trust_admin, with_roles
from changedesk.accounts.services import create_user, set_membership
from changedesk.lib.errors import InvalidAction, NotPermitted
from changedesk.signin import provider
from changedesk.signin.models import (
    AllowedDomain,
    SchoolSignIn,
    SignInRecord,
    TrustDomain,
    TrustSignIn,
)

PASSWORD_BACKENDS = {
    "changedesk.signin.backends.PasswordBackend",
    "django.contrib.auth.backends.ModelBackend",
}
MAX_DOMAINS = 50
# Public mail services: anyone may have an address there, so no rule makes accounts for
# them (an operator may). Matched exactly, as the domains are.
PUBLIC_MAIL_DOMAINS = frozenset(
    {
        "aol.com",
        "btinternet.com",
        "gmail.com",
        "gmx.com",
        "gmx.co.uk",
        "googlemail.com",
        "hotmail.co.uk",
        "hotmail.com",
        "icloud.com",
        "live.co.uk",
        "live.com",
        "mac.com",
        "mail.com",
        "me.com",
        "msn.com",
        "outlook.com",
        "pm.me",
        "proton.me",
        "protonmail.com",
        "sky.com",
        "tutanota.com",
        "virginmedia.com",
        "yahoo.co.uk",
        "yahoo.com",
        "ymail.com",
        "zoho.com",
    }
)
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
    return allowed_anywhere(domain)


def allowed_anywhere(domain: str) -> bool:
    """Whether some school or trust allows `domain`."""
    return (
        AllowedDomain.objects.filter(domain=domain).exists()
        or TrustDomain.objects.filter(domain=domain).exists()
    )


# --- Who must use single sign-on. ---


def sso_available() -> bool:
    """Whether this changedesk offers any way to sign in other than a password."""
    return provider.enabled() or any(
        path not in PASSWORD_BACKENDS for path in settings.AUTHENTICATION_BACKENDS
    )


def sso_required_for(user: Any) -> bool:
    """Whether `user` must sign in with single sign-on: a member of a school that requires
    it, or of a school of a trust that does, or one of such a trust's people; unless a
    superuser, or while no single sign-on is configured (then no one could sign in at
    all). One query."""
    if user.is_superuser or not sso_available():
        return False
    schools = Membership.objects.filter(user_id=user.pk).values("school_id")
    trusts = TrustMembership.objects.filter(user_id=user.pk).values("trust_id")
    by_school = SchoolSignIn.objects.filter(require_sso=True, school_id__in=schools)
    by_trust = TrustSignIn.objects.filter(require_sso=True).filter(
        Q(trust_id__in=trusts)
        | Q(trust_id__in=School.objects.filter(pk__in=schools).values("trust_id"))
    )
    return (
        User.objects.filter(pk=user.pk)
        .filter(Exists(by_school.values("pk")) | Exists(by_trust.values("pk")))
        .exists()
    )


def sso_required_message() -> str:
    if provider.enabled():
        return (
            f"Your school asks its members to sign in with {provider.name()}, not with a "
            f"password: use “Sign in with {provider.name()}”."
        )
    return "Your school asks its members to sign in with single sign-on, not with a password."


# --- Sessions and API tokens of people who must use single sign-on. ---


def record_sign_in(user: Any, backend: str) -> None:
    """Note how `user` signed in: by a password (including the admin's sign-in page) or
    by single sign-on (OpenID Connect, the directory)."""
    if user.pk is None:
        return
    now = timezone.now()
    if backend in PASSWORD_BACKENDS:
        SignInRecord.objects.update_or_create(
            user_id=user.pk, defaults={"sso_since": None, "last_password_at": now}
        )
        return
    record, made = SignInRecord.objects.get_or_create(user_id=user.pk, defaults={"sso_since": now})
    if not made and record.sso_since is None:
        record.sso_since = now
        record.save(update_fields=["sso_since"])


def token_refusal(user: Any, token: Any) -> str | None:
    """Why `token` may not be used by `user` (None: it may): where single sign-on is
    required of them, a token is good only if made since they began signing in with it
    (`SignInRecord.sso_since`), as one made before may come from a password session. A
    token made on the command line (`changedesk token`) by an operator for someone who
    must use single sign-on is refused the same way: make it after they have signed in."""
    if not sso_required_for(user):
        return None
    since = SignInRecord.objects.filter(user_id=user.pk).values_list("sso_since", flat=True).first()
    if since is not None and token.created >= since:
        return None
    return (
        "Your school (or trust) requires single sign-on, and this API token was made before "
        "you signed in with it. Sign in, then make a new token on your profile page."
    )


# --- Matching a person to their account. ---


def account_for(email: str, claims: dict[str, Any]) -> User:
    """The account of the person whose verified address is `email`, made when a school
    allows it (see the module's docstring); SignInRefused when there is none to be had."""
    name = provider.name()
    if not valid_address(email):
        raise SignInRefused(
            gettext(
                "%(provider)s gave an e-mail address changedesk cannot use (%(email)s). Ask "
                "your school's changedesk administrator."
            )
            % {"provider": name, "email": repr(email[:100])}
        )
    domain = domain_of(email)
    if not domain or not allowed_anywhere(domain):
        raise SignInRefused(
            gettext(
                "Signing in with %(provider)s is not open to addresses at %(domain)s. "
                "Ask your school's changedesk administrator to allow your school's domain."
            )
            % {"provider": name, "domain": domain or email}
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
            gettext(
                "More than one changedesk account has the address %(email)s, so signing in "
                "with %(provider)s cannot tell which is yours. Ask your school's administrator."
            )
            % {"provider": name, "email": email}
        )
    if found:
        if not found[0].is_active:
            raise SignInRefused(gettext("Your changedesk account is switched off."))
        return found[0]
    creating = list(
        School.objects.filter(
            Q(signin_domains__domain=domain, signin__create_accounts=True)
            | Q(trust__signin_domains__domain=domain, trust__signin__create_accounts=True)
        )
        .distinct()
        .order_by("pk")
    )
    if not creating:
        raise SignInRefused(
            gettext(
                "No changedesk account has the address %(email)s. Ask your school's changedesk "
                "administrator to invite you."
            )
            % {"email": email}
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


# --- A school's rules, and its trust's. ---


@dataclass(frozen=True)
class Effective:
    """A school's rules as they apply: its own and its trust's together."""

    own: SchoolSignIn
    domains: list[str]  # the school's own
    trust: Trust | None
    trust_rules: TrustSignIn | None
    trust_domains: list[str]

    @property
    def require_sso(self) -> bool:
        """Required by the school or by its trust: the stricter wins."""
        return self.own.require_sso or bool(self.trust_rules and self.trust_rules.require_sso)

    @property
    def all_domains(self) -> list[str]:
        return sorted(set(self.domains) | set(self.trust_domains))


def rules_of(school: School) -> tuple[SchoolSignIn, list[str]]:
    """The school's own rules (unsaved defaults when it has none) and domains, sorted."""
    rules = SchoolSignIn.objects.filter(school=school).first() or SchoolSignIn(school=school)
    domains = sorted(AllowedDomain.objects.filter(school=school).values_list("domain", flat=True))
    return rules, domains


def trust_rules_of(trust: Trust) -> tuple[TrustSignIn, list[str]]:
    """The trust's rules (unsaved defaults when it has none) and its domains, sorted."""
    rules = TrustSignIn.objects.filter(trust=trust).first() or TrustSignIn(trust=trust)
    domains = sorted(TrustDomain.objects.filter(trust=trust).values_list("domain", flat=True))
    return rules, domains


def effective_rules(school: School, own: tuple[SchoolSignIn, list[str]] | None = None) -> Effective:
    """The school's rules with its trust's; `own` when its own are already read."""
    rules, domains = own or rules_of(school)
    if school.trust_id is None:
        return Effective(rules, domains, None, None, [])
    trust = Trust.objects.get(pk=school.trust_id)
    trust_rules, trust_domains = trust_rules_of(trust)
    return Effective(rules, domains, trust, trust_rules, trust_domains)


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
        raise NotPermitted(
            gettext("Only a school administrator of %(school)s may do this.")
            % {"school": school.name}
        )
    with transaction.atomic():
        # The school's row is locked, not only its rules': two first saves at once would
        # otherwise both make a rules row (or the same domain), and one would fail with a 500.
        School.objects.select_for_update().filter(pk=school.pk).first()
        return _save_rules(
            SchoolSignIn, AllowedDomain, {"school": school}, actor, domains, require_sso,
            create_accounts,
        )  # fmt: skip


def update_trust_rules(
    trust: Trust,
    actor: User,
    *,
    domains: Iterable[str] | None = None,
    require_sso: bool | None = None,
    create_accounts: bool | None = None,
) -> tuple[TrustSignIn, list[str]]:
    """Change what is given of a trust's rules, as its administrator `actor` (or an
    operator); refuses with field errors, writing nothing, as `update_rules` does."""
    if not is_trust_admin(with_roles(actor), trust):
        raise NotPermitted(
            gettext("Only an administrator of %(trust)s may do this.") % {"trust": trust.name}
        )
    with transaction.atomic():
        Trust.objects.select_for_update().filter(pk=trust.pk).first()
        return _save_rules(
            TrustSignIn, TrustDomain, {"trust": trust}, actor, domains, require_sso,
            create_accounts,
        )  # fmt: skip


def _save_rules(
    rules_model: Any,
    domain_model: Any,
    owner: dict[str, Any],
    actor: User,
    domains: Iterable[str] | None,
    require_sso: bool | None,
    create_accounts: bool | None,
) -> tuple[Any, list[str]]:
    """What `update_rules` and `update_trust_rules` share, their owner's row locked: the
    rules row of `owner` ({"school": …} or {"trust": …}) with what is given changed, checked
    (`_check`), and its domains made `domains`."""
    rules = rules_model.objects.filter(**owner).first() or rules_model(**owner)
    current = sorted(domain_model.objects.filter(**owner).values_list("domain", flat=True))
    wanted = _clean_domains(domains) if domains is not None else current
    if require_sso is not None:
        rules.require_sso = require_sso
    if create_accounts is not None:
        rules.create_accounts = create_accounts
    _check(
        rules.require_sso,
        rules.create_accounts,
        wanted,
        sorted(set(wanted) - set(current)),
        actor,
        **owner,
    )
    rules.updated_by = actor
    rules.save()
    domain_model.objects.filter(**owner).exclude(domain__in=wanted).delete()
    domain_model.objects.bulk_create(
        [domain_model(**owner, domain=d) for d in wanted if d not in current]
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
            raise InvalidAction(
                gettext("Some domains need correcting."), {"domains": str(error)}
            ) from None
    if len(cleaned) > MAX_DOMAINS:
        raise InvalidAction(
            gettext("Too many domains."),
            {
                "domains": gettext("At most %(count)s domains may be allowed.")
                % {"count": MAX_DOMAINS}
            },
        )
    return sorted(cleaned)


def claimed_elsewhere(
    domains: Iterable[str], *, school: School | None = None, trust: Trust | None = None
) -> list[str]:
    """Which of `domains` a school or trust outside `school`'s trust (or `trust`) already
    allows: the schools of one trust may share a domain, no one else."""
    wanted = list(domains)
    if not wanted:
        return []
    trust_id = trust.pk if trust is not None else (school.trust_id if school else None)
    schools = AllowedDomain.objects.filter(domain__in=wanted)
    trusts = TrustDomain.objects.filter(domain__in=wanted)
    if school is not None:
        schools = schools.exclude(school_id=school.pk)
    if trust_id is not None:
        schools = schools.exclude(school__trust_id=trust_id)
        trusts = trusts.exclude(trust_id=trust_id)
    found = set(schools.values_list("domain", flat=True)) | set(
        trusts.values_list("domain", flat=True)
    )
    return sorted(found)


def _check(
    require_sso: bool,
    create_accounts: bool,
    domains: list[str],
    added: list[str],
    actor: User,
    *,
    school: School | None = None,
    trust: Trust | None = None,
) -> None:
    """The rules hold together: accounts are made only for a rule's own domains, not for a
    public mail service's; a new domain is not another school's or trust's outside this
    trust (an operator may set both); single sign-on is required only where there is one;
    and an administrator does not lock themself out."""
    if create_accounts and not domains:
        raise InvalidAction(
            gettext("Accounts can only be made for allowed domains."),
            {"create_accounts": gettext("Allow at least one domain first.")},
        )
    if not actor.is_superuser:
        public = sorted(set(domains) & PUBLIC_MAIL_DOMAINS)
        if create_accounts and public:
            raise InvalidAction(
                gettext("Accounts cannot be made for a public mail service's addresses."),
                {
                    "domains": gettext(
                        "%(domains)s: anyone can have an address there, so changedesk cannot "
                        "make accounts for it. Remove it, or stop creating accounts (people "
                        "with an account already may still sign in)."
                    )
                    % {"domains": ", ".join(public)},
                },
            )
        taken = claimed_elsewhere(added, school=school, trust=trust)
        if taken:
            raise InvalidAction(
                gettext("Another school or trust allows that domain."),
                {
                    "domains": gettext(
                        "%(domains)s is already allowed by another school or trust, outside "
                        "yours. Only the person who runs changedesk (an operator) may allow it "
                        "here too."
                    )
                    % {"domains": ", ".join(taken)},
                },
            )
    if not require_sso:
        return
    if not sso_available():
        raise InvalidAction(
            gettext("This changedesk offers no single sign-on."),
            {
                "require_sso": gettext(
                    "No single sign-on is configured here: ask the person who runs "
                    "changedesk to set it up first."
                )
            },
        )
    own = domain_of(actor.email)
    others = AllowedDomain.objects.filter(domain=own)
    if school is not None:
        others = others.exclude(school=school)
    trust_others = TrustDomain.objects.filter(domain=own)
    if trust is not None:
        trust_others = trust_others.exclude(trust=trust)
    allowed = own in domains or others.exists() or trust_others.exists()
    if _only_oidc() and not actor.is_superuser and not allowed:
        raise InvalidAction(
            gettext("You would lock yourself out."),
            {
                "require_sso": gettext(
                    "Your own address (%(email)s) is not at an allowed domain, so you could "
                    "not sign in with %(provider)s."
                )
                % {"email": actor.email or gettext("none"), "provider": provider.name()}
            },
        )


def _only_oidc() -> bool:
    """Whether OpenID Connect is the only single sign-on here (no directory), so that who
    can use it is known from their address alone."""
    return provider.enabled() and all(
        path in PASSWORD_BACKENDS or path.startswith("changedesk.signin.oidc")
        for path in settings.AUTHENTICATION_BACKENDS
    )


STRANDED_SHOWN = 50


def _stranded(people: Any) -> list[User]:
    if not _only_oidc():
        return []
    allowed = set(AllowedDomain.objects.values_list("domain", flat=True)) | set(
        TrustDomain.objects.values_list("domain", flat=True)
    )
    found: list[User] = []
    for person in people.order_by("last_name", "first_name", "username").iterator():
        if domain_of(person.email) not in allowed:
            found.append(person)
            if len(found) >= STRANDED_SHOWN:
                break
    return found


def stranded_members(school: School) -> list[User]:
    """The school's members who could not sign in were single sign-on required of them:
    their address is at no domain any school or trust allows, and they are not operators.
    Known only where OpenID Connect is the only single sign-on; empty otherwise."""
    return _stranded(
        User.objects.filter(
            memberships__school=school, is_active=True, is_superuser=False
        ).distinct()
    )


def stranded_in_trust(trust: Trust) -> list[User]:
    """As `stranded_members`, for the members of all the trust's schools and its people
    (the first `STRANDED_SHOWN`)."""
    return _stranded(
        User.objects.filter(
            Q(memberships__school__trust=trust) | Q(trust_memberships__trust=trust),
            is_active=True,
            is_superuser=False,
        ).distinct()
    )
