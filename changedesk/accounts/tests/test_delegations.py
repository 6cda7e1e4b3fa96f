"""Naming a deputy: anyone at the school may stand in ("J. Smith for the headteacher"),
but a viewer, who decides nothing, only for an approval they hold themself."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from changedesk.accounts.choices import Role
from changedesk.accounts.models import Delegation
from changedesk.accounts.permissions import may_deputise
from changedesk.conftest import member

pytestmark = pytest.mark.django_db

FMT = "%Y-%m-%dT%H:%M"


def name_deputy(client, school, approver, deputy, role=""):
    now = timezone.localtime()
    return client.post(
        reverse("accounts:delegations", args=[school.slug]),
        {
            "approver": approver.pk,
            "deputy": deputy.pk,
            "role": role,
            "starts_at": now.strftime(FMT),
            "ends_at": (now + timedelta(days=2)).strftime(FMT),
        },
    )


def test_a_viewer_cannot_be_named_deputy_for_the_final_approver(client, school, team):
    vera = member("vera", school, [Role.VIEWER])
    client.force_login(team["fiona"])
    page = client.get(reverse("accounts:delegations", args=[school.slug])).content.decode()
    assert "Vera Example" not in page  # not offered
    response = name_deputy(client, school, team["fiona"], vera, Role.FINAL_APPROVER)
    assert response.status_code == 400
    assert not Delegation.objects.exists()


def test_an_administrator_cannot_name_a_viewer_either(client, school, team):
    vera = member("vera", school, [Role.VIEWER])
    client.force_login(team["sam"])
    assert name_deputy(client, school, team["fiona"], vera).status_code == 400
    assert not Delegation.objects.exists()


def test_a_member_without_that_role_may_stand_in_but_not_a_viewer(client, school, team):
    client.force_login(team["fiona"])
    deputy_head = member("dana", school, [])  # FITS: "J. Smith for the headteacher"
    response = name_deputy(client, school, team["fiona"], deputy_head, Role.FINAL_APPROVER)
    assert response.status_code == 302
    vera = member("vera", school, [Role.VIEWER, Role.ORIGINATOR])
    response = name_deputy(client, school, team["fiona"], vera, Role.FINAL_APPROVER)
    assert response.status_code == 400  # not even offered
    vince = member("vince", school, [Role.VIEWER, Role.INITIAL_APPROVER])
    response = name_deputy(client, school, team["fiona"], vince, Role.FINAL_APPROVER)
    assert response.status_code == 400
    assert "Vince Example is a viewer here, who decides nothing" in response.content.decode()
    # A viewer who is a final approver too may stand in as one.
    both = member("vic", school, [Role.VIEWER, Role.FINAL_APPROVER])
    response = name_deputy(client, school, team["fiona"], both, Role.FINAL_APPROVER)
    assert response.status_code == 302
    assert {d.deputy.username for d in Delegation.objects.all()} == {"dana", "vic"}


def test_every_approval_needs_a_viewer_deputy_to_hold_each_of_them(client, school, team):
    approver = member("bea", school, [Role.INITIAL_APPROVER, Role.FINAL_APPROVER])
    half = member("hal", school, [Role.VIEWER, Role.FINAL_APPROVER])
    client.force_login(approver)
    assert name_deputy(client, school, approver, half).status_code == 400
    assert name_deputy(client, school, approver, half, Role.FINAL_APPROVER).status_code == 302


def test_may_deputise(school, team, oscar):
    vera = member("vera", school, [Role.VIEWER])
    fiona, ian = team["fiona"], team["ian"]
    assert not may_deputise(vera, fiona, Role.FINAL_APPROVER, school)
    assert not may_deputise(vera, fiona, "", school)
    assert may_deputise(ian, fiona, "", school)
    assert not may_deputise(oscar, fiona, "", school)  # not a member here
    assert not may_deputise(fiona, team["olivia"], "", school)  # no approval to hand over
