"""Sign-in throttling that cannot be turned against everyone behind one address.

Failed sign-ins are counted per username: after `LOGIN_ATTEMPTS_LIMIT` within
`LOGIN_ATTEMPTS_WINDOW`, that username is paused for one window, whoever tries it and from
wherever. The client address has a ceiling of its own, far higher
(`LOGIN_ATTEMPTS_PER_ADDRESS`), since a school's NAT or the reverse proxy puts everyone
behind one address: a flood of guesses for made-up usernames pauses that address only once
it passes the ceiling, and until then a real person there signs in. Wrong API tokens count
towards the address's ceiling too (`accounts.authentication`).

An attempt is counted *before* the password is checked, inside a locked row (PostgreSQL
locks it; SQLite's write transactions queue), so a burst of parallel guesses gets no more
tries than a patient guesser; a successful sign-in takes its count back (the username's
failures are forgotten, the address's reduced by one). The counters are rows, not cache
entries: the database cache culls entries when it fills, which a flood could use to wipe a
username's count. `changedesk unlock USERNAME` (or the admin's sign-in counters) lifts a
pause.

A username (one person, one guesser) needs no separate username-and-address count: with the
same limit, the username's count always reaches it first.
"""

from __future__ import annotations

import ipaddress
import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.http import HttpRequest
from django.utils import timezone

from changedesk.accounts.choices import ThrottleKind
from changedesk.accounts.models import SignInCounter

USERNAME_LENGTH = 150


@dataclass(frozen=True)
class Key:
    kind: str
    value: str

    @property
    def limit(self) -> int:
        if self.kind == ThrottleKind.ADDRESS:
            return max(1, int(settings.LOGIN_ATTEMPTS_PER_ADDRESS))
        return max(1, int(settings.LOGIN_ATTEMPTS_LIMIT))


class SignInPaused(Exception):
    """Too many failures: no attempt is checked until `until`."""

    def __init__(self, until: datetime, kind: str) -> None:
        super().__init__(until, kind)
        self.until = until
        self.kind = kind

    @property
    def seconds(self) -> int:
        return max(1, math.ceil((self.until - timezone.now()).total_seconds()))

    @property
    def message(self) -> str:
        minutes = math.ceil(self.seconds / 60)
        whose = "from your network" if self.kind == ThrottleKind.ADDRESS else "for this username"
        at = timezone.localtime(self.until).strftime("%H:%M")
        return (
            f"Too many failed sign-ins {whose}. Try again after {at} "
            f"(in {minutes} minute{'s' if minutes != 1 else ''})."
        )


# --- The client's address. ---


def client_address(request: HttpRequest) -> str:
    """The address the request came from.

    Behind a reverse proxy (`BEHIND_PROXY`), REMOTE_ADDR is the proxy's; each trusted proxy
    appends the address it was reached from to X-Forwarded-For, so the client's is the
    `PROXY_HOPS`-th entry from the right (1 by default: one proxy). Entries further left
    were written by the client and are ignored, so a forged one gains nothing.
    """
    remote = request.META.get("REMOTE_ADDR", "") or ""
    if settings.BEHIND_PROXY:
        forwarded = [
            part.strip()
            for part in str(request.META.get("HTTP_X_FORWARDED_FOR", "")).split(",")
            if part.strip()
        ]
        if forwarded:
            hops = max(1, int(settings.PROXY_HOPS))
            entry = forwarded[-hops] if len(forwarded) >= hops else forwarded[0]
            address = _normalise(entry)
            if address:
                return address
    return _normalise(remote) or "unknown"


def _normalise(text: str) -> str:
    """An IP address as text (an IPv6 one as its /64, which one client holds whole), or ""."""
    text = text.strip()
    if text.startswith("[") and "]" in text:  # [v6]:port
        text = text[1 : text.index("]")]
    elif text.count(":") == 1:  # v4:port
        text = text.split(":", 1)[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return ""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network(f"{address}/64", strict=False))
    return str(address)


def _keys(username: str | None, address: str) -> list[Key]:
    keys = [Key(ThrottleKind.ADDRESS, address[:USERNAME_LENGTH])]
    if username is not None:
        keys.insert(0, Key(ThrottleKind.USERNAME, normalise_username(username)))
    return keys


def normalise_username(username: str) -> str:
    return username.strip().lower()[:USERNAME_LENGTH]


# --- Counting. ---


def begin(username: str | None, address: str) -> None:
    """Count an attempt as failed before its password is checked; raises `SignInPaused` if
    the username or the address is paused. Call `succeeded` when the password was right."""
    now = timezone.now()
    window = timedelta(seconds=max(1, int(settings.LOGIN_ATTEMPTS_WINDOW)))
    with transaction.atomic():
        for key in _keys(username, address):
            _count(key, now, window)
    # Forget counts whose window ended (and pauses that are over), a few at a time.
    SignInCounter.objects.filter(
        pk__in=SignInCounter.objects.filter(window_ends__lte=now)
        .filter(Q(locked_until__isnull=True) | Q(locked_until__lte=now))
        .values("pk")[:100]
    ).delete()


def _count(key: Key, now: datetime, window: timedelta) -> None:
    row = _locked_row(key, now, window)
    if row.locked_until is not None and row.locked_until > now:
        raise SignInPaused(row.locked_until, key.kind)
    if row.window_ends <= now:
        row.failures, row.window_ends = 0, now + window
    row.failures += 1
    if row.failures >= key.limit:
        # This attempt is the last allowed; any other waits, and so does the next if it fails.
        row.locked_until = now + window
    row.save(update_fields=["failures", "window_ends", "locked_until"])


def _locked_row(key: Key, now: datetime, window: timedelta) -> SignInCounter:
    rows = SignInCounter.objects.select_for_update()
    row = rows.filter(kind=key.kind, value=key.value).first()
    if row is not None:
        return row
    try:
        with transaction.atomic():
            return SignInCounter.objects.create(
                kind=key.kind, value=key.value, failures=0, window_ends=now + window
            )
    except IntegrityError:  # made by a parallel attempt meanwhile
        return rows.get(kind=key.kind, value=key.value)


def succeeded(username: str | None, address: str) -> None:
    """The password (or token) was right: forget the username's failures and take this
    attempt back from the address's count."""
    with transaction.atomic():
        for key in _keys(username, address):
            if key.kind == ThrottleKind.USERNAME:
                SignInCounter.objects.filter(kind=key.kind, value=key.value).delete()
                continue
            row = (
                SignInCounter.objects.select_for_update()
                .filter(kind=key.kind, value=key.value)
                .first()
            )
            if row is not None and row.failures > 0:
                row.failures -= 1
                if row.failures < key.limit:
                    row.locked_until = None
                row.save(update_fields=["failures", "locked_until"])


def failed(address: str) -> None:
    """A failure counted after the fact (a wrong API token); raises `SignInPaused` when the
    address has passed its ceiling."""
    begin(None, address)


def paused(username: str | None, address: str) -> SignInPaused | None:
    """The pause on this username or address now, if any (the later one)."""
    now = timezone.now()
    match = Q()
    for key in _keys(username, address):
        match |= Q(kind=key.kind, value=key.value)
    row = (
        SignInCounter.objects.filter(match, locked_until__gt=now).order_by("-locked_until").first()
    )
    if row is None or row.locked_until is None:
        return None
    return SignInPaused(row.locked_until, row.kind)


def unlock(username: str | None = None, address: str | None = None) -> int:
    """Lift the pause (and forget the failures) of a username and/or an address; returns
    how many counters were cleared."""
    match = Q(pk__in=[])
    if username:
        match |= Q(kind=ThrottleKind.USERNAME, value=normalise_username(username))
    if address:
        match |= Q(kind=ThrottleKind.ADDRESS, value=_normalise(address) or address)
    deleted, _ = SignInCounter.objects.filter(match).delete()
    return deleted
