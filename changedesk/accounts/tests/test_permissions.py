"""The rulebook (`accounts.permissions`): who holds what, who administers a school, and the
pages of a school asked through it, for a superuser, a deactivated member and the rest."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import AnonymousUser
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from changedesk.accounts import permissions
from changedesk.accounts.choices import Role
from changedesk.accounts.models import Delegation, Membership, User
from changedesk.accounts.services import change_roles, create_school, remove_member, set_membership
from changedesk.lib.errors import InvalidAction

pytestmark = pytest.mark.django_db


def loaded(user: User) -> User:
    return permissions.with_roles(user)


# --- The questions. ---


def test_with_roles_loads_once_and_then_costs_nothing(team, school):
    with CaptureQueriesContext(connection) as first:
        sam = loaded(team["sam"])
    assert len(first) == 1  # memberships with their schools and roles: not the user again
    assert sam is not team["sam"]
    assert "memberships" not in getattr(team["sam"], "_prefetched_objects_cache", {})
    with CaptureQueriesContext(connection) as later:
        assert loaded(sam) is sam
        assert permissions.is_school_admin(sam, school)
        assert permissions.roles(sam, school) == {Role.SCHOOL_ADMIN}
        assert permissions.is_member(sam, school)
    assert len(later) == 0


def test_with_roles_loads_what_prefetching_would(team, school, other_school):
    """One query, loading what `prefetch_related` with `select_related` loaded in two: the
    memberships by school name, each with its school, its person and its roles (none, one
    or several)."""
    from django.db.models import Prefetch, prefetch_related_objects

    from changedesk.accounts.models import MembershipRole

    olivia = team["olivia"]
    set_membership(olivia, other_school, [Role.ORIGINATOR, Role.IMPLEMENTER, Role.PEER_REVIEWER])
    third = create_school("Ashdown Infants", "ashdown")
    Membership.objects.create(user=olivia, school=third)  # a member holding no role
    fresh = User.objects.get(pk=olivia.pk)
    prefetch_related_objects(
        [fresh],
        Prefetch(
            "memberships", Membership.objects.select_related("school").prefetch_related("roles")
        ),
    )
    person = User.objects.get(pk=olivia.pk)
    with CaptureQueriesContext(connection) as asked:
        ours = permissions.with_roles(person)
    assert len(asked) == 1

    def shape(person):
        return [
            (m.pk, m.school.pk, m.school.name, m.school.timezone, m.user_id,
             type(m.is_ict_staff), m.is_ict_staff,
             sorted((r.pk, r.role, r.trust_id) for r in m.roles.all()))
            for m in person.memberships.all()
        ]  # fmt: skip

    assert shape(ours) == shape(fresh)
    assert [s[2] for s in shape(ours)] == [
        "Ashdown Infants",
        "Greenfield Primary",
        "Hillside Academy",
    ]
    assert [len(s[7]) for s in shape(ours)] == [0, 2, 3]
    assert all(s[5] is bool for s in shape(ours))
    with CaptureQueriesContext(connection) as later:
        for membership in ours.memberships.all():
            assert membership.user is ours
            for role in membership.roles.all():
                assert role.membership is membership
        assert ours.roles_in(other_school) == {
            Role.ORIGINATOR,
            Role.IMPLEMENTER,
            Role.PEER_REVIEWER,
        }
        assert ours.roles_in(third) == set()
    assert len(later) == 0
    # The loaded managers are real ones: a further filter asks the database.
    hillside = next(m for m in ours.memberships.all() if m.school_id == other_school.pk)
    assert set(hillside.roles.filter(role=Role.IMPLEMENTER).values_list("role", flat=True)) == {
        Role.IMPLEMENTER
    }
    assert ours.memberships.filter(school=third).get().school_id == third.pk
    assert MembershipRole.objects.filter(membership__user=olivia).count() == 5


@pytest.mark.parametrize(
    ("who", "member", "admin"),
    [("sam", True, True), ("olivia", True, False), ("ivan", True, False), ("root", True, True)],
)
def test_who_is_a_member_and_who_administers(team, root, school, who, member, admin):
    user = loaded(root if who == "root" else team[who])
    assert permissions.is_member(user, school) is member
    assert permissions.is_school_admin(user, school) is admin
    assert permissions.is_school_admin_or(user, Role.ORIGINATOR, school) is (
        admin or who == "olivia"
    )


def test_a_superuser_administers_every_school_but_holds_no_role(root, school, other_school):
    user = loaded(root)
    for place in (school, other_school):
        assert permissions.is_member(user, place)
        assert permissions.is_school_admin(user, place)
        assert permissions.roles(user, place) == set()
        assert not permissions.holds(user, Role.FINAL_APPROVER, place)
        assert not permissions.holds_any(user, {Role.ORIGINATOR, Role.COMMUNICATOR}, place)


def test_outsiders_anonymous_and_deactivated_people_hold_nothing(team, oscar, root, school):
    assert not permissions.is_member(loaded(oscar), school)
    assert not permissions.is_school_admin(loaded(oscar), school)
    anonymous = AnonymousUser()
    assert permissions.roles(anonymous, school) == set()
    assert not permissions.is_member(anonymous, school)
    assert not permissions.is_school_admin(anonymous, school)
    assert not permissions.holds_or_superuser(anonymous, Role.COMMUNICATOR, school)
    for user in (team["sam"], root):
        user.is_active = False
        user.save()
        gone = loaded(user)
        assert permissions.roles(gone, school) == set()
        assert not permissions.is_member(gone, school)
        assert not permissions.is_school_admin(gone, school)
        assert not permissions.holds_or_superuser(gone, Role.COMMUNICATOR, school)


def test_holds_or_superuser_takes_a_role_or_a_set(team, root, school):
    olivia = loaded(team["olivia"])
    assert permissions.holds_or_superuser(olivia, Role.ORIGINATOR, school)
    assert permissions.holds_or_superuser(olivia, {Role.VIEWER, Role.IMPLEMENTER}, school)
    assert not permissions.holds_or_superuser(olivia, Role.COMMUNICATOR, school)
    assert not permissions.holds_or_superuser(loaded(team["sam"]), Role.COMMUNICATOR, school)
    assert permissions.holds_or_superuser(loaded(root), Role.COMMUNICATOR, school)


def test_the_separation_of_duties(school):
    assert not permissions.separation_allows(1, 1, Role.PEER_REVIEWER, school)
    assert not permissions.separation_allows(1, 1, Role.FINAL_APPROVER, school)
    assert permissions.separation_allows(1, 1, Role.INITIAL_APPROVER, school)
    assert permissions.separation_allows(2, 1, Role.PEER_REVIEWER, school)
    school.final_approver_may_be_originator = True
    assert permissions.separation_allows(1, 1, Role.FINAL_APPROVER, school)
    assert not permissions.separation_allows(1, 1, Role.PEER_REVIEWER, school)
    assert "peer reviewer" in permissions.separation_error(Role.PEER_REVIEWER)


# --- The school's pages ask it. ---


def test_a_superuser_runs_any_schools_members_and_settings(client, root, school, team):
    client.force_login(root)
    assert client.get(reverse("accounts:school", args=[school.slug])).status_code == 200
    assert client.get(reverse("accounts:member_add", args=[school.slug])).status_code == 200
    response = client.post(
        reverse("accounts:member_edit", args=[school.slug, team["ivan"].pk]),
        {"roles": [Role.IMPLEMENTER, Role.VIEWER]},
    )
    assert response.status_code == 302
    assert team["ivan"].roles_in(school) == {Role.IMPLEMENTER, Role.VIEWER}
    settings_url = reverse("accounts:school_settings", args=[school.slug])
    assert client.get(settings_url).status_code == 200
    # A superuser may name a deputy for an approver, as the school administrator may.
    page = client.get(reverse("accounts:delegations", args=[school.slug])).content.decode()
    assert 'name="approver"' in page


def test_members_without_an_approver_role_see_deputies_but_name_none(client, school, team):
    client.force_login(team["ivan"])
    url = reverse("accounts:delegations", args=[school.slug])
    response = client.get(url)
    assert response.status_code == 200
    assert 'name="deputy"' not in response.content.decode()
    assert client.post(url, {"deputy": team["olivia"].pk}).status_code == 403


def test_the_school_keeps_an_administrator_whoever_asks(school, team):
    sam = Membership.objects.get(user=team["sam"], school=school)
    with pytest.raises(InvalidAction, match="at least one administrator"):
        change_roles(sam, [Role.VIEWER])
    with pytest.raises(InvalidAction, match="at least one administrator"):
        remove_member(sam)
    assert team["sam"].roles_in(school) == {Role.SCHOOL_ADMIN}

    ivan = Membership.objects.get(user=team["ivan"], school=school)
    change_roles(ivan, [Role.SCHOOL_ADMIN])
    change_roles(sam, [Role.VIEWER])
    assert team["sam"].roles_in(school) == {Role.VIEWER}


def test_a_refused_removal_keeps_the_member_and_their_delegations(client, school, team):
    now = timezone.now()
    Delegation.objects.create(
        school=school, approver=team["fiona"], deputy=team["sam"],
        starts_at=now, ends_at=now + timedelta(days=1),
    )  # fmt: skip
    client.force_login(team["sam"])
    response = client.post(
        reverse("accounts:member_edit", args=[school.slug, team["sam"].pk]), {"remove": "1"}
    )
    assert response.status_code == 400
    assert "at least one administrator" in response.content.decode()
    assert Membership.objects.filter(user=team["sam"], school=school).exists()
    assert Delegation.objects.get().revoked_at is None


def test_revoking_twice_says_it_once(client, school, team):
    now = timezone.now()
    delegation = Delegation.objects.create(
        school=school, approver=team["fiona"], deputy=team["ian"],
        starts_at=now, ends_at=now + timedelta(days=1),
    )  # fmt: skip
    client.force_login(team["fiona"])
    url = reverse("accounts:delegation_revoke", args=[school.slug, delegation.pk])
    first = client.post(url, follow=True).content.decode()
    assert "no longer deputises" in first
    second = client.post(url, follow=True).content.decode()
    assert "no longer deputises" not in second


def test_holds_anywhere_asks_once_or_reads_what_is_loaded(team, oscar, root):
    with CaptureQueriesContext(connection) as asked:
        assert permissions.holds_anywhere(team["olivia"], Role.ORIGINATOR)
    assert len(asked) == 1
    olivia, sam = loaded(team["olivia"]), loaded(team["sam"])
    with CaptureQueriesContext(connection) as free:
        assert permissions.holds_anywhere(olivia, Role.ORIGINATOR)
        assert not permissions.holds_anywhere(sam, Role.ORIGINATOR)
    assert len(free) == 0
    assert permissions.holds_anywhere(oscar, Role.ORIGINATOR)  # at another school
    assert not permissions.holds_anywhere(root, Role.ORIGINATOR)  # a superuser holds no role
    assert not permissions.holds_anywhere(AnonymousUser(), Role.ORIGINATOR)


def test_the_navigation_offers_new_rfc_to_originators_only(client, team):
    client.force_login(team["olivia"])
    assert client.get(reverse("accounts:profile")).context["may_raise_rfc"]
    client.force_login(team["sam"])
    assert not client.get(reverse("accounts:profile")).context["may_raise_rfc"]
