"""Who may plan and run the committee's meetings, asked of the one rulebook: a superuser
administers a committee like the school administrator; the chair runs their own meeting;
other members, outsiders and deactivated administrators may do neither."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser
from django.urls import reverse
from rest_framework.test import APIClient

from changedesk.changes.choices import State
from changedesk.committee import services
from changedesk.committee.models import Meeting
from changedesk.lib.errors import NotPermitted

pytestmark = pytest.mark.django_db

MEETINGS = "/api/v1/committee/meetings/"


def url(name, meeting, *extra):
    return reverse(f"committee:{name}", args=[meeting.school.slug, meeting.pk, *extra])


@pytest.mark.parametrize(
    ("who", "may"),
    [("sam", True), ("fiona", True), ("root", True), ("ian", False), ("oscar", False)],
)
def test_who_may_run_a_meeting(team, oscar, root, meeting, who, may):
    people = {**team, "oscar": oscar, "root": root}
    assert services.may_run(people[who], meeting) is may


def test_no_one_signed_out_or_deactivated_runs_a_meeting(team, root, meeting):
    assert not services.may_run(AnonymousUser(), meeting)
    for user in (team["sam"], team["fiona"], root):
        user.is_active = False
        user.save()
        assert not services.may_run(user, meeting)
        with pytest.raises(NotPermitted):
            services.build_agenda(meeting.pk, user)


def test_a_superuser_plans_a_meeting_like_a_school_administrator(client, root, school, team):
    client.force_login(root)
    listing = client.get(reverse("committee:list", args=[school.slug])).content.decode()
    assert "Plan a meeting" in listing
    create = reverse("committee:create", args=[school.slug])
    assert client.get(create).status_code == 200
    response = client.post(
        create, {"title": "CAC, summer 1", "held_at": "2025-05-06T16:00", "chair": team["fiona"].pk}
    )
    assert response.status_code == 302
    assert Meeting.objects.get().created_by == root
    settings = reverse("committee:settings", args=[school.slug])
    assert client.get(settings).status_code == 200


def test_a_superuser_plans_a_meeting_through_the_api(root, team):
    client = APIClient()
    client.force_authenticate(root)
    response = client.post(
        MEETINGS,
        {
            "school": "greenfield",
            "title": "CAC",
            "held_at": "2025-05-06T16:00:00+01:00",
            "chair": "fiona",
        },
    )
    assert response.status_code == 201, response.json()
    assert response.json()["may_run"] is True


def test_a_superuser_runs_a_meeting_and_decides_for_the_approver_present(
    client, root, team, meeting, waiting_initial, waiting_final
):
    client.force_login(root)
    assert client.post(url("build_agenda", meeting)).status_code == 302
    response = client.post(url("attendees", meeting), {"members_present": [team["ian"].pk]})
    assert response.status_code == 302
    item = meeting.items.get(change=waiting_initial)
    prefix = f"item{item.pk}"
    response = client.post(
        url("decide", meeting, item.pk),
        {
            f"{prefix}-decision": "approve",
            f"{prefix}-minute": "Agreed.",
            f"{prefix}-version": waiting_initial.version,
        },
    )
    assert response.status_code == 302
    item.refresh_from_db()
    assert (item.decided_by, item.decided_for) == (root, team["ian"])
    waiting_initial.refresh_from_db()
    assert waiting_initial.state == State.PLANNING


def test_the_chair_runs_their_meeting_but_may_not_plan_another(client, team, meeting, school):
    client.force_login(team["fiona"])
    assert client.get(url("edit", meeting)).status_code == 200
    assert client.get(reverse("committee:create", args=[school.slug])).status_code == 403
    assert client.get(reverse("committee:settings", args=[school.slug])).status_code == 403
    with pytest.raises(NotPermitted):
        services.create_meeting(school, team["fiona"], {"title": "Mine"})


def test_an_empty_agenda_build_says_so_as_information(client, team, meeting):
    client.force_login(team["sam"])
    page = client.post(url("build_agenda", meeting), follow=True).content.decode()
    assert "message-info" in page
    assert "No RFC awaiting approval is missing from the agenda." in page
