"""Anchors: each day, the head of every RFC's history chain, kept outside the database.

Once a day per school (in its time zone) the outbox worker's `history_anchors` job writes
one line to the append-only anchors file, `DATA_DIR/history-anchors.jsonl`, and queues a
short digest to the school's administrators. Someone who can write to the database (and
even one who has the history key) cannot reach either, so `verify-history` can say which
RFC's events changed since which day's anchor.

A line of the file (JSON, one per school and day; `heads` only names the RFCs whose head
moved since the school's anchor before):

    {"type": "anchor", "day": "2026-11-30", "school": "greenfield", "school_id": 1,
     "at": "2026-11-30T07:00:02+00:00", "key": "<the key's public id>",
     "rfcs": 12, "events": 96, "digest": "<sha256 of every head of the school>",
     "heads": {"<change id>": ["RFC-0003", 9, "<hash of event 9>", "<content digest>"]}}

`digest` is SHA-256 of the canonical JSON of the sorted `[change id, sequence, hash]` of
every RFC's head; the content digest is SHA-256 of the canonical JSON of the RFC's events
1..sequence as the evidence export writes them (`evidence_events`), which anyone can
recompute without the key. The migration that re-sealed the chains wrote a
`{"type": "reseal", …}` line.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import OuterRef, Subquery

from changedesk.accounts.choices import Role
from changedesk.accounts.models import School
from changedesk.changes.models import (
    Change,
    ChangeEvent,
    HistoryAnchor,
    canonical_json,
    event_payload,
    history_key_id,
)
from changedesk.notifications.outbox import enqueue

logger = logging.getLogger(__name__)

FILE_NAME = "history-anchors.jsonl"
JOB_NAME = "history_anchors"
# The RFCs named one by one in the digest mail; the rest are counted.
MAIL_LISTS = 20


def anchors_path() -> Path:
    return Path(settings.DATA_DIR) / FILE_NAME


def append_line(record: dict[str, Any]) -> None:
    """Append one JSON line to the anchors file, locked against other workers and synced
    to disk before returning. The file is only ever opened for appending."""
    path = anchors_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    data = (json.dumps(record, sort_keys=True, ensure_ascii=False) + "\n").encode()
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)


# --- What an export and an anchor say of an RFC's events. ---


def evidence_event(event: ChangeEvent) -> dict[str, Any]:
    """An event as the evidence export writes it: what its hash covers, and its hashes."""
    return {
        **event_payload(event),
        "previous_hash": event.previous_hash,
        "hash": event.hash,
        "hash_kind": event.hash_kind,
    }


def content_digest(events: Iterable[ChangeEvent]) -> str:
    """SHA-256 of the events as the export writes them: checkable without the key."""
    return records_digest([evidence_event(e) for e in events])


def records_digest(records: list[dict[str, Any]]) -> str:
    return hashlib.sha256(canonical_json(records).encode()).hexdigest()


def school_digest(heads: dict[int, tuple[int, str]]) -> str:
    rows = sorted([pk, seq, hash_] for pk, (seq, hash_) in heads.items())
    return hashlib.sha256(canonical_json(rows).encode()).hexdigest()


# --- Reading the file back. ---


@dataclass(frozen=True)
class Point:
    """An anchor's word on one RFC: on `day`, its event `sequence` had `hash`."""

    day: str
    sequence: int
    hash: str
    reference: str
    school: str
    content: str = ""
    digest: str = ""
    at: str = ""


@dataclass(frozen=True)
class AnchorMismatch:
    school: str
    reference: str
    day: str
    problem: str
    change: Change | None = None

    def __str__(self) -> str:
        return f"{self.reference} at {self.school}: {self.problem} since the anchor of {self.day}"


@dataclass
class Anchors:
    """The anchors file, replayed: every point of every RFC, and each school's heads as of
    its last anchor (what the next anchor is written against)."""

    points: dict[int, list[Point]] = field(default_factory=dict)
    heads: dict[int, dict[int, tuple[int, str]]] = field(default_factory=dict)
    days: dict[int, str] = field(default_factory=dict)
    keys: set[str] = field(default_factory=set)
    lines: int = 0
    unreadable: int = 0

    @classmethod
    def read(cls, path: Path | None = None) -> Anchors:
        found = cls()
        path = path or anchors_path()
        if not path.exists():
            return found
        with path.open(encoding="utf-8") as lines:
            for line in lines:
                found._add(line)
        return found

    def _add(self, line: str) -> None:
        try:
            record = json.loads(line)
            if record.get("type") != "anchor":
                return
            school_id = int(record["school_id"])
            day = str(record["day"])
            heads = self.heads.setdefault(school_id, {})
            for pk, head in dict(record["heads"]).items():
                reference, sequence, hash_ = str(head[0]), int(head[1]), str(head[2])
                heads[int(pk)] = (sequence, hash_)
                content = str(head[3]) if len(head) > 3 else ""
                point = Point(
                    day,
                    sequence,
                    hash_,
                    reference,
                    str(record["school"]),
                    content,
                    str(record.get("digest", "")),
                    str(record.get("at", "")),
                )
                self.points.setdefault(int(pk), []).append(point)
            self.days[school_id] = max(day, self.days.get(school_id, ""))
            self.keys.add(str(record.get("key", "")))
            self.lines += 1
        except (ValueError, KeyError, TypeError, IndexError):
            # A torn last line (a crash while appending) or a damaged one: counted, skipped.
            self.unreadable += 1

    def check(self, change: Change, events: list[ChangeEvent]) -> AnchorMismatch | None:
        """The first (earliest) anchor of `change` its events no longer match, if any."""
        found = first_mismatch(self.points.get(change.pk, ()), [e.hash for e in events])
        if found is None:
            return None
        day, problem = found
        return AnchorMismatch(change.school.name, change.reference, day, problem, change)

    def missing(self, existing: Iterable[int]) -> list[AnchorMismatch]:
        """RFCs the anchors hold that the database no longer does."""
        gone = set(self.points) - set(existing)
        return [
            AnchorMismatch(
                self.points[pk][0].school,
                self.points[pk][0].reference,
                self.points[pk][0].day,
                "the RFC and its events were deleted",
            )
            for pk in sorted(gone)
        ]


def first_mismatch(points: Iterable[Point], hashes: Sequence[str]) -> tuple[str, str] | None:
    """The day and the problem of the first (earliest) of an RFC's anchors that the hashes
    of its events, in sequence order, no longer match, if any."""
    matched = 0
    for point in points:
        if point.sequence > len(hashes):
            problem = f"events after {len(hashes)} were deleted"
        elif hashes[point.sequence - 1] != point.hash:
            first = matched + 1
            span = (
                f"event {first}"
                if first == point.sequence
                else f"events {first} to {point.sequence}"
            )
            problem = f"{span} changed"
        else:
            matched = max(matched, point.sequence)
            continue
        return point.day, problem
    return None


# --- Writing them: the daily job. ---


def current_heads(school: School) -> dict[int, tuple[str, int, str]]:
    """Each RFC of `school` with history: its reference, last sequence and last hash."""
    last = ChangeEvent.objects.filter(change=OuterRef("pk")).order_by("-sequence")
    rows = (
        Change.objects.filter(school=school)
        .annotate(
            head_sequence=Subquery(last.values("sequence")[:1]),
            head_hash=Subquery(last.values("hash")[:1]),
        )
        .filter(head_sequence__isnull=False)
        .values_list("pk", "number", "head_sequence", "head_hash")
    )
    return {pk: (f"RFC-{number:04d}", seq, hash_) for pk, number, seq, hash_ in rows}


def run(now: datetime) -> int:
    """The worker's job: anchor each school not yet anchored today; returns how many were."""
    anchored = 0
    recent = HistoryAnchor.objects.filter(day__gte=now.date() - timedelta(days=1))
    done = set(recent.values_list("school_id", "day"))
    known: Anchors | None = None
    for school in School.objects.order_by("pk"):
        day = now.astimezone(school.zone).date()
        if (school.pk, day) in done:
            continue
        if known is None:
            known = Anchors.read()
        try:
            with transaction.atomic():
                anchored += anchor_school(school, day, now, known)
        except Exception:
            # One school's failure must not keep the others from their anchors.
            logger.exception("Could not anchor the history of %s", school.slug)
    return anchored


def anchor_school(school: School, day: date, now: datetime, known: Anchors) -> int:
    """Anchor one school's heads for `day` (inside the caller's transaction); 1 if a line
    was written. A school whose heads have not moved since its last anchor gets no line
    and no mail, but the day is still marked done."""
    anchor, created = HistoryAnchor.objects.get_or_create(
        school=school, day=day, defaults={"created_at": now}
    )
    if not created:
        return 0
    heads = current_heads(school)
    before = known.heads.get(school.pk, {})
    moved = {pk: head for pk, head in heads.items() if before.get(pk) != head[1:]}
    if not moved:
        return 0
    contents = _content_digests(moved)
    digest = school_digest({pk: (seq, hash_) for pk, (_ref, seq, hash_) in heads.items()})
    events = sum(seq for _ref, seq, _hash in heads.values())
    anchor.digest, anchor.changes, anchor.events = digest, len(heads), events
    anchor.changed = len(moved)
    anchor.save(update_fields=["digest", "changes", "events", "changed"])
    record = {
        "type": "anchor",
        "day": day.isoformat(),
        "school": school.slug,
        "school_id": school.pk,
        "at": now.isoformat(),
        "key": history_key_id(),
        "rfcs": len(heads),
        "events": events,
        "digest": digest,
        "heads": {
            str(pk): [ref, seq, hash_, contents[pk]]
            for pk, (ref, seq, hash_) in sorted(moved.items())
        },
    }
    _queue_digest(school, day, record, moved, contents)
    # Last, so that a failure before it leaves nothing half done (the transaction rolls
    # back and the next pass tries again).
    append_line(record)
    known.heads.setdefault(school.pk, {}).update(
        {pk: (seq, hash_) for pk, (_ref, seq, hash_) in moved.items()}
    )
    return 1


def _content_digests(moved: dict[int, tuple[str, int, str]]) -> dict[int, str]:
    by_change: dict[int, list[ChangeEvent]] = {pk: [] for pk in moved}
    pks = sorted(moved)
    for start in range(0, len(pks), 500):
        chunk = pks[start : start + 500]
        for event in ChangeEvent.objects.filter(change__in=chunk).order_by("change", "sequence"):
            if event.sequence <= moved[event.change_id][1]:
                by_change[event.change_id].append(event)
    return {pk: content_digest(events) for pk, events in by_change.items()}


def _queue_digest(
    school: School,
    day: date,
    record: dict[str, Any],
    moved: dict[int, tuple[str, int, str]],
    contents: dict[int, str],
) -> None:
    listed = [
        {"reference": ref, "sequence": seq, "hash": hash_[:32], "content": contents[pk][:32]}
        for pk, (ref, seq, hash_) in sorted(moved.items(), key=lambda item: item[1][0])
    ]
    context = {
        "school": school.name,
        "day": day.isoformat(),
        "digest": record["digest"],
        "key": record["key"],
        "rfcs": record["rfcs"],
        "events": record["events"],
        "changed": listed[:MAIL_LISTS],
        "more": max(0, len(listed) - MAIL_LISTS),
        "path": "/",
    }
    for admin in school.holders_of(Role.SCHOOL_ADMIN).order_by("pk"):
        enqueue(
            recipient=admin,
            template="history_anchor",
            context={**context, "recipient_name": admin.display_name},
            key=f"history-anchor:{school.pk}:{day.isoformat()}:{admin.pk}",
            school=school,
        )
