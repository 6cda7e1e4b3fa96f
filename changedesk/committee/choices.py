"""The states of a committee meeting and the decisions it may take on an RFC."""

from django.db import models

from changedesk.changes.choices import Action


class MeetingStatus(models.TextChoices):
    PLANNED = "planned", "Planned"
    HELD = "held", "Held"


class Decision(models.TextChoices):
    """What the committee decided on one agenda item; all but `deferred` are workflow actions."""

    APPROVE = "approve", "Approve"
    RETURN = "return", "Return for amendment"
    REJECT = "reject", "Reject"
    DEFERRED = "deferred", "Defer to a later meeting"


# The workflow action each decision takes; a deferral takes none.
DECISION_ACTIONS: dict[str, Action] = {
    Decision.APPROVE: Action.APPROVE,
    Decision.RETURN: Action.RETURN,
    Decision.REJECT: Action.REJECT,
}
