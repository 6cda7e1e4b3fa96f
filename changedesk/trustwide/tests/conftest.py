"""A trust of three schools, each with its own approvers, and the trust's ICT team:
the scene of a trust-wide change."""

from __future__ import annotations

import pytest

from changedesk.accounts import trusts
from changedesk.accounts.choices import Role, TrustRole
from changedesk.accounts.models import School, User
from changedesk.accounts.services import create_school
from changedesk.conftest import member


@pytest.fixture
def third_school(trust) -> School:
    made = create_school("Llanfair Primary", "llanfair")
    trusts.add_school(trust, made)
    return made


@pytest.fixture
def heads(school, other_school, third_school) -> dict[str, dict[str, User]]:
    """Each school's own initial approver and final approver (its headteacher)."""
    people: dict[str, dict[str, User]] = {}
    for each in (school, other_school, third_school):
        people[each.slug] = {
            "initial": member(f"init_{each.slug}", each, [Role.INITIAL_APPROVER]),
            "head": member(f"head_{each.slug}", each, [Role.FINAL_APPROVER]),
        }
    return people


@pytest.fixture
def tom(trust) -> User:
    """A trust technician, and nothing else."""
    from changedesk.accounts.services import create_user

    person = create_user("tom", email="tom@trust.example", password=None, first_name="Tom")
    trusts.set_trust_roles(trust, person, [TrustRole.TRUST_TECHNICIAN])
    return person


@pytest.fixture
def rhys(trust) -> User:
    """The trust's peer reviewer."""
    from changedesk.accounts.services import create_user

    person = create_user("rhys", email="rhys@trust.example", password=None, first_name="Rhys")
    trusts.set_trust_roles(trust, person, [TrustRole.TRUST_PEER_REVIEWER])
    return person


REQUEST = {
    "title": "Block a phishing domain at the firewall",
    "description": "Add a deny rule for the domain on every school's firewall.",
    "reason": "Staff in two schools were sent a convincing phishing e-mail from it.",
}

# A plan for it, copied to the schools' RFCs.
PLAN = {
    "details": "1. Add the deny rule. 2. Test it. 3. Save the config.",
    "impact": "None expected.",
    "risk": "Low.",
    "fallback_plan": "Remove the rule.",
}
