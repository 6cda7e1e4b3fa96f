"""The latest frozen report on the school's notice board: a section of `communication`'s
board (its seam, `communication/sections.py`), registered from `apps.py`. It shows which
period the report covers, when it was frozen, its headline figures and the decisions taken
from it, and, to a signed-in reader of the school's reports, links to the report and its
print. Two queries (the snapshot, its decisions); none shown before the first report is
frozen."""

from __future__ import annotations

from typing import Any

from django.urls import reverse

from changedesk.accounts.models import School, User
from changedesk.communication.sections import BoardSection
from changedesk.reports.models import Snapshot
from changedesk.reports.permissions import may_read

# The figures the board shows, by key, in this order (those the report has).
HEADLINE = (
    "raised",
    "approved",
    "rejected",
    "succeeded",
    "failed",
    "caused_incidents",
    "told",
    "not_told",
)
MOST_DECISIONS = 5


def headline(figures: dict[str, Any], keys: tuple[str, ...] = HEADLINE) -> list[dict[str, Any]]:
    """The report's headline figures, as `{label, value}` (a frozen report is read as it
    was stored: a figure it lacks is left out)."""
    found: dict[str, dict[str, Any]] = {}
    for group in figures.get("groups") or []:
        for figure in group.get("figures") or []:
            if isinstance(figure, dict) and figure.get("key") in keys:
                found[figure["key"]] = {
                    "label": figure.get("label", ""),
                    "value": figure.get("value"),
                }
    return [found[key] for key in keys if key in found]


def latest(school: School) -> Snapshot | None:
    return Snapshot.objects.filter(school=school).order_by("-end", "-start").first()


def archive_section(school: School, viewer: User | None) -> dict[str, Any] | None:
    snapshot = latest(school)
    if snapshot is None:
        return None
    links = viewer is not None and may_read(viewer, school)
    decisions = list(snapshot.decisions.order_by("-decided_on", "-id")[:MOST_DECISIONS])
    return {
        "snapshot": snapshot,
        "figures": headline(snapshot.figures),
        "decisions": decisions,
        "url": reverse("reports:snapshot", args=[snapshot.pk]) if links else None,
        "print_url": reverse("reports:snapshot_print", args=[snapshot.pk]) if links else None,
    }


SECTION = BoardSection(
    key="report_archive", template="reports/snapshot_board.html", context=archive_section
)
