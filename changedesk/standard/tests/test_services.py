"""Standard changes: a template approved once through the RFC's own door, RFCs raised from
it going ahead at once (still weighed against the calendar), suspension, expiry, versions."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from changedesk.accounts.choices import Role
from changedesk.changes.models import Change
from changedesk.changes.services import update_change
from changedesk.changes.workflow import allowed_actions, perform
from changedesk.configuration.models import ConfigurationItem
from changedesk.conftest import advance, member, plan_data
from changedesk.lib.errors import InvalidAction, NotPermitted
from changedesk.schedule.models import CalendarPeriod
from changedesk.standard import services
from changedesk.standard.models import Raised, Template, TemplateEvent
from changedesk.standard.tests.conftest import CONTENT, approve, propose_and_approve

pytestmark = pytest.mark.django_db


def _window(days: int = 8, hour: int = 18) -> timezone.datetime:
    return (timezone.now() + timedelta(days=days)).replace(
        hour=hour, minute=0, second=0, microsecond=0
    )


def test_a_template_is_approved_through_the_rfc_it_proposes(template, team):
    assert template.state == "draft" and template.version == 1
    proposal = services.propose(template.pk, team["olivia"])
    template.refresh_from_db()
    assert template.state == "proposed" and template.proposal == proposal
    assert proposal.title == "Standard change: Monthly security updates"
    assert not proposal.is_standard and proposal.state == "draft"
    assert list(proposal.item_links.values_list("item__name", flat=True)) == ["Staff laptops"]
    advance(proposal, team, "awaiting_final_approval")
    template.refresh_from_db()
    assert template.state == "proposed"  # not until the approval that accepts its impact
    perform(proposal.pk, "approve", team["fiona"])
    template.refresh_from_db()
    assert template.state == "approved" and template.approved_version == 1
    assert template.approved_digest == template.digest() and len(template.approved_digest) == 64
    kinds = list(template.events.values_list("kind", flat=True))
    assert kinds == ["create", "propose", "approve"]
    assert template.events.get(kind="approve").actor == team["fiona"]


def test_a_rejected_or_withdrawn_proposal_leaves_a_draft(template, team):
    proposal = services.propose(template.pk, team["olivia"])
    perform(proposal.pk, "withdraw", team["olivia"], comment="Not yet")
    template.refresh_from_db()
    assert template.state == "draft"
    assert template.events.last().kind == "refuse"
    again = services.propose(template.pk, team["olivia"])
    assert again.pk != proposal.pk


def test_a_standard_change_goes_ahead_at_once(template, team, laptops):
    approve(template, team)
    template.refresh_from_db()
    start = _window()
    change = services.raise_change(template.pk, team["olivia"], planned_start=start)
    assert change.is_standard and change.change_type == "standard"
    assert change.state == "approved"
    assert change.planned_end - change.planned_start == timedelta(minutes=90)
    assert change.title == CONTENT["title"] and change.details == CONTENT["details"]
    event = change.events.get(kind="raise_standard")
    assert event.from_state == "draft" and event.to_state == "approved"
    assert event.data["standard_template"] == template.pk
    assert event.data["template_version"] == 1
    assert event.data["template_digest"] == template.approved_digest
    assert len(event.digest) == 64  # the content it went ahead with, as any approval's
    assert Raised.objects.get(change=change).template == template
    # It then runs its course as any RFC: outcome, records, close.
    assert "record_outcome" in allowed_actions(change, team["olivia"])


def test_raising_needs_an_approved_template_that_has_not_expired(template, team, school):
    with pytest.raises(InvalidAction, match="cannot be raised"):
        services.raise_change(template.pk, team["olivia"], planned_start=_window())
    assert not Change.objects.filter(is_standard=True).exists()
    approve(template, team)
    Template.objects.filter(pk=template.pk).update(
        review_date=timezone.localdate() - timedelta(days=1)
    )
    with pytest.raises(InvalidAction, match="review date has passed"):
        services.raise_change(template.pk, team["olivia"], planned_start=_window())
    assert not Change.objects.filter(is_standard=True).exists()


def test_only_the_people_it_names_may_raise_it(template, team, school):
    approve(template, team)
    other = member("otto", school, [Role.ORIGINATOR])
    services.update_template(template.pk, team["olivia"], {}, raisers=[team["olivia"]])
    template.refresh_from_db()
    # Who may raise it is part of what was approved: a new version, approved again.
    assert template.state == "draft" and template.version == 2
    approve(template, team)
    with pytest.raises(NotPermitted):
        services.raise_change(template.pk, other, planned_start=_window())
    with pytest.raises(NotPermitted):
        services.raise_change(template.pk, team["ian"], planned_start=_window())
    change = services.raise_change(template.pk, team["olivia"], planned_start=_window())
    assert change.events.get(kind="raise_standard").data["template_version"] == 2


def test_a_hard_freeze_refuses_it_and_a_soft_conflict_offers_the_next_safe_slot(
    template, team, school
):
    approve(template, team)
    start = _window(days=10)
    CalendarPeriod.objects.create(
        school=school, kind="freeze", name="Census freeze", is_hard=True,
        starts_at=start - timedelta(hours=1), ends_at=start + timedelta(hours=3),
    )  # fmt: skip
    with pytest.raises(InvalidAction) as refused:
        services.raise_change(template.pk, team["olivia"], planned_start=start)
    assert "Census freeze" in refused.value.fields["planned_start"]
    later = _window(days=20)
    CalendarPeriod.objects.create(
        school=school, kind="exam", name="Mock exams",
        starts_at=later - timedelta(hours=1), ends_at=later + timedelta(hours=3),
    )  # fmt: skip
    with pytest.raises(InvalidAction) as refused:
        services.raise_change(template.pk, team["olivia"], planned_start=later)
    message = refused.value.fields["planned_start"]
    assert "Mock exams" in message and "next safe slot" in message
    assert "normal change" in message
    # Nothing was left behind by either refusal.
    assert not Change.objects.filter(is_standard=True).exists()
    assert not Raised.objects.exists()


def test_a_failed_standard_change_suspends_its_template_until_reviewed(template, team):
    approve(template, team)
    change = services.raise_change(template.pk, team["olivia"], planned_start=_window())
    perform(change.pk, "record_outcome", team["olivia"], data={"outcome": "failed_backed_out"})
    template.refresh_from_db()
    assert template.state == "suspended" and template.suspended_by_id == change.pk
    with pytest.raises(InvalidAction, match="suspended"):
        services.raise_change(template.pk, team["olivia"], planned_start=_window(days=9))
    with pytest.raises(NotPermitted):
        services.reinstate(template.pk, team["olivia"], "Looked at it")
    with pytest.raises(InvalidAction, match="review found"):
        services.reinstate(template.pk, team["fiona"], "  ")
    services.reinstate(template.pk, team["fiona"], "The driver update is now excluded.")
    template.refresh_from_db()
    assert template.state == "approved"
    assert services.raise_change(template.pk, team["olivia"], planned_start=_window(days=9))


def test_editing_approved_content_sends_it_back_for_approval(template, team):
    approve(template, team)
    digest = template.__class__.objects.get(pk=template.pk).approved_digest
    services.update_template(template.pk, team["olivia"], {"review_date": template.review_date})
    template.refresh_from_db()
    assert template.state == "approved" and template.version == 1  # nothing changed
    services.update_template(template.pk, team["olivia"], {"details": "1. Deploy. 2. Check."})
    template.refresh_from_db()
    assert template.state == "draft" and template.version == 2
    assert template.approved_digest == digest  # the last approval is kept, not in force
    with pytest.raises(InvalidAction, match="cannot be raised"):
        services.raise_change(template.pk, team["olivia"], planned_start=_window())


def test_a_template_under_approval_cannot_be_edited(template, team):
    services.propose(template.pk, team["olivia"])
    with pytest.raises(InvalidAction, match="being approved"):
        services.update_template(template.pk, team["olivia"], {"details": "Other steps."})


def test_only_originators_write_and_propose_templates(team, school, template):
    with pytest.raises(NotPermitted):
        services.create_template(school, team["fiona"], dict(CONTENT))
    with pytest.raises(NotPermitted):
        services.propose(template.pk, team["fiona"])
    with pytest.raises(InvalidAction) as refused:
        services.create_template(school, team["olivia"], {**CONTENT, "duration_minutes": 0})
    assert "duration_minutes" in refused.value.fields


def test_items_outside_the_template_are_refused(template, team, school):
    approve(template, team)
    printer = ConfigurationItem.objects.create(school=school, name="Office printer")
    with pytest.raises(InvalidAction) as refused:
        services.raise_change(template.pk, team["olivia"], planned_start=_window(), items=[printer])
    assert "Office printer" in refused.value.fields["items"]


def test_a_standard_rfc_cannot_be_raised_without_its_template(team, school):
    from changedesk.changes.services import create_change

    change = create_change(school, team["olivia"], {**plan_data(), "title": "Sneaky",
                           "description": "d", "reason": "r"}, standard=True)  # fmt: skip
    assert "submit" not in allowed_actions(change, team["olivia"])
    with pytest.raises(InvalidAction, match="raised from its template"):
        perform(change.pk, "raise_standard", team["olivia"])
    change.refresh_from_db()
    assert change.state == "draft"


def test_the_history_of_a_template_is_kept(template, team):
    approve(template, team)
    assert TemplateEvent.objects.filter(template=template).count() == 3


def test_a_standard_change_is_planned_ahead_and_not_longer_than_it_takes(template, team):
    approve(template, team)
    soon = timezone.now() + timedelta(hours=1)  # the school's lead time is 4 hours
    with pytest.raises(InvalidAction) as refused:
        services.raise_change(template.pk, team["olivia"], planned_start=soon)
    assert "lead time" in refused.value.fields["planned_start"]
    start = _window()
    with pytest.raises(InvalidAction) as refused:
        services.raise_change(
            template.pk, team["olivia"], planned_start=start, planned_end=start + timedelta(days=2)
        )
    assert "usually takes 90 minutes" in refused.value.fields["planned_end"]
    with pytest.raises(InvalidAction) as refused:
        services.raise_change(template.pk, team["olivia"], planned_start=start, planned_end=start)
    assert "after the planned start" in refused.value.fields["planned_end"]
    with pytest.raises(InvalidAction) as refused:
        services.raise_change(template.pk, team["olivia"], planned_start=start.replace(year=9999))
    assert "20 years" in refused.value.fields["planned_start"]
    assert not Change.objects.filter(is_standard=True).exists()


def test_a_templates_history_is_append_only(template):
    event = template.events.get()
    event.comment = "rewritten"
    with pytest.raises(TypeError):
        event.save()
    with pytest.raises(TypeError):
        event.delete()
    with pytest.raises(TypeError):
        TemplateEvent.objects.filter(pk=event.pk).update(comment="rewritten")
    with pytest.raises(TypeError):
        TemplateEvent.objects.filter(pk=event.pk).delete()


def test_what_the_approvers_read_on_the_proposing_rfc_is_what_is_approved(template, team, school):
    from changedesk.changes.items import set_change_items

    proposal = services.propose(template.pk, team["olivia"])
    printer = ConfigurationItem.objects.create(school=school, name="Office printer")
    # The originator edits the proposing RFC before it is approved.
    update_change(proposal.pk, team["olivia"], {"details": "1. Other steps entirely."})
    set_change_items(Change.objects.get(pk=proposal.pk), [printer], team["olivia"])
    perform(proposal.pk, "submit", team["olivia"])
    perform(proposal.pk, "approve", team["ian"])
    plan = plan_data()
    update_change(
        proposal.pk,
        team["olivia"],
        {"planned_start": plan["planned_start"], "planned_end": plan["planned_end"],
         "peer_reviewer": team["peter"], "final_approver": team["fiona"]},
    )  # fmt: skip
    perform(proposal.pk, "submit_plan", team["olivia"])
    perform(proposal.pk, "approve", team["peter"])
    perform(proposal.pk, "approve", team["fiona"])
    template.refresh_from_db()
    assert template.state == "approved"
    assert template.details == "1. Other steps entirely."
    assert list(template.items.all()) == [printer]
    assert template.approved_digest == template.digest()
    event = template.events.get(kind="approve")
    assert event.data["taken_from_the_rfc"] == ["details", "items"]


def test_an_emergency_proposal_approves_the_template_only_when_ratified(template, team):
    proposal = services.propose(template.pk, team["olivia"])
    update_change(
        proposal.pk,
        team["olivia"],
        {"is_emergency": True, "emergency_justification": "Now, please"},
    )
    perform(proposal.pk, "submit", team["olivia"])
    perform(proposal.pk, "approve", team["ian"])  # an emergency: straight to approved
    template.refresh_from_db()
    assert template.state == "proposed"  # the initial approver's alone approves no template
    plan = plan_data()
    update_change(
        proposal.pk,
        team["olivia"],
        {"planned_start": plan["planned_start"], "planned_end": plan["planned_end"],
         "final_approver": team["fiona"]},
    )  # fmt: skip
    perform(proposal.pk, "ratify", team["fiona"])
    template.refresh_from_db()
    assert template.state == "approved"
    assert template.events.get(kind="approve").actor == team["fiona"]


def test_a_failed_first_run_suspends_the_template(template, team):
    proposal = propose_and_approve(template, team)
    perform(proposal.pk, "record_outcome", team["olivia"], data={"outcome": "failed_backed_out"})
    template.refresh_from_db()
    assert template.state == "suspended" and template.suspended_by_id == proposal.pk


def test_a_raise_that_names_no_items_is_refused_when_the_template_names_some(template, team):
    approve(template, team)
    with pytest.raises(InvalidAction) as refused:
        services.raise_change(template.pk, team["olivia"], planned_start=_window(), items=[])
    assert "at least one" in refused.value.fields["items"]


@pytest.mark.parametrize("days", [-1, 20 * 366 + 2])
def test_the_review_date_is_today_or_later_and_within_20_years(team, school, template, days):
    review = timezone.now().date() + timedelta(days=days)
    with pytest.raises(InvalidAction) as refused:
        services.create_template(school, team["olivia"], {**CONTENT, "review_date": review})
    assert "review_date" in refused.value.fields
    with pytest.raises(InvalidAction):
        services.update_template(template.pk, team["olivia"], {"review_date": review})
