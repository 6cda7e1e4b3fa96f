"""What the meeting page shows for each agenda item: the RFC, who decides it now, whether
they are present, and the decision form when the viewer runs the meeting."""

from __future__ import annotations

from dataclasses import dataclass

from changedesk.accounts.models import User
from changedesk.changes.choices import State
from changedesk.committee import services
from changedesk.committee.forms import DecisionForm
from changedesk.committee.models import AgendaItem

# Who decides an RFC in each state awaiting a decision.
APPROVER_FOR_STATE = {
    State.AWAITING_INITIAL_APPROVAL: "initial_approver",
    State.AWAITING_PEER_REVIEW: "peer_reviewer",
    State.AWAITING_FINAL_APPROVAL: "final_approver",
}
APPROVER_FIELDS = tuple(APPROVER_FOR_STATE.values())


@dataclass
class AgendaRow:
    item: AgendaItem
    approver: User | None
    approver_present: bool
    form: DecisionForm | None
    # Decided outside the meeting since the agenda was built.
    moved_on: bool


def agenda_rows(
    items: list[AgendaItem],
    present: list[User],
    may_run: bool,
    failed: tuple[int, DecisionForm] | None = None,
) -> list[AgendaRow]:
    """One row per item; `failed` is the (item id, bound form) of a refused decision."""
    present_ids = {u.pk for u in present}
    rows = []
    for item in items:
        field = APPROVER_FOR_STATE.get(State(item.change.state))
        approver: User | None = getattr(item.change, field) if field else None
        form: DecisionForm | None = None
        if failed is not None and failed[0] == item.pk:
            form = failed[1]
        elif may_run and (decisions := services.possible_decisions(item)):
            form = DecisionForm(
                prefix=f"item{item.pk}",
                decisions=decisions,
                initial={"version": item.change.version},
            )
        rows.append(
            AgendaRow(
                item=item,
                approver=approver,
                approver_present=approver is not None and approver.pk in present_ids,
                form=form,
                moved_on=not item.is_decided and field is None,
            )
        )
    return rows
