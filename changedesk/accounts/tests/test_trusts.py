"""Trusts: trust roles reach every school of the trust, and a school's own roles stay its own."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from changedesk.accounts import trusts
from changedesk.accounts.choices import Role, TrustRole
from changedesk.accounts.models import (
    Delegation,
    Invitation,
    Membership,
    MembershipRole,
    School,
    Trust,
)
from changedesk.accounts.permissions import (
    holds,
    is_school_admin,
    is_trust_admin,
    with_roles,
)
from changedesk.accounts.services import (
    accept_invitation,
    change_roles,
    create_school,
    invite,
    remove_member,
    set_membership,
)
from changedesk.changes.models import Change
from changedesk.conftest import _person, member
from changedesk.lib.errors import InvalidAction


def test_a_trust_technician_acts_in_every_school_of_the_trust_without_joining_each(
    trust, tara, school, other_school
):
    person = with_roles(tara)
    for place in (school, other_school):
        assert holds(person, Role.ORIGINATOR, place)
        assert holds(person, Role.IMPLEMENTER, place)
        assert holds(person, Role.VIEWER, place)  # as the trust's administrator
        # No trust role approves or administers a school: its roles stay its own.
        assert not is_school_admin(person, place)
        assert not holds(person, Role.FINAL_APPROVER, place)
        assert not holds(person, Role.INITIAL_APPROVER, place)
    assert is_trust_admin(person, trust)
    # The lists' one scoping rule sees both schools' rows.
    assert set(Change.objects.visible_to(person).query.where.children[0].rhs) == {
        school.pk,
        other_school.pk,
    }


def test_a_school_joining_the_trust_brings_the_trust_s_people_and_leaving_takes_them(
    trust, tara, school
):
    third = create_school("Riverside Infants", "riverside")
    assert not Membership.objects.filter(user=tara, school=third).exists()
    trusts.add_school(trust, third)
    assert holds(with_roles(tara), Role.ORIGINATOR, third)
    member("rhona", third, [Role.SCHOOL_ADMIN])  # its own administrator
    trusts.remove_school(third)
    assert not Membership.objects.filter(user=tara, school=third).exists()
    assert not holds(with_roles(tara), Role.ORIGINATOR, third)
    assert holds(with_roles(tara), Role.ORIGINATOR, school)


def test_a_school_may_not_leave_without_an_administrator_of_its_own(trust, tara, other_school):
    with pytest.raises(InvalidAction, match="no administrator of its own"):
        trusts.remove_school(other_school)
    other_school.refresh_from_db()
    assert other_school.trust_id == trust.pk


def test_a_school_belongs_to_one_trust_at_a_time(trust, school):
    second = trusts.create_trust("Eastbrook Trust", "eastbrook")
    with pytest.raises(InvalidAction, match="must leave that trust first"):
        trusts.add_school(second, school)


def test_the_school_s_own_roles_stay_when_the_trust_s_go(trust, school, olivia):
    # Olivia is the school's own originator and implementer; the trust makes her a peer
    # reviewer and a technician too.
    trusts.set_trust_roles(
        trust, olivia, [TrustRole.TRUST_TECHNICIAN, TrustRole.TRUST_PEER_REVIEWER]
    )
    membership = Membership.objects.get(user=olivia, school=school)
    assert membership.own_roles == [Role.ORIGINATOR, Role.IMPLEMENTER]
    assert membership.trust_roles == [Role.PEER_REVIEWER]
    assert MembershipRole.objects.filter(membership=membership).count() == 3
    trusts.set_trust_roles(trust, olivia, [])
    membership = Membership.objects.get(user=olivia, school=school)
    assert membership.role_list == [Role.ORIGINATOR, Role.IMPLEMENTER]


def test_a_role_held_through_the_trust_stays_when_the_school_takes_its_own_away(
    trust, tara, school, sam
):
    membership = Membership.objects.get(user=tara, school=school)
    change_roles(membership, [Role.ORIGINATOR, Role.FINAL_APPROVER])
    membership = Membership.objects.get(user=tara, school=school)
    assert membership.own_roles == [Role.ORIGINATOR, Role.FINAL_APPROVER]
    change_roles(membership, [])
    membership = Membership.objects.get(user=tara, school=school)
    assert membership.own_roles == []
    assert Role.ORIGINATOR in membership.trust_roles
    assert not holds(with_roles(tara), Role.FINAL_APPROVER, school)


def test_a_school_may_not_remove_someone_who_holds_roles_through_the_trust(trust, tara, school):
    with pytest.raises(InvalidAction, match="through Northfield Learning Trust"):
        remove_member(Membership.objects.get(user=tara, school=school))


def test_leaving_the_trust_ends_the_places_made_for_it_and_their_delegations(trust, school, fiona):
    pat = _person("pat", "Pat", "Price", "Trust network manager")
    trusts.set_trust_roles(trust, pat, [TrustRole.TRUST_PEER_REVIEWER])
    now = timezone.now()
    delegation = Delegation.objects.create(
        school=school,
        approver=fiona,
        deputy=pat,
        role=Role.FINAL_APPROVER,
        starts_at=now,
        ends_at=now + timedelta(days=7),
    )
    trusts.set_trust_roles(trust, pat, [])
    assert not Membership.objects.filter(user=pat).exists()
    delegation.refresh_from_db()
    assert delegation.revoked_at is not None


def test_the_trust_keeps_an_administrator(trust, tara):
    with pytest.raises(InvalidAction, match="at least one administrator"):
        trusts.set_trust_roles(trust, tara, [TrustRole.TRUST_TECHNICIAN])
    with pytest.raises(ValidationError, match="Unknown trust role"):
        trusts.set_trust_roles(trust, tara, ["final_approver"])


def test_syncing_costs_the_same_queries_however_many_schools(trust, tara):
    pat = _person("pat", "Pat", "Price")
    with CaptureQueriesContext(connection) as few:
        trusts.set_trust_roles(trust, pat, [TrustRole.TRUST_TECHNICIAN])
    for n in range(12):
        trusts.add_school(trust, create_school(f"School {n}", f"school-{n}"))
    quinn = _person("quinn", "Quinn", "Quayle")
    with CaptureQueriesContext(connection) as many:
        trusts.set_trust_roles(trust, quinn, [TrustRole.TRUST_TECHNICIAN])
    assert len(many) == len(few)
    assert Membership.objects.filter(user=quinn).count() == School.objects.count()


# --- The pages. ---


def test_the_trust_page_is_seen_by_its_people_and_no_one_else(client, trust, tara, oscar, olivia):
    url = reverse("accounts:trust", args=[trust.slug])
    client.force_login(tara)
    page = client.get(url)
    assert page.status_code == 200
    body = page.content.decode()
    assert "Greenfield Primary" in body and "Hillside Academy" in body
    assert "Tara Thomas" in body and "Add a school" in body
    # Olivia is a member of one of its schools, not of the trust.
    client.force_login(olivia)
    assert client.get(url).status_code == 404
    assert client.get(reverse("accounts:trust_school_add", args=[trust.slug])).status_code == 404
    # A trust technician sees the page, but may not change it.
    trusts.set_trust_roles(trust, oscar, [TrustRole.TRUST_TECHNICIAN])
    client.force_login(oscar)
    body = client.get(url).content.decode()
    assert "Tara Thomas" in body and "Add a school" not in body
    assert client.get(reverse("accounts:trust_school_add", args=[trust.slug])).status_code == 403
    assert (
        client.post(
            reverse("accounts:trust_person_edit", args=[trust.slug, tara.pk]), {"roles": []}
        ).status_code
        == 403
    )
    client.logout()
    assert client.get(url).status_code == 302  # to sign in


def test_the_trust_administrator_adds_a_school_and_a_person(client, trust, tara, ian):
    client.force_login(tara)
    response = client.post(
        reverse("accounts:trust_school_add", args=[trust.slug]),
        {
            "name": "Riverside Infants",
            "slug": "riverside",
            "timezone": "Europe/London",
            "admin_email": "head@riverside.example",
        },
    )
    assert response.status_code == 302
    riverside = School.objects.get(slug="riverside")
    assert riverside.trust == trust
    # Its administrator is its own, invited; the trust's administrator only reads it.
    invitation = Invitation.objects.get(school=riverside)
    assert (invitation.email, invitation.roles) == ("head@riverside.example", ["school_admin"])
    assert not is_school_admin(with_roles(tara), riverside)
    assert holds(with_roles(tara), Role.VIEWER, riverside)
    # A slug taken, a zone unknown: the form says so.
    again = client.post(
        reverse("accounts:trust_school_add", args=[trust.slug]),
        {"name": "Riverside", "slug": "riverside", "timezone": "Mars/Olympus"},
    )
    assert again.status_code == 400
    assert "short name exists already" in again.content.decode()
    assert "not a known time zone" in again.content.decode()

    add = reverse("accounts:trust_person_add", args=[trust.slug])
    response = client.post(
        add, {"person": "IAN@greenfield.example", "roles": ["trust_peer_reviewer"]}
    )
    assert response.status_code == 302
    assert holds(with_roles(ian), Role.PEER_REVIEWER, riverside)
    nobody = client.post(add, {"person": "nobody", "roles": ["trust_technician"]})
    assert nobody.status_code == 400 and "No one in the trust" in nobody.content.decode()
    # An account outside the trust's schools is no one the trust may reach (nor learn of).
    outsider = _person("xena", "Xena", "Example")
    elsewhere = create_school("Far Away School", "far-away")
    set_membership(outsider, elsewhere, [Role.ORIGINATOR])
    refused = client.post(add, {"person": "xena", "roles": ["trust_technician"]})
    assert refused.status_code == 400 and "No one in the trust" in refused.content.decode()
    no_roles = client.post(add, {"person": "ian"})
    assert no_roles.status_code == 400 and "at least one trust role" in no_roles.content.decode()
    # Taking every role away: Ian leaves the trust; his own school's roles stay.
    edit = reverse("accounts:trust_person_edit", args=[trust.slug, ian.pk])
    assert client.get(edit).status_code == 200
    assert client.post(edit, {}).status_code == 302
    assert not Membership.objects.filter(user=ian, school=riverside).exists()
    assert holds(with_roles(ian), Role.INITIAL_APPROVER, Membership.objects.get(user=ian).school)
    assert client.get(edit).status_code == 404
    # The last administrator stays.
    mine = client.post(
        reverse("accounts:trust_person_edit", args=[trust.slug, tara.pk]),
        {"roles": ["trust_technician"]},
    )
    assert mine.status_code == 400 and "at least one administrator" in mine.content.decode()


def test_a_school_s_members_show_the_roles_held_through_the_trust(client, trust, tara, sam, school):
    client.force_login(sam)
    body = client.get(reverse("accounts:school", args=[school.slug])).content.decode()
    assert "Part of" in body and "Northfield Learning Trust" in body
    assert 'Originator <span class="muted">(trust)</span>' in body
    edit = client.get(reverse("accounts:member_edit", args=[school.slug, tara.pk])).content.decode()
    assert "Also holds through Northfield Learning Trust" in edit
    body = client.get(reverse("accounts:schools")).content.decode()
    assert "Northfield Learning Trust" not in body  # Sam holds no trust role
    client.force_login(tara)
    assert "Northfield Learning Trust" in client.get(reverse("accounts:schools")).content.decode()
    assert "Northfield Learning Trust" in client.get(reverse("accounts:trusts")).content.decode()


# --- The API. ---


def _api(user) -> APIClient:
    api = APIClient()
    api.force_authenticate(user)
    return api


def test_the_api_lists_the_caller_s_trusts(trust, tara, olivia, root):
    body = _api(tara).get("/api/v1/trusts/").json()
    assert [t["slug"] for t in body] == ["northfield"]
    assert body[0]["roles"] == ["trust_admin", "trust_technician"]
    assert [s["slug"] for s in body[0]["schools"]] == ["greenfield", "hillside"]
    assert body[0]["people"] == [
        {
            "username": "tara",
            "display_name": "Tara Thomas",
            "roles": ["trust_admin", "trust_technician"],
        }
    ]
    assert _api(olivia).get("/api/v1/trusts/").json() == []
    assert _api(olivia).get("/api/v1/trusts/northfield/").status_code == 404
    assert _api(root).get("/api/v1/trusts/northfield/").json()["roles"] == []
    assert APIClient().get("/api/v1/trusts/").status_code in (401, 403)


def test_the_api_adds_a_school_and_sets_trust_roles(trust, tara, oscar, ian):
    api = _api(tara)
    made = api.post(
        "/api/v1/trusts/northfield/schools/",
        {"name": "Riverside Infants", "slug": "riverside"},
        format="json",
    )
    assert made.status_code == 201, made.content
    assert made.json() == {
        "slug": "riverside",
        "name": "Riverside Infants",
        "timezone": "Europe/London",
    }
    bad = api.post(
        "/api/v1/trusts/northfield/schools/",
        {"name": 12, "slug": "riverside", "colour": "red"},
        format="json",
    )
    assert bad.status_code == 400
    assert set(bad.json()) >= {"name", "colour"}
    taken = api.post(
        "/api/v1/trusts/northfield/schools/", {"name": "R", "slug": "riverside"}, format="json"
    )
    assert taken.status_code == 400 and "exists already" in taken.json()["slug"][0]
    assert School.objects.filter(slug="riverside").count() == 1

    put = api.put(
        "/api/v1/trusts/northfield/people/ian/", {"roles": ["trust_peer_reviewer"]}, format="json"
    )
    assert put.status_code == 200 and put.json() == {"roles": ["trust_peer_reviewer"]}
    assert holds(with_roles(ian), Role.PEER_REVIEWER, School.objects.get(slug="riverside"))
    wrong = api.put(
        "/api/v1/trusts/northfield/people/ian/", {"roles": ["final_approver"]}, format="json"
    )
    assert wrong.status_code == 400 and "roles" in wrong.json()
    assert api.delete("/api/v1/trusts/northfield/people/ian/").status_code == 204
    assert api.delete("/api/v1/trusts/northfield/people/ian/").status_code == 404
    last = api.put("/api/v1/trusts/northfield/people/tara/", {"roles": []}, format="json")
    assert last.status_code == 400 and "at least one administrator" in last.json()["detail"]
    # A trust technician may read but not write.
    trusts.set_trust_roles(trust, oscar, [TrustRole.TRUST_TECHNICIAN])
    denied = _api(oscar).put("/api/v1/trusts/northfield/people/ian/", {"roles": []}, format="json")
    assert denied.status_code == 403


# --- The command line. ---


def test_the_trust_command(capsys, school, other_school, sam):
    from changedesk import cli

    assert cli.main(["trust", "add", "Northfield Learning Trust", "--slug", "northfield"]) == 0
    assert cli.main(["trust", "add-school", "northfield", "greenfield"]) == 0
    assert cli.main(["trust", "roles", "northfield", "sam", "trust_admin"]) == 0
    assert cli.main(["trust", "list"]) == 0
    out = capsys.readouterr().out
    assert "Greenfield Primary is in Northfield Learning Trust." in out
    assert "Sam Singh is trust_admin of Northfield Learning Trust." in out
    assert "northfield  Northfield Learning Trust  1        1" in out
    assert cli.main(["trust", "roles", "northfield", "sam", "mayor"]) == 1
    assert "Unknown trust role mayor" in capsys.readouterr().err
    assert cli.main(["trust", "add-school", "nowhere", "greenfield"]) == 1
    assert "no trust has the slug 'nowhere'" in capsys.readouterr().err
    assert cli.main(["trust", "remove-school", "greenfield"]) == 0
    assert "has left Northfield Learning Trust" in capsys.readouterr().out


def test_the_change_log_narrows_to_a_trust_s_schools(client, trust, tara, school, oscar):
    from changedesk.changes.services import create_change
    from changedesk.conftest import REQUEST

    third = create_school("Riverside Infants", "riverside")
    trusts.set_trust_roles(
        trusts.create_trust("Eastbrook Trust", "eastbrook"),
        tara,
        [TrustRole.TRUST_ADMIN, TrustRole.TRUST_TECHNICIAN],
    )
    trusts.add_school(Trust.objects.get(slug="eastbrook"), third)
    create_change(school, tara, {**REQUEST, "title": "Northfield firewall rule"})
    create_change(third, tara, {**REQUEST, "title": "Eastbrook filtering policy"})
    client.force_login(tara)
    page = client.get(reverse("changes:list"), {"trust": "northfield"}).content.decode()
    assert "Northfield firewall rule" in page and "Eastbrook filtering policy" not in page
    both = client.get(reverse("changes:list")).content.decode()
    assert "Northfield firewall rule" in both and "Eastbrook filtering policy" in both
    body = _api(tara).get("/api/v1/changes/", {"trust": "eastbrook"}).json()
    assert [c["title"] for c in body["results"]] == ["Eastbrook filtering policy"]
    # Another trust's slug shows nothing of it to someone outside it.
    assert _api(oscar).get("/api/v1/changes/", {"trust": "eastbrook"}).json()["results"] == []


# --- What the review found. ---


def test_accepting_an_invitation_keeps_the_trust_s_roles_the_trust_s(trust, school, sam):
    tess = _person("tess", "Tess", "Tate")
    invitation = invite(school, tess.email, [Role.VIEWER], sam)
    trusts.set_trust_roles(trust, tess, [TrustRole.TRUST_TECHNICIAN])
    accept_invitation(invitation, tess)
    membership = Membership.objects.get(user=tess, school=school)
    assert membership.own_roles == [Role.VIEWER]
    trusts.set_trust_roles(trust, tess, [])
    assert Membership.objects.get(user=tess, school=school).role_list == [Role.VIEWER]


def test_a_place_the_school_takes_over_stays_when_the_trust_s_roles_go(trust, school):
    tess = _person("tess", "Tess", "Tate")
    trusts.set_trust_roles(trust, tess, [TrustRole.TRUST_TECHNICIAN])
    set_membership(tess, school, [])  # the school keeps her, with no roles of its own yet
    trusts.set_trust_roles(trust, tess, [])
    assert Membership.objects.filter(user=tess, school=school).exists()
    assert not Membership.objects.filter(user=tess).exclude(school=school).exists()


def test_the_trust_s_administrator_cannot_give_themself_a_school_s_roles(
    client, trust, tara, school
):
    client.force_login(tara)
    edit = reverse("accounts:member_edit", args=[school.slug, tara.pk])
    assert client.post(edit, {"roles": [Role.FINAL_APPROVER]}).status_code == 403
    assert not holds(with_roles(tara), Role.FINAL_APPROVER, school)


def test_a_trust_s_schools_keep_one_time_zone(trust):
    tokyo = create_school("Tokyo International", "tokyo", timezone="Asia/Tokyo")
    with pytest.raises(InvalidAction, match="one time zone"):
        trusts.add_school(trust, tokyo)
    tokyo.refresh_from_db()
    assert tokyo.trust_id is None
