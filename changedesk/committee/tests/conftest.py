"""A committee meeting at Greenfield, on top of the team in changedesk/conftest.py.

Fiona (the headteacher, final approver) chairs; Sam (school administrator) is the
secretary. Two RFCs wait: one for Ian's initial approval, one for Fiona's final approval.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from changedesk.changes.services import create_change
from changedesk.committee import services
from changedesk.conftest import REQUEST, advance


@pytest.fixture
def meeting(school, team):
    return services.create_meeting(
        school,
        team["sam"],
        {
            "title": "CAC, spring term 2",
            "held_at": timezone.now() + timedelta(days=1),
            "chair": team["fiona"],
        },
    )


@pytest.fixture
def waiting_initial(draft, team):
    """RFC-0001, awaiting Ian's initial approval."""
    return advance(draft, team, "awaiting_initial_approval")


@pytest.fixture
def waiting_final(school, team, waiting_initial):
    """RFC-0002, awaiting Fiona's final approval."""
    change = create_change(school, team["olivia"], {**REQUEST, "title": "New wireless APs"})
    return advance(change, team, "awaiting_final_approval")


@pytest.fixture
def agenda(meeting, team, waiting_initial, waiting_final):
    """The agenda built, Ian and Fiona present. Returns the items by RFC reference."""
    services.build_agenda(meeting.pk, team["sam"])
    services.record_attendance(meeting.pk, team["sam"], [team["ian"], team["fiona"]])
    return {item.change.reference: item for item in meeting.items.select_related("change")}
