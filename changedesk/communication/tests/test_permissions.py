"""Who may write, edit and manage notices, asked of the one rulebook: a communicator (or a
superuser) writes; the RFC's originator writes its notice; the school administrator
manages the settings and the overview but writes nothing; anyone else reads."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser
from django.urls import reverse

from changedesk.accounts.permissions import with_roles
from changedesk.communication import services
from changedesk.communication.models import Notice
from changedesk.lib.errors import NotPermitted

pytestmark = pytest.mark.django_db


@pytest.fixture
def people(team, carol, vera, oscar, root):
    return {**team, "carol": carol, "vera": vera, "oscar": oscar, "root": root}


# who: (is_communicator, may_manage, may_draft the approved RFC, may_edit its notice)
MATRIX = {
    "carol": (True, True, True, True),
    "root": (True, True, True, True),
    "olivia": (False, False, True, True),  # the RFC's originator
    "sam": (False, True, False, False),  # the school administrator
    "ian": (False, False, False, False),
    "vera": (False, False, False, False),
    "oscar": (False, False, False, False),  # another school
}


@pytest.mark.parametrize("who", MATRIX)
def test_who_may_write_and_manage_notices(people, school, approved, who):
    notice, _ = services.draft_from_change(approved.pk, people["carol"])
    user = with_roles(people[who])
    assert (
        services.is_communicator(user, school),
        services.may_manage(user, school),
        services.may_draft(user, approved),
        services.may_edit(user, notice),
    ) == MATRIX[who]


def test_no_one_signed_out_or_deactivated_writes(people, school, approved):
    notice, _ = services.draft_from_change(approved.pk, people["carol"])
    anonymous = AnonymousUser()
    assert not services.may_manage(anonymous, school)
    assert not services.may_edit(anonymous, notice)
    for who in ("carol", "root", "olivia"):
        user = people[who]
        user.is_active = False
        user.save()
        assert not services.may_draft(user, approved)
        assert not services.may_edit(user, notice)
        with pytest.raises(NotPermitted):
            services.update_notice(notice.pk, user, {"title": "x"})


def test_an_originator_of_another_rfc_may_not_edit_this_ones_notice(people, school, approved):
    from changedesk.accounts.choices import Role
    from changedesk.accounts.services import set_membership

    notice, _ = services.draft_from_change(approved.pk, people["carol"])
    set_membership(people["ian"], school, [Role.ORIGINATOR])
    assert not services.may_edit(with_roles(people["ian"]), notice)


def test_a_superuser_writes_and_manages_through_the_pages(client, root, school):
    client.force_login(root)
    assert client.get(reverse("communication:manage", args=[school.slug])).status_code == 200
    assert client.get(reverse("communication:settings", args=[school.slug])).status_code == 200
    response = client.post(
        reverse("communication:create", args=[school.slug]), {"title": "Hello", "what": "x"}
    )
    assert response.status_code == 302
    assert Notice.objects.get().created_by == root


def test_the_school_administrator_manages_but_does_not_write(client, sam, school):
    client.force_login(sam)
    page = client.get(reverse("communication:manage", args=[school.slug]))
    assert page.status_code == 200
    assert "Write a general notice" not in page.content.decode()
    assert client.get(reverse("communication:create", args=[school.slug])).status_code == 403
    response = client.post(
        reverse("communication:create", args=[school.slug]), {"title": "Hello", "what": "x"}
    )
    assert response.status_code == 403
    assert not Notice.objects.exists()


def test_a_refused_publish_shows_the_notice_with_the_errors_status(client, carol, school):
    notice = services.create_notice(school, carol, {"title": "Hello", "what": "x"})
    services.publish_notice(notice.pk, carol)
    client.force_login(carol)
    response = client.post(reverse("communication:publish", args=[school.slug, notice.pk]))
    assert response.status_code == 409
    assert "already published" in response.content.decode()


def test_a_refused_draft_goes_back_to_the_rfc_with_the_reason(client, draft, olivia, school):
    client.force_login(olivia)
    response = client.post(reverse("communication:draft", args=[school.slug, draft.pk]))
    assert response.status_code == 302
    assert response["Location"] == draft.get_absolute_url()
    assert not Notice.objects.exists()
