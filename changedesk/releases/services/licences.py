"""The software licence log: writing licences, giving them to holders and taking them back,
what each licence's figures say, and the worker's warnings.

Who may: every member of the school reads the log; the release manager (or a school
administrator) writes it (`permissions.may_manage`).

A licence's **holders** (`LicenceAssignment`) are each one of: a configuration item of the
school (a computer, or a group of them), a member of the school, or the name of someone
without an account. A per-device licence is given to items only, a per-user licence to
people only; a site licence or a subscription to either.

**Seats.** A per-device, per-user or subscription licence says how many seats it has (a site
licence may leave it blank: any number). A per-device or per-user licence that is full is
refused another holder: `assign` locks the licence's row and counts its holders inside the
lock, so two people giving out the last seat at once cannot both have it. Lowering the seats
below the holders is allowed (the licence is then over-allocated, and says so).

**The figures** (`figures`, for rows annotated with `used`, as `with_used` does in the
list's one query):

- `used`: its holders; `free`: seats less holders (never below 0; None without seats);
- `over_allocated`: more holders than seats;
- `under_used`: an active licence of at least `UNDER_USED_FROM` (4) seats of which fewer
  than three quarters are used (`used * 4 < seats * 3`): seats paid for and not given out;
- `expiring`: active, and its expiry day is within its `notice_days` of today where the
  school is (today itself included);
- `expired`: active, and its expiry day has passed where the school is (a lapsed licence is
  kept in the log marked not active, with no flags).
"""

from __future__ import annotations

import hashlib
import logging
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import (
    Count,
    DateField,
    F,
    Func,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext, gettext_noop, ngettext

from changedesk.accounts import permissions as accounts
from changedesk.accounts.choices import Role
from changedesk.accounts.models import Membership, School, User
from changedesk.configuration.models import ConfigurationItem
from changedesk.lib import days
from changedesk.lib.errors import InvalidAction, NotPermitted
from changedesk.notifications.outbox import enqueue
from changedesk.releases import permissions
from changedesk.releases.choices import LicenceKind
from changedesk.releases.models import Licence, LicenceAssignment

LICENCE_FIELDS = ("product", "kind", "seats", "bought_on", "expires_on", "supplier",
                  "order_reference", "notice_days", "notes", "is_active")  # fmt: skip
HOLDER_FIELDS = ("item", "user", "person")
# Kinds that must say how many seats they have.
SEATED = frozenset({LicenceKind.PER_DEVICE, LicenceKind.PER_USER, LicenceKind.SUBSCRIPTION})
# Kinds refused another holder when full.
COUNTED = frozenset({LicenceKind.PER_DEVICE, LicenceKind.PER_USER})
MOST_SEATS = 1_000_000
MOST_NOTICE_DAYS = 730
# The days a licence may have been bought or expire on: a date outside is a typing slip
# (and the year 1 less its notice days is before any date the database or Python can hold).
EARLIEST_DAY = date(1990, 1, 1)
LATEST_DAY = date(2100, 12, 31)
# Under-used: at least this many seats, fewer than three quarters of them used.
UNDER_USED_FROM = 4
# Over-allocated licences are warned of at most this often.
OVER_WARNING_EVERY = timedelta(days=7)
TEMPLATE = "releases_licences"
# The worker's warnings run at most this often (the last run, in this process).
WARNINGS_EVERY = timedelta(minutes=10)
_last_warnings: list[datetime] = []
# The most licences one mail lists of each kind (the rest: "and N more").
MOST_LISTED = 50

STATUSES = ("over_allocated", "under_used", "expiring", "expired")
STATUS_LABELS = {
    "over_allocated": "over-allocated",
    "under_used": "under-used",
    "expiring": "expiring",
    "expired": "expired",
}

FIX = gettext_noop("Some fields need correcting.")

logger = logging.getLogger(__name__)


def today_in(school: School, now: datetime | None = None) -> date:
    """Today where the school is."""
    return (now or timezone.now()).astimezone(school.zone).date()


def _require(user: User, school: School, what: str) -> None:
    if not permissions.may_manage(user, school):
        raise NotPermitted(
            gettext("Only a release manager or a school administrator of %(school)s may %(what)s.")
            % {"school": school.name, "what": what}
        )


def _unknown(data: dict[str, Any], allowed: Iterable[str]) -> None:
    unknown = sorted(set(data) - set(allowed))
    if unknown:
        raise InvalidAction(gettext(FIX), {n: gettext("Not a field you may set.") for n in unknown})


# --- In SQL: the figures and the statuses. ---


class NoticeStarts(Func):
    """The first day of a licence's notice period: `expires_on` less `notice_days`."""

    output_field = DateField()

    def __init__(self) -> None:
        super().__init__(F("expires_on"), F("notice_days"))

    def as_sql(
        self,
        compiler: Any,
        connection: Any,
        function: str | None = None,
        template: str | None = None,
        arg_joiner: str | None = None,
        **extra_context: Any,
    ) -> tuple[str, tuple[str | int, ...]]:
        return super().as_sql(
            compiler,
            connection,
            function,
            template or "(%(expressions)s)",
            arg_joiner or " - ",
            **extra_context,
        )

    def as_sqlite(self, compiler: Any, connection: Any, **extra_context: Any) -> Any:
        return self.as_sql(
            compiler,
            connection,
            template="date(%(expressions)s || ' days')",
            arg_joiner=", '-' || ",
            **extra_context,
        )


def used_subquery() -> Coalesce:
    """How many holders the row's licence has (for a filter: no GROUP BY over the list)."""
    counted = (
        LicenceAssignment.objects.filter(licence=OuterRef("pk"))
        .order_by()
        .values("licence")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(counted, output_field=IntegerField()), Value(0))


def with_used(queryset: QuerySet[Licence]) -> QuerySet[Licence]:
    """The licences, each with `used` (its holders) annotated: one query for a page."""
    return queryset.annotate(used=Count("assignments"))


def status_q(status: str, schools: Iterable[School] | None, now: datetime | None = None) -> Q:
    """The condition on licences (annotated with `used`, by `used_subquery` or `with_used`)
    of a status of `STATUSES`, each school's day its own (`schools`: those the rows are of;
    None: any)."""
    now = now or timezone.now()
    active = Q(is_active=True)
    if status == "over_allocated":
        return active & Q(seats__isnull=False, used__gt=F("seats"))
    if status == "under_used":
        return active & Q(seats__gte=UNDER_USED_FROM, used4__lt=F("seats") * 3)
    if status not in ("expiring", "expired"):
        raise ValueError(status)

    def condition(today: date) -> Q:
        if status == "expiring":
            return Q(expires_on__gte=today, notice_starts__lte=today)
        return Q(expires_on__lt=today)

    among = School.objects.all() if schools is None else schools
    return active & days.per_zone(among, condition, now)


def with_status_columns(queryset: QuerySet[Licence]) -> Any:
    """What `status_q` compares, as columns computed by the database (a subquery per
    licence for its holders, so the list is not grouped): `used`, `used4` (four times it)
    and `notice_starts`. Aliases, to filter on, never read back (a notice starting before
    the year 1 cannot be read into a `date`); `with_used_column` adds `used` to read.
    (`Any`: the columns are annotations mypy's plugin cannot see.)"""
    used = used_subquery()
    return queryset.alias(used=used, used4=used * Value(4), notice_starts=NoticeStarts())


def with_used_column(queryset: QuerySet[Licence]) -> Any:
    """The licences with `holders` (how many hold each) to read, by a subquery."""
    return queryset.annotate(holders=used_subquery())


def filter_status(
    queryset: QuerySet[Licence], status: str, schools: Iterable[School] | None
) -> QuerySet[Licence]:
    found: QuerySet[Licence] = with_status_columns(queryset).filter(status_q(status, schools))
    return found


def summary(queryset: QuerySet[Licence], schools: Iterable[School] | None) -> dict[str, int]:
    """How many of `queryset` are of each status, in one query."""
    listed = list(schools) if schools is not None else None
    counts = with_status_columns(queryset.order_by()).aggregate(
        **{s: Count("pk", filter=status_q(s, listed)) for s in STATUSES}
    )
    return {s: int(counts[s] or 0) for s in STATUSES}


@dataclass(frozen=True, slots=True)
class Figures:
    seats: int | None
    used: int
    free: int | None
    over_allocated: bool
    under_used: bool
    expiring: bool
    expired: bool

    @property
    def over_by(self) -> int:
        """How many holders more than seats (0 when not over-allocated)."""
        return max(0, self.used - self.seats) if self.seats is not None else 0

    @property
    def flags(self) -> list[str]:
        return [STATUS_LABELS[s] for s in STATUSES if getattr(self, s)]


def figures(licence: Licence, used: int, today: date) -> Figures:
    """What the licence's figures say, `today` being its school's day (see the module)."""
    seats, active = licence.seats, licence.is_active
    ends = licence.expires_on
    return Figures(
        seats=seats,
        used=used,
        free=None if seats is None else max(0, seats - used),
        over_allocated=active and seats is not None and used > seats,
        under_used=active
        and seats is not None
        and seats >= UNDER_USED_FROM
        and used * 4 < seats * 3,
        expiring=active
        and ends is not None
        and today <= ends <= today + timedelta(days=licence.notice_days),
        expired=active and ends is not None and ends < today,
    )


def attach_figures(licences: Iterable[Licence], now: datetime | None = None) -> None:
    """Set `figures` on each licence (loaded with `used` and its school)."""
    now = now or timezone.now()
    rows = list(licences)
    counts: dict[int, int] = {}
    uncounted = [lic.pk for lic in rows if getattr(lic, "used", None) is None]
    if uncounted:
        counted = (
            LicenceAssignment.objects.filter(licence_id__in=uncounted)
            .order_by()
            .values_list("licence_id")
            .annotate(n=Count("pk"))
        )
        counts = {pk: n for pk, n in counted}
    days: dict[int, date] = {}
    for licence in rows:
        if licence.school_id not in days:
            days[licence.school_id] = today_in(licence.school, now)
        used = getattr(licence, "used", None)
        if used is None:
            used = licence.used = counts.get(licence.pk, 0)  # type: ignore[attr-defined]
        licence.figures = figures(licence, int(used), days[licence.school_id])  # type: ignore[attr-defined]


# --- Licences. ---


def within_range(day: date) -> bool:
    """Whether `day` may be a licence's purchase or expiry day (`EARLIEST_DAY` to
    `LATEST_DAY`)."""
    return EARLIEST_DAY <= day <= LATEST_DAY


def date_range_error() -> str:
    return gettext("Give a day from %(first)s to %(last)s.") % {
        "first": EARLIEST_DAY.year,
        "last": LATEST_DAY.year,
    }


def _check(licence: Licence) -> None:
    problems: dict[str, str] = {}
    try:
        licence.full_clean(exclude=["school", "created_by"], validate_unique=False)
    except ValidationError as error:
        problems = {
            name: " ".join(str(m) for m in messages)
            for name, messages in error.message_dict.items()
        }
    if "product" not in problems and not licence.product.strip():
        problems["product"] = gettext("Give the product's name.")
    seats = licence.seats
    if "seats" not in problems and "kind" not in problems:
        if seats is None and licence.kind in SEATED:
            problems["seats"] = gettext(
                "Give how many seats a %(kind)s licence has (only a site licence may leave "
                "it blank)."
            ) % {"kind": licence.get_kind_display().lower()}
        elif seats is not None and not 1 <= seats <= MOST_SEATS:
            problems["seats"] = gettext("Give from 1 to %(most)s seats.") % {
                "most": f"{MOST_SEATS:,}"
            }
    if "notice_days" not in problems and licence.notice_days > MOST_NOTICE_DAYS:
        problems["notice_days"] = gettext("At most %(most)s days.") % {"most": MOST_NOTICE_DAYS}
    bought, ends = licence.bought_on, licence.expires_on
    for name, day in (("bought_on", bought), ("expires_on", ends)):
        if name not in problems and day is not None and not within_range(day):
            problems[name] = date_range_error()
    if "expires_on" not in problems and bought and ends and ends < bought:
        problems["expires_on"] = "It cannot expire before it was bought."
    if problems:
        raise InvalidAction(gettext(FIX), problems)


def _check_holders_fit(licence: Licence) -> None:
    """A licence changing kind keeps only holders that fit the new kind."""
    if licence.pk is None:
        return
    holders = LicenceAssignment.objects.filter(licence=licence)
    if licence.kind == LicenceKind.PER_USER and holders.filter(item__isnull=False).exists():
        raise InvalidAction(
            gettext(FIX),
            {
                "kind": gettext(
                    "Some of its holders are devices: remove them before making it per user."
                )
            },
        )
    if licence.kind == LicenceKind.PER_DEVICE and holders.filter(item__isnull=True).exists():
        raise InvalidAction(
            gettext(FIX),
            {
                "kind": gettext(
                    "Some of its holders are people: remove them before making it per device."
                )
            },
        )


def holders_for(used: int, seats: int) -> str:
    """“3 holders for 2 seats”, in words that agree with the numbers."""
    holders = ngettext("%(count)s holder", "%(count)s holders", used) % {"count": used}
    return ngettext("%(holders)s for %(count)s seat", "%(holders)s for %(count)s seats", seats) % {
        "holders": holders,
        "count": seats,
    }


def full_text(seats: int | None) -> str:
    """What a full licence says to one more holder."""
    if seats == 1:
        return gettext("Its one seat is taken: free it or add seats.")
    return gettext("All %(count)s seats are taken: free one or add seats.") % {"count": seats}


def save_licence(
    school: School, user: User, data: dict[str, Any], licence: Licence | None = None
) -> Licence:
    """Add a licence to `school`'s log (`licence` None) or change `licence` with `data`."""
    _unknown(data, LICENCE_FIELDS)
    user = accounts.with_roles(user)
    with transaction.atomic():
        if licence is None:
            _require(user, school, gettext("add licences"))
            row = Licence(school=school, created_by=user)
        else:
            row = Licence.objects.select_for_update().select_related("school").get(pk=licence.pk)
            school = row.school
            _require(user, school, gettext("change licences"))
        for name, value in data.items():
            if isinstance(value, str) and name != "notes":
                value = value.strip()
            setattr(row, name, value)
        if row.notes is None:
            row.notes = ""
        _check(row)
        _check_holders_fit(row)
        if row.order_reference:
            taken = Licence.objects.filter(
                school=school, order_reference=row.order_reference, product=row.product
            )
            if taken.exclude(pk=row.pk).exists():
                raise InvalidAction(
                    gettext(FIX),
                    {"order_reference": gettext("The log has this product on this order already.")},
                )
        # (`warned_on` needs no reset: a new expiry day starts a new notice period, which a
        # warning before it does not cover.)
        try:
            with transaction.atomic():
                row.save()
        except IntegrityError:
            # Someone else saved this product on this order in the meantime.
            raise InvalidAction(
                gettext(FIX),
                {"order_reference": gettext("The log has this product on this order already.")},
            ) from None
    return row


# --- Holders. ---


@dataclass(frozen=True, slots=True)
class Holder:
    item: ConfigurationItem | None = None
    user: User | None = None
    person: str = ""


def _holder(school: School, data: dict[str, Any]) -> Holder:
    """The one holder `data` names (`item`: an item or its id; `user`: a member or their
    username; `person`: a name), of `school`."""
    _unknown(data, HOLDER_FIELDS)
    item, member, person = data.get("item"), data.get("user"), data.get("person") or ""
    if not isinstance(person, str):
        raise InvalidAction(gettext(FIX), {"person": gettext("Give a name.")})
    person = " ".join(person.split())
    given = [n for n, v in (("item", item), ("user", member), ("person", person)) if v]
    if len(given) != 1:
        message = (
            gettext("Give one holder: an item, a member or a person's name.")
            if not given
            else gettext("Give only one holder: an item, a member or a person's name.")
        )
        raise InvalidAction(message, {n: message for n in given or ["person"]})
    if item:
        if not isinstance(item, ConfigurationItem):
            if isinstance(item, bool) or not isinstance(item, int):
                raise InvalidAction(gettext(FIX), {"item": gettext("Give an item's id.")})
            item = ConfigurationItem.objects.filter(school=school, pk=item).first()
        if item is None or item.school_id != school.pk:
            raise InvalidAction(
                gettext(FIX),
                {"item": gettext("%(school)s has no such item.") % {"school": school.name}},
            )
        if not item.is_active:
            raise InvalidAction(
                gettext(FIX), {"item": gettext("%(name)s is retired.") % {"name": item.name}}
            )
        return Holder(item=item)
    if member:
        if not isinstance(member, User):
            if not isinstance(member, str):
                raise InvalidAction(gettext(FIX), {"user": gettext("Give a username.")})
            member = User.objects.filter(username=member).first()
        is_member = (
            member is not None
            and member.is_active
            and Membership.objects.filter(user=member, school=school).exists()
        )
        if member is None or not is_member:
            raise InvalidAction(
                gettext(FIX),
                {"user": gettext("Not a member of %(school)s.") % {"school": school.name}},
            )
        return Holder(user=member)
    if len(person) > 200:
        raise InvalidAction(gettext(FIX), {"person": gettext("At most 200 characters.")})
    return Holder(person=person)


def assign(licence: Licence, user: User, data: dict[str, Any]) -> LicenceAssignment:
    """Give the licence to one holder (see `_holder`). Refused for a per-device or per-user
    licence with every seat taken, a holder of the wrong kind, or a holder it has already.
    The licence's row is locked while its holders are counted."""
    user = accounts.with_roles(user)
    with transaction.atomic():
        row = Licence.objects.select_for_update().select_related("school").get(pk=licence.pk)
        school = row.school
        _require(user, school, gettext("give out licences"))
        holder = _holder(school, data)
        field = "item" if holder.item else "user" if holder.user else "person"
        if row.kind == LicenceKind.PER_USER and holder.item:
            raise InvalidAction(
                gettext(FIX),
                {"item": gettext("A per-user licence is given to people, not devices.")},
            )
        if row.kind == LicenceKind.PER_DEVICE and not holder.item:
            raise InvalidAction(
                gettext(FIX),
                {field: gettext("A per-device licence is given to devices (items), not people.")},
            )
        holders = LicenceAssignment.objects.filter(licence=row)
        taken = (
            holders.filter(item=holder.item)
            if holder.item
            else holders.filter(user=holder.user)
            if holder.user
            else holders.filter(person__iexact=holder.person)
        )
        if taken.exists():
            raise InvalidAction(gettext(FIX), {field: gettext("It holds this licence already.")})
        used = holders.count()
        if row.kind in COUNTED and row.seats is not None and used >= row.seats:
            raise InvalidAction(
                full_text(row.seats),
                {field: full_text(row.seats)},
            )
        try:
            with transaction.atomic():
                return LicenceAssignment.objects.create(
                    school=school,
                    licence=row,
                    item=holder.item,
                    user=holder.user,
                    person=holder.person,
                    assigned_by=user,
                )
        except IntegrityError:
            raise InvalidAction(
                gettext(FIX), {field: gettext("It holds this licence already.")}
            ) from None


def unassign(assignment: LicenceAssignment, user: User) -> Licence:
    """Take the licence back from a holder; returns the licence."""
    user = accounts.with_roles(user)
    with transaction.atomic():
        row = (
            Licence.objects.select_for_update()
            .select_related("school")
            .get(pk=assignment.licence_id)
        )
        _require(user, row.school, gettext("take licences back"))
        LicenceAssignment.objects.filter(pk=assignment.pk, licence=row).delete()
    return row


# --- The worker's warnings. ---


def _entry(licence: Licence) -> dict[str, Any]:
    used = int(getattr(licence, "used", 0))
    return {
        "product": licence.product,
        "expires": licence.expires_on.strftime("%-d %B %Y") if licence.expires_on else "",
        "seats": licence.seats,
        "used": used,
        "supplier": licence.supplier,
        "path": licence.get_absolute_url(),
    }


def licence_warnings(now: datetime, *, force: bool = False) -> int:
    """Tell each school's release managers (none: its school administrators) of its
    licences entering their notice period (once per licence and expiry day: `warned_on`)
    and of its over-allocated ones (at most once a week each: `over_warned_on`), remembered
    only when someone was told. Returns how many mails were queued. Licences are days:
    looked at every `WARNINGS_EVERY`, not on every pass of the worker (`force`: now)."""
    if not force and _last_warnings and abs(now - _last_warnings[-1]) < WARNINGS_EVERY:
        return 0
    _last_warnings[:] = [now]
    latest = (now + timedelta(days=1)).date()
    earliest = (now - timedelta(days=1)).date()
    active = with_status_columns(Licence.objects.filter(is_active=True)).annotate(used=F("used"))
    # Bounded by the days of the zones furthest apart; each school's own day decides.
    expiring = active.filter(expires_on__gte=earliest, notice_starts__lte=latest).filter(
        Q(warned_on__isnull=True) | Q(warned_on__lt=F("notice_starts"))
    )
    over = active.filter(seats__isnull=False, used__gt=F("seats")).filter(
        Q(over_warned_on__isnull=True) | Q(over_warned_on__lte=latest - OVER_WARNING_EVERY)
    )
    by_school: dict[int, tuple[list[Licence], list[Licence]]] = defaultdict(lambda: ([], []))
    for licence in expiring.order_by("school_id", "expires_on", "id")[:5000]:
        by_school[licence.school_id][0].append(licence)
    for licence in over.order_by("school_id", "product", "id")[:5000]:
        by_school[licence.school_id][1].append(licence)
    queued = 0
    for school in School.objects.filter(pk__in=list(by_school)).order_by("pk"):
        # One school's trouble (a row no one foresaw) is logged; the others are still told.
        try:
            queued += _warn_school(school, *by_school[school.pk], now)
        except Exception:
            logger.exception("Licence warnings for school %s failed", school.pk)
    return queued


def _notice_starts(licence: Licence) -> date | None:
    """The first day of the licence's notice period (the earliest `date` if before it)."""
    if licence.expires_on is None:
        return None
    try:
        return licence.expires_on - timedelta(days=licence.notice_days)
    except OverflowError:
        return date.min


def _warn_school(
    school: School, expiring: list[Licence], over: list[Licence], now: datetime
) -> int:
    today = today_in(school, now)
    soon = []
    for lic in expiring:
        starts = _notice_starts(lic)
        if (
            starts is not None
            and lic.expires_on is not None
            and starts <= today <= lic.expires_on
            and (lic.warned_on is None or lic.warned_on < starts)
        ):
            soon.append(lic)
    crowded = [
        lic
        for lic in over
        if lic.over_warned_on is None or lic.over_warned_on <= today - OVER_WARNING_EVERY
    ]
    if not soon and not crowded:
        return 0
    return _tell(school, soon, crowded, today)


def recipients(school: School) -> list[User]:
    """Who is told of a school's licences: its release managers who can be mailed, else
    (none) its school administrators who can be."""
    for role in (Role.RELEASE_MANAGER, Role.SCHOOL_ADMIN):
        found = [p for p in school.holders_of(role).order_by("pk") if p.email and p.is_active]
        if found:
            return found
    return []


def _tell(school: School, soon: list[Licence], crowded: list[Licence], today: date) -> int:
    ids = ",".join(str(lic.pk) for lic in soon) + "/" + ",".join(str(lic.pk) for lic in crowded)
    digest = hashlib.sha256(ids.encode()).hexdigest()[:16]
    context: dict[str, Any] = {
        "school": school.name,
        "expiring": [_entry(lic) for lic in soon[:MOST_LISTED]],
        "expiring_more": max(0, len(soon) - MOST_LISTED),
        "expiring_count": len(soon),
        "over": [_entry(lic) for lic in crowded[:MOST_LISTED]],
        "over_more": max(0, len(crowded) - MOST_LISTED),
        "over_count": len(crowded),
        "path": reverse("releases:licences"),
        "day": today.isoformat(),
    }
    queued = 0
    with transaction.atomic():
        told = recipients(school)
        if not told:
            # No one to tell: nothing is remembered, so the warning goes out once someone
            # is there to read it.
            logger.warning("No one to tell of %s's licences", school.pk)
            return 0
        for person in told:
            key = f"releases-licences:{school.pk}:{today.isoformat()}:{digest}:{person.pk}"
            context["recipient_name"] = person.get_short_name() or person.username
            if enqueue(
                recipient=person, template=TEMPLATE, context=dict(context), key=key, school=school
            ):
                queued += 1
        # Remembered (with someone told, or queued before under the same key): the next
        # warning is the next expiry day's, or a week on.
        if soon:
            Licence.objects.filter(pk__in=[lic.pk for lic in soon]).update(warned_on=today)
        if crowded:
            Licence.objects.filter(pk__in=[lic.pk for lic in crowded]).update(over_warned_on=today)
    return queued
