"""Who hears of an action: mail queued in the outbox in the same transaction as the action."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
from django.utils import timezone

from changedesk.accounts.choices import Role
from changedesk.accounts.models import Delegation, School, User
from changedesk.accounts.services import create_user, set_membership
from changedesk.changes.models import Change
from changedesk.changes.services import create_change, update_change
from changedesk.changes.workflow import perform
from changedesk.conftest import PASSWORD, REQUEST, advance, plan_data
from changedesk.lib.errors import InvalidAction, NotPermitted
from changedesk.notifications.models import OutboxMessage
from changedesk.notifications.outbox import enqueue


def mail_for(change: Change, sequence: int | None = None) -> list[tuple[str, str]]:
    """(recipient, template) of the mail queued for `change`'s last event (or `sequence`)."""
    if sequence is None:
        last = change.events.order_by("-sequence").first()
        assert last is not None
        sequence = last.sequence
    prefix = f"change:{change.pk}:{sequence}:"
    return sorted(
        (m.recipient.username, m.template)
        for m in OutboxMessage.objects.filter(key__startswith=prefix).select_related("recipient")
    )


def make_person(username: str, school: School, roles: list[str], email: str = "") -> User:
    user = create_user(
        username,
        email=email or f"{username}@greenfield.example",
        password=PASSWORD,
        first_name=username.title(),
        last_name="Day",
        check_password=False,
    )
    set_membership(user, school, roles)
    return user


def delegate(school: School, approver: User, deputy: User, role: str = "", **kw: object) -> None:
    now = timezone.now()
    Delegation.objects.create(
        school=school,
        approver=approver,
        deputy=deputy,
        role=role,
        starts_at=kw.get("starts_at", now - timedelta(hours=1)),
        ends_at=kw.get("ends_at", now + timedelta(days=7)),
        revoked_at=kw.get("revoked_at"),
    )


@pytest.fixture
def dora(school) -> User:
    return make_person("dora", school, [])


def test_it_creates_no_mail_for_a_draft(draft):
    assert OutboxMessage.objects.count() == 0


def test_it_tells_the_initial_approver_a_change_waits(draft, team):
    change = perform(draft.pk, "submit", team["olivia"])
    assert mail_for(change) == [("ian", "change_waiting")]
    message = OutboxMessage.objects.get()
    assert message.to_address == "ian@greenfield.example"
    assert message.school == change.school
    assert message.status == "pending"
    assert message.context["reference"] == "RFC-0001"
    assert message.context["task"] == "decide whether it may be planned"
    # A link to decide from the e-mail (see test_decision_links.py).
    assert message.context["decide_path"].startswith("/decide/")
    assert message.context["deputy_for"] == ""


def test_it_tells_the_originator_of_each_decision(draft, team):
    change = advance(draft, team, "awaiting_initial_approval")
    perform(change.pk, "approve", team["ian"])
    assert mail_for(change) == [("olivia", "change_decision")]
    message = OutboxMessage.objects.get(template="change_decision")
    assert message.context["action_code"] == "approve"
    assert message.context["actor"] == "Ian Ingram"


@pytest.mark.parametrize(
    ("state", "action", "who", "next_person"),
    [
        ("awaiting_initial_approval", "return", "ian", None),
        ("awaiting_initial_approval", "reject", "ian", None),
        ("awaiting_peer_review", "approve", "peter", "fiona"),
        ("awaiting_peer_review", "return", "peter", None),
        ("awaiting_final_approval", "return", "fiona", None),
        ("awaiting_final_approval", "reject", "fiona", None),
    ],
)
def test_it_tells_the_originator_and_who_acts_next(draft, team, state, action, who, next_person):
    change = advance(draft, team, state)
    perform(change.pk, action, team[who], comment="See my note.")
    expected = [("olivia", "change_decision")]
    if next_person:
        expected.append((next_person, "change_waiting"))
    assert mail_for(change) == sorted(expected)
    decision = OutboxMessage.objects.filter(template="change_decision").last()
    assert decision is not None
    assert decision.context["comment"] == "See my note."


def test_it_tells_each_person_once_per_event(draft, team):
    """Olivia is originator and implementer: the final approval tells her once."""
    change = advance(draft, team, "awaiting_final_approval")
    perform(change.pk, "approve", team["fiona"])
    assert mail_for(change) == [("olivia", "change_decision")]


def test_it_tells_the_implementer_to_carry_it_out(team, school):
    change = create_change(school, team["olivia"], {**REQUEST, "implementer": team["ivan"]})
    advance(change, team, "approved")
    assert mail_for(change) == [("ivan", "change_waiting"), ("olivia", "change_decision")]
    perform(change.pk, "record_outcome", team["ivan"], data={"outcome": "succeeded"})
    assert mail_for(change) == [("olivia", "change_waiting")]


def test_it_tells_the_peer_reviewer_when_the_plan_is_in(draft, team):
    change = advance(draft, team, "planning")
    update_change(change.pk, team["olivia"], plan_data())
    perform(change.pk, "submit_plan", team["olivia"])
    assert mail_for(change) == [("peter", "change_waiting")]


def test_it_asks_the_final_approver_to_ratify_an_emergency(team, school):
    change = create_change(
        school,
        team["olivia"],
        {**REQUEST, "is_emergency": True, "emergency_justification": "No network."},
    )
    perform(change.pk, "submit", team["olivia"])
    perform(change.pk, "approve", team["ian"])
    assert mail_for(change) == [("fiona", "change_waiting"), ("olivia", "change_decision")]
    ratify = OutboxMessage.objects.get(recipient=team["fiona"])
    assert ratify.context["task"] == "ratify the emergency change"
    assert ratify.context["is_emergency"] is True


def test_it_tells_the_deputies_too(draft, team, school, dora):
    delegate(school, team["ian"], dora)
    change = perform(draft.pk, "submit", team["olivia"])
    assert mail_for(change) == [("dora", "change_waiting"), ("ian", "change_waiting")]
    message = OutboxMessage.objects.get(recipient=dora)
    assert message.context["deputy_for"] == "Ian Ingram"


@pytest.mark.parametrize("kind", ["revoked", "expired", "other_approver", "other_role"])
def test_it_does_not_tell_someone_who_cannot_act_as_deputy(draft, team, school, dora, kind):
    now = timezone.now()
    if kind == "revoked":
        delegate(school, team["ian"], dora, revoked_at=now)
    elif kind == "expired":
        delegate(school, team["ian"], dora, starts_at=now - timedelta(days=2), ends_at=now)
    elif kind == "other_approver":
        delegate(school, team["fiona"], dora)
    else:
        delegate(school, team["ian"], dora, Role.FINAL_APPROVER)
    change = perform(draft.pk, "submit", team["olivia"])
    assert mail_for(change) == [("ian", "change_waiting")]


def test_it_tells_a_role_deputy_of_that_role(draft, team, school, dora):
    delegate(school, team["fiona"], dora, Role.FINAL_APPROVER)
    change = advance(draft, team, "awaiting_peer_review")
    perform(change.pk, "approve", team["peter"])
    assert mail_for(change) == [
        ("dora", "change_waiting"),
        ("fiona", "change_waiting"),
        ("olivia", "change_decision"),
    ]


def test_it_does_not_tell_deputies_of_an_implementer(team, school, dora):
    change = create_change(school, team["olivia"], {**REQUEST, "implementer": team["ivan"]})
    delegate(school, team["ivan"], dora)
    advance(change, team, "approved")
    assert mail_for(change) == [("ivan", "change_waiting"), ("olivia", "change_decision")]


def test_it_does_not_ask_the_originator_to_review_her_own_plan_as_a_deputy(draft, team, school):
    delegate(school, team["peter"], team["olivia"])
    change = advance(draft, team, "awaiting_peer_review")
    assert mail_for(change) == [("peter", "change_waiting")]


def test_it_skips_people_without_an_address_or_no_longer_active(draft, team, school, dora):
    delegate(school, team["ian"], dora)
    dora.is_active = False
    dora.save()
    ian = team["ian"]
    ian.email = ""
    ian.save()
    perform(draft.pk, "submit", team["olivia"])
    assert OutboxMessage.objects.count() == 0


def test_it_never_queues_the_same_notice_twice(draft, team, school, dora):
    delegate(school, team["fiona"], dora)
    advance(draft, team, "closed")
    keys = list(OutboxMessage.objects.values_list("key", flat=True))
    assert len(keys) == len(set(keys))
    # One notice per person per event, whatever the template.
    parts = [key.split(":") for key in keys]
    per_person = Counter(
        (change, sequence, recipient) for _, change, sequence, _, recipient in parts
    )
    assert max(per_person.values()) == 1

    message = OutboxMessage.objects.first()
    assert message is not None
    again = enqueue(
        recipient=message.recipient,  # type: ignore[arg-type]
        template=message.template,
        context={},
        key=message.key,
        school=school,
    )
    assert again is None
    assert OutboxMessage.objects.count() == len(keys)


@pytest.mark.parametrize(
    ("state", "action", "who", "comment", "error"),
    [
        ("draft", "submit", "ian", "", NotPermitted),
        ("awaiting_initial_approval", "approve", "ivan", "", NotPermitted),
        ("awaiting_initial_approval", "reject", "ian", "", InvalidAction),
        ("approved", "record_outcome", "olivia", "", InvalidAction),
    ],
)
def test_it_queues_nothing_for_a_failed_action(draft, team, state, action, who, comment, error):
    change = advance(draft, team, state)
    queued = OutboxMessage.objects.count()
    with pytest.raises(error):
        perform(change.pk, action, team[who], comment=comment)
    assert OutboxMessage.objects.count() == queued
