"""The patch cycle's states, actions and the other fixed lists; the values are public API."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Severity(models.TextChoices):
    """As vendors rate them (Microsoft's "important" is `high`)."""

    CRITICAL = "critical", _("Critical")
    HIGH = "high", _("High (important)")
    MEDIUM = "medium", _("Medium (moderate)")
    LOW = "low", _("Low")


class PatchState(models.TextChoices):
    """FITS's patch cycle, with the two ends an assessment may reach besides `assessed`."""

    AVAILABLE = "available", _("Available")
    ASSESSED = "assessed", _("Assessed")
    DEFERRED = "deferred", _("Deferred")
    NOT_APPLICABLE = "not_applicable", _("Not applicable")
    TESTED = "tested", _("Tested")
    SCHEDULED = "scheduled", _("Scheduled")
    DEPLOYED = "deployed", _("Deployed")
    VERIFIED = "verified", _("Verified")
    CLOSED = "closed", _("Closed")


# Still to be deployed: what a deadline counts against.
OPEN_STATES = (PatchState.AVAILABLE, PatchState.ASSESSED, PatchState.TESTED, PatchState.SCHEDULED)
# On the school's machines.
DEPLOYED_STATES = (PatchState.DEPLOYED, PatchState.VERIFIED, PatchState.CLOSED)
# The board's columns, in the cycle's order.
BOARD_STATES = (
    PatchState.AVAILABLE,
    PatchState.ASSESSED,
    PatchState.TESTED,
    PatchState.SCHEDULED,
    PatchState.DEPLOYED,
    PatchState.VERIFIED,
    PatchState.CLOSED,
    PatchState.DEFERRED,
    PatchState.NOT_APPLICABLE,
)


class PatchAction(models.TextChoices):
    """What may be done to a patch (`workflow.TRANSITIONS` says from where, to where, by whom)."""

    CREATE = "create", _("Added")
    EDIT = "edit", _("Edited")
    ASSESS = "assess", _("Assessed: deploy")
    DEFER = "defer", _("Deferred")
    NOT_APPLICABLE = "not_applicable", _("Marked not applicable")
    REASSESS = "reassess", _("Sent back to be assessed")
    TEST = "test", _("Tested")
    SCHEDULE = "schedule", _("Scheduled")
    UNSCHEDULE = "unschedule", _("Taken off its RFC")
    DEPLOY = "deploy", _("Deployed")
    VERIFY = "verify", _("Verified")
    CLOSE = "close", _("Closed")


class Decision(models.TextChoices):
    """An assessment's decision; each is an action of its own."""

    DEPLOY = "deploy", _("Deploy it")
    DEFER = "defer", _("Defer it to a date")
    NOT_APPLICABLE = "not_applicable", _("It does not apply to us")


class SourceKind(models.TextChoices):
    FEED = "feed", _("RSS or Atom feed")
    WEB = "web", _("Web page")
    MAILING_LIST = "mailing_list", _("Mailing list")


class FeedState(models.TextChoices):
    """How a feed's last fetch went."""

    NEW = "new", _("Not checked yet")
    OK = "ok", _("Working")
    FAILING = "failing", _("Failing")


class CheckResult(models.TextChoices):
    PASSED = "passed", _("Passed")
    FAILED = "failed", _("Failed")


class CheckKind(models.TextChoices):
    TEST = "test", _("Test (pilot ring)")
    VERIFY = "verify", _("Verification")
