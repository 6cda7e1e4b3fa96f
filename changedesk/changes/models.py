"""The request for change (RFC) and its append-only, hash-chained history."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q

from changedesk.accounts.models import School, SchoolScopedQuerySet, User
from changedesk.changes.choices import OPEN_STATES, EventKind, Outcome, State
from changedesk.configuration.models import ConfigurationItem

# The sections of the FITS form. What an approval covers is the content of these fields.
REQUEST_FIELDS = ("title", "description", "reason", "is_emergency", "emergency_justification")
PLAN_FIELDS = ("details", "impact", "risk", "fallback_plan", "planned_start", "planned_end")
PEOPLE_FIELDS = ("initial_approver", "peer_reviewer", "final_approver", "implementer")
REVIEW_FIELDS = ("records_updated", "caused_incidents", "users_informed")

REFERENCE_RE = re.compile(r"^RFC-(?P<number>\d{1,9})$", re.IGNORECASE)
QUALIFIED_REFERENCE_RE = re.compile(r"^(?P<slug>[-\w]+?)[:/](?P<ref>RFC-\d{1,9})$", re.IGNORECASE)


def format_reference(number: int) -> str:
    return f"RFC-{number:04d}"


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


class ChangeQuerySet(SchoolScopedQuerySet["Change"]):
    """RFCs: `visible_to(user)` (the scoping rule), `open()`, `by_reference()`."""

    def open(self) -> ChangeQuerySet:
        from changedesk.changes.choices import OPEN_STATES

        return self.filter(state__in=OPEN_STATES)

    def by_reference(self, reference: str) -> ChangeQuerySet:
        """Match `RFC-0007` or the school-qualified `greenfield:RFC-0007`."""
        qualified = QUALIFIED_REFERENCE_RE.match(reference.strip())
        if qualified:
            number = REFERENCE_RE.match(qualified["ref"])
            assert number is not None
            return self.filter(school__slug=qualified["slug"], number=int(number["number"]))
        plain = REFERENCE_RE.match(reference.strip())
        if plain:
            return self.filter(number=int(plain["number"]))
        return self.none()


class Change(models.Model):
    """A request for change: the FITS form, the people named on it, and where it stands.

    `state` is only ever assigned by `changedesk.changes.workflow.perform`.
    """

    school = models.ForeignKey(School, on_delete=models.PROTECT, related_name="changes")
    number = models.PositiveIntegerField(editable=False)

    # The request (FITS step 2).
    title = models.CharField("name", max_length=200)
    description = models.TextField("brief description")
    reason = models.TextField("reason for the change")
    is_emergency = models.BooleanField("emergency change", default=False)
    emergency_justification = models.TextField(blank=True)
    # Raised from a standard change template approved once (set when it is raised, by the
    # app that keeps the templates): it goes ahead without the approvals.
    is_standard = models.BooleanField("standard change", default=False, editable=False)

    # The plan (FITS step 4).
    details = models.TextField("full details of the change", blank=True)
    impact = models.TextField("impact on ICT services and users", blank=True)
    risk = models.TextField("risk of failure and impact of failure", blank=True)
    fallback_plan = models.TextField("fallback plan", blank=True)
    planned_start = models.DateTimeField(null=True, blank=True)
    planned_end = models.DateTimeField(null=True, blank=True)

    # The people named on it.
    originator = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    initial_approver = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    peer_reviewer = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    final_approver = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    implementer = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    # Where it stands.
    state = models.CharField(max_length=32, choices=State.choices, default=State.DRAFT)
    outcome = models.CharField(max_length=32, choices=Outcome.choices, blank=True)
    ratified = models.BooleanField(
        default=False, help_text="An emergency change's final approval, given afterwards."
    )
    # The short review before closing (FITS step 10).
    records_updated = models.BooleanField(null=True, blank=True)
    caused_incidents = models.BooleanField(null=True, blank=True)
    users_informed = models.BooleanField(null=True, blank=True)

    version = models.PositiveIntegerField(default=1, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ChangeQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["school", "number"], name="change_unique_reference"),
            models.CheckConstraint(
                condition=Q(planned_end__isnull=True)
                | Q(planned_start__isnull=True)
                | Q(planned_end__gt=models.F("planned_start")),
                name="change_ends_after_start",
            ),
        ]
        indexes = [
            # The change log filtered by state, in its order (and the counts by state).
            models.Index(
                fields=["school", "state", "-created_at", "-id"], name="change_school_state_newest"
            ),
            # The change log's order, within a person's schools and across all of them.
            models.Index(fields=["school", "-created_at", "-id"], name="change_school_newest"),
            models.Index(fields=["-created_at", "-id"], name="change_newest"),
            # The change log sorted by title, school by school (lib.paging.MergedIds).
            models.Index(fields=["school", "title", "id"], name="change_school_title"),
            # The change log sorted by planned start, either way, school by school: with the
            # id, so that the RFCs with no window (NULL, first when sorting latest first) come
            # in order from the index rather than all read to be sorted.
            models.Index(fields=["school", "planned_start", "id"], name="change_school_start"),
            # The conflict check and the next safe slot: open RFCs' windows in a school.
            # (The long windows' partial indexes, not in the models' state: PostgreSQL's
            # with its statistics, migration 0006; SQLite's, 0013; schedule/windows.py.)
            models.Index(
                fields=["school", "planned_start", "planned_end"],
                condition=Q(state__in=sorted(OPEN_STATES)),
                name="change_open_window",
            ),
            models.Index(fields=["state", "initial_approver"]),
            models.Index(fields=["state", "peer_reviewer"]),
            # My work's sections that span several states or take in the RFCs no one is
            # named on yet: covering (PostgreSQL), so that each is read from its index alone
            # rather than from a heap page an RFC (hundreds, most left out by the school or
            # the step's condition, at 500,000 RFCs: queries.my_work).
            models.Index(
                fields=["state", "final_approver"],
                include=[
                    "school",
                    "originator",
                    "is_emergency",
                    "ratified",
                    "planned_start",
                    "created_at",
                    "id",
                ],
                name="change_final_work",
            ),
            models.Index(
                fields=["state", "implementer"],
                include=["school", "originator", "planned_start", "created_at", "id"],
                name="change_implement_work",
            ),
            models.Index(
                fields=["state", "originator"],
                include=["school", "is_standard", "created_at", "id"],
                name="change_originator_work",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.reference} {self.title}"

    def get_absolute_url(self) -> str:
        from django.urls import reverse

        return reverse("changes:detail", args=[self.pk])

    @property
    def change_type(self) -> str:
        """`normal`, `emergency` or `standard` (`choices.ChangeType`)."""
        return "standard" if self.is_standard else "emergency" if self.is_emergency else "normal"

    @property
    def reference(self) -> str:
        return format_reference(self.number)

    @property
    def qualified_reference(self) -> str:
        return f"{self.school.slug}:{self.reference}"

    @property
    def absolute_link(self) -> str:
        return f"{settings.SITE_URL}{self.get_absolute_url()}"

    def content(self, fields: tuple[str, ...] = REQUEST_FIELDS + PLAN_FIELDS) -> dict[str, Any]:
        """The content an approval covers, as plain JSON values."""
        return {name: field_value(self, name) for name in fields}

    def digest(self, fields: tuple[str, ...] = REQUEST_FIELDS + PLAN_FIELDS) -> str:
        return hashlib.sha256(canonical_json(self.content(fields)).encode()).hexdigest()


def field_value(change: Change, name: str) -> Any:
    """A field's value as it is recorded in history: usernames for people, ISO 8601 for times."""
    if name in PEOPLE_FIELDS or name == "originator":
        person = getattr(change, name)
        return person.username if person else None
    value = getattr(change, name)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


# How an event's `hash` was made. Keyed: HMAC-SHA256 with the history key, which is not in
# the database, so that someone who can write to the database cannot recompute the chain
# after editing an event. Plain: SHA-256, the chains made before keyed ones (0004 re-sealed
# every whole chain; `verify-history` reports an event still plain as not sealed).
HASH_KEYED = "hmac-sha256"
HASH_PLAIN = "sha256"
HISTORY_KEY_LABEL = b"changedesk history chain v1"


def history_key() -> bytes:
    """The key of the history chain, derived from `settings.HISTORY_KEY` (by default the
    SECRET_KEY): setting HISTORY_KEY to the old SECRET_KEY keeps the same key."""
    return hmac.new(settings.HISTORY_KEY.encode(), HISTORY_KEY_LABEL, hashlib.sha256).digest()


def history_key_id(key: bytes | None = None) -> str:
    """A short public name of the key (not the key): tells which key sealed or anchored."""
    return hmac.new(key or history_key(), b"key id", hashlib.sha256).hexdigest()[:16]


def event_payload(event: Any) -> dict[str, Any]:
    """What an event's hash covers. Works on the migrations' historical models too."""
    return {
        "change": event.change_id,
        "sequence": event.sequence,
        "kind": event.kind,
        "actor": event.actor_id,
        "on_behalf_of": event.on_behalf_of_id,
        "from_state": event.from_state,
        "to_state": event.to_state,
        "comment": event.comment,
        "diffs": event.diffs,
        "data": event.data,
        "digest": event.digest,
        "created_at": event.created_at.isoformat(),
    }


def seal(key: bytes, previous_hash: str, payload: dict[str, Any]) -> str:
    """The keyed hash of an event: HMAC-SHA256 of the previous hash and the content."""
    material = previous_hash + canonical_json(payload)
    return hmac.new(key, material.encode(), hashlib.sha256).hexdigest()


def plain_seal(previous_hash: str, payload: dict[str, Any]) -> str:
    """The hash of an event made before the chain was keyed (anyone can compute it)."""
    return hashlib.sha256((previous_hash + canonical_json(payload)).encode()).hexdigest()


class ChangeEventQuerySet(models.QuerySet["ChangeEvent"]):
    def update(self, **kwargs: Any) -> int:
        raise TypeError("History is append-only: events are never updated.")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise TypeError("History is append-only: events are never deleted.")


class ChangeEvent(models.Model):
    """One entry in an RFC's history: an action or an edit. Never updated, never deleted.

    Each event's `hash` covers its content and the previous event's hash, keyed with the
    history key (`hash_kind`), so that an edit made directly in the database breaks the
    chain where it was made, even when every later hash is recomputed without the key.
    """

    change = models.ForeignKey(Change, on_delete=models.PROTECT, related_name="events")
    sequence = models.PositiveIntegerField()
    kind = models.CharField(max_length=32, choices=EventKind.choices)
    actor = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    on_behalf_of = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    from_state = models.CharField(max_length=32, choices=State.choices, blank=True)
    to_state = models.CharField(max_length=32, choices=State.choices, blank=True)
    comment = models.TextField(blank=True)
    # [{"field": name, "before": value, "after": value}, …]
    diffs = models.JSONField(default=list, blank=True)
    # Extra facts of an action, e.g. {"outcome": "succeeded"} or the review answers.
    data = models.JSONField(default=dict, blank=True)
    digest = models.CharField(max_length=64, blank=True, help_text="SHA-256 of the content read")
    previous_hash = models.CharField(max_length=64, blank=True)
    hash = models.CharField(max_length=64)
    hash_kind = models.CharField(max_length=16, default=HASH_KEYED, editable=False)
    created_at = models.DateTimeField()

    objects = ChangeEventQuerySet.as_manager()

    class Meta:
        ordering = ["change", "sequence"]
        constraints = [
            models.UniqueConstraint(fields=["change", "sequence"], name="event_unique_sequence")
        ]
        indexes = [
            # Covering (PostgreSQL): the reports read a year of events by it, index only.
            models.Index(
                fields=["kind", "created_at"],
                include=["change", "from_state", "to_state", "sequence"],
                name="event_kind_time",
            ),
            # Covering: when each stage was entered, read backwards from the index alone.
            models.Index(
                fields=["change", "sequence"],
                include=["from_state", "to_state", "created_at"],
                name="event_sequence_states",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.change_id} #{self.sequence} {self.kind}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise TypeError("History is append-only: events are never updated.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise TypeError("History is append-only: events are never deleted.")

    def payload(self) -> dict[str, Any]:
        """What the hash covers."""
        return event_payload(self)

    def compute_hash(self, key: bytes | None = None) -> str:
        """The hash this event should have, made the way its `hash_kind` says."""
        if self.hash_kind == HASH_PLAIN:
            return plain_seal(self.previous_hash, self.payload())
        return seal(key or history_key(), self.previous_hash, self.payload())

    @property
    def is_state_change(self) -> bool:
        return bool(self.to_state) and self.to_state != self.from_state


class ChangeItem(models.Model):
    """An RFC names an item it touches; on closing (FITS step 9) it records what changed.

    What changed is written from the close event's data (which the hash chain covers).
    """

    change = models.ForeignKey(Change, on_delete=models.CASCADE, related_name="item_links")
    item = models.ForeignKey(
        ConfigurationItem, on_delete=models.PROTECT, related_name="change_links"
    )
    what_changed = models.TextField(blank=True)
    recorded_at = models.DateTimeField(null=True, blank=True)
    recorded_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        # Moved here from `configuration`; the table keeps its name.
        db_table = "configuration_changeitem"
        ordering = ["item__name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["change", "item"], name="change_item_unique"),
        ]
        indexes = [models.Index(fields=["item", "change"], name="configurati_item_id_801198_idx")]

    def __str__(self) -> str:
        return f"{self.change} touches {self.item}"


class HistoryReseal(models.Model):
    """A record that the history was re-sealed with the history key (migration 0004).

    The one row not of a school: it is of the whole history. Chains that did not verify
    under their old hashes were left as they were, and are named in `left_unsealed`, so
    that re-sealing never hides an edit made before it.
    """

    at = models.DateTimeField()
    key_id = models.CharField(max_length=16, help_text="The key's public name, not the key")
    changes = models.PositiveIntegerField(help_text="RFCs re-sealed")
    events = models.PositiveIntegerField(help_text="events re-sealed")
    left_unsealed = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["at"]

    def __str__(self) -> str:
        return f"{self.events} events of {self.changes} RFCs re-sealed at {self.at:%Y-%m-%d}"


class HistoryAnchor(models.Model):
    """That a school's chain heads were anchored on a day (changes/anchors.py): the daily
    job's at-most-once record. The anchor itself is outside the database: a line of the
    anchors file and a mail to the school's administrators."""

    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    digest = models.CharField(max_length=64, blank=True)
    changes = models.PositiveIntegerField(default=0)
    events = models.PositiveIntegerField(default=0)
    changed = models.PositiveIntegerField(default=0, help_text="RFCs whose head moved")
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["school", "day"]
        constraints = [
            models.UniqueConstraint(fields=["school", "day"], name="history_anchor_once_a_day")
        ]

    def __str__(self) -> str:
        return f"{self.school_id} {self.day}"


class Tally(models.Model):
    """How many RFCs a school has in a state (emergencies apart), kept by the database:
    triggers on the RFCs' table add a row of +1 or -1 for every RFC made, moved or
    removed, and the worker folds them into one row per school, state and kind
    (changes/tally.py). A change log or API list filtered by nothing else counts itself
    here, in a sum of a few rows, instead of counting every RFC it lists (120,000 for a
    ten-school person at trust scale: 11-50 ms a page). Written by the triggers, and by
    `tally.compact` and `tally.rebuild` only."""

    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="+")
    state = models.CharField(max_length=32, choices=State.choices)
    is_emergency = models.BooleanField()
    n = models.IntegerField()

    class Meta:
        indexes = [models.Index(fields=["school", "state"], name="tally_school_state")]

    def __str__(self) -> str:
        return f"{self.school_id} {self.state} {'emergency ' if self.is_emergency else ''}{self.n}"
