"""Promotion: normal RFCs of one kind that keep succeeding are a standard change waiting to
be written. Of the schools' recent RFCs (the newest `RECENT` of them together: the cost
stays flat however many they have), those that succeeded as normal changes are grouped
by what they touch and by
their title with its dates and numbers taken out ("Patch run March 2026" and "Patch run
April 2026" are one kind); a kind that has succeeded `SUGGEST_AFTER` times and has no
template yet is suggested, to be written from its latest RFC.

Reading and grouping the recent RFCs cost 40-60 ms of the standard changes page at trust
scale (2,000 RFCs and their items, each title cleaned), on every view, though the answer
changes only when an RFC of those schools is implemented or closed. So the kinds done often
enough are kept, in each process, under the schools and the version of their tallies in
those states (`changes.Tally`: the database adds a row for every RFC moved into or out of a
state, so the version moves with every such RFC); the templates already written are taken
out on every view, so a suggestion goes as soon as its template is written."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from django.db.models import Count, Max

from changedesk.changes.choices import Outcome, State
from changedesk.changes.models import Change, ChangeItem, Tally
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
    ids = tuple(sorted(set(school_ids)))
    version = Tally.objects.filter(school_id__in=ids, state__in=_DONE).aggregate(
        last=Max("id"), moves=Count("id")
    )
    often = _often_done(ids, version["last"], version["moves"])
    if not often:
        return []
    written = {
        (school_id, kind_of(title))
        for school_id, title in Template.objects.filter(school_id__in=ids)
        .order_by()
        .values_list("school_id", "title")
    }
    found = [s for s in often if s[0] not in written]
    return [suggestion for _, suggestion in found][:limit]


_DONE = (State.IMPLEMENTED, State.CLOSED)


@lru_cache(maxsize=256)
def _often_done(
    school_ids: tuple[int, ...], last: int | None, moves: int
) -> tuple[tuple[tuple[int, str], Suggestion], ...]:
    """The kinds done `SUGGEST_AFTER` times or more in `school_ids`, most done first, each
    with its (school, kind): a function of the schools and their tallies' version (`last`
    and `moves`, which only the cache's key uses)."""
    done = list(
        Change.objects.filter(
            school_id__in=list(school_ids),
            is_standard=False,
            is_emergency=False,
            outcome=Outcome.SUCCEEDED,
            state__in=list(_DONE),
        )
        .order_by("-created_at", "-id")
        .values_list("pk", "school_id", "title")[:RECENT]
    )
    if not done:
        return ()
    items: dict[int, set[int]] = defaultdict(set)
    links = ChangeItem.objects.filter(change_id__in=[pk for pk, _, _ in done]).order_by()
    for change_id, item_id in links.values_list("change_id", "item_id"):
        items[change_id].add(item_id)
    groups: dict[tuple[int, str, frozenset[int]], list[tuple[int, str]]] = defaultdict(list)
    for pk, school_id, title in done:  # newest first
        groups[(school_id, kind_of(title), frozenset(items[pk]))].append((pk, title))
    found = [
        (
            (school_id, kind),
            Suggestion(school_id, rows[0][1], len(rows), rows[0][0], tuple(sorted(item_ids))),
        )
        for (school_id, kind, item_ids), rows in groups.items()
        if len(rows) >= SUGGEST_AFTER and kind
    ]
    return tuple(sorted(found, key=lambda f: (-f[1].times, f[1].title)))


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
