"""What a trust's period report says of its trust-wide changes (`reports.figures.report_many`
with a trust): those raised in the period, each with how many of its schools' RFCs stand in
each state. Two queries however many changes and schools (three when more than `LIMIT` were
raised: they are counted)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import Count, F

from changedesk.accounts.models import Trust
from changedesk.changes.choices import State
from changedesk.trustwide.models import Child, ParentChange, format_reference

# The most listed in one report (a trust raises a few a month); `more` says how many else.
LIMIT = 100


def raised_between(trust: Trust, start: datetime, end: datetime) -> dict[str, Any]:
    """The trust-wide changes `trust` raised in [start, end), oldest first: each its id,
    reference, title, when raised (in `start`'s time zone), and its RFCs still the trust's
    by state (in the workflow's order), with `more`: how many were left out past `LIMIT`."""
    raised = ParentChange.objects.filter(trust=trust, created_at__gte=start, created_at__lt=end)
    parents = list(
        raised.order_by("created_at", "id").values("id", "number", "title", "created_at")[
            : LIMIT + 1
        ]
    )
    more = 0
    if len(parents) > LIMIT:
        more = raised.count() - LIMIT
        parents = parents[:LIMIT]
    states: dict[int, dict[str, int]] = {p["id"]: {} for p in parents}
    if parents:
        rows = (
            Child.objects.filter(parent__in=list(states), school__trust=F("parent__trust"))
            .order_by()
            .values_list("parent_id", "change__state")
            .annotate(n=Count("*"))
        )
        for parent, state, n in rows:
            states[parent][state] = n
    order = {state: place for place, state in enumerate(State.values)}
    changes = []
    for parent in parents:
        counted = sorted(states[parent["id"]].items(), key=lambda item: order[item[0]])
        changes.append(
            {
                "id": parent["id"],
                "reference": format_reference(parent["number"]),
                "title": parent["title"],
                "raised_at": parent["created_at"].astimezone(start.tzinfo),
                "schools": sum(n for _, n in counted),
                "states": [
                    {"state": state, "label": str(State(state).label), "count": n}
                    for state, n in counted
                ],
            }
        )
    return {"changes": changes, "more": more}
