"""The states, actions and outcomes of a request for change; the values are the API's names."""

from django.db import models


class State(models.TextChoices):
    DRAFT = "draft", "Draft"
    AWAITING_INITIAL_APPROVAL = "awaiting_initial_approval", "Awaiting initial approval"
    PLANNING = "planning", "Planning"
    AWAITING_PEER_REVIEW = "awaiting_peer_review", "Awaiting peer review"
    AWAITING_FINAL_APPROVAL = "awaiting_final_approval", "Awaiting final approval"
    APPROVED = "approved", "Approved"
    IMPLEMENTED = "implemented", "Implemented"
    CLOSED = "closed", "Closed"
    REJECTED = "rejected", "Rejected"
    WITHDRAWN = "withdrawn", "Withdrawn"


TERMINAL_STATES = frozenset({State.CLOSED, State.REJECTED, State.WITHDRAWN})
OPEN_STATES = frozenset(set(State) - TERMINAL_STATES)
AWAITING_DECISION_STATES = frozenset(
    {State.AWAITING_INITIAL_APPROVAL, State.AWAITING_PEER_REVIEW, State.AWAITING_FINAL_APPROVAL}
)


class Action(models.TextChoices):
    SUBMIT = "submit", "Submit for approval"
    APPROVE = "approve", "Approve"
    RETURN = "return", "Return for amendment"
    REJECT = "reject", "Reject"
    SUBMIT_PLAN = "submit_plan", "Submit the plan"
    RECORD_OUTCOME = "record_outcome", "Record the outcome"
    RATIFY = "ratify", "Ratify the emergency change"
    CLOSE = "close", "Close"
    WITHDRAW = "withdraw", "Withdraw"
    RAISE_STANDARD = "raise_standard", "Go ahead as a standard change"


class EventKind(models.TextChoices):
    """What a history event records: the creation, an edit, or one of the workflow actions."""

    CREATE = "create", "Created"
    EDIT = "edit", "Edited"
    SUBMIT = "submit", "Submitted for approval"
    APPROVE = "approve", "Approved"
    RETURN = "return", "Returned for amendment"
    REJECT = "reject", "Rejected"
    SUBMIT_PLAN = "submit_plan", "Submitted the plan"
    RECORD_OUTCOME = "record_outcome", "Recorded the outcome"
    RATIFY = "ratify", "Ratified"
    CLOSE = "close", "Closed"
    WITHDRAW = "withdraw", "Withdrew"
    RAISE_STANDARD = "raise_standard", "Approved as a standard change"
    # Opens the history of an RFC brought in from a school's existing change log (the
    # spreadsheets app): its dates, state and outcome as the file had them.
    IMPORTED = "imported", "Imported from a change log"


class ChangeType(models.TextChoices):
    """What kind of change an RFC is: approved step by step (normal), approved at once and
    ratified afterwards (emergency), or raised from a template approved once (standard)."""

    NORMAL = "normal", "Normal"
    EMERGENCY = "emergency", "Emergency"
    STANDARD = "standard", "Standard"


class Outcome(models.TextChoices):
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED_BACKED_OUT = "failed_backed_out", "Failed, fallback plan carried out"
    PARTIALLY_SUCCEEDED = "partially_succeeded", "Partially succeeded"
