"""A trust's compliance across its schools: a row per school of the trust now (one that has
left drops out), shared by the page, its CSV and the API.

Each row: going live with FITS (the school's `Adoption`: live since, a go-live date set, or
not begun), patch compliance (`changedesk.patches.compliance.summary`: the patches released
in the last `compliance.DEFAULT_DAYS` days, judged at each school today), the RFCs open now
and overdue (still to be implemented, their planned end passed), the RFCs failed (outcome
recorded in the period) and the emergency changes raised in the period, and the latest
review checklist (`ChecklistReview`: its day, the items passed of those judged, when the
next is due).

Queries: seven however many schools (the schools, the adoptions, the patches, the RFCs
raised, the open ones, the failed outcomes, the reviews), each grouped by school.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db.models import Count, OuterRef, Q, Subquery
from django.utils import timezone

from changedesk.accounts.models import School, Trust
from changedesk.adoption.models import Adoption, ChecklistReview
from changedesk.changes.choices import EventKind, Outcome, State
from changedesk.changes.models import Change, ChangeEvent
from changedesk.lib.days import today_in
from changedesk.patches import compliance

# Not implemented yet: an RFC in one of these states past its planned end is overdue.
BEFORE_IMPLEMENTED = (
    State.DRAFT,
    State.AWAITING_INITIAL_APPROVAL,
    State.PLANNING,
    State.AWAITING_PEER_REVIEW,
    State.AWAITING_FINAL_APPROVAL,
    State.APPROVED,
)
OPEN = (*BEFORE_IMPLEMENTED, State.IMPLEMENTED)
# The going-live states, in the order a school passes them.
NOT_BEGUN, GO_LIVE_SET, LIVE = "not_begun", "go_live_set", "live"
COUNTS = ("open", "overdue", "failed", "emergencies")


@dataclass
class Row:
    school: School
    going_live: str = NOT_BEGUN
    go_live_on: date | None = None
    live_on: date | None = None
    patches: compliance.Tally = field(default_factory=compliance.Tally)
    open: int = 0
    overdue: int = 0
    failed: int = 0
    emergencies: int = 0
    reviewed_on: date | None = None
    review_passed: int | None = None
    review_judged: int | None = None
    review_due: date | None = None
    review_overdue: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "school": {"id": self.school.pk, "slug": self.school.slug, "name": self.school.name},
            "going_live": {
                "state": self.going_live,
                "go_live_on": _iso(self.go_live_on),
                "live_on": _iso(self.live_on),
            },
            "patches": self.patches.as_dict(),
            "rfcs": {name: getattr(self, name) for name in COUNTS},
            "review": (
                None
                if self.reviewed_on is None
                else {
                    "reviewed_on": _iso(self.reviewed_on),
                    "passed": self.review_passed,
                    "judged": self.review_judged,
                    "next_due": _iso(self.review_due),
                    "overdue": self.review_overdue,
                }
            ),
        }


@dataclass
class TrustCompliance:
    trust: Trust
    period: str
    start: date
    end: date
    patches_since: date
    rows: list[Row]

    @property
    def totals(self) -> dict[str, Any]:
        """The rows added up: schools live, patches, RFCs, reviews overdue."""
        patches = compliance.Tally()
        for row in self.rows:
            for name in compliance.FIGURES:
                setattr(patches, name, getattr(patches, name) + getattr(row.patches, name))
        return {
            "schools": len(self.rows),
            "live": sum(1 for r in self.rows if r.going_live == LIVE),
            "patches": patches,
            **{name: sum(getattr(r, name) for r in self.rows) for name in COUNTS},
            "reviewed": sum(1 for r in self.rows if r.reviewed_on is not None),
            "review_overdue": sum(1 for r in self.rows if r.review_overdue),
        }

    def as_dict(self) -> dict[str, Any]:
        totals = self.totals
        return {
            "trust": {"id": self.trust.pk, "slug": self.trust.slug, "name": self.trust.name},
            "period": self.period,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "patches_since": self.patches_since.isoformat(),
            "schools": [row.as_dict() for row in self.rows],
            "totals": {**totals, "patches": totals["patches"].as_dict()},
        }


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day else None


def build(
    trust: Trust, period: str, start: date, end: date, now: datetime | None = None
) -> TrustCompliance:
    """The trust's compliance for the period [start, end) of its schools' days."""
    now = now or timezone.now()
    schools = list(School.objects.filter(trust=trust).order_by("name"))
    rows = {s.pk: Row(school=s) for s in schools}
    ids = list(rows)
    zone = schools[0].zone if schools else timezone.get_current_timezone()
    first = datetime.combine(start, time(), tzinfo=zone)
    last = datetime.combine(end, time(), tzinfo=zone)
    today = today_in(schools[0], now) if schools else now.date()
    since = today - timedelta(days=compliance.DEFAULT_DAYS)
    if not schools:
        return TrustCompliance(trust, period, start, end, since, [])
    for school_id, go_live_on, live_at in Adoption.objects.filter(school_id__in=ids).values_list(
        "school_id", "go_live_on", "live_at"
    ):
        row = rows[school_id]
        row.go_live_on = go_live_on
        if live_at is not None:
            row.going_live = LIVE
            row.live_on = timezone.localtime(live_at, row.school.zone).date()
        elif go_live_on is not None:
            row.going_live = GO_LIVE_SET
    for school, tally in compliance.summary(schools, since, today):
        rows[school.pk].patches = tally
    for school_id, n in (
        Change.objects.filter(
            school_id__in=ids, created_at__gte=first, created_at__lt=last, is_emergency=True
        )
        .values("school_id")
        .annotate(n=Count("*"))
        .order_by()
        .values_list("school_id", "n")
    ):
        rows[school_id].emergencies = n
    overdue = Q(state__in=BEFORE_IMPLEMENTED, planned_end__lt=now)
    for school_id, n, late in (
        Change.objects.filter(school_id__in=ids, state__in=OPEN)
        .values("school_id")
        .annotate(n=Count("*"), late=Count("pk", filter=overdue))
        .order_by()
        .values_list("school_id", "n", "late")
    ):
        rows[school_id].open, rows[school_id].overdue = n, late
    for school_id, n in (
        ChangeEvent.objects.filter(
            change__school_id__in=ids,
            kind=EventKind.RECORD_OUTCOME,
            created_at__gte=first,
            created_at__lt=last,
            change__outcome=Outcome.FAILED_BACKED_OUT,
        )
        .values("change__school_id")
        .annotate(n=Count("change_id", distinct=True))
        .order_by()
        .values_list("change__school_id", "n")
    ):
        rows[school_id].failed = n
    # Each school's latest review only (not every review's items, which grow with the years).
    latest = (
        ChecklistReview.objects.filter(school_id=OuterRef("school_id"))
        .order_by("-reviewed_on", "-id")
        .values("pk")[:1]
    )
    for school_id, reviewed_on, items, next_due in (
        ChecklistReview.objects.filter(school_id__in=ids, pk=Subquery(latest))
        .order_by()
        .values_list("school_id", "reviewed_on", "items", "next_due")
    ):
        row = rows[school_id]
        verdicts = [i.get("passed") for i in (items or {}).values() if isinstance(i, dict)]
        row.reviewed_on, row.review_due = reviewed_on, next_due
        row.review_judged = sum(1 for v in verdicts if v is not None)
        row.review_passed = sum(1 for v in verdicts if v is True)
        row.review_overdue = next_due <= today
    return TrustCompliance(trust, period, start, end, since, [rows[s.pk] for s in schools])
