"""Labels that other apps' Python holds in English, listed here for the Welsh catalogue.

The states, actions and history of an RFC, the workflow's tasks, My work's sections, the
decision form's questions and the roles are English strings in code this stage of the
Welsh work did not mark (see README, "Welsh"); the outbox also stores them, as English, in
each queued e-mail's context. Listed here with gettext_noop, they reach the catalogue, and
templates translate them as they render (`{{ value|translated }}`, accounts' `languages`
tags) as do the e-mails (`notifications.email`). A label not listed passes through as it
is. `changedesk/tests/test_welsh_catalogue.py` fails when one of these labels changes at
its source without this list following.
"""

from __future__ import annotations

from django.utils.translation import gettext_noop

LABELS = (
    # changes.choices.State: the states of an RFC
    gettext_noop("Draft"),
    gettext_noop("Awaiting initial approval"),
    gettext_noop("Planning"),
    gettext_noop("Awaiting peer review"),
    gettext_noop("Awaiting final approval"),
    gettext_noop("Approved"),
    gettext_noop("Implemented"),
    gettext_noop("Closed"),
    gettext_noop("Rejected"),
    gettext_noop("Withdrawn"),
    # changes.choices.Action: the workflow's actions (the decision form's buttons)
    gettext_noop("Submit for approval"),
    gettext_noop("Approve"),
    gettext_noop("Return for amendment"),
    gettext_noop("Reject"),
    gettext_noop("Submit the plan"),
    gettext_noop("Record the outcome"),
    gettext_noop("Ratify the emergency change"),
    gettext_noop("Close"),
    gettext_noop("Withdraw"),
    gettext_noop("Go ahead as a standard change"),
    # The comment asked for (changes.views: the actions' labels, lower case, joined by "or")
    gettext_noop("return for amendment or reject"),
    gettext_noop("return for amendment"),
    gettext_noop("reject"),
    # changes.choices.EventKind: what a history event records
    gettext_noop("Created"),
    gettext_noop("Edited"),
    gettext_noop("Submitted for approval"),
    gettext_noop("Approved"),
    gettext_noop("Returned for amendment"),
    gettext_noop("Rejected"),
    gettext_noop("Submitted the plan"),
    gettext_noop("Recorded the outcome"),
    gettext_noop("Ratified"),
    gettext_noop("Closed"),
    gettext_noop("Withdrew"),
    gettext_noop("Approved as a standard change"),
    gettext_noop("Imported from a change log"),
    # changes.choices.Outcome and ChangeType
    gettext_noop("Succeeded"),
    gettext_noop("Failed, fallback plan carried out"),
    gettext_noop("Partially succeeded"),
    gettext_noop("Normal"),
    gettext_noop("Emergency"),
    gettext_noop("Standard"),
    # changes.workflow: what each step asks of the next person (task=)
    gettext_noop("complete it and submit it"),
    gettext_noop("decide whether it may be planned"),
    gettext_noop("write the plan and submit it"),
    gettext_noop("review the plan"),
    gettext_noop("decide whether it may go ahead"),
    gettext_noop("ratify the emergency change"),
    gettext_noop("carry it out and record the outcome"),
    gettext_noop("update the records and close it"),
    # changes.queries: My work's sections
    gettext_noop("To approve for planning"),
    gettext_noop("Agree that these may be planned, send them back, or reject them."),
    gettext_noop(
        "it lists every RFC in these steps that names you, in any role, "
        "and not those you approve as a deputy"
    ),
    gettext_noop("To peer review"),
    gettext_noop("Check that each plan is technically sound."),
    gettext_noop(
        "it lists every RFC in these steps that names you, in any role, "
        "and not those you review as a deputy"
    ),
    gettext_noop("To approve for implementation"),
    gettext_noop(
        "Give the go-ahead, accepting the impact on the school; ratify emergency changes."
    ),
    gettext_noop("To carry out"),
    gettext_noop("Approved changes to implement; record the outcome when done."),
    gettext_noop(
        "it lists every RFC in these steps that names you, in any role, "
        "and not those no one has taken on yet"
    ),
    gettext_noop("My requests"),
    gettext_noop("Drafts to submit, plans to write, and implemented changes to review and close."),
    gettext_noop("My requests waiting on others"),
    gettext_noop("Nothing for you to do until someone else acts."),
    gettext_noop(
        "it lists every RFC of yours in these steps, also those waiting on you in another section"
    ),
    # changes.forms.ActionForm: the decision form
    gettext_noop("Comment"),
    gettext_noop("Outcome"),
    gettext_noop("Have the configuration records been updated?"),
    gettext_noop("Did the change cause any incidents?"),
    gettext_noop("Were the users told beforehand?"),
    gettext_noop("Yes"),
    gettext_noop("No"),
    gettext_noop("— choose —"),
    # accounts.choices.Role and TrustRole
    gettext_noop("Originator"),
    gettext_noop("Initial approver"),
    gettext_noop("Peer reviewer"),
    gettext_noop("Final approver"),
    gettext_noop("Implementer"),
    gettext_noop("School administrator"),
    gettext_noop("Communicator"),
    gettext_noop("Viewer"),
    gettext_noop("Patch administrator"),
    gettext_noop("Release manager"),
    gettext_noop("Build developer"),
    gettext_noop("Installer"),
    gettext_noop("Trust administrator"),
    gettext_noop("Trust technician"),
    gettext_noop("Trust peer reviewer"),
    # communication.choices.NoticeStatus and NoticeKind
    gettext_noop("Draft"),
    gettext_noop("Published"),
    gettext_noop("Withdrawn"),
    gettext_noop("About a change"),
    gettext_noop("General notice"),
    gettext_noop("Summary of changes"),
)
