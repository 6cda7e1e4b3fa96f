"""What the meeting page shows for each agenda item: the RFC, whose step it is and whether
they are present, and, for whoever runs the meeting, the decision form offering only what
the committee can decide now (`services.offer`) with the reason for what it cannot."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from django.utils.translation import gettext

from changedesk.accounts.choices import APPROVER_ROLES, Role
from changedesk.accounts.models import User
from changedesk.changes.choices import AWAITING_DECISION_STATES
from changedesk.changes.workflow import TRANSITIONS, waiting_on
from changedesk.committee import services
from changedesk.committee.forms import DecisionForm
from changedesk.committee.models import AgendaItem

# The people on an RFC the page needs to say who decides and why the committee cannot
# (read off the workflow's table), loaded with the agenda in one query.
PEOPLE = tuple(
    dict.fromkeys(["originator", *(t.person for t in TRANSITIONS if t.by in APPROVER_ROLES)])
)


@dataclass
class AgendaRow:
    item: AgendaItem
    # Whose step it is while the RFC awaits a decision (None: not named, or not awaiting).
    approver: User | None
    role: str
    approver_present: bool
    form: DecisionForm | None
    # Why the committee cannot take the workflow's other decisions now, in plain words.
    why_not: list[str] = field(default_factory=list)
    # Decided outside the meeting since the agenda was built.
    moved_on: bool = False


def agenda_rows(
    items: list[AgendaItem],
    present: Iterable[User],
    may_run: bool,
    failed: tuple[int, DecisionForm] | None = None,
) -> list[AgendaRow]:
    """One row per item; `failed` is the (item id, bound form) of a refused decision, shown
    again with its errors and with the choices that are open now."""
    present = list(present)
    present_ids = {u.pk for u in present}
    rows = []
    for item in items:
        change = item.change
        awaiting = not item.is_decided and change.state in AWAITING_DECISION_STATES
        step = waiting_on(change) if awaiting else None
        approver = step[1] if step else None
        row = AgendaRow(
            item=item,
            approver=approver,
            role=gettext(Role(step[0].by).label).lower() if step else "",
            approver_present=approver is not None and approver.pk in present_ids,
            form=None,
            moved_on=not item.is_decided and not awaiting,
        )
        offer = services.offer(item, present) if may_run else None
        if failed is not None and failed[0] == item.pk:
            row.form = failed[1]
            # Shown again on the RFC as it is now: a second try is not refused as stale.
            row.form.data = {**row.form.data, row.form.add_prefix("version"): change.version}
        elif offer is not None and offer.decisions:
            row.form = DecisionForm(prefix=f"item{item.pk}", initial={"version": change.version})
        if row.form is not None and offer is not None:
            row.form.offer(offer.decisions, offer.needs_minute)
            said = set(row.form.non_field_errors())
            row.why_not = [reason for reason in offer.why_not if reason not in said]
        rows.append(row)
    return rows
