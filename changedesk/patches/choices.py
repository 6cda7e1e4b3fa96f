"""The patch cycle's states, actions and the other fixed lists; the values are public API."""

from django.db import models


class Severity(models.TextChoices):
    """As vendors rate them (Microsoft's "important" is `high`)."""

    CRITICAL = "critical", "Critical"
    HIGH = "high", "High (important)"
    MEDIUM = "medium", "Medium (moderate)"
    LOW = "low", "Low"


class PatchState(models.TextChoices):
    """FITS's patch cycle, with the two ends an assessment may reach besides `assessed`."""

    AVAILABLE = "available", "Available"
    ASSESSED = "assessed", "Assessed"
    DEFERRED = "deferred", "Deferred"
    NOT_APPLICABLE = "not_applicable", "Not applicable"
    TESTED = "tested", "Tested"
    SCHEDULED = "scheduled", "Scheduled"
    DEPLOYED = "deployed", "Deployed"
    VERIFIED = "verified", "Verified"
    CLOSED = "closed", "Closed"


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

    CREATE = "create", "Added"
    EDIT = "edit", "Edited"
    ASSESS = "assess", "Assessed: deploy"
    DEFER = "defer", "Deferred"
    NOT_APPLICABLE = "not_applicable", "Marked not applicable"
    REASSESS = "reassess", "Sent back to be assessed"
    TEST = "test", "Tested"
    SCHEDULE = "schedule", "Scheduled"
    UNSCHEDULE = "unschedule", "Taken off its RFC"
    DEPLOY = "deploy", "Deployed"
    VERIFY = "verify", "Verified"
    CLOSE = "close", "Closed"


class Decision(models.TextChoices):
    """An assessment's decision; each is an action of its own."""

    DEPLOY = "deploy", "Deploy it"
    DEFER = "defer", "Defer it to a date"
    NOT_APPLICABLE = "not_applicable", "It does not apply to us"


class SourceKind(models.TextChoices):
    FEED = "feed", "RSS or Atom feed"
    WEB = "web", "Web page"
    MAILING_LIST = "mailing_list", "Mailing list"


class FeedState(models.TextChoices):
    """How a feed's last fetch went."""

    NEW = "new", "Not checked yet"
    OK = "ok", "Working"
    FAILING = "failing", "Failing"


class CheckResult(models.TextChoices):
    PASSED = "passed", "Passed"
    FAILED = "failed", "Failed"


class CheckKind(models.TextChoices):
    TEST = "test", "Test (pilot ring)"
    VERIFY = "verify", "Verification"
