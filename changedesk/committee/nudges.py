"""Nudges: e-mail to the people an RFC has been waiting for too long.

Three kinds, each after the school's `ReminderSettings.nudge_after_days` (N, default 3)
and again every N days while the wait lasts:

- `nudge_approval`: an RFC has awaited a decision for more than N days; to the approver
  named on it and to each active deputy who may decide for them.
- `nudge_overdue`: an approved RFC is past its planned end (plus a short grace) with no
  outcome recorded; to its implementer, or to every implementer of the school when none
  is named.
- `nudge_close`: an implemented RFC has not been closed N days on; to its originator.

`run_due(now)` is called by the outbox worker once per pass. It costs a fixed number of
queries however many RFCs wait (the settings, the candidates, the deputies, the
implementers, the keys already queued, one insert), so it stays cheap on a busy trust.
(SQLite takes at most 999 parameters a statement, so there the insert is split every 83
messages, and the key lookup every 900 keys.)

Never twice: each nudge has an outbox key naming the wait (the RFC, the history event
that began it, or for an overdue change its planned end), the recipient and the N-day
period of the wait it belongs to. A second pass, or a second worker, finds the key taken.
And at most one per N days: a nudge is held back while the previous period's nudge to the
same person is less than N days old (after the worker was down, say).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from django.db.models import F, OuterRef, Q, Subquery
from django.utils import timezone

from changedesk.accounts import permissions
from changedesk.accounts.choices import Role
from changedesk.accounts.models import Delegation, MembershipRole, User
from changedesk.changes import workflow
from changedesk.changes.choices import AWAITING_DECISION_STATES, State
from changedesk.changes.models import Change, ChangeEvent
from changedesk.changes.notify import change_mail_context
from changedesk.committee.models import DEFAULT_NUDGE_DAYS, ReminderSettings
from changedesk.notifications.models import OutboxMessage

logger = logging.getLogger("changedesk.nudges")

APPROVAL, OVERDUE, CLOSE = "nudge_approval", "nudge_overdue", "nudge_close"
# The implementer usually records the outcome just after the work: give them a moment.
OVERDUE_GRACE = timedelta(hours=1)
# Keys looked up per query: well inside every database's limit on parameters.
KEY_CHUNK = 900


@dataclass(frozen=True)
class Policy:
    enabled: bool = True
    days: int = DEFAULT_NUDGE_DAYS

    @property
    def every(self) -> timedelta:
        return timedelta(days=self.days)


@dataclass
class Nudge:
    """One nudge that is due: to whom, about what, and its keys (this period's, the last)."""

    change: Change
    template: str
    recipient: User
    since: datetime
    wait: str
    period: int
    every: timedelta
    task: str = ""
    deputy_for: User | None = None

    @property
    def key(self) -> str:
        return self._key(self.period)

    @property
    def previous_key(self) -> str | None:
        return self._key(self.period - 1) if self.period > 0 else None

    def _key(self, period: int) -> str:
        return f"{self.template}:{self.change.pk}:{self.wait}:{self.recipient.pk}:{period}"


@dataclass
class Pass:
    """What one pass found: the nudges due, before the ones already queued are dropped."""

    now: datetime
    nudges: list[Nudge] = field(default_factory=list)


def run_due(now: datetime | None = None) -> int:
    """Queue every nudge due at `now`; returns how many were queued."""
    now = now or timezone.now()
    policies = _policies()
    default = Policy()
    shortest = min([p.every for p in policies.values() if p.enabled] + [default.every])
    disabled = [school for school, p in policies.items() if not p.enabled]
    found = Pass(now)
    changes = list(_candidates(now, shortest, disabled))
    approvals: list[tuple[Change, Policy]] = []
    overdue: list[tuple[Change, Policy]] = []
    for change in changes:
        policy = policies.get(change.school_id, default)
        if change.state == State.APPROVED:
            overdue.append((change, policy))
        elif change.state == State.IMPLEMENTED:
            _add_close(found, change, policy)
        else:
            approvals.append((change, policy))
    _add_approvals(found, approvals)
    _add_overdue(found, overdue)
    return _queue(found)


def _policies() -> dict[int, Policy]:
    rows = ReminderSettings.objects.values_list("school_id", "nudges_enabled", "nudge_after_days")
    return {school: Policy(enabled, max(1, days)) for school, enabled, days in rows}


def _candidates(now: datetime, shortest: timedelta, disabled: list[int]) -> Iterable[Change]:
    """Every RFC that may be due a nudge, with when its current wait began (one query).

    The wait began with the last event that moved the RFC into its current state; edits and
    a ratification leave it where it was, so they do not restart the clock.
    """
    entered = (
        ChangeEvent.objects.filter(change=OuterRef("pk"), to_state=OuterRef("state"))
        .exclude(from_state=F("to_state"))
        .order_by("-sequence")
    )
    waiting = Q(state__in=[*AWAITING_DECISION_STATES, State.IMPLEMENTED])
    overdue = Q(state=State.APPROVED, planned_end__lte=now - OVERDUE_GRACE)
    return (
        Change.objects.filter(waiting | overdue)
        .exclude(school_id__in=disabled)
        .annotate(
            entered_at=Subquery(entered.values("created_at")[:1]),
            entered_event=Subquery(entered.values("sequence")[:1]),
        )
        .filter(Q(state=State.APPROVED) | Q(entered_at__lte=now - shortest))
        .select_related(
            "school", "originator", "initial_approver", "peer_reviewer", "final_approver",
            "implementer",
        )
        .order_by("pk")
    )  # fmt: skip


def _period(now: datetime, since: datetime, policy: Policy, first: timedelta) -> int | None:
    """Which N-day period of the wait `now` falls in, or None before the first nudge."""
    waited = now - since
    if waited < first:
        return None
    return int((waited - first) / policy.every)


def _add_approvals(found: Pass, approvals: list[tuple[Change, Policy]]) -> None:
    # Who each RFC waits on, and what they are asked to do, as the workflow's table says.
    waits = {c.pk: workflow.waiting_on(c) for c, _ in approvals}
    named = {person.pk for wait in waits.values() if wait and (person := wait[1])}
    deputies: dict[int, list[Delegation]] = defaultdict(list)
    if named:
        for delegation in (
            Delegation.objects.active(found.now)
            .filter(approver_id__in=named)
            .select_related("deputy")
        ):
            deputies[delegation.approver_id].append(delegation)
    for change, policy in approvals:
        since: datetime | None = getattr(change, "entered_at", None)
        wait = waits[change.pk]
        if since is None or wait is None:
            continue
        step, approver = wait
        if approver is None:
            continue
        task = step.task
        period = _period(found.now, since, policy, policy.every)
        if period is None:
            continue
        nudge = Nudge(change, APPROVAL, approver, since, _event_wait(change), period,
                      policy.every, task)  # fmt: skip
        found.nudges.append(nudge)
        for delegation in deputies.get(approver.pk, []):
            if _deputy_may_act(change, delegation, step.by):
                found.nudges.append(
                    replace(nudge, recipient=delegation.deputy, deputy_for=approver)
                )


def _event_wait(change: Change) -> str:
    """The wait named by the history event that began it (see `_candidates`)."""
    return f"e{getattr(change, 'entered_event', 0)}"


def _deputy_may_act(change: Change, delegation: Delegation, role: str) -> bool:
    if delegation.school_id != change.school_id or delegation.role not in ("", role):
        return False
    # The originator may not decide this one, not even as someone's deputy.
    return permissions.separation_allows(
        delegation.deputy_id, change.originator_id, role, change.school
    )


def _add_overdue(found: Pass, overdue: list[tuple[Change, Policy]]) -> None:
    unnamed = {c.school_id for c, _ in overdue if c.implementer_id is None}
    implementers: dict[int, list[User]] = defaultdict(list)
    if unnamed:
        for held in (
            MembershipRole.objects.filter(
                role=Role.IMPLEMENTER,
                membership__school_id__in=unnamed,
                membership__user__is_active=True,
            )
            .select_related("membership__user")
            .order_by("membership__user__username")
        ):
            implementers[held.membership.school_id].append(held.membership.user)
    for change, policy in overdue:
        assert change.planned_end is not None
        period = _period(found.now, change.planned_end, policy, OVERDUE_GRACE)
        if period is None:
            continue
        people = (
            [change.implementer]
            if change.implementer is not None
            else implementers.get(change.school_id, [])
        )
        wait = f"t{int(change.planned_end.timestamp())}"
        for person in people:
            found.nudges.append(
                Nudge(
                    change=change,
                    template=OVERDUE,
                    recipient=person,
                    since=change.planned_end,
                    wait=wait,
                    period=period,
                    every=policy.every,
                    task="record the outcome",
                )
            )


def _add_close(found: Pass, change: Change, policy: Policy) -> None:
    since: datetime | None = getattr(change, "entered_at", None)
    if since is None:
        return
    period = _period(found.now, since, policy, policy.every)
    wait = workflow.waiting_on(change)  # closing it, the originator's step
    if period is None or wait is None:
        return
    step, originator = wait
    if originator is None:
        return
    found.nudges.append(
        Nudge(change, CLOSE, originator, since, _event_wait(change), period,
              policy.every, step.task)
    )  # fmt: skip


def _queue(found: Pass) -> int:
    """Write the nudges not yet queued to the outbox in one insert; returns how many."""
    due = [n for n in found.nudges if n.recipient.email and n.recipient.is_active]
    if not due:
        return 0
    wanted = [n.key for n in due] + [n.previous_key for n in due if n.previous_key]
    queued: dict[str, datetime] = {}
    for start in range(0, len(wanted), KEY_CHUNK):
        queued.update(
            OutboxMessage.objects.filter(key__in=wanted[start : start + KEY_CHUNK]).values_list(
                "key", "created_at"
            )
        )
    rows: dict[str, OutboxMessage] = {}
    for nudge in due:
        if nudge.key in queued or nudge.key in rows:
            continue
        last = queued.get(nudge.previous_key or "")
        if last is not None and found.now - last < nudge.every:
            continue
        rows[nudge.key] = OutboxMessage(
            school=nudge.change.school,
            recipient=nudge.recipient,
            to_address=nudge.recipient.email,
            template=nudge.template,
            context=_context(nudge, found.now),
            key=nudge.key,
            next_attempt_at=found.now,
        )
    if not rows:
        return 0
    # The same rows `outbox.enqueue` writes, in one statement; a key another worker queued
    # meanwhile is skipped by the unique constraint, so nothing is sent twice.
    OutboxMessage.objects.bulk_create(rows.values(), ignore_conflicts=True)
    logger.info("Queued %s nudges", len(rows))
    return len(rows)


def _context(nudge: Nudge, now: datetime) -> dict[str, Any]:
    change = nudge.change
    context = change_mail_context(change, nudge.recipient, nudge.task, nudge.deputy_for)
    return {
        **context,
        # An overdue change with no implementer named goes to every implementer.
        "named": change.implementer_id is not None,
        "days": max(1, (now - nudge.since).days),
        "since": nudge.since.isoformat(),
        "every_days": nudge.every.days,
        "decide_path": context["decide_path"] if nudge.template == APPROVAL else context["path"],
    }
