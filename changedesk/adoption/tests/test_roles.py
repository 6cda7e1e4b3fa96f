"""Roles with guidance: each role's holders, FITS's comments, and the warnings; and ICT
staff recorded on the member page."""

from __future__ import annotations

import pytest
from django.urls import reverse

from changedesk.accounts.choices import Role
from changedesk.accounts.models import Membership
from changedesk.accounts.services import set_membership
from changedesk.adoption import services
from changedesk.conftest import member

pytestmark = pytest.mark.django_db

PAGE = "/getting-started/roles/"


def warned(school) -> set[str]:
    return {w.key for w in services.warnings(services.load(school))}


def test_no_final_approver_is_warned(school, sam, olivia):
    assert "no_final_approver" in warned(school)
    member("fred", school, [Role.FINAL_APPROVER])
    assert "no_final_approver" not in warned(school)


def test_a_second_initial_approver_is_warned(school, ian):
    assert "many_initial_approvers" not in warned(school)
    member("irene", school, [Role.INITIAL_APPROVER])
    assert "many_initial_approvers" in warned(school)


def test_an_ict_final_approver_is_warned(school, fiona):
    assert "final_approver_ict" not in warned(school)
    Membership.objects.filter(user=fiona, school=school).update(is_ict_staff=True)
    found = [w for w in services.warnings(services.load(school)) if w.key == "final_approver_ict"]
    assert found and "outside ICT" in found[0].message


def test_no_peer_reviewer_is_warned_only_while_peer_review_is_on(school, peter):
    assert "no_peer_reviewer" not in warned(school)
    set_membership(peter, school, [])
    assert "no_peer_reviewer" in warned(school)
    school.peer_review_enabled = False
    school.save()
    assert "no_peer_reviewer" not in warned(school)


def test_a_role_nobody_holds_is_warned(school, team):
    assert "role_unheld" in warned(school)  # no communicator in the team
    member("carol", school, [Role.COMMUNICATOR])
    assert "role_unheld" not in warned(school)


def test_page_shows_holders_guidance_and_warnings(client, school, team):
    Membership.objects.filter(user=team["fiona"], school=school).update(is_ict_staff=True)
    client.force_login(team["sam"])
    response = client.get(PAGE, {"school": school.slug})
    assert response.status_code == 200
    body = response.content.decode()
    assert "Ian Ingram" in body and "The ICT manager or ICT co-ordinator." in body
    assert "Fiona Fraser (ICT staff)" in body
    assert "No one holds the communicator role yet." in body
    assert reverse("accounts:school", args=[school.slug]) in body  # where roles are given
    client.force_login(team["olivia"])
    body = client.get(PAGE, {"school": school.slug}).content.decode()
    assert reverse("accounts:school", args=[school.slug]) + '"' not in body


def test_page_is_404_for_another_school(client, school, oscar):
    client.force_login(oscar)
    assert client.get(PAGE, {"school": school.slug}).status_code == 404


def test_the_administrator_records_ict_staff_on_the_member_page(client, school, sam, fiona):
    client.force_login(sam)
    url = reverse("accounts:member_edit", args=[school.slug, fiona.pk])
    assert "ICT staff" in client.get(url).content.decode()
    response = client.post(url, {"roles": [Role.FINAL_APPROVER], "is_ict_staff": "on"})
    assert response.status_code == 302
    assert Membership.objects.get(user=fiona, school=school).is_ict_staff
    client.post(url, {"roles": [Role.FINAL_APPROVER]})
    assert not Membership.objects.get(user=fiona, school=school).is_ict_staff
