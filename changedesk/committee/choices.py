"""The states of a committee meeting and the decisions it may take on an RFC."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from changedesk.changes.choices import Action


class MeetingStatus(models.TextChoices):
    PLANNED = "planned", _("Planned")
    HELD = "held", _("Held")


class Decision(models.TextChoices):
    """What the committee decided on one agenda item; all but `deferred` are workflow actions."""

    APPROVE = "approve", _("Approve")
    RETURN = "return", _("Return for amendment")
    REJECT = "reject", _("Reject")
    DEFERRED = "deferred", _("Defer to a later meeting")


# The workflow action each decision takes; a deferral takes none.
DECISION_ACTIONS: dict[str, Action] = {
    Decision.APPROVE: Action.APPROVE,
    Decision.RETURN: Action.RETURN,
    Decision.REJECT: Action.REJECT,
}
