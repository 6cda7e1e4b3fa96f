"""The benchmark data set (`changedesk bench-data`): a trust's worth of schools and RFCs,
made fast, for measuring pages at scale (issue 9).

    changedesk bench-data --schools 200 --changes 500000

What it makes, all new (it refuses to run when a school or person it would make exists):

- `--schools` schools `<prefix>-001` … with Zipf-like sizes (a few big ones, a long tail of
  small ones), most in Europe/London, a few abroad; some with peer review off. Each has its
  calendar (three terms, the half-terms and holidays, an exam period, INSET days and a hard
  change freeze, for every school year the RFCs span and the next), its teaching day and
  maintenance windows, its configuration items, and its people holding the FITS roles
  (technicians, the ICT co-ordinator, the headteacher, the office; network managers and a
  supplier's engineers shared between schools).
- `--changes` RFCs spread over five years (more of them lately), numbered per school in the
  order they were raised, in every state: old ones mostly closed (some rejected or
  withdrawn, a few left in draft), recent ones at every step; emergencies a few percent.
  The people named on each are those the workflow would have named by then, and those
  past planning have their plan and a planned window (outside the teaching day, in the
  school's time zone; in the future for those still waiting).
- Each RFC's items (about 1.8 on average) and its history (about 7.7 events: a closed
  RFC's path through every step takes 7 or 8), consistent with its state, sealed with the
  history key by the product's own `seal` of its own `event_payload`, so that `changedesk
  verify-history` passes where the history key (HISTORY_KEY, or SECRET_KEY) is the same.
- Two people to measure with, with a known password: `<prefix>-one`, in one big school,
  and `<prefix>-ten`, in ten (three of the biggest among them), each holding every FITS
  role of an RFC's people there (so My work has content). No superuser is made.

Rows are built as tuples (the RFCs in a thread of their own, so that making them overlaps
writing them) and written on PostgreSQL with COPY (psycopg 3), elsewhere with large
`executemany` batches, all in one transaction (all of it, or on an error nothing). On
PostgreSQL, as a superuser, the foreign keys' row-by-row checks are left out (as
`pg_restore --disable-triggers` does; the rows refer only to rows made or read here, and
the tests check every foreign key of them), unless a table written has a trigger of its own;
the RFC table is locked while its ids are taken, the primary-key sequences are set past
the new rows, and the tables vacuumed and analysed at the end. Run it on a quiet database,
never a live one. The same `--seed` and `--today` on the same database make the same rows (the
password's hash aside).
"""

from __future__ import annotations

import bisect
import hashlib
import json
import math
import queue
import random
import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock
from itertools import accumulate
from typing import Any, cast
from zoneinfo import ZoneInfo

from django.contrib.auth.hashers import make_password
from django.core.management.color import no_style
from django.db import connection, models, transaction
from django.db.models import Max

from changedesk.accounts.choices import Role
from changedesk.accounts.models import Membership, MembershipRole, School, User
from changedesk.changes import tally
from changedesk.changes.choices import EventKind, Outcome, State
from changedesk.changes.models import (
    HASH_KEYED,
    PLAN_FIELDS,
    REQUEST_FIELDS,
    Change,
    ChangeEvent,
    ChangeItem,
    canonical_json,
    event_payload,
    history_key,
    seal,
)
from changedesk.configuration.models import ConfigurationItem, ItemKind
from changedesk.schedule.models import (
    CalendarPeriod,
    MaintenanceWindow,
    PeriodKind,
    SchoolCalendar,
)

DEFAULT_PREFIX = "bench"
DEFAULT_PASSWORD = "changedesk-bench"
DEFAULT_SEED = 9
YEARS = 5
# School sizes: the school of rank r (from 0) gets a share proportional to 1 / (r + 2) ** 1.1.
ZIPF_EXPONENT = 1.1
ZIPF_OFFSET = 2
# RFCs raised within this many days of the end may be at any step; older ones are mostly done.
RECENT_DAYS = 75
EMERGENCY_SHARE = 0.03
BATCH = 5_000

ZONES = (
    *(("Europe/London",) * 34),
    "Europe/Dublin",
    "Europe/Guernsey",
    "Europe/Jersey",
    "Europe/Gibraltar",
    "Asia/Dubai",
    "Europe/Madrid",
)

# Where an RFC ends up, by its age: (state, weight).
OLD_STATES = (
    (State.CLOSED, 860),
    (State.REJECTED, 50),
    (State.WITHDRAWN, 70),
    (State.DRAFT, 10),
    (State.PLANNING, 3),
    (State.IMPLEMENTED, 7),
)
RECENT_STATES = (
    (State.DRAFT, 8),
    (State.AWAITING_INITIAL_APPROVAL, 8),
    (State.PLANNING, 12),
    (State.AWAITING_PEER_REVIEW, 6),
    (State.AWAITING_FINAL_APPROVAL, 6),
    (State.APPROVED, 12),
    (State.IMPLEMENTED, 8),
    (State.CLOSED, 30),
    (State.REJECTED, 4),
    (State.WITHDRAWN, 6),
)
OUTCOMES = (
    (Outcome.SUCCEEDED, 88),
    (Outcome.PARTIALLY_SUCCEEDED, 7),
    (Outcome.FAILED_BACKED_OUT, 5),
)
# How many items an RFC names: (count, weight); about 1.8 on average.
ITEM_COUNTS = ((0, 12), (1, 30), (2, 33), (3, 15), (4, 10))


Row = tuple[Any, ...]


class BenchDataRefused(Exception):
    """The data set cannot be made here (its schools or people exist, or bad options)."""


@dataclass
class Summary:
    """What was made, and how long each part took (seconds)."""

    counts: Counter[str] = field(default_factory=Counter)
    states: Counter[str] = field(default_factory=Counter)
    timings: dict[str, float] = field(default_factory=dict)
    sizes: list[int] = field(default_factory=list)
    one_school_user: str = ""
    ten_school_user: str = ""
    ten_school_slugs: list[str] = field(default_factory=list)
    password: str = ""
    database: str = ""
    # Whether the foreign keys' checks were left out (PostgreSQL, as a superuser).
    unchecked: bool = False

    @property
    def seconds(self) -> float:
        return sum(self.timings.values())


# --- School sizes. ---


def school_sizes(schools: int, changes: int) -> list[int]:
    """RFCs per school, biggest first: Zipf-like shares, every school at least one (when
    there are enough), summing to `changes` exactly."""
    if schools <= 0:
        return []
    weights = [1 / (rank + ZIPF_OFFSET) ** ZIPF_EXPONENT for rank in range(schools)]
    floor = 1 if changes >= schools else 0
    spare = changes - floor * schools
    total = sum(weights)
    exact = [spare * w / total for w in weights]
    sizes = [floor + int(x) for x in exact]
    # Largest remainders first, so the sum is exact and the order stays biggest first.
    by_remainder = sorted(range(schools), key=lambda i: (-(exact[i] - int(exact[i])), i))
    for i in by_remainder[: changes - sum(sizes)]:
        sizes[i] += 1
    return sizes


def ten_school_ranks(schools: int) -> list[int]:
    """The ten schools (by size rank) of the ten-school user: three of the biggest, then
    schools spread along the tail."""
    if schools <= 10:
        return list(range(schools))
    rest = [rank for rank in range(1, schools) if rank not in (2, 4)]
    return sorted([0, 2, 4, *(rest[len(rest) * k // 7 + len(rest) // 14] for k in range(7))])


# --- Writing rows: COPY on PostgreSQL, executemany elsewhere. ---


def _filler(model: type[models.Model], columns: Sequence[str]) -> tuple[tuple[str, ...], Row]:
    """The columns of `model` that the rows do not give and the database cannot fill (a
    NOT NULL field added since this was written), with the value each row gets: its
    default. Generated columns, database defaults and nullable fields are left out."""
    names: list[str] = []
    values: list[Any] = []
    for f in model._meta.local_concrete_fields:
        if f.column in columns or f.primary_key or getattr(f, "generated", False):
            continue
        if f.db_default is not models.NOT_PROVIDED or f.null:
            continue
        if isinstance(f, models.DateTimeField) and (f.auto_now or f.auto_now_add):
            value: Any = datetime.now(UTC)
        elif f.has_default() or f.empty_strings_allowed:
            value = f.get_default()
        else:
            raise BenchDataRefused(
                f"bench-data does not know how to fill {model._meta.label}.{f.name}: "
                "give it a default, or teach changedesk/site/benchdata.py"
            )
        if isinstance(f, models.JSONField):
            value = json.dumps(value)
        elif isinstance(value, datetime):
            value = _db_time(value)
        names.append(f.column or f.name)
        values.append(value)
    return tuple(names), tuple(values)


def _db_time(moment: datetime) -> Any:
    """A UTC time as the database takes it in a raw row (SQLite: Django's text form)."""
    if connection.vendor == "postgresql":
        return moment
    return _sqlite_time(moment)


def _sqlite_time(moment: datetime) -> str:
    return moment.replace(tzinfo=None).isoformat(" ")


def _as_is(moment: datetime) -> datetime:
    return moment


def _json(value: Any) -> str:
    """JSON for a raw row (most events' diffs and data are empty)."""
    return json.dumps(value) if value else ("[]" if isinstance(value, list) else "{}")


class Writer:
    """Appends tuples to a table, in the column order given."""

    def __init__(self) -> None:
        self.postgres = connection.vendor == "postgresql"
        self._fill: dict[tuple[str, tuple[str, ...]], tuple[tuple[str, ...], Row]] = {}
        # Time spent sending rows and waiting for the database to take them.
        self.seconds = 0.0

    def write(
        self, model: type[models.Model], columns: tuple[str, ...], rows: Sequence[Row]
    ) -> None:
        if not rows:
            return
        began = time.monotonic()
        key = (model._meta.db_table, columns)
        if key not in self._fill:
            self._fill[key] = _filler(model, columns)
        extra_columns, extra = self._fill[key]
        table = connection.ops.quote_name(model._meta.db_table)
        names = ", ".join(connection.ops.quote_name(c) for c in (*columns, *extra_columns))
        with connection.cursor() as cursor:
            if self.postgres:
                raw = cast(Any, cursor).cursor  # psycopg 3's own cursor, for COPY
                with raw.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                    if extra:
                        for row in rows:
                            copy.write_row(row + extra)
                    else:
                        for row in rows:
                            copy.write_row(row)
            else:
                marks = ", ".join(["%s"] * (len(columns) + len(extra_columns)))
                # The table's and columns' names are the models', quoted.
                sql = f"INSERT INTO {table} ({names}) VALUES ({marks})"  # noqa: S608
                for start in range(0, len(rows), BATCH):
                    chunk = rows[start : start + BATCH]
                    cursor.executemany(sql, [r + extra for r in chunk] if extra else chunk)
        self.seconds += time.monotonic() - began


# --- Words. ---

FIRST_NAMES = (
    "Amelia", "Ben", "Chloe", "Daniel", "Ella", "Farah", "George", "Hannah", "Isaac", "Jess",
    "Kiran", "Leah", "Mohammed", "Nia", "Oliver", "Priya", "Quentin", "Rosa", "Sanjay", "Tara",
    "Umar", "Vera", "Will", "Xenia", "Yusuf", "Zoe", "Aled", "Bethan", "Callum", "Dylan",
    "Eilidh", "Fraser", "Gwen", "Harvey", "Imogen",
)  # fmt: skip
LAST_NAMES = (
    "Adams", "Begum", "Clarke", "Davies", "Evans", "Fletcher", "Green", "Hughes", "Iqbal",
    "Jones", "Khan", "Lewis", "Morgan", "Nolan", "Owen", "Patel", "Quinn", "Roberts", "Smith",
    "Thomas", "Umeh", "Vaughan", "Walsh", "Young", "Zielinski", "Ahmed", "Brown", "Campbell",
    "Doyle", "Ellis",
)  # fmt: skip
PLACES = (
    "Ashford", "Brookfield", "Castleton", "Dunmore", "Elmwood", "Fairfield", "Greenhill",
    "Hartley", "Ivybridge", "Kingsmead", "Langley", "Meadowbank", "Northgate", "Oakridge",
    "Parkside", "Queensway", "Riverside", "Stanton", "Thornbury", "Upton", "Westfield",
    "Yarwood", "Abbeydale", "Beechwood", "Cranford", "Danesbury", "Eastleigh", "Fernhill",
    "Glenmoor", "Hollyfield",
)  # fmt: skip
KINDS_OF_SCHOOL = (
    "Primary School",
    "Academy",
    "Church of England Primary",
    "High School",
    "Infant School",
    "Junior School",
    "Community College",
    "St Mary's Catholic Primary",
)
ITEMS: tuple[tuple[str, str, str, int], ...] = (
    ("Core network switch", ItemKind.NETWORK_DEVICE, "NET", 600),
    ("Edge switch", ItemKind.NETWORK_DEVICE, "NET", 40),
    ("Firewall", ItemKind.NETWORK_DEVICE, "NET", 600),
    ("Wi-Fi access points", ItemKind.DEVICE_GROUP, "WIFI", 500),
    ("MIS server", ItemKind.SERVER, "SRV", 80),
    ("File server", ItemKind.SERVER, "SRV", 400),
    ("Domain controller", ItemKind.SERVER, "SRV", 600),
    ("Backup server", ItemKind.SERVER, "SRV", 10),
    ("Management information system", ItemKind.SERVICE, "SVC", 80),
    ("E-mail", ItemKind.SERVICE, "SVC", 120),
    ("Learning platform", ItemKind.SERVICE, "SVC", 500),
    ("Web filtering", ItemKind.SERVICE, "SVC", 600),
    ("Cashless catering", ItemKind.SERVICE, "SVC", 450),
    ("Office 365 tenancy", ItemKind.SOFTWARE, "SW", 600),
    ("Anti-virus", ItemKind.SOFTWARE, "SW", 600),
    ("Windows 11 image", ItemKind.SOFTWARE, "SW", 400),
    ("Curriculum software", ItemKind.SOFTWARE, "SW", 300),
    ("ICT suite PCs", ItemKind.DEVICE_GROUP, "SUITE", 30),
    ("Staff laptops", ItemKind.DEVICE_GROUP, "LAP", 60),
    ("Class iPads", ItemKind.DEVICE_GROUP, "IPAD", 32),
    ("Interactive panels", ItemKind.DEVICE_GROUP, "PANEL", 30),
    ("Office printers", ItemKind.DEVICE_GROUP, "PRN", 12),
    ("Door access control", ItemKind.OTHER, "OTH", 600),
    ("CCTV", ItemKind.OTHER, "OTH", 5),
)
LOCATIONS = ("Server room", "Block A", "Block B", "Library", "School office", "Hall", "")
TITLES = (
    "Update the firmware on the {item}",
    "Upgrade the {item} to the current release",
    "Replace the failing {item}",
    "Apply the monthly security updates to the {item}",
    "Move the {item} to the new VLAN",
    "Renew the certificate on the {item}",
    "Reconfigure the {item} for the new timetable",
    "Install the vendor's hotfix on the {item}",
    "Extend the {item} to the new classrooms",
    "Retire the old {item}",
)
DESCRIPTIONS = (
    "Bring the {item} up to date with the vendor's current version, tested first on a pilot.",
    "Swap the {item} for the spare and restore its saved configuration.",
    "Apply the changes the supplier recommends to the {item} after last term's incidents.",
    "Change the {item} so that it matches the trust's standard build.",
)
REASONS = (
    "The current version leaves support at the end of term.",
    "Staff report the {item} dropping out several times a week.",
    "The vendor has published a security advisory that affects the {item}.",
    "Needed for the census return and the new term's timetable.",
    "The trust's audit found the {item} out of line with its standard.",
)
DETAILS = (
    "1. Back up the {item} configuration.\n2. Apply the change to one unit and test it.\n"
    "3. Roll it out to the rest in groups.\n4. Check each classroom signs in and prints.",
    "1. Book the supplier's engineer.\n2. Take a full backup and prove it restores.\n"
    "3. Make the change.\n4. The office checks registers and reports.",
)
IMPACTS = (
    "The {item} is unavailable for about an hour after school.",
    "No network in the affected rooms while it restarts; nobody is teaching then.",
)
RISKS = (
    "Low: the change is routine and was tested on a pilot.",
    "Medium: if it fails the {item} may be down the next morning.",
)
FALLBACKS = (
    "Restore the saved configuration and the previous version.",
    "Refit the old unit and restore its configuration.",
)
JUSTIFICATIONS = (
    "The {item} is down and teaching is affected now.",
    "An actively exploited vulnerability in the {item}: it cannot wait for the next window.",
)
RETURN_REASONS = (
    "Say which rooms are affected and when the users will be told.",
    "Add a check that the backup restores before you start, not just that it ran.",
    "Not during the exams: move it to half-term.",
)
REJECT_REASONS = (
    "Not in this year's budget.",
    "The supplier's replacement is due next term; wait for it.",
)
APPROVAL_COMMENTS = ("", "", "", "Agreed.", "Fine after school.", "Yes, tell the office first.")
ITEM_NOTES = (
    "Updated as planned.",
    "Firmware and configuration updated.",
    "Replaced; asset tag kept.",
)


# --- The people of a school. ---


@dataclass
class Person:
    pk: int
    username: str


@dataclass
class Staff:
    """The people of one school by the role an RFC names them in."""

    originators: list[Person] = field(default_factory=list)
    initial_approvers: list[Person] = field(default_factory=list)
    peer_reviewers: list[Person] = field(default_factory=list)
    final_approvers: list[Person] = field(default_factory=list)
    implementers: list[Person] = field(default_factory=list)


ROLE_POOLS: dict[str, str] = {
    Role.ORIGINATOR: "originators",
    Role.INITIAL_APPROVER: "initial_approvers",
    Role.PEER_REVIEWER: "peer_reviewers",
    Role.FINAL_APPROVER: "final_approvers",
    Role.IMPLEMENTER: "implementers",
}
FITS_PEOPLE_ROLES = tuple(ROLE_POOLS)


@dataclass
class SchoolPlan:
    rank: int
    slug: str
    name: str
    zone: str
    peer_review: bool
    fa_may_originate: bool
    size: int
    pk: int = 0
    staff: Staff = field(default_factory=Staff)
    # The items in use: (id, label in history, name).
    items: list[tuple[int, str, str]] = field(default_factory=list)


# --- The history of one RFC. ---


class _Event:
    """What `event_payload` reads, for the product's own `seal`."""

    __slots__ = (
        "actor_id",
        "change_id",
        "comment",
        "created_at",
        "data",
        "diffs",
        "digest",
        "from_state",
        "kind",
        "on_behalf_of_id",
        "sequence",
        "to_state",
    )

    def __init__(
        self,
        change_id: int,
        sequence: int,
        kind: str,
        actor_id: int,
        from_state: str,
        to_state: str,
        comment: str,
        diffs: list[dict[str, Any]],
        data: dict[str, Any],
        digest: str,
        created_at: datetime,
    ) -> None:
        self.change_id = change_id
        self.sequence = sequence
        self.kind = kind
        self.actor_id = actor_id
        self.on_behalf_of_id = None
        self.from_state = from_state
        self.to_state = to_state
        self.comment = comment
        self.diffs = diffs
        self.data = data
        self.digest = digest
        self.created_at = created_at


_ALL_CONTENT = REQUEST_FIELDS + PLAN_FIELDS
_EVENT_COLUMNS = (
    "change_id",
    "sequence",
    "kind",
    "actor_id",
    "on_behalf_of_id",
    "from_state",
    "to_state",
    "comment",
    "diffs",
    "data",
    "digest",
    "previous_hash",
    "hash",
    "hash_kind",
    "created_at",
)
_CHANGE_COLUMNS = (
    "id",
    "school_id",
    "number",
    "title",
    "description",
    "reason",
    "is_emergency",
    "emergency_justification",
    "details",
    "impact",
    "risk",
    "fallback_plan",
    "planned_start",
    "planned_end",
    "originator_id",
    "initial_approver_id",
    "peer_reviewer_id",
    "final_approver_id",
    "implementer_id",
    "state",
    "outcome",
    "ratified",
    "records_updated",
    "caused_incidents",
    "users_informed",
    "version",
    "created_at",
    "updated_at",
)
_LINK_COLUMNS = ("change_id", "item_id", "what_changed", "recorded_at", "recorded_by_id")
# The states whose planned window is still to come.
WAITING_FOR_WINDOW = frozenset(
    {State.AWAITING_PEER_REVIEW, State.AWAITING_FINAL_APPROVAL, State.APPROVED}
)
HOUR = 3600.0
# The tables written.
WRITTEN = (
    School,
    User,
    Membership,
    MembershipRole,
    SchoolCalendar,
    MaintenanceWindow,
    CalendarPeriod,
    ConfigurationItem,
    Change,
    ChangeEvent,
    ChangeItem,
)
DAY = 86400.0
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _weighted(pairs: Sequence[tuple[Any, int]]) -> tuple[list[Any], list[int]]:
    values = [v for v, _ in pairs]
    return values, list(accumulate(w for _, w in pairs))


def _moment(seconds: float) -> datetime:
    """A UTC time from seconds since 1970, to the microsecond (as the database keeps it)."""
    return EPOCH + timedelta(microseconds=round(seconds * 1_000_000))


class Generator:
    """Makes the data set; `run()` writes it and returns the summary."""

    def __init__(
        self,
        schools: int,
        changes: int,
        *,
        seed: int = DEFAULT_SEED,
        prefix: str = DEFAULT_PREFIX,
        password: str = DEFAULT_PASSWORD,
        items_per_school: int | None = None,
        today: date | None = None,
        progress: Callable[[str], None] | None = None,
    ) -> None:
        if schools < 1:
            raise BenchDataRefused("--schools must be at least 1")
        if changes < 0:
            raise BenchDataRefused("--changes must not be negative")
        if items_per_school is not None and items_per_school < 1:
            raise BenchDataRefused("--items-per-school must be at least 1")
        if not re.fullmatch(r"[a-z0-9][a-z0-9-]{0,39}", prefix):
            raise BenchDataRefused(
                "--prefix is a slug of at most 40 characters: lower-case letters, digits, '-'"
            )
        self.schools = schools
        self.changes = changes
        self.seed = seed
        self.prefix = prefix
        self.password = password
        self.items_per_school = items_per_school
        day = today or datetime.now(UTC).date()
        # Everything happens before the start of `today` (UTC), so the same seed and day
        # make the same rows.
        self.end = datetime.combine(day, clock(0), tzinfo=UTC).timestamp()
        self.start = self.end - YEARS * 365.25 * DAY
        self.progress = progress or (lambda message: None)
        self.rng = random.Random(seed)
        self.key = history_key()
        self.writer = Writer()
        self.db_time: Callable[[datetime], Any] = _as_is if self.writer.postgres else _sqlite_time
        self.summary = Summary(password=password, database=connection.vendor)
        self._old_states = _weighted(OLD_STATES)
        self._recent_states = _weighted(RECENT_STATES)
        self._outcomes = _weighted(OUTCOMES)
        self._item_counts = _weighted(ITEM_COUNTS)

    # --- The whole run. ---

    def run(self) -> Summary:
        plans = self._plan_schools()
        self._refuse_if_present(plans)
        committing = 0.0
        with transaction.atomic():
            if self.writer.postgres:
                self._prepare_postgres()
            with self._timed("schools, people, calendars, items"):
                self._make_schools(plans)
                self._make_people(plans)
                self._make_calendars(plans)
                self._make_items(plans)
            with self._timed("RFCs, item links, history"):
                self._make_changes(plans)
            if self.summary.unchecked:
                with self._timed("tallies"):
                    tally.rebuild(schools=[plan.pk for plan in plans])
            self._reset_sequences()
            committing = time.monotonic()
        # The deferred foreign-key checks (where they run) are made at the commit.
        self.summary.timings["commit"] = time.monotonic() - committing
        self.progress(f"commit: {self.summary.timings['commit']:.1f} s")
        if self.writer.postgres:
            # Vacuumed as well as analysed, as autovacuum would leave a live database: the
            # visibility map lets the lists' index-only scans skip the table (unvacuumed,
            # counting a ten-school person's RFCs read every row: 380 ms, not 15). VACUUM
            # cannot run inside a transaction (a test's), where it only analyses.
            command = "ANALYZE" if connection.in_atomic_block else "VACUUM (ANALYZE)"
            with self._timed("vacuum and analyse"), connection.cursor() as cursor:
                for model in (Change, ChangeEvent, ChangeItem, ConfigurationItem, CalendarPeriod):
                    cursor.execute(f"{command} {connection.ops.quote_name(model._meta.db_table)}")
        return self.summary

    def _prepare_postgres(self) -> None:
        """Settings for a bulk load, for this transaction only. As a superuser, and when the
        tables written hold no trigger but the foreign keys' own, those are left out (as
        `pg_restore --disable-triggers` does): the rows refer to rows made or read here."""
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit = off")
            cursor.execute("SHOW is_superuser")
            superuser = cursor.fetchone() == ("on",)
            cursor.execute(
                "SELECT count(*) FROM pg_trigger "
                "WHERE NOT tgisinternal AND tgrelid = ANY(%s::regclass[]) "
                "AND tgname <> ALL(%s)",
                [[model._meta.db_table for model in WRITTEN], list(tally.TRIGGERS)],
            )
            (triggers,) = cursor.fetchone() or (0,)
            # The tallies' triggers are left out too, and the new schools counted at the end.
            if superuser and not triggers:
                cursor.execute("SET LOCAL session_replication_role = replica")
                self.summary.unchecked = True

    @contextmanager
    def _timed(self, part: str) -> Iterator[None]:
        began = time.monotonic()
        yield
        seconds = time.monotonic() - began
        self.summary.timings[part] = seconds
        self.progress(f"{part}: {seconds:.1f} s")

    def _refuse_if_present(self, plans: list[SchoolPlan]) -> None:
        slugs = [p.slug for p in plans]
        taken = list(School.objects.filter(slug__in=slugs).values_list("slug", flat=True)[:3])
        if taken:
            raise BenchDataRefused(
                f"schools {', '.join(sorted(taken))}… exist already: bench-data makes new "
                "schools only (use another --prefix, or a fresh database)"
            )
        users = User.objects.filter(username__startswith=f"{self.prefix}-")
        if users.exists():
            raise BenchDataRefused(
                f"people named {self.prefix}-… exist already (e.g. {users.first()}): use "
                "another --prefix, or a fresh database"
            )

    # --- Schools, people, calendars, items. ---

    def _plan_schools(self) -> list[SchoolPlan]:
        rng = self.rng
        sizes = school_sizes(self.schools, self.changes)
        self.summary.sizes = sizes
        names = [f"{p} {k}" for k in KINDS_OF_SCHOOL for p in PLACES]
        rng.shuffle(names)
        plans = []
        for rank, size in enumerate(sizes):
            name = names[rank % len(names)]
            if rank >= len(names):
                name = f"{name} {rank // len(names) + 1}"
            plans.append(
                SchoolPlan(
                    rank=rank,
                    slug=f"{self.prefix}-{rank + 1:03d}",
                    name=name,
                    zone=rng.choice(ZONES),
                    # Small schools often start out without peer review (FITS allows it).
                    peer_review=rng.random() < (0.95 if size > 2000 else 0.7),
                    fa_may_originate=rng.random() < 0.1,
                    size=size,
                )
            )
        return plans

    def _make_schools(self, plans: list[SchoolPlan]) -> None:
        made = School.objects.bulk_create(
            [
                School(
                    name=p.name,
                    slug=p.slug,
                    timezone=p.zone,
                    peer_review_enabled=p.peer_review,
                    final_approver_may_be_originator=p.fa_may_originate,
                )
                for p in plans
            ]
        )
        for plan, school in zip(plans, made, strict=True):
            plan.pk = school.pk
        self.summary.counts["schools"] = len(plans)

    def _make_people(self, plans: list[SchoolPlan]) -> None:
        """Each school's own people, the people shared between schools, and the two people to
        measure with; their memberships and roles; and each school's pools by role."""
        rng = self.rng
        hashed = make_password(self.password)
        people: list[tuple[str, str, str, str]] = []  # username, first, last, title
        roles: dict[tuple[str, int], list[str]] = {}  # (username, school rank) -> roles

        def person(username: str, title: str) -> str:
            people.append((username, rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES), title))
            return username

        def member(username: str, plan: SchoolPlan, *held: str) -> None:
            roles.setdefault((username, plan.rank), []).extend(held)

        R = Role
        for plan in plans:
            slug = plan.slug
            for n in range(1, min(8, 1 + plan.size // 3000) + 1):
                # The first technician also runs patch management.
                extra = (R.PATCH_ADMINISTRATOR,) if n == 1 else ()
                member(
                    person(f"{slug}-tech{n}", "ICT technician"),
                    plan,
                    R.ORIGINATOR,
                    R.IMPLEMENTER,
                    *extra,
                )
            coordinators = 2 if plan.size > 10_000 else 1
            for n in range(1, coordinators + 1):
                username = person(f"{slug}-ictco{n}", "ICT co-ordinator")
                member(username, plan, R.INITIAL_APPROVER, R.ORIGINATOR)
            member(person(f"{slug}-head", "Headteacher"), plan, R.FINAL_APPROVER)
            if plan.size > 5000:
                member(person(f"{slug}-deputy", "Deputy headteacher"), plan, R.FINAL_APPROVER)
            if plan.peer_review and plan.size > 2000:
                username = person(f"{slug}-netman", "Network manager")
                member(username, plan, R.PEER_REVIEWER, R.ORIGINATOR, R.IMPLEMENTER)
            # Release management: the first technician writes the builds and installs them;
            # the network manager (or, in a small school, the ICT co-ordinator) owns the
            # release policy.
            member(f"{slug}-tech1", plan, R.BUILD_DEVELOPER, R.INSTALLER)
            manager = (
                f"{slug}-netman" if plan.peer_review and plan.size > 2000 else f"{slug}-ictco1"
            )
            member(manager, plan, R.RELEASE_MANAGER)
            member(person(f"{slug}-sbm", "School business manager"), plan, R.SCHOOL_ADMIN)
            member(person(f"{slug}-office", "Office manager"), plan, R.COMMUNICATOR)
            for n in range(1, 1 + (2 if plan.size > 1000 else 1)):
                member(person(f"{slug}-teacher{n}", "Teacher"), plan, R.VIEWER)
        # Network managers of the trust peer review for twenty schools each (every school
        # has one, peer review on or off), and a supplier's engineers implement for fifteen.
        for group in range(math.ceil(len(plans) / 20)):
            username = person(
                f"{self.prefix}-trust-netman{group + 1}", "Network manager, the trust"
            )
            for plan in plans[group :: math.ceil(len(plans) / 20)]:
                member(username, plan, R.PEER_REVIEWER)
        for group in range(math.ceil(len(plans) / 15)):
            username = person(f"{self.prefix}-supplier{group + 1}", "Engineer, Northgate IT")
            for plan in plans[group :: math.ceil(len(plans) / 15)]:
                if rng.random() < 0.6:
                    member(username, plan, R.IMPLEMENTER)
        one = person(f"{self.prefix}-one", "ICT manager (benchmark, one school)")
        member(one, plans[0], *FITS_PEOPLE_ROLES)
        ten = person(f"{self.prefix}-ten", "Trust ICT manager (benchmark, ten schools)")
        ten_ranks = ten_school_ranks(len(plans))
        for rank in ten_ranks:
            member(ten, plans[rank], *FITS_PEOPLE_ROLES)
        self.summary.one_school_user = one
        self.summary.ten_school_user = ten
        self.summary.ten_school_slugs = [plans[r].slug for r in ten_ranks]

        made = User.objects.bulk_create(
            [
                User(
                    username=username,
                    first_name=first,
                    last_name=last,
                    job_title=title,
                    email=f"{username}@bench.example",
                    password=hashed,
                )
                for username, first, last, title in people
            ],
            batch_size=1000,
        )
        ids = {u.username: u.pk for u in made}
        memberships = Membership.objects.bulk_create(
            [Membership(user_id=ids[u], school_id=plans[rank].pk) for (u, rank) in roles],
            batch_size=1000,
        )
        MembershipRole.objects.bulk_create(
            [
                MembershipRole(membership_id=m.pk, role=role)
                for m, held in zip(memberships, roles.values(), strict=True)
                for role in sorted(set(held))
            ],
            batch_size=2000,
        )
        for (username, rank), held in roles.items():
            staff = plans[rank].staff
            for role in held:
                pool = ROLE_POOLS.get(role)
                if pool:
                    getattr(staff, pool).append(Person(ids[username], username))
        self.summary.counts["people"] = len(people)
        self.summary.counts["memberships"] = len(memberships)

    def _make_calendars(self, plans: list[SchoolPlan]) -> None:
        """Every school year the RFCs span and the next: three terms, half-terms and holidays,
        an exam period, three INSET days and a hard freeze, at local midnight."""
        SchoolCalendar.objects.bulk_create([SchoolCalendar(school_id=p.pk) for p in plans])
        MaintenanceWindow.objects.bulk_create(
            [
                window
                for p in plans
                for window in (
                    MaintenanceWindow(
                        school_id=p.pk,
                        name="Weekdays after 17:30",
                        weekdays=[0, 1, 2, 3, 4],
                        start_time=clock(17, 30),
                    ),
                    MaintenanceWindow(
                        school_id=p.pk, name="Weekends", weekdays=[5, 6], start_time=clock(0)
                    ),
                )
            ]
        )
        first_year = _moment(self.start).year - 1
        last_year = _moment(self.end).year
        periods = [
            CalendarPeriod(
                school_id=p.pk,
                kind=kind,
                name=name,
                starts_at=datetime.combine(first, clock(0), tzinfo=ZoneInfo(p.zone)),
                ends_at=datetime.combine(last + timedelta(1), clock(0), tzinfo=ZoneInfo(p.zone)),
                is_hard=kind == PeriodKind.FREEZE,
            )
            for p in plans
            for year in range(first_year, last_year + 1)
            for kind, name, first, last in school_year(year)
        ]
        CalendarPeriod.objects.bulk_create(periods, batch_size=2000)
        self.summary.counts["calendar periods"] = len(periods)

    def _make_items(self, plans: list[SchoolPlan]) -> None:
        rng = self.rng
        rows: list[ConfigurationItem] = []
        owners: list[SchoolPlan] = []
        for p in plans:
            count = self.items_per_school or min(800, 12 + p.size // 40)
            technicians = p.staff.implementers or p.staff.originators
            for n in range(count):
                name, kind, tag, users = ITEMS[n % len(ITEMS)]
                copy = n // len(ITEMS) + 1
                rows.append(
                    ConfigurationItem(
                        school_id=p.pk,
                        name=name if copy == 1 else f"{name} {copy}",
                        kind=kind,
                        identifier=f"{tag}-{n + 1:03d}",
                        location=rng.choice(LOCATIONS),
                        owner_id=rng.choice(technicians).pk if technicians else None,
                        users_affected=users,
                        # A few retired: they stay on the RFCs that named them.
                        is_active=rng.random() > 0.03,
                    )
                )
                owners.append(p)
        made = ConfigurationItem.objects.bulk_create(rows, batch_size=2000)
        for p, item in zip(owners, made, strict=True):
            if item.is_active:  # the retired ones are named on no RFC
                p.items.append((item.pk, item.key, item.name))
        self.summary.counts["configuration items"] = len(made)

    # --- RFCs and their history. ---

    def _make_changes(self, plans: list[SchoolPlan]) -> None:
        """The RFCs, made in a thread of their own while this one writes them: making them is
        Python's work, taking them in the database's, and the two overlap."""
        if self.writer.postgres:
            # No one else raises an RFC until this transaction ends: the ids are ours.
            with connection.cursor() as cursor:
                table = connection.ops.quote_name(Change._meta.db_table)
                cursor.execute(f"LOCK TABLE {table} IN SHARE ROW EXCLUSIVE MODE")
        base = (Change.objects.aggregate(n=Max("id"))["n"] or 0) + 1
        batches: queue.Queue[Batch | BaseException | None] = queue.Queue(maxsize=3)
        stop = threading.Event()

        def hand_over(item: Batch | BaseException | None) -> None:
            while not stop.is_set():
                try:
                    batches.put(item, timeout=0.5)
                    return
                except queue.Full:
                    continue

        def make() -> None:
            try:
                first_id = base
                for plan in plans:
                    for batch in self._school_changes(plan, first_id):
                        hand_over(batch)
                    first_id += plan.size
                hand_over(None)
            except BaseException as exc:  # handed to the writing thread, which raises it
                hand_over(exc)

        maker = threading.Thread(target=make, name="bench-data", daemon=True)
        maker.start()
        began = reported = time.monotonic()
        try:
            while (batch := batches.get()) is not None:
                if isinstance(batch, BaseException):
                    raise batch
                self._flush(batch)
                now = time.monotonic()
                if now - reported > 15:
                    reported = now
                    self._report(began, now)
            self._report(began, time.monotonic())
        finally:
            stop.set()
            maker.join()

    def _report(self, began: float, now: float) -> None:
        done = self.summary.counts["RFCs"]
        rate = done / max(now - began, 1e-9)
        self.progress(
            f"  {done} of {self.changes} RFCs ({rate:.0f} a second; "
            f"{self.writer.seconds:.0f} s of {now - began:.0f} s writing)"
        )

    def _school_changes(self, plan: SchoolPlan, first_id: int) -> Iterator[Batch]:
        """Every RFC of one school, with its items and history, in batches."""
        rng = self.rng
        span = self.end - self.start
        # More RFCs lately: the trust grew into the process.
        created = sorted(self.start + span * rng.random() ** 0.75 for _ in range(plan.size))
        rfcs = [self._route(plan, t) for t in created]
        # A route must end before `end`: one raised lately is moved back as far as needed.
        for rfc in rfcs:
            rfc.start = min(rfc.start, self.end - rfc.duration - 2 * DAY)
        rfcs.sort(key=lambda r: r.start)
        batch = Batch()
        for number, rfc in enumerate(rfcs, start=1):
            self._materialise(plan, first_id + number - 1, number, rfc, batch)
            if len(batch.events) >= 50_000:
                yield batch
                batch = Batch()
        if batch.changes:
            yield batch

    def _flush(self, batch: Batch) -> None:
        self.writer.write(Change, _CHANGE_COLUMNS, batch.changes)
        self.writer.write(ChangeItem, _LINK_COLUMNS, batch.links)
        self.writer.write(ChangeEvent, _EVENT_COLUMNS, batch.events)
        self.summary.counts["RFCs"] += len(batch.changes)
        self.summary.counts["item links"] += len(batch.links)
        self.summary.counts["history events"] += len(batch.events)

    def _route(self, plan: SchoolPlan, created: float) -> _Route:
        """Where one RFC ends up and the steps that took it there, with the gaps between
        them (seconds); the people and times are settled in `_materialise`."""
        rng = self.rng
        recent = created > self.end - RECENT_DAYS * DAY
        values, weights = self._recent_states if recent else self._old_states
        final = values[bisect.bisect(weights, rng.random() * weights[-1])]
        emergency = rng.random() < EMERGENCY_SHARE and final not in (
            State.PLANNING,
            State.AWAITING_PEER_REVIEW,
            State.AWAITING_FINAL_APPROVAL,
        )
        if final == State.AWAITING_PEER_REVIEW and not plan.peer_review:
            final = State.AWAITING_FINAL_APPROVAL
        # An emergency's plan is written after its approval, never with the request.
        plan_at_create = not emergency and rng.random() < 0.6
        route = _Route(created, final, emergency, plan_at_create=plan_at_create)
        step = route.step
        step("create", 0)
        if final == State.WITHDRAWN:
            stage = rng.random()
            if stage < 0.4:
                return step("withdraw", rng.expovariate(1 / (5 * DAY)))
            step("submit", rng.expovariate(1 / DAY))
            if stage < 0.6:
                return step("withdraw", rng.expovariate(1 / (3 * DAY)))
            step("approve_ia", rng.expovariate(1 / (1.5 * DAY)))
            if stage < 0.9 or emergency:
                if not route.plan_at_create and rng.random() < 0.5:
                    step("edit_plan", rng.expovariate(1 / (2 * DAY)))
                return step("withdraw", rng.expovariate(1 / (5 * DAY)))
            self._plan_and_approve(route, plan.peer_review)
            return step("withdraw", rng.expovariate(1 / (3 * DAY)))
        if final == State.DRAFT:
            if rng.random() < 0.25:
                step("submit", rng.expovariate(1 / DAY))
                step("return_ia", rng.expovariate(1 / (1.5 * DAY)))
                step("edit_request", rng.expovariate(1 / (2 * DAY)))
            return route
        step("submit", 600 + rng.expovariate(1 / DAY))
        if rng.random() < 0.04:
            step("return_ia", rng.expovariate(1 / (1.5 * DAY)))
            step("edit_request", rng.expovariate(1 / DAY))
            step("submit", rng.expovariate(1 / DAY))
        if final == State.AWAITING_INITIAL_APPROVAL:
            return route
        if final == State.REJECTED and (emergency or rng.random() < 0.7):
            return step("reject_ia", rng.expovariate(1 / (1.5 * DAY)))
        step("approve_ia", 600 + rng.expovariate(1 / (1.5 * DAY)))
        if emergency:
            # Straight to approved: the plan is written and the final approval given after.
            step("edit_plan", 1800 + rng.expovariate(1 / (4 * HOUR)))
            if final == State.APPROVED:
                return route
            ratify_first = rng.random() < 0.5
            if ratify_first:
                step("ratify", rng.expovariate(1 / DAY))
            step("window", rng.expovariate(1 / (6 * HOUR)))
            step("record", 600 + rng.expovariate(1 / HOUR))
            if final == State.IMPLEMENTED:
                if not ratify_first and rng.random() < 0.5:
                    step("ratify", rng.expovariate(1 / DAY))
                return route
            if not ratify_first:
                step("ratify", rng.expovariate(1 / (2 * DAY)))
            return step("close", 3600 + rng.expovariate(1 / (3 * DAY)))
        if final == State.PLANNING:
            if not route.plan_at_create and rng.random() < 0.4:
                step("edit_plan", rng.expovariate(1 / (2 * DAY)))
                route.partial_plan = True
            return route
        self._plan_and_approve(route, plan.peer_review)
        if final in (State.AWAITING_PEER_REVIEW, State.AWAITING_FINAL_APPROVAL, State.APPROVED):
            return route
        if final == State.REJECTED:
            return route
        step("window", 2 * DAY + rng.expovariate(1 / (5 * DAY)))
        step("record", 600 + rng.expovariate(1 / HOUR))
        if final == State.IMPLEMENTED:
            return route
        return step("close", 3600 + rng.expovariate(1 / (3 * DAY)))

    def _plan_and_approve(self, route: _Route, peer_review: bool) -> None:
        """From planning: the plan, its review and the final decision, as far as the RFC goes."""
        rng, step, final = self.rng, route.step, route.final
        if not route.plan_at_create:
            step("edit_plan", rng.expovariate(1 / (2 * DAY)))
        step("submit_plan", 600 + rng.expovariate(1 / (DAY / 2)))
        if peer_review:
            if rng.random() < 0.05:
                step("return_peer", rng.expovariate(1 / (1.5 * DAY)))
                step("edit_details", rng.expovariate(1 / DAY))
                step("submit_plan", rng.expovariate(1 / (DAY / 2)))
            if final == State.AWAITING_PEER_REVIEW:
                return
            step("approve_peer", 600 + rng.expovariate(1 / (1.5 * DAY)))
        if final == State.AWAITING_FINAL_APPROVAL or (final == State.AWAITING_PEER_REVIEW):
            return
        if rng.random() < 0.03:
            step("return_final", rng.expovariate(1 / (2 * DAY)))
            step("edit_details", rng.expovariate(1 / DAY))
            step("submit_plan", rng.expovariate(1 / (DAY / 2)))
            if peer_review:
                step("approve_peer", 600 + rng.expovariate(1 / (1.5 * DAY)))
        if final == State.REJECTED:
            step("reject_final", rng.expovariate(1 / (2 * DAY)))
            return
        step("approve_final", 600 + rng.expovariate(1 / (2 * DAY)))

    def _materialise(
        self,
        plan: SchoolPlan,
        change_id: int,
        number: int,
        rfc: _Route,
        batch: Batch,
    ) -> None:
        """The RFC's row, its items and its sealed history, from its route."""
        rng = self.rng
        db_time = self.db_time
        changes, events, links = batch.changes, batch.events, batch.links
        staff = plan.staff
        zone = ZoneInfo(plan.zone)
        originator = rng.choice(staff.originators)
        ia = _pick(rng, staff.initial_approvers, originator, may_be_self=True)
        peer = (
            _pick(rng, staff.peer_reviewers, originator, may_be_self=False)
            if plan.peer_review
            else None
        )
        fa = _pick(rng, staff.final_approvers, originator, may_be_self=plan.fa_may_originate)
        implementer = (
            originator
            if (originator in staff.implementers and rng.random() < 0.6)
            else (rng.choice(staff.implementers))
        )
        claimed = rng.random() < 0.2  # the implementer picks it up when recording the outcome
        count_values, count_weights = self._item_counts
        count = count_values[bisect.bisect(count_weights, rng.random() * count_weights[-1])]
        named = rng.sample(plan.items, min(count, len(plan.items)))
        topic = named[0][2] if named else "network"
        # "Core network switch" reads "the core network switch"; "MIS server" stays.
        words = {"item": topic[0].lower() + topic[1:] if topic[1:2].islower() else topic}
        title = rng.choice(TITLES).format(**words)
        description = rng.choice(DESCRIPTIONS).format(**words)
        reason = rng.choice(REASONS).format(**words)
        justification = rng.choice(JUSTIFICATIONS).format(**words) if rfc.emergency else ""
        details = rng.choice(DETAILS).format(**words)
        first_details = details.split("\n")[0]
        # What the originator wrote first, before a return asked for more.
        first_description = f"{title}."
        impact = rng.choice(IMPACTS).format(**words)
        risk = rng.choice(RISKS).format(**words)
        fallback = rng.choice(FALLBACKS).format(**words)

        # Times: each step after the one before; the planned window where the route has one.
        moments: list[float] = []
        t = rfc.start
        window: tuple[float, float] | None = None
        for code, gap in rfc.steps:
            t += max(gap, 60.0)
            if code == "window":
                window = self._window(t, zone, rfc.emergency)
                t = window[1]
                continue
            moments.append(t)
        codes = [c for c, _ in rfc.steps if c != "window"]
        has_plan = rfc.plan_at_create or "edit_plan" in codes
        if has_plan and window is None:
            if rfc.final in WAITING_FOR_WINDOW:
                # Still to come (an emergency's within a day or two).
                ahead = rng.uniform(0, 2 if rfc.emergency else 40) * DAY
                after = max(self.end + ahead, moments[-1] + DAY)
            else:
                # As it was planned when it was left, or given up.
                after = moments[-1] + rng.uniform(2, 20) * DAY
            window = self._window(after, zone, rfc.emergency)
        partial = rfc.partial_plan

        # The content as the RFC holds it at the end, in history's terms.
        start_iso = _moment(window[0]).isoformat() if window and not partial else None
        end_iso = _moment(window[1]).isoformat() if window and not partial else None
        request = {
            "title": title,
            "description": first_description if "edit_request" in codes else description,
            "reason": reason,
            "is_emergency": rfc.emergency,
            "emergency_justification": justification,
        }
        plan_now = {
            "details": "",
            "impact": "",
            "risk": "",
            "fallback_plan": "",
            "planned_start": None,
            "planned_end": None,
        }
        full_plan = {
            "details": first_details if "edit_details" in codes else details,
            "impact": impact,
            "risk": risk,
            "fallback_plan": fallback,
            "planned_start": start_iso,
            "planned_end": end_iso,
        }
        if partial:
            full_plan = {**plan_now, "details": first_details, "impact": impact}
        people_now: dict[str, Person | None] = {
            "initial_approver": ia,
            "peer_reviewer": None,
            "final_approver": None,
            "implementer": None,
        }
        planned_people: dict[str, Person | None] = {
            "peer_reviewer": peer,
            "final_approver": fa,
            "implementer": None if claimed else implementer,
        }
        if rfc.plan_at_create:
            plan_now = dict(full_plan)
            people_now.update(planned_people)

        def username(person: Person | None) -> str | None:
            return person.username if person else None

        state = ""
        sequence = 0
        previous = ""
        digests: dict[int, str] = {}
        content = {**request, **plan_now}
        outcome = ""
        ratified = False
        review: dict[str, bool] = {}
        notes: dict[str, str] = {}
        item_ids = sorted(i[0] for i in named)

        def digest(fields: tuple[str, ...]) -> str:
            key = len(fields)
            if key not in digests:
                material = canonical_json({name: content[name] for name in fields})
                digests[key] = hashlib.sha256(material.encode()).hexdigest()
            return digests[key]

        def record(
            kind: str,
            actor: Person,
            to_state: str,
            at: float,
            *,
            comment: str = "",
            diffs: list[dict[str, Any]] | None = None,
            data: dict[str, Any] | None = None,
            approves: tuple[str, ...] = (),
        ) -> None:
            nonlocal sequence, previous, state
            sequence += 1
            moment = _moment(at)
            event = _Event(
                change_id,
                sequence,
                kind,
                actor.pk,
                state,
                to_state,
                comment,
                diffs or [],
                data or {},
                digest(approves) if approves else "",
                moment,
            )
            seal_of = seal(self.key, previous, event_payload(event))
            events.append(
                (
                    change_id,
                    sequence,
                    kind,
                    actor.pk,
                    None,
                    event.from_state,
                    to_state,
                    comment,
                    _json(event.diffs),
                    _json(event.data),
                    event.digest,
                    previous,
                    seal_of,
                    HASH_KEYED,
                    db_time(moment),
                )
            )
            previous = seal_of
            state = to_state

        S = State
        for code, at in zip(codes, moments, strict=True):
            if code == "create":
                values = {**content, **{k: username(v) for k, v in people_now.items()}}
                diffs = [
                    {"field": name, "before": None, "after": value}
                    for name, value in values.items()
                    if value not in (None, "", False)
                ]
                if named:
                    labels = sorted(i[1] for i in named)
                    diffs.append({"field": "items", "before": [], "after": labels})
                record(EventKind.CREATE, originator, S.DRAFT, at, diffs=diffs)
            elif code == "submit":
                record(EventKind.SUBMIT, originator, S.AWAITING_INITIAL_APPROVAL, at)
            elif code == "return_ia":
                reason_ = rng.choice(RETURN_REASONS)
                record(EventKind.RETURN, ia, S.DRAFT, at, comment=reason_)
            elif code == "edit_request":
                before = content["description"]
                content["description"] = description
                digests.clear()
                diff = {"field": "description", "before": before, "after": description}
                record(EventKind.EDIT, originator, state, at, diffs=[diff])
            elif code == "reject_ia":
                record(EventKind.REJECT, ia, S.REJECTED, at, comment=rng.choice(REJECT_REASONS))
            elif code == "approve_ia":
                target = S.APPROVED if rfc.emergency else S.PLANNING
                record(
                    EventKind.APPROVE,
                    ia,
                    target,
                    at,
                    comment=rng.choice(APPROVAL_COMMENTS),
                    approves=REQUEST_FIELDS,
                )
            elif code == "edit_plan":
                diffs = []
                for name, value in full_plan.items():
                    if value != content[name]:
                        diffs.append({"field": name, "before": content[name], "after": value})
                        content[name] = value
                if not partial:
                    for name, person in planned_people.items():
                        if person is not None and people_now[name] is None:
                            diffs.append({"field": name, "before": None, "after": person.username})
                            people_now[name] = person
                digests.clear()
                record(EventKind.EDIT, originator, state, at, diffs=diffs)
            elif code == "edit_details":
                before = content["details"]
                content["details"] = details
                digests.clear()
                diff = {"field": "details", "before": before, "after": details}
                record(EventKind.EDIT, originator, state, at, diffs=[diff])
            elif code == "submit_plan":
                target = S.AWAITING_PEER_REVIEW if plan.peer_review else S.AWAITING_FINAL_APPROVAL
                record(EventKind.SUBMIT_PLAN, originator, target, at)
            elif code == "return_peer":
                assert peer is not None
                record(EventKind.RETURN, peer, S.PLANNING, at, comment=rng.choice(RETURN_REASONS))
            elif code == "approve_peer":
                assert peer is not None
                record(
                    EventKind.APPROVE,
                    peer,
                    S.AWAITING_FINAL_APPROVAL,
                    at,
                    comment=rng.choice(APPROVAL_COMMENTS),
                    approves=_ALL_CONTENT,
                )
            elif code == "return_final":
                record(EventKind.RETURN, fa, S.PLANNING, at, comment=rng.choice(RETURN_REASONS))
            elif code == "reject_final":
                record(EventKind.REJECT, fa, S.REJECTED, at, comment=rng.choice(REJECT_REASONS))
            elif code == "approve_final":
                record(
                    EventKind.APPROVE,
                    fa,
                    S.APPROVED,
                    at,
                    comment=rng.choice(APPROVAL_COMMENTS),
                    approves=_ALL_CONTENT,
                )
            elif code == "ratify":
                ratified = True
                record(EventKind.RATIFY, fa, state, at, approves=_ALL_CONTENT)
            elif code == "record":
                kinds, weights = self._outcomes
                outcome = kinds[bisect.bisect(weights, rng.random() * weights[-1])]
                diffs = [{"field": "outcome", "before": "", "after": outcome}]
                if people_now["implementer"] is None:
                    diffs.append(
                        {"field": "implementer", "before": None, "after": implementer.username}
                    )
                    people_now["implementer"] = implementer
                record(
                    EventKind.RECORD_OUTCOME,
                    implementer,
                    S.IMPLEMENTED,
                    at,
                    data={"outcome": outcome},
                    diffs=diffs,
                )
            elif code == "close":
                review = {
                    "records_updated": True,
                    "caused_incidents": rng.random() < 0.08,
                    "users_informed": rng.random() < 0.92,
                }
                data: dict[str, Any] = dict(review)
                if named and rng.random() < 0.6:
                    notes = {str(pk): rng.choice(ITEM_NOTES) for pk in item_ids}
                    data["item_changes"] = notes
                diffs = [{"field": n, "before": None, "after": v} for n, v in review.items()]
                record(EventKind.CLOSE, originator, S.CLOSED, at, data=data, diffs=diffs)
            elif code == "withdraw":
                record(EventKind.WITHDRAW, originator, S.WITHDRAWN, at)
            else:  # pragma: no cover - a step `_route` does not make
                raise AssertionError(code)
        assert state == rfc.final, (rfc.final, state, codes)

        created = db_time(_moment(moments[0]))
        updated = db_time(_moment(moments[-1]))
        has_window = content["planned_start"] is not None
        changes.append(
            (
                change_id,
                plan.pk,
                number,
                title,
                content["description"],
                reason,
                rfc.emergency,
                justification,
                content["details"],
                content["impact"],
                content["risk"],
                content["fallback_plan"],
                db_time(_moment(window[0])) if has_window and window else None,
                db_time(_moment(window[1])) if has_window and window else None,
                originator.pk,
                ia.pk,
                _pk(people_now["peer_reviewer"]),
                _pk(people_now["final_approver"]),
                _pk(people_now["implementer"]),
                state,
                outcome,
                ratified,
                review.get("records_updated"),
                review.get("caused_incidents"),
                review.get("users_informed"),
                sequence,  # the version: one, bumped by every event after the first
                created,
                updated,
            )
        )
        closer = originator.pk
        for pk in item_ids:
            note = notes.get(str(pk), "")
            if note:
                links.append((change_id, pk, note, updated, closer))
            else:
                links.append((change_id, pk, "", None, None))
        self.summary.states[state] += 1
        if rfc.emergency:
            self.summary.counts["emergencies"] += 1

    def _window(self, after: float, zone: ZoneInfo, emergency: bool) -> tuple[float, float]:
        """A planned window at or after `after`: after school on a weekday, or a Saturday
        morning, in the school's time zone (an emergency: within the hour)."""
        rng = self.rng
        if emergency:
            begins = after + rng.uniform(600, 3600)
            return begins, begins + rng.choice((1, 2)) * HOUR
        day = _moment(after).astimezone(zone).date() + timedelta(days=1)
        if rng.random() < 0.2:
            day += timedelta(days=(5 - day.weekday()) % 7)  # a Saturday
            start = clock(9, 0)
        else:
            while day.weekday() >= 5:
                day += timedelta(days=1)
            start = rng.choice((clock(16, 0), clock(17, 30), clock(18, 0)))
        begins = datetime.combine(day, start, tzinfo=zone).timestamp()
        return begins, begins + rng.choice((1, 1, 2, 3, 4)) * HOUR

    def _reset_sequences(self) -> None:
        if not self.writer.postgres:
            return  # SQLite's AUTOINCREMENT follows the highest id written
        statements = connection.ops.sequence_reset_sql(no_style(), [Change])
        with connection.cursor() as cursor:
            for sql in statements:
                cursor.execute(sql)


@dataclass
class Batch:
    """Rows to write: RFCs, their item links and their events."""

    changes: list[Row] = field(default_factory=list)
    events: list[Row] = field(default_factory=list)
    links: list[Row] = field(default_factory=list)


@dataclass
class _Route:
    """One RFC's steps (a code and the gap before it, in seconds) from `start`."""

    start: float
    final: str
    emergency: bool
    plan_at_create: bool
    partial_plan: bool = False
    steps: list[tuple[str, float]] = field(default_factory=list)

    def step(self, code: str, gap: float) -> _Route:
        self.steps.append((code, gap))
        return self

    @property
    def duration(self) -> float:
        # A window may be moved to the next Saturday or school day: allow for it.
        return sum(max(g, 60.0) for _, g in self.steps) + (8 * DAY if self.has_window else 0)

    @property
    def has_window(self) -> bool:
        return any(code == "window" for code, _ in self.steps)


def school_year(y: int) -> list[tuple[str, str, date, date]]:
    """The periods of the school year starting in September of `y`: (kind, name, first day,
    last day)."""
    n = y + 1
    year = f"{y}-{str(n)[2:]}"
    K = PeriodKind
    return [
        (K.INSET, f"INSET day {year} (1)", date(y, 9, 2), date(y, 9, 2)),
        (K.TERM, f"Autumn term {year}", date(y, 9, 3), date(y, 12, 19)),
        (K.FREEZE, f"Census freeze {year}", date(y, 10, 1), date(y, 10, 3)),
        (K.HOLIDAY, f"Autumn half-term {year}", date(y, 10, 27), date(y, 10, 31)),
        (K.HOLIDAY, f"Christmas holiday {year}", date(y, 12, 20), date(n, 1, 4)),
        (K.INSET, f"INSET day {year} (2)", date(n, 1, 5), date(n, 1, 5)),
        (K.TERM, f"Spring term {year}", date(n, 1, 6), date(n, 3, 27)),
        (K.HOLIDAY, f"February half-term {year}", date(n, 2, 16), date(n, 2, 20)),
        (K.HOLIDAY, f"Easter holiday {year}", date(n, 3, 28), date(n, 4, 12)),
        (K.TERM, f"Summer term {year}", date(n, 4, 13), date(n, 7, 21)),
        (K.EXAM, f"Exams {year}", date(n, 5, 11), date(n, 6, 19)),
        (K.HOLIDAY, f"May half-term {year}", date(n, 5, 25), date(n, 5, 29)),
        (K.INSET, f"INSET day {year} (3)", date(n, 7, 22), date(n, 7, 22)),
        (K.HOLIDAY, f"Summer holiday {year}", date(n, 7, 23), date(n, 9, 1)),
    ]


def _pick(
    rng: random.Random, pool: list[Person], originator: Person, *, may_be_self: bool
) -> Person:
    """Someone from `pool`, never the originator where separation of duties forbids it."""
    candidates = pool if may_be_self else [p for p in pool if p.pk != originator.pk]
    if not candidates:
        raise BenchDataRefused("a school has no one to name in a role (a bug in bench-data)")
    return rng.choice(candidates)


def _pk(person: Person | None) -> int | None:
    return person.pk if person else None


def generate(
    schools: int,
    changes: int,
    *,
    seed: int = DEFAULT_SEED,
    prefix: str = DEFAULT_PREFIX,
    password: str = DEFAULT_PASSWORD,
    items_per_school: int | None = None,
    today: date | None = None,
    progress: Callable[[str], None] | None = None,
) -> Summary:
    """Make the benchmark data set (see the module's docstring); returns what was made."""
    return Generator(
        schools,
        changes,
        seed=seed,
        prefix=prefix,
        password=password,
        items_per_school=items_per_school,
        today=today,
        progress=progress,
    ).run()
