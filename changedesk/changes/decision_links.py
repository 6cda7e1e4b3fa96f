"""Deciding from an e-mail: a signed link for one approver, one RFC and one version of it.

The e-mail asking an approver to decide carries a link that opens a page with what the RFC
is, when, its impact, risk and conflicts, and the decisions that person may take now; it
needs no sign-in for that one decision, and gives nothing else. The link

- is signed with the instance's secret key (`django.core.signing`, its own salt), naming
  the RFC, the person and the RFC's version when the mail was written;
- expires after `LINK_DAYS` days;
- is single-use: any action on the RFC bumps its version, so a link used (or overtaken by
  someone else's action or an edit) is stale and says so; the event a link decided keeps
  `{"via": "email_link", "link": <its id>}`, which is how the page tells "you decided
  through this link" from "the RFC changed";
- only ever shows a page: opening it decides nothing (mail scanners open links); the
  decision is a POST through `workflow.perform`, the one door, with the person's own
  permissions checked there as for any other action;
- works only while the school allows it (`School.decision_links_enabled`) and while the
  person is an active member of it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import timedelta

from django.core import signing
from django.urls import reverse

from changedesk.accounts import permissions
from changedesk.accounts.choices import APPROVER_ROLES
from changedesk.accounts.models import User
from changedesk.changes import workflow
from changedesk.changes.models import Change, ChangeEvent

SALT = "changedesk.changes.decision_links"
LINK_DAYS = 7
VIA = "email_link"


class LinkRefused(Exception):
    """The link cannot be used; `message` says why in words for the person holding it."""

    def __init__(self, message: str, change: Change | None = None, used: ChangeEvent | None = None):
        super().__init__(message)
        self.message = message
        self.change = change
        self.used = used


@dataclass(frozen=True)
class Link:
    token: str
    change: Change
    person: User
    version: int

    @property
    def id(self) -> str:
        return link_id(self.token)

    @property
    def channel(self) -> dict[str, str]:
        """What the event of a decision taken through this link keeps."""
        return {"via": VIA, "link": self.id}


def link_id(token: str) -> str:
    """A short, stable name for a link, kept in the history (the link itself is not)."""
    return hashlib.sha256(token.encode()).hexdigest()[:16]


def link_path(change: Change, person: User) -> str:
    """The path of a new link for `person` to decide on `change` as it is now."""
    token = signing.dumps({"c": change.pk, "u": person.pk, "v": change.version}, salt=SALT)
    return reverse("changes:decide_link", args=[token])


def mail_decide_path(change: Change, person: User) -> str:
    """Where an e-mail's "Decide now" goes: a decision link when the school allows them,
    otherwise the RFC's decision box (which survives signing in on the way)."""
    if change.school.decision_links_enabled and _asked(change, person):
        return link_path(change, person)
    return reverse("changes:decide", args=[change.pk])


def _asked(change: Change, person: User) -> bool:
    """Whether a decision in the RFC's current state waits on an approver; the person's own
    right to take it is checked when they act (they may be the deputy of the one named)."""
    return person.pk != change.originator_id and any(
        step.by in APPROVER_ROLES for step in workflow.tasks(change)
    )


def read(token: str) -> Link:
    """The link `token` names, or `LinkRefused` saying why it cannot be used."""
    sign_in = "Sign in to changedesk to see the RFC."
    try:
        value = signing.loads(token, salt=SALT, max_age=timedelta(days=LINK_DAYS))
    except signing.SignatureExpired:
        raise LinkRefused(
            f"This link has expired: links in e-mails last {LINK_DAYS} days. {sign_in}"
        ) from None
    except signing.BadSignature:
        raise LinkRefused(f"This link is not valid (it may be incomplete). {sign_in}") from None
    try:
        change_id, person_id, version = int(value["c"]), int(value["u"]), int(value["v"])
    except (KeyError, TypeError, ValueError):
        raise LinkRefused(f"This link is not valid. {sign_in}") from None
    change = (
        Change.objects.select_related(
            "school", "originator", "initial_approver", "peer_reviewer", "final_approver"
        )
        .filter(pk=change_id)
        .first()
    )
    person = User.objects.filter(pk=person_id, is_active=True).first()
    if change is None or person is None or not permissions.is_member(person, change.school):
        raise LinkRefused(f"This link is no longer valid. {sign_in}")
    if not change.school.decision_links_enabled:
        raise LinkRefused(
            f"{change.school.name} has switched off deciding from e-mail. "
            f"Sign in to decide on {change.reference}.",
            change,
        )
    link = Link(token=token, change=change, person=person, version=version)
    if change.version != version:
        used = (
            change.events.filter(data__link=link.id, actor=person)
            .select_related("actor", "on_behalf_of")
            .first()
        )
        if used is not None:
            raise LinkRefused("This link has been used.", change, used)
        raise LinkRefused(
            f"{change.reference} has changed since this e-mail was sent "
            f"(it is now {change.get_state_display().lower()}), so this link no longer "
            f"works. {sign_in}",
            change,
        )
    return link
