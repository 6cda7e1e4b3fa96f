"""Promotion: normal RFCs of one kind that keep succeeding are a standard change waiting to
be written. Of the schools' recent RFCs (the newest `RECENT` of them together: the cost
stays flat however many they have), those that succeeded as normal changes are grouped
by what they touch and by
their title with its dates and numbers taken out ("Patch run March 2026" and "Patch run
April 2026" are one kind); a kind that has succeeded `SUGGEST_AFTER` times and has no
template yet is suggested, to be written from its latest RFC."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from changedesk.changes.choices import Outcome, State
from changedesk.changes.models import Change, ChangeItem
from changedesk.standard.models import Template

SUGGEST_AFTER = 3
RECENT = 2000
_MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august",
           "september", "october", "november", "december", "jan", "feb", "mar", "apr", "jun",
           "jul", "aug", "sep", "sept", "oct", "nov", "dec")  # fmt: skip
_NOISE = re.compile(r"\b(?:" + "|".join(_MONTHS) + r")\b|\d+|[^\w\s]")


def kind_of(title: str) -> str:
    """A title without its dates, numbers and punctuation, in lower case."""
    return " ".join(_NOISE.sub(" ", title.lower()).split())


@dataclass(frozen=True)
class Suggestion:
    school_id: int
    title: str  # the latest RFC's
    times: int  # how many succeeded
    latest: int  # the latest RFC's id: the template is written from it
    item_ids: tuple[int, ...]


def suggestions(school_ids: Sequence[int], limit: int = 5) -> list[Suggestion]:
    """The kinds of normal change worth a template in `school_ids`, most done first."""
    if not school_ids:
        return []
    done = list(
        Change.objects.filter(
            school_id__in=list(school_ids),
            is_standard=False,
            is_emergency=False,
            outcome=Outcome.SUCCEEDED,
            state__in=[State.IMPLEMENTED, State.CLOSED],
        )
        .order_by("-created_at", "-id")
        .values_list("pk", "school_id", "title")[:RECENT]
    )
    if not done:
        return []
    items: dict[int, set[int]] = defaultdict(set)
    links = ChangeItem.objects.filter(change_id__in=[pk for pk, _, _ in done]).order_by()
    for change_id, item_id in links.values_list("change_id", "item_id"):
        items[change_id].add(item_id)
    written = {
        (school_id, kind_of(title))
        for school_id, title in Template.objects.filter(school_id__in=list(school_ids))
        .order_by()
        .values_list("school_id", "title")
    }
    groups: dict[tuple[int, str, frozenset[int]], list[tuple[int, str]]] = defaultdict(list)
    for pk, school_id, title in done:  # newest first
        groups[(school_id, kind_of(title), frozenset(items[pk]))].append((pk, title))
    found = [
        Suggestion(school_id, rows[0][1], len(rows), rows[0][0], tuple(sorted(item_ids)))
        for (school_id, kind, item_ids), rows in groups.items()
        if len(rows) >= SUGGEST_AFTER and kind and (school_id, kind) not in written
    ]
    return sorted(found, key=lambda s: (-s.times, s.title))[:limit]


def prefill(change: Change) -> dict[str, object]:
    """A new template's fields, written from `change` (a suggestion's latest RFC)."""
    minutes = 60
    if change.planned_start and change.planned_end:
        minutes = max(5, int((change.planned_end - change.planned_start).total_seconds() // 60))
    return {
        "title": change.title,
        "description": change.description,
        "reason": change.reason,
        "details": change.details,
        "impact": change.impact,
        "risk": change.risk,
        "fallback_plan": change.fallback_plan,
        "duration_minutes": minutes,
    }
