"""What the standard changes' tests share: a template's content, the school's laptops, a
template in draft, and one approved through the RFC that proposed it."""

from __future__ import annotations

import pytest

from changedesk.changes.models import Change
from changedesk.changes.services import update_change
from changedesk.changes.workflow import perform
from changedesk.configuration.models import ConfigurationItem
from changedesk.conftest import plan_data
from changedesk.standard import services
from changedesk.standard.models import Template

CONTENT = {
    "title": "Monthly security updates",
    "description": "Install the month's security updates on the staff laptops.",
    "reason": "Cyber Essentials: high and critical updates within 14 days.",
    "details": "1. Approve updates in WSUS. 2. Deploy to the pilot ring. 3. Deploy to all.",
    "impact": "Laptops restart once, after school.",
    "risk": "Low: an update may fail on a laptop; it is rolled back.",
    "fallback_plan": "Uninstall the update from the console.",
    "duration_minutes": 90,
}


def propose_and_approve(template: Template, team) -> Change:
    """Propose it and take the proposing RFC through the school's approvals, planning only
    its window (its content is the template's): the approved proposing RFC."""
    olivia = team["olivia"]
    proposal = services.propose(template.pk, olivia)
    perform(proposal.pk, "submit", olivia)
    perform(proposal.pk, "approve", team["ian"])
    plan = plan_data()
    update_change(
        proposal.pk,
        olivia,
        {"planned_start": plan["planned_start"], "planned_end": plan["planned_end"],
         "peer_reviewer": team["peter"], "final_approver": team["fiona"]},
    )  # fmt: skip
    perform(proposal.pk, "submit_plan", olivia)
    perform(proposal.pk, "approve", team["peter"])
    return perform(proposal.pk, "approve", team["fiona"])


def approve(template: Template, team) -> Template:
    """Propose it and have it approved; then withdraw the proposing RFC (its first run is
    not needed here), out of the calendar's way of the next."""
    proposal = propose_and_approve(template, team)
    perform(proposal.pk, "withdraw", team["olivia"])
    template.refresh_from_db()
    assert template.state == "approved"
    return template


@pytest.fixture
def laptops(school):
    return ConfigurationItem.objects.create(school=school, name="Staff laptops")


@pytest.fixture
def template(team, school, laptops):
    return services.create_template(school, team["olivia"], dict(CONTENT), items=[laptops])


@pytest.fixture
def approved(template, team):
    return approve(template, team)
