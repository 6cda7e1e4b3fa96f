"""Deciding from an e-mail: the signed, single-use, expiring link and the page it opens."""

from __future__ import annotations

import time

import pytest
from django.core import signing
from django.urls import reverse

from changedesk.accounts.services import set_membership
from changedesk.changes import decision_links
from changedesk.changes.models import Change
from changedesk.changes.workflow import perform
from changedesk.conftest import advance
from changedesk.notifications.email import render
from changedesk.notifications.models import OutboxMessage


def mailed_link(change: Change, username: str) -> str:
    """The "Decide now" path of the last mail asking `username` to decide on `change`."""
    message = (
        OutboxMessage.objects.filter(
            recipient__username=username, template="change_waiting", key__contains=f":{change.pk}:"
        )
        .order_by("-pk")
        .first()
    )
    assert message is not None
    return str(message.context["decide_path"])


@pytest.fixture
def submitted(draft, team) -> Change:
    return perform(draft.pk, "submit", team["olivia"])


def test_the_mail_to_an_approver_carries_a_link_that_needs_no_sign_in(submitted, client):
    path = mailed_link(submitted, "ian")
    assert path.startswith("/decide/")
    message = OutboxMessage.objects.filter(recipient__username="ian").latest("pk")
    assert f"http://127.0.0.1:8000{path}" in render(message.template, message.context).text

    response = client.get(path)

    assert response.status_code == 200
    page = response.content.decode()
    assert "Your decision</h2>" in page and "deciding as Ian Ingram" in page
    for button in ("Approve", "Return for amendment", "Reject"):
        assert f">{button}</button>" in page
    assert submitted.description in page
    assert "Not planned yet" in page
    # Opening the link decides nothing and signs nobody in.
    assert Change.objects.get(pk=submitted.pk).state == "awaiting_initial_approval"
    assert "_auth_user_id" not in client.session


def test_approving_through_the_link_is_recorded_and_the_link_is_used_up(submitted, client, team):
    path = mailed_link(submitted, "ian")

    response = client.post(path, {"action": "approve", "comment": "Fine by me."})

    assert response.status_code == 302 and response["Location"] == path
    change = Change.objects.get(pk=submitted.pk)
    assert change.state == "planning"
    event = change.events.latest("sequence")
    assert (event.kind, event.actor, event.comment) == ("approve", team["ian"], "Fine by me.")
    assert event.data == {"via": "email_link", "link": decision_links.link_id(path.split("/")[2])}
    done = client.get(path)
    assert done.status_code == 200
    text = done.content.decode()
    assert "<strong>approved</strong>, recorded on" in text
    assert "through the link in your e-mail" in text
    assert "Olivia Okafor has been asked to write the plan and submit it." in text
    # Used: a second decision through it is refused, and nothing more is written.
    again = client.post(path, {"action": "reject", "comment": "Changed my mind."})
    assert again.status_code == 200
    assert Change.objects.get(pk=submitted.pk).version == change.version
    # The RFC's history says how the decision came.
    client.force_login(team["olivia"])
    assert (
        "Decided through the link in an e-mail."
        in client.get(change.get_absolute_url()).content.decode()
    )


def test_return_needs_a_reason_and_writes_nothing_without_one(submitted, client):
    path = mailed_link(submitted, "ian")

    response = client.post(path, {"action": "return", "comment": ""})

    assert response.status_code == 400
    assert "Say why" in response.content.decode()
    assert Change.objects.get(pk=submitted.pk).version == submitted.version


def test_a_link_goes_stale_when_the_rfc_changes(submitted, client, team):
    path = mailed_link(submitted, "ian")
    perform(submitted.pk, "withdraw", team["olivia"], comment="Not needed.")

    response = client.get(path)

    assert response.status_code == 410
    assert "has changed since this e-mail was sent (it is now withdrawn)" in (
        response.content.decode()
    )
    assert client.post(path, {"action": "approve"}).status_code == 410


def test_an_expired_or_forged_link_is_refused(submitted, client, monkeypatch):
    path = mailed_link(submitted, "ian")
    token = path.split("/")[2]
    forged = signing.dumps({"c": submitted.pk, "u": 1, "v": submitted.version}, salt="other")

    assert client.get(f"/decide/{forged}/").status_code == 400
    assert client.get(f"/decide/{token[:-2]}xx/").status_code == 400
    later = time.time() + (decision_links.LINK_DAYS + 1) * 86400
    monkeypatch.setattr(signing.time, "time", lambda: later)
    expired = client.get(path)
    assert expired.status_code == 400
    assert "This link has expired" in expired.content.decode()


def test_only_the_decisions_of_the_person_named_can_be_taken(submitted, client, team):
    # A link minted for the peer reviewer, who has no decision to take now.
    path = decision_links.link_path(submitted, team["peter"])
    page = client.get(path)
    assert page.status_code == 200
    assert "does not wait for a decision from you" in page.content.decode()

    refused = client.post(path, {"action": "approve"})
    assert refused.status_code == 403
    # Nor can the originator's own steps be taken through a link.
    own = decision_links.link_path(submitted, team["olivia"])
    assert client.post(own, {"action": "withdraw"}).status_code == 403
    assert Change.objects.get(pk=submitted.pk).version == submitted.version


def test_a_school_may_switch_the_links_off(submitted, client, team, school):
    path = mailed_link(submitted, "ian")
    school.decision_links_enabled = False
    school.save()

    response = client.get(path)
    assert response.status_code == 410
    assert "switched off deciding from e-mail" in response.content.decode()
    # New mail sends the approver to the RFC's decision box, through sign-in if need be.
    advanced = advance(Change.objects.get(pk=submitted.pk), team, "awaiting_peer_review")
    assert mailed_link(advanced, "peter") == f"/changes/{submitted.pk}/decide/"
    login = client.get(f"/changes/{submitted.pk}/decide/")
    assert login.status_code == 302
    assert login["Location"].startswith(reverse("accounts:login"))
    assert "next=/changes/" in login["Location"]
    client.force_login(team["peter"])
    box = client.get(f"/changes/{submitted.pk}/decide/")
    assert box["Location"] == f"/changes/{submitted.pk}/#decide"


def test_a_person_no_longer_in_the_school_cannot_use_their_link(submitted, client, team, school):
    path = mailed_link(submitted, "ian")
    set_membership(team["ian"], school, [])
    team["ian"].memberships.all().delete()

    assert client.get(path).status_code == 400


def test_the_final_approver_sees_the_window_and_its_conflicts(draft, team, client):
    change = advance(draft, team, "awaiting_final_approval")
    path = mailed_link(change, "fiona")

    page = client.get(path).content.decode()

    assert "deciding as Fiona Fraser" in page
    assert f"{change.planned_start:%H}:00 to" in page or "to " in page
    assert change.impact in page
    assert change.risk in page
