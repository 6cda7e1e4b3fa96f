"""The evidence export of one RFC (`changedesk export-evidence`): its events with their
hashes, the anchors that cover them, and a seal, as one JSON document an auditor can check
without access to the server.

What each part lets whom check:

- Anyone, without the key: that the events form one chain (each `previous_hash` is the
  hash of the event before it), and that for each anchor the events up to its `sequence`
  have its `hash` and its `content` digest (SHA-256 of their canonical JSON). Compared with
  the digest mails the school's administrators received on those days (outside changedesk),
  this shows the events are as they were on each anchor's day. `check` does both.
- Only someone with the history key (on the server: `changedesk export-evidence --check
  FILE`): each event's keyed hash, and the `seal` (an HMAC over the whole document), which
  says the file is the one the server exported. The seal is not a public signature: an
  auditor without the key cannot check it, and the README says so.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from django.conf import settings
from django.utils import timezone

from changedesk.accounts.models import User
from changedesk.changes.anchors import Anchors, evidence_event, records_digest
from changedesk.changes.history import verify_chain
from changedesk.changes.models import (
    HASH_KEYED,
    HASH_PLAIN,
    Change,
    ChangeEvent,
    canonical_json,
    history_key,
    history_key_id,
    plain_seal,
    seal,
)

FORMAT = "changedesk-evidence"
VERSION = 1
SEAL_LABEL = b"changedesk evidence seal v1"


def export(change: Change, anchors: Anchors | None = None) -> dict[str, Any]:
    """The evidence document of `change` (with the anchors file read unless given)."""
    anchors = anchors if anchors is not None else Anchors.read()
    events = list(ChangeEvent.objects.filter(change=change).order_by("sequence"))
    broken = verify_chain(change, events)
    people_ids = {e.actor_id for e in events} | {e.on_behalf_of_id for e in events}
    people = User.objects.filter(pk__in=[pk for pk in people_ids if pk]).order_by("pk")
    document: dict[str, Any] = {
        "format": FORMAT,
        "version": VERSION,
        "exported_at": timezone.now().isoformat(),
        "site": settings.SITE_URL,
        "school": {"slug": change.school.slug, "name": change.school.name},
        "rfc": {
            "id": change.pk,
            "reference": change.reference,
            "title": change.title,
            "state": change.state,
        },
        "key": history_key_id(),
        "chain": {"whole": broken is None, "problem": str(broken) if broken else ""},
        "people": {str(p.pk): {"username": p.username, "name": p.display_name} for p in people},
        "events": [evidence_event(e) for e in events],
        "anchors": [
            {
                "day": point.day,
                "at": point.at,
                "sequence": point.sequence,
                "hash": point.hash,
                "content": point.content,
                "school_digest": point.digest,
            }
            for point in anchors.points.get(change.pk, [])
        ],
    }
    document["seal"] = {"algorithm": "hmac-sha256", "key": history_key_id(), "value": ""}
    document["seal"]["value"] = seal_of(document)
    return document


def seal_of(document: dict[str, Any], key: bytes | None = None) -> str:
    """The HMAC of the document with its seal's value left empty."""
    unsealed = {**document, "seal": {**document.get("seal", {}), "value": ""}}
    evidence_key = hmac.new(key or history_key(), SEAL_LABEL, hashlib.sha256).digest()
    return hmac.new(evidence_key, canonical_json(unsealed).encode(), hashlib.sha256).hexdigest()


def check(document: dict[str, Any], *, with_key: bool = False) -> list[str]:
    """What is wrong with an evidence document ([] when nothing): the chain's links and the
    anchors (no key needed), and with `with_key` each event's keyed hash and the seal."""
    problems: list[str] = []
    if document.get("format") != FORMAT:
        return ["not a changedesk evidence export"]
    events: list[dict[str, Any]] = list(document.get("events", []))
    key = history_key() if with_key else None
    previous = ""
    for number, event in enumerate(events, start=1):
        if event.get("sequence") != number:
            problems.append(f"event {number} is missing")
            break
        if event.get("previous_hash") != previous:
            problems.append(f"event {number} does not follow the event before it")
        payload = {
            k: v for k, v in event.items() if k not in ("previous_hash", "hash", "hash_kind")
        }
        if event.get("hash_kind") == HASH_PLAIN:
            if plain_seal(previous, payload) != event.get("hash"):
                problems.append(f"event {number}: content does not match its hash")
        elif key is not None and (
            event.get("hash_kind") != HASH_KEYED or seal(key, previous, payload) != event["hash"]
        ):
            problems.append(f"event {number}: content does not match its keyed hash")
        previous = str(event.get("hash", ""))
    for anchor in document.get("anchors", []):
        day, sequence = anchor.get("day"), int(anchor.get("sequence", 0))
        if not 0 < sequence <= len(events):
            problems.append(f"the anchor of {day} covers event {sequence}, not in the export")
        elif events[sequence - 1].get("hash") != anchor.get("hash"):
            problems.append(f"event {sequence} does not have the hash anchored on {day}")
        elif anchor.get("content") and records_digest(events[:sequence]) != anchor["content"]:
            problems.append(f"events 1 to {sequence} do not match the content anchored on {day}")
    if with_key:
        given = str(document.get("seal", {}).get("value", ""))
        if not hmac.compare_digest(seal_of(document), given):
            problems.append("the seal does not match: the file was changed after its export")
    return problems
