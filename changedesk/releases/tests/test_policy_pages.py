"""The release policy's pages: who sees and does what, the form's refusals, the print, the
board's section, and the queries."""

from __future__ import annotations

from datetime import date

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from changedesk.accounts.choices import Role
from changedesk.accounts.services import set_membership
from changedesk.communication.services import settings_for
from changedesk.releases.models import ReleasePolicy
from changedesk.releases.services import policy as services

pytestmark = pytest.mark.django_db

SUMMER = {"name": "Summer holidays", "first_day": date(2027, 7, 22), "last_day": date(2027, 8, 31)}
RULES = "New computers are installed only in the release windows.\nNo releases during exams."


@pytest.fixture
def published(school, rachel):
    services.save_draft(school, rachel, {"title": "Greenfield release policy", "rules": RULES},
                        [SUMMER])  # fmt: skip
    return services.publish(school, rachel, "First version.")


@pytest.fixture
def drafted(school, rachel, published):
    return services.save_draft(school, rachel, {"rules": RULES + "\nA rule in the draft."})


def url(name, school="greenfield", *args):
    return f"{reverse(f'releases:{name}', args=args)}?school={school}"


def form_data(**more):
    data = {
        "school": "greenfield",
        "revision": services.NO_DRAFT,
        "title": "Release policy",
        "summary": "",
        "rules": RULES,
        "windows-TOTAL_FORMS": "3",
        "windows-INITIAL_FORMS": "0",
        "windows-MIN_NUM_FORMS": "0",
        "windows-MAX_NUM_FORMS": "50",
        "windows-0-name": "Summer holidays",
        "windows-0-first_day": "2027-07-22",
        "windows-0-last_day": "2027-08-31",
        "windows-1-name": "Easter holidays",
        "windows-1-first_day": "2027-03-22",
        "windows-1-last_day": "2027-04-02",
    }
    data.update(more)
    return data


# --- Who may. ---


def test_anonymous_people_are_sent_to_sign_in(client, school, published):
    for name in ("policy", "policy_edit", "policy_print"):
        response = client.get(url(name))
        assert response.status_code == 302 and "/login" in response["Location"], name
    response = client.get(url("policy_version", "greenfield", 1))
    assert response.status_code == 302
    for name in ("policy_publish", "policy_discard"):
        assert client.post(reverse(f"releases:{name}"), {"school": "greenfield"}).status_code == 302


def test_every_member_reads_the_policy_in_force(client, school, team, bella, isaac, drafted):
    for person in (team["fiona"], team["olivia"], bella, isaac):
        client.force_login(person)
        page = client.get(url("policy"))
        assert page.status_code == 200
        text = page.content.decode()
        assert "Greenfield release policy" in text and "version 1, in force" in text
        assert "No releases during exams." in text
        assert "Summer holidays" in text and "Thu 22 July 2027" in text
        assert "A rule in the draft." not in text  # the draft is the writers'
        assert "Publish the draft" not in text
        printed = client.get(url("policy_print"))
        assert (
            printed.status_code == 200 and "No releases during exams." in printed.content.decode()
        )
        assert client.get(url("policy_version", "greenfield", 1)).status_code == 200
        assert client.get(url("policy_version", "greenfield", 2)).status_code == 404  # the draft


def test_members_without_the_role_may_not_write(client, school, team, bella, isaac, drafted):
    for person in (team["fiona"], team["olivia"], bella, isaac):
        client.force_login(person)
        assert client.get(url("policy_edit")).status_code == 403
        assert client.post(url("policy_edit"), form_data()).status_code == 403
        assert (
            client.post(reverse("releases:policy_publish"), {"school": "greenfield"}).status_code
            == 403
        )
        assert (
            client.post(reverse("releases:policy_discard"), {"school": "greenfield"}).status_code
            == 403
        )
    assert services.draft_of(school) == drafted
    assert services.current(school).version == 1


def test_another_schools_people_get_404(client, school, oscar, published):
    client.force_login(oscar)
    for name in ("policy", "policy_edit", "policy_print"):
        assert client.get(url(name)).status_code == 404, name
    assert client.get(url("policy_version", "greenfield", 1)).status_code == 404
    assert (
        client.post(reverse("releases:policy_publish"), {"school": "greenfield"}).status_code == 404
    )
    # Their own school: no policy yet.
    page = client.get(reverse("releases:policy"))
    assert page.status_code == 200 and "No policy is published yet" in page.content.decode()


@pytest.mark.parametrize("who", ["rachel", "sam"])
def test_the_release_manager_and_the_school_admin_write_and_publish(
    client, school, team, rachel, who
):
    person = rachel if who == "rachel" else team["sam"]
    client.force_login(person)
    assert client.get(url("policy_edit")).status_code == 200
    response = client.post(url("policy_edit"), form_data())
    assert response.status_code == 302, response.content.decode()[:2000]
    draft = services.draft_of(school)
    assert [w.name for w in draft.windows.order_by("starts_at")] == [
        "Easter holidays",
        "Summer holidays",
    ]
    page = client.get(url("policy")).content.decode()
    assert "Draft: Release policy" in page and "Publish the draft" in page
    assert client.get(url("policy_version", "greenfield", draft.version)).status_code == 200
    response = client.post(
        reverse("releases:policy_publish"),
        {"school": "greenfield", "comment": "Two windows.", "revision": services.revision(draft)},
    )
    assert response.status_code == 302
    policy = services.current(school)
    assert (policy.version, policy.published_by, policy.comment) == (1, person, "Two windows.")
    # A new draft, discarded.
    client.post(url("policy_edit"), form_data(rules="Only one rule."))
    assert services.draft_of(school).rules == "Only one rule."
    assert (
        client.post(reverse("releases:policy_discard"), {"school": "greenfield"}).status_code == 302
    )
    assert services.draft_of(school) is None
    page = client.get(url("policy")).content.decode()
    assert "Two windows." in page  # the versions list says what changed


def test_the_edit_form_starts_from_the_version_in_force(client, rachel, published):
    client.force_login(rachel)
    page = client.get(url("policy_edit")).content.decode()
    assert "Greenfield release policy" in page and 'value="2027-07-22"' in page
    assert 'name="windows-TOTAL_FORMS" value="4"' in page  # the window and three empty rows


# --- The form's refusals. ---


@pytest.mark.parametrize(
    ("data", "says"),
    [
        ({"windows-1-first_day": "2027-08-01", "windows-1-last_day": "2027-08-05"}, "overlap"),
        (
            {"windows-1-first_day": "2027-04-05", "windows-1-last_day": "2027-04-01"},
            "before its first",
        ),
        (
            {"windows-1-first_day": "1850-04-05", "windows-1-last_day": "1850-04-06"},
            "between 2000 and 2100",
        ),
        ({"windows-1-last_day": ""}, "name, first day and last day"),
        ({"windows-1-last_day": "not a day"}, "Enter a valid date"),
        ({"rules": "  "}, "This field is required"),
        ({"rules": "-\n*"}, "at least one rule"),
        ({"title": ""}, "This field is required"),
        ({"windows-TOTAL_FORMS": "x"}, "ManagementForm data is missing"),
    ],
)
def test_bad_input_is_refused_on_the_form(client, school, rachel, data, says):
    client.force_login(rachel)
    response = client.post(url("policy_edit"), form_data(**data))
    assert response.status_code == 400
    assert says in response.content.decode()
    assert not ReleasePolicy.objects.filter(school=school).exists()


def test_publishing_with_nothing_to_publish_says_so(client, school, rachel):
    client.force_login(rachel)
    response = client.post(
        reverse("releases:policy_publish"),
        {"school": "greenfield", "revision": services.NO_DRAFT},
        follow=True,
    )
    assert "There is no draft to publish" in response.content.decode()


def test_a_person_of_two_schools_chooses(client, school, other_school, rachel, published):
    set_membership(rachel, other_school, [Role.VIEWER])
    client.force_login(rachel)
    page = client.get(reverse("releases:policy"))
    assert page.status_code == 200 and 'name="school"' in page.content.decode()
    assert "Greenfield release policy" in client.get(url("policy")).content.decode()
    assert client.get(url("policy", "hillside")).status_code == 200
    assert client.get(url("policy_edit", "hillside")).status_code == 403


def test_a_version_number_no_database_holds_is_a_404(client, rachel, published):
    client.force_login(rachel)
    # Beyond what a URL's id may be (lib.converters): no such page, not a 500.
    huge = url("policy_version", "greenfield", 7).replace("/v7/", f"/v{10**20}/")
    assert client.get(huge).status_code == 404
    assert client.get(url("policy_version", "greenfield", 10**15)).status_code == 404


# --- Queries. ---


def _count(client, address):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(address)
    assert response.status_code == 200
    return len(queries)


def test_the_policy_page_costs_the_same_for_one_school_and_two(
    client, school, other_school, rachel, published, drafted
):
    client.force_login(rachel)
    one = _count(client, url("policy"))
    for n in range(5):
        services.publish(school, rachel)
        services.save_draft(school, rachel, {"rules": f"Rule {n}"}, [SUMMER])
    assert _count(client, url("policy")) == one
    set_membership(rachel, other_school, [Role.VIEWER])
    assert _count(client, url("policy")) == one
    assert one <= 12


# --- On the notice board. ---


def test_the_policy_in_force_is_on_the_notice_board(client, school, team, published, drafted):
    client.force_login(team["fiona"])
    page = client.get(reverse("communication:school_board", args=["greenfield"])).content.decode()
    assert "Greenfield release policy" in page and "(version 1)" in page
    assert "No releases during exams." in page
    assert "Summer holidays: 22 July 2027 to 31 August 2027" in page
    assert "A rule in the draft." not in page
    assert url("policy_print").replace("?", "?") in page.replace("&amp;", "&")
    printed = client.get(reverse("communication:school_board_print", args=["greenfield"]))
    text = printed.content.decode()
    assert "No releases during exams." in text and "Print the release policy" not in text
    # By the secret link: the policy, but no link to a page that needs signing in.
    client.logout()
    key = settings_for(school).board_key
    public = client.get(reverse("communication:board", args=[key])).content.decode()
    assert "No releases during exams." in public
    assert reverse("releases:policy_print") not in public
    public_print = client.get(reverse("communication:board_print", args=[key])).content.decode()
    assert "No releases during exams." in public_print


def test_no_policy_no_section_and_its_queries(client, school, team, rachel):
    client.force_login(team["fiona"])
    board = reverse("communication:school_board", args=["greenfield"])
    assert "Release windows" not in client.get(board).content.decode()
    without = _count(client, board)
    services.save_draft(school, rachel, {"rules": RULES}, [SUMMER])
    services.publish(school, rachel)
    # The version in force, then its windows.
    assert _count(client, board) == without + 1
