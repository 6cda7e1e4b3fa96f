"""The release and install request pages as people meet them: who may see and do what,
the forms' refusals, and the query counts of the lists."""

from __future__ import annotations

import pytest
from django.urls import reverse

from changedesk.accounts.choices import Role
from changedesk.accounts.services import set_membership
from changedesk.conftest import member
from changedesk.releases import workflow
from changedesk.releases.models import InstallRequest, Release, ReleaseChange, ReleaseEvent
from changedesk.releases.services import releases as services
from changedesk.releases.services import requests as request_services
from changedesk.releases.tests.releases_factories import make_build, make_release, window


@pytest.fixture
def tom(school):
    return member("tom", school, [Role.VIEWER])


@pytest.fixture
def release(school, rachel):
    return make_release(school, rachel, "Summer refresh 2027", description="New image.")


@pytest.fixture
def req(school, tom):
    return request_services.request_install(school, tom, {"what": "Scratch 3"})


def _pages(release, req):
    return [
        reverse("releases:home"),
        reverse("releases:list"),
        reverse("releases:measurements"),
        reverse("releases:measurements") + "?period=week",
        reverse("releases:requests"),
        reverse("releases:request_create"),
        release.get_absolute_url(),
        req.get_absolute_url(),
    ]


def test_every_member_reads_the_pages(client, release, req, tom):
    client.force_login(tom)
    for url in _pages(release, req):
        response = client.get(url)
        assert response.status_code == 200, url


def test_signed_out_people_are_sent_to_sign_in(client, release, req):
    for url in _pages(release, req):
        response = client.get(url)
        assert response.status_code == 302 and "login" in response["Location"], url


def test_an_outsider_meets_404s(client, release, req, oscar):
    client.force_login(oscar)
    for url in (
        release.get_absolute_url(),
        req.get_absolute_url(),
        reverse("releases:release_edit", args=[release.pk]),
    ):
        assert client.get(url).status_code == 404, url
    assert (
        client.post(
            reverse("releases:release_act", args=[release.pk]), {"action": "cancel", "reason": "x"}
        ).status_code
        == 404
    )
    assert "Summer refresh 2027" not in client.get(reverse("releases:list")).content.decode()


def test_the_release_page(client, school, rachel, release, draft, tom):
    services.add_build(release.pk, rachel, make_build(school, "Laptop image", documented=False))
    services.add_change(release.pk, rachel, draft)
    client.force_login(rachel)
    text = client.get(release.get_absolute_url()).content.decode()
    assert 'aria-current="step">Define' in text
    assert "Laptop image" in text and "Not documented yet" in text
    assert draft.reference in text
    assert "Start building" in text and "Cancel the release" in text
    # Its one build is in it already and the RFC carries it: nothing to add, a sentence says so.
    assert "No build to add" in text and "Build to add" not in text
    assert "No RFC to add" in text and "RFC to take out" in text
    # A member without the role sees no buttons.
    client.force_login(tom)
    text = client.get(release.get_absolute_url()).content.decode()
    assert "Start building" not in text and "Build to add" not in text


@pytest.mark.parametrize(
    "who,status",
    [("rachel", 200), ("sam", 200), ("bella", 403), ("isaac", 403), ("fiona", 403), ("tom", 403)],
)
def test_who_may_define_and_edit(
    client, release, who, status, rachel, sam, bella, isaac, fiona, tom
):
    person = {
        "rachel": rachel,
        "sam": sam,
        "bella": bella,
        "isaac": isaac,
        "fiona": fiona,
        "tom": tom,
    }[who]
    client.force_login(person)
    assert client.get(reverse("releases:release_create")).status_code == status
    assert client.get(reverse("releases:release_edit", args=[release.pk])).status_code == status
    response = client.post(
        reverse("releases:release_act", args=[release.pk]),
        {"action": "cancel", "reason": "Budget."},
    )
    assert response.status_code == (302 if status == 200 else 403)


def test_define_a_release(client, school, rachel):
    client.force_login(rachel)
    response = client.post(
        reverse("releases:release_create"),
        {
            "school": school.slug,
            "title": "Autumn",
            "planned_start": "2027-10-26T08:00",
            "planned_end": "2027-10-30T17:00",
            "manager": rachel.pk,
        },
    )
    release = Release.objects.get()
    assert response.status_code == 302 and response["Location"] == release.get_absolute_url()
    # The window is read in the school's zone (British summer time: UTC+1 on 26 October).
    assert release.planned_start.isoformat() == "2027-10-26T07:00:00+00:00"


def test_bad_input_is_a_form_error(client, school, rachel, release):
    client.force_login(rachel)
    response = client.post(
        reverse("releases:release_edit", args=[release.pk]),
        {"title": "X", "planned_start": "2027-10-30T08:00", "planned_end": "2027-10-26T08:00"},
    )
    assert response.status_code == 400
    assert "The end must be after the start." in response.content.decode()
    response = client.post(reverse("releases:release_create"), {"school": school.slug})
    assert response.status_code == 400
    assert Release.objects.count() == 1


def test_a_refused_step_is_a_message(client, release, rachel):
    client.force_login(rachel)
    response = client.post(
        reverse("releases:release_act", args=[release.pk]), {"action": "build"}, follow=True
    )
    assert "Add at least one build" in response.content.decode()
    assert Release.objects.get(pk=release.pk).state == "define"
    response = client.post(reverse("releases:release_act", args=[release.pk]), {"action": "fly"})
    assert response.status_code == 400


def test_add_and_take_out_a_build_and_an_rfc(client, school, rachel, release, draft):
    build = make_build(school, "Laptop image")
    client.force_login(rachel)
    url = reverse("releases:release_builds", args=[release.pk])
    assert client.post(url, {"op": "add", "build": build.pk}).status_code == 302
    assert list(release.builds.all()) == [build]
    assert client.post(url, {"op": "add", "build": 99999}).status_code == 400
    assert client.post(url, {"op": "remove", "build": build.pk}).status_code == 302
    assert not release.builds.exists()
    url = reverse("releases:release_changes", args=[release.pk])
    assert client.post(url, {"op": "add", "change": draft.pk}).status_code == 302
    assert ReleaseChange.objects.get().change == draft
    kinds = list(ReleaseEvent.objects.filter(release=release).values_list("kind", flat=True))
    assert kinds == ["create", "add_build", "remove_build", "add_change"]


def test_a_member_without_the_role_may_not_add(client, school, release, fiona):
    client.force_login(fiona)
    url = reverse("releases:release_builds", args=[release.pk])
    build = make_build(school, "Laptop image")
    assert client.post(url, {"op": "add", "build": build.pk}).status_code == 403
    assert not release.builds.exists()


def test_home_shows_what_to_watch(client, school, rachel, release, req, tom):
    client.force_login(tom)
    text = client.get(reverse("releases:home")).content.decode()
    assert "Summer refresh 2027" in text
    assert "install request waiting" in text and "Scratch 3" in text


def test_a_request_through_the_pages(client, school, tom, isaac):
    client.force_login(tom)
    response = client.post(
        reverse("releases:request_create"), {"school": school.slug, "what": "", "reason": "x"}
    )
    assert response.status_code == 400 and not InstallRequest.objects.exists()
    response = client.post(
        reverse("releases:request_create"),
        {"school": school.slug, "what": "Scratch 3", "where": "Year 6"},
    )
    found = InstallRequest.objects.get()
    assert response.status_code == 302
    act = reverse("releases:request_act", args=[found.pk])
    assert client.post(act, {"step": "accept"}).status_code == 403
    client.force_login(isaac)
    response = client.post(act, {"step": "decline", "answer": ""})
    assert response.status_code == 400 and "Say why" in response.content.decode()
    assert client.post(act, {"step": "accept"}).status_code == 302
    assert InstallRequest.objects.get().assigned_to == isaac
    assert client.post(act, {"step": "done"}).status_code == 302
    assert InstallRequest.objects.get().state == "done"


def test_figures_page(client, school, tom):
    client.force_login(tom)
    text = client.get(reverse("releases:measurements")).content.decode()
    assert "Builds installed" in text and "Services still to document" in text
    assert text.count("<tr>") >= 13


# --- Query counts. ---


@pytest.fixture
def two_schools(school, other_school, rachel, oscar):
    """rachel as a release manager of both schools, each with releases and requests."""
    set_membership(rachel, other_school, [Role.RELEASE_MANAGER])
    for n in range(3):
        for where, person in ((school, rachel), (other_school, rachel)):
            release = make_release(where, person, f"Release {n} {where.slug}", **window(n + 1))
            workflow.perform(release.pk, "cancel", person, {"reason": "Test."}) if n == 2 else None
            request_services.request_install(where, person, {"what": f"Thing {n}"})
    return rachel


BUDGET = {"releases:list": 8, "releases:requests": 8, "releases:home": 13}


@pytest.mark.parametrize("name", list(BUDGET))
def test_the_lists_query_counts(client, school, rachel, name, django_assert_max_num_queries):
    for n in range(3):
        make_release(school, rachel, f"Release {n}", **window(n + 1))
        request_services.request_install(school, rachel, {"what": f"Thing {n}"})
    client.force_login(rachel)
    with django_assert_max_num_queries(BUDGET[name]):
        response = client.get(reverse(name))
    assert response.status_code == 200


@pytest.mark.parametrize("name", list(BUDGET))
def test_the_lists_query_counts_for_two_schools(
    client, two_schools, name, django_assert_max_num_queries
):
    client.force_login(two_schools)
    with django_assert_max_num_queries(BUDGET[name]):
        response = client.get(reverse(name))
    assert response.status_code == 200
    assert "Hillside" in response.content.decode()


def test_the_release_page_query_count(
    client, school, rachel, release, draft, django_assert_max_num_queries
):
    for n in range(4):
        services.add_build(release.pk, rachel, make_build(school, f"Build {n}"))
    services.add_change(release.pk, rachel, draft)
    client.force_login(rachel)
    with django_assert_max_num_queries(16):
        assert client.get(release.get_absolute_url()).status_code == 200


def test_a_window_outside_the_policy_is_flagged(client, school, rachel, release):
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from changedesk.releases.models import ReleasePolicy, ReleaseWindow

    london = ZoneInfo("Europe/London")
    policy = ReleasePolicy.objects.create(
        school=school, version=1, rules="New computers only in summer.", state="published"
    )
    ReleaseWindow.objects.create(
        school=school,
        policy=policy,
        name="Summer holiday 2027",
        starts_at=datetime(2027, 7, 21, tzinfo=london),
        ends_at=datetime(2027, 9, 1, tzinfo=london),
    )
    client.force_login(rachel)
    inside = {
        "planned_start": datetime(2027, 7, 26, 8, tzinfo=london),
        "planned_end": datetime(2027, 8, 6, 17, tzinfo=london),
    }
    services.update_release(release.pk, rachel, inside)
    assert (
        "Outside the release policy" not in client.get(release.get_absolute_url()).content.decode()
    )
    outside = {
        "planned_start": datetime(2027, 10, 26, 8, tzinfo=london),
        "planned_end": datetime(2027, 10, 28, 17, tzinfo=london),
    }
    services.update_release(release.pk, rachel, outside)
    text = client.get(release.get_absolute_url()).content.decode()
    assert "Outside the release policy" in text and "Summer holiday 2027" in text
