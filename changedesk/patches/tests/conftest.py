"""What the patch tests share: Pam (the patch administrator, also an originator), a vendor,
the machines (a pilot laptop and the staff laptops), an available patch, and a helper that
takes a patch along its cycle."""

from __future__ import annotations

from datetime import timedelta

import pytest

from changedesk.accounts.choices import Role
from changedesk.configuration.models import ConfigurationItem
from changedesk.conftest import member
from changedesk.patches import services, workflow
from changedesk.patches.models import Patch, today_in


@pytest.fixture
def pam(school):
    """Pam Example: the patch administrator (and an originator, so she may raise the run)."""
    return member("pam", school, [Role.PATCH_ADMINISTRATOR, Role.ORIGINATOR])


@pytest.fixture
def vendor(school, pam):
    return services.save_vendor(
        school, pam, {"name": "Microsoft", "products": ["Windows 11", "Office"]}
    )


@pytest.fixture
def pilot(school):
    return ConfigurationItem.objects.create(school=school, name="Pilot laptop ICT-01")


@pytest.fixture
def laptops(school):
    return ConfigurationItem.objects.create(school=school, name="Staff laptops")


def new_patch(school, pam, vendor, items=(), **data) -> Patch:
    values = {
        "vendor": vendor,
        "product": "Windows 11",
        "title": "Cumulative update for Windows 11",
        "reference": "KB5031234",
        "cves": "CVE-2026-21001",
        "release_date": today_in(school) - timedelta(days=1),
        "severity": "critical",
        **data,
    }
    return services.create_patch(school, pam, values, items=items)


@pytest.fixture
def patch(school, pam, vendor, pilot, laptops):
    return new_patch(school, pam, vendor, items=[pilot, laptops])


def take(patch: Patch, to: str, pam, *, change=None) -> Patch:
    """Take `patch` from `available` along the cycle to `to` (up to `scheduled`, given
    `change`: an open RFC of its school)."""
    items = list(patch.items.all())
    steps = [
        ("assessed", "assess", {}),
        ("tested", "test", {"results": [{"item": items[0].pk, "result": "passed"}]}),
        ("scheduled", "schedule", {"change": change.pk if change else None}),
    ]
    for state, action, data in steps:
        if patch.state == to:
            break
        patch = workflow.perform(patch.pk, action, pam, data)
        assert patch.state == state
    return patch


@pytest.fixture
def draft(team, school, pilot, laptops):
    """The root `draft`, touching the machines: an RFC deploying patches names the items
    they apply to."""
    from changedesk.changes.services import create_change
    from changedesk.conftest import REQUEST

    return create_change(school, team["olivia"], dict(REQUEST), items=[pilot, laptops])
