"""Who may see, raise and act on a trust-wide change, asked of every page and API endpoint.

The people (a three-school trust, Northfield, and its neighbours):
  anonymous   signed out
  root        an operator (a superuser, member of nothing)
  ada         Northfield's administrator, and nothing else
  tom         Northfield's trust technician (who raised the change)
  rhys        Northfield's trust peer reviewer
  head        Greenfield's own final approver (a school in the trust)
  orla        Greenfield's own originator
  vera        Greenfield's own viewer
  ursula      an originator at Riverside, a school outside any trust
  sid         Southway's administrator and trust technician (another trust)

What the rules say: whoever holds a role in the trust (and a superuser) sees the
trust-wide change; everyone else meets a 404. Only a trust technician raises one: the
trust's other people are refused (403), outsiders do not learn the trust is there (404 on
the pages; on the API, whose create is a POST to the RFC collection, a 403 when they name
no trust and a 400 on `trust`, "No such trust among yours", when they do, as for a trust
that does not exist). Acting on many and copying the plan go school by school through
each RFC's own workflow: the trust's people who may not act there are refused school by
school in the results (not a 403); outsiders meet a 404.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from changedesk.accounts import trusts
from changedesk.accounts.choices import Role, TrustRole
from changedesk.accounts.models import Trust, User
from changedesk.accounts.services import create_school, create_user
from changedesk.changes.choices import State
from changedesk.changes.models import Change
from changedesk.conftest import member
from changedesk.trustwide import services
from changedesk.trustwide.models import Child, ParentChange
from changedesk.trustwide.services import Placement
from changedesk.trustwide.tests.conftest import PLAN, REQUEST

pytestmark = pytest.mark.django_db

SCHOOLS = ["greenfield", "hillside", "llanfair"]
# Who sees the trust-wide change (and its matrix, its children).
SEES = {"root", "ada", "tom", "rhys"}
# Everyone signed in.
EVERYONE = ["root", "ada", "tom", "rhys", "head", "orla", "vera", "ursula", "sid"]
# Of those who see it, who may not raise: refused with a 403.
TRUST_BUT_NOT_TECHNICIAN = ["root", "ada", "rhys"]
OUTSIDERS = ["head", "orla", "vera", "ursula", "sid"]


def _person(username: str) -> User:
    return create_user(
        username, email=f"{username}@example.org", password=None, first_name=username.title()
    )


@pytest.fixture
def people(trust, heads, tom, rhys, root, school) -> dict[str, Any]:
    ada = _person("ada")
    trusts.set_trust_roles(trust, ada, [TrustRole.TRUST_ADMIN])
    riverside = create_school("Riverside Primary", "riverside")
    southway = trusts.create_trust("Southway Schools Trust", "southway")
    seaview = create_school("Seaview Academy", "seaview")
    trusts.add_school(southway, seaview)
    sid = _person("sid")
    trusts.set_trust_roles(southway, sid, [TrustRole.TRUST_ADMIN, TrustRole.TRUST_TECHNICIAN])
    return {
        "root": root,
        "ada": ada,
        "tom": tom,
        "rhys": rhys,
        "head": heads["greenfield"]["head"],
        "orla": member("orla", school, [Role.ORIGINATOR]),
        "vera": member("vera", school, [Role.VIEWER]),
        "ursula": member("ursula", riverside, [Role.ORIGINATOR, Role.SCHOOL_ADMIN]),
        "sid": sid,
    }


@pytest.fixture
def parent(people, trust) -> ParentChange:
    made, _ = services.raise_for_schools(
        trust, people["tom"], dict(REQUEST), services.schools_of(trust, None), Placement()
    )
    return made


def _api(user: User | None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


def _states() -> dict[str, str]:
    return {c.school.slug: c.state for c in Change.objects.select_related("school")}


# --- Seeing: the list, the matrix page, the API's list, one and children. ---


@pytest.mark.parametrize("who", EVERYONE)
def test_the_matrix_page_is_for_the_trust_people_only(client, people, parent, who):
    client.force_login(people[who])
    response = client.get(parent.get_absolute_url())
    assert response.status_code == (200 if who in SEES else 404)
    if who in SEES:
        text = response.content.decode()
        assert text.count('id="school-') == 3
        # The forms to act are offered only to the trust technician; the others may
        # still be able to act at a school (e.g. the peer reviewer), through the API.
        assert ("Act on many" in text) is (who == "tom")


@pytest.mark.parametrize("who", EVERYONE)
def test_the_list_page_shows_it_only_to_the_trust_people(client, people, parent, who):
    client.force_login(people[who])
    response = client.get(reverse("trustwide:list"))
    assert response.status_code == 200
    text = response.content.decode()
    assert (parent.get_absolute_url() in text) is (who in SEES)
    assert (parent.title in text) is (who in SEES)
    raise_link = reverse("trustwide:create", args=["northfield"])
    assert (raise_link in text) is (who == "tom")


@pytest.mark.parametrize("who", EVERYONE)
def test_the_api_shows_it_only_to_the_trust_people(people, parent, who):
    api = _api(people[who])
    sees = who in SEES
    listed = api.get("/api/v1/trust-changes/")
    assert listed.status_code == 200
    assert [p["id"] for p in listed.json()["results"]] == ([parent.pk] if sees else [])
    for key in (str(parent.pk), parent.qualified_reference):
        one = api.get(f"/api/v1/trust-changes/{key}/")
        assert one.status_code == (200 if sees else 404), (key, one.json())
        children = api.get(f"/api/v1/changes/{key}/children/")
        assert children.status_code == (200 if sees else 404), (key, children.json())
        if sees:
            assert [c["school"] for c in children.json()] == SCHOOLS


def test_another_trust_reference_of_the_same_number_is_not_confused(people, parent):
    """Southway's TC-0001 is Southway's: Sid sees his own, not Northfield's."""
    sid = people["sid"]
    southway = Trust.objects.get(slug="southway")
    mine, _ = services.raise_for_schools(
        southway, sid, dict(REQUEST), services.schools_of(southway, None)
    )
    assert mine.reference == parent.reference == "TC-0001"
    api = _api(sid)
    assert api.get("/api/v1/trust-changes/southway:TC-0001/").json()["id"] == mine.pk
    assert api.get("/api/v1/trust-changes/northfield:TC-0001/").status_code == 404
    assert api.get(f"/api/v1/changes/{parent.pk}/children/").status_code == 404
    assert [p["id"] for p in api.get("/api/v1/trust-changes/").json()["results"]] == [mine.pk]
    # And Northfield's people do not see Southway's.
    assert _api(people["ada"]).get(f"/api/v1/trust-changes/{mine.pk}/").status_code == 404
    assert _api(people["ada"]).get("/api/v1/trust-changes/southway:TC-0001/").status_code == 404


def test_signed_out_is_sent_to_sign_in_or_refused(client, people, parent):
    pages = [
        reverse("trustwide:list"),
        reverse("trustwide:create", args=["northfield"]),
        parent.get_absolute_url(),
    ]
    for url in pages:
        response = client.get(url)
        assert response.status_code == 302, url
        assert "/accounts/login/" in response["Location"]
    for url in (
        reverse("trustwide:act", args=[parent.pk]),
        reverse("trustwide:plan", args=[parent.pk]),
    ):
        response = client.post(url, {"bulk-action": "withdraw", "bulk-schools": SCHOOLS})
        assert response.status_code == 302, url
        assert "/accounts/login/" in response["Location"]
    anonymous = _api(None)
    for url in (
        "/api/v1/trust-changes/",
        f"/api/v1/trust-changes/{parent.pk}/",
        f"/api/v1/changes/{parent.pk}/children/",
    ):
        assert anonymous.get(url).status_code == 401, url
    for url in (
        f"/api/v1/changes/{parent.pk}/children/actions/",
        f"/api/v1/changes/{parent.pk}/children/plan/",
    ):
        assert anonymous.post(url, {"action": "withdraw"}, format="json").status_code == 401
    raised = anonymous.post("/api/v1/changes/", {**REQUEST, "schools": "all"}, format="json")
    assert raised.status_code == 401
    assert _states() == dict.fromkeys(SCHOOLS, State.DRAFT)
    assert ParentChange.objects.count() == 1


def test_a_deactivated_trust_technician_sees_and_does_nothing(people, parent):
    tom = people["tom"]
    tom.is_active = False
    tom.save()
    assert not services.may_see(tom, parent.trust)
    assert not services.visible_parents(tom).exists()
    from changedesk.lib.errors import NotPermitted

    with pytest.raises(NotPermitted):
        services.act_on_many(parent, tom, "withdraw", services.children(parent))
    with pytest.raises(NotPermitted):
        services.raise_for_schools(
            parent.trust, tom, dict(REQUEST), services.schools_of(parent.trust, None)
        )
    assert _states() == dict.fromkeys(SCHOOLS, State.DRAFT)


# --- Raising. ---


@pytest.mark.parametrize("who", EVERYONE)
def test_only_the_trust_technician_raises_on_the_page(client, people, parent, trust, who):
    client.force_login(people[who])
    url = reverse("trustwide:create", args=[trust.slug])
    expected = 200 if who == "tom" else 403 if who in TRUST_BUT_NOT_TECHNICIAN else 404
    assert client.get(url).status_code == expected
    posted = client.post(url, {**REQUEST, "all_schools": "on", "window": "later", "submit_now": ""})
    assert posted.status_code == (302 if who == "tom" else expected)
    assert ParentChange.objects.count() == (2 if who == "tom" else 1)
    assert Change.objects.count() == (6 if who == "tom" else 3)


def test_a_trust_page_that_does_not_exist_is_a_404(client, people):
    client.force_login(people["tom"])
    assert client.get(reverse("trustwide:create", args=["nowhere"])).status_code == 404


@pytest.mark.parametrize("who", EVERYONE)
def test_only_the_trust_technician_raises_through_the_api(people, parent, who):
    api = _api(people[who])
    body = {**REQUEST, "schools": ["greenfield", "hillside"]}
    named = api.post("/api/v1/changes/", {**body, "trust": "northfield"}, format="json")
    unnamed = api.post("/api/v1/changes/", body, format="json")
    if who == "tom":
        assert named.status_code == 201, named.json()
        assert unnamed.status_code == 201, unnamed.json()
        assert ParentChange.objects.count() == 3
        return
    if who in TRUST_BUT_NOT_TECHNICIAN:
        assert named.status_code == 403, named.json()
        assert unnamed.status_code == 403, unnamed.json()
    elif who == "sid":
        # A trust technician elsewhere: Northfield is not among his trusts, and without
        # naming it the change would be his own trust's, where these are not schools.
        assert named.status_code == 400 and "trust" in named.json(), named.json()
        assert unnamed.status_code == 400 and "schools" in unnamed.json(), unnamed.json()
        assert "Southway" in unnamed.json()["schools"][0]
    else:
        # No trust role anywhere: named, as if it did not exist; unnamed, refused.
        assert named.status_code == 400, named.json()
        assert named.json()["trust"] == ["No such trust among yours."]
        nowhere = api.post("/api/v1/changes/", {**body, "trust": "nowhere"}, format="json")
        assert nowhere.json() == named.json()
        assert unnamed.status_code == 403, unnamed.json()
    assert ParentChange.objects.count() == 1
    assert Change.objects.count() == 3


def test_a_trust_technician_cannot_raise_in_another_trusts_schools(people, parent):
    sid = people["sid"]
    api = _api(sid)
    response = api.post(
        "/api/v1/changes/",
        {**REQUEST, "schools": ["seaview", "greenfield"], "trust": "southway"},
        format="json",
    )
    assert response.status_code == 400
    assert "greenfield" in response.json()["schools"][0]
    assert not Change.objects.filter(school__slug="seaview").exists()
    # "all" is his own trust's schools, never another's.
    everywhere = api.post("/api/v1/changes/", {**REQUEST, "schools": "all"}, format="json")
    assert everywhere.status_code == 201, everywhere.json()
    assert [c["school"] for c in everywhere.json()["children"]] == ["seaview"]
    assert Change.objects.filter(school__slug="greenfield").count() == 1


# --- Acting on many, and copying the plan. ---


@pytest.mark.parametrize("who", EVERYONE)
def test_acting_on_many_through_the_api_goes_school_by_school(people, parent, who):
    api = _api(people[who])
    response = api.post(
        f"/api/v1/changes/{parent.pk}/children/actions/",
        {"action": "withdraw", "comment": "Not needed.", "schools": "all"},
        format="json",
    )
    if who not in SEES:
        assert response.status_code == 404, response.json()
        assert _states() == dict.fromkeys(SCHOOLS, State.DRAFT)
        return
    assert response.status_code == 200, response.json()
    results = response.json()["results"]
    assert [r["school"] for r in results] == SCHOOLS
    if who == "tom":
        assert all(r["ok"] for r in results)
        assert _states() == dict.fromkeys(SCHOOLS, State.WITHDRAWN)
    else:
        assert not any(r["ok"] for r in results)
        assert all(r["detail"] for r in results)
        assert _states() == dict.fromkeys(SCHOOLS, State.DRAFT)


@pytest.mark.parametrize("who", EVERYONE)
def test_copying_the_plan_through_the_api_goes_school_by_school(people, parent, who):
    api = _api(people[who])
    response = api.post(
        f"/api/v1/changes/{parent.pk}/children/plan/",
        {**PLAN, "schools": ["greenfield", "llanfair"]},
        format="json",
    )
    details = {c.school.slug: c.details for c in Change.objects.select_related("school")}
    if who not in SEES:
        assert response.status_code == 404, response.json()
        assert set(details.values()) == {""}
        return
    assert response.status_code == 200, response.json()
    results = response.json()["results"]
    assert [r["school"] for r in results] == ["greenfield", "llanfair"]
    if who == "tom":
        assert all(r["ok"] for r in results)
        assert details == {
            "greenfield": PLAN["details"],
            "hillside": "",
            "llanfair": PLAN["details"],
        }
    else:
        assert not any(r["ok"] for r in results)
        assert set(details.values()) == {""}


@pytest.mark.parametrize("who", EVERYONE)
def test_acting_on_many_on_the_page_goes_school_by_school(client, people, parent, who):
    client.force_login(people[who])
    response = client.post(
        reverse("trustwide:act", args=[parent.pk]),
        {"bulk-action": "withdraw", "bulk-schools": ["greenfield", "hillside"]},
        follow=True,
    )
    if who not in SEES:
        assert response.status_code == 404
        assert _states() == dict.fromkeys(SCHOOLS, State.DRAFT)
        return
    assert response.status_code == 200
    assert response.redirect_chain == [(parent.get_absolute_url(), 302)]
    text = response.content.decode()
    if who == "tom":
        assert "Done in 2 of 2 schools." in text
        assert _states() == {
            "greenfield": State.WITHDRAWN,
            "hillside": State.WITHDRAWN,
            "llanfair": State.DRAFT,
        }
    else:
        assert "Done in" not in text
        assert "Greenfield Primary: " in text and "Hillside Academy: " in text
        assert _states() == dict.fromkeys(SCHOOLS, State.DRAFT)


@pytest.mark.parametrize("who", EVERYONE)
def test_copying_the_plan_on_the_page_goes_school_by_school(client, people, parent, who):
    client.force_login(people[who])
    response = client.post(
        reverse("trustwide:plan", args=[parent.pk]),
        {
            **{f"plan-{name}": value for name, value in PLAN.items()},
            "plan-window": "later",
            "plan-schools": ["hillside"],
        },
        follow=True,
    )
    details = {c.school.slug: c.details for c in Change.objects.select_related("school")}
    if who not in SEES:
        assert response.status_code == 404
        assert set(details.values()) == {""}
        return
    assert response.status_code == 200
    assert response.redirect_chain == [(parent.get_absolute_url(), 302)]
    text = response.content.decode()
    if who == "tom":
        assert "The plan is copied in 1 of 1 schools." in text
        assert details["hillside"] == PLAN["details"]
    else:
        assert "Hillside Academy: " in text
        assert set(details.values()) == {""}


def test_the_peer_reviewer_acts_on_many_where_named(people, parent, heads):
    """The workflow decides at each school: the trust's peer reviewer, named on each RFC,
    approves the plans that wait for them, and is refused where there is none."""
    from datetime import timedelta

    from django.utils import timezone

    from changedesk.changes.workflow import perform

    tom, rhys = people["tom"], people["rhys"]
    services.act_on_many(parent, tom, "submit", services.children(parent))
    for row in services.children(parent):
        perform(row.change_id, "approve", heads[row.school.slug]["initial"])
    start = timezone.now() + timedelta(days=10)
    services.copy_plan(
        parent,
        tom,
        PLAN,
        services.children(parent),
        Placement(start=start, end=start + timedelta(hours=1)),
    )
    services.act_on_many(parent, tom, "submit_plan", services.chosen(parent, ["hillside"]))
    response = _api(rhys).post(
        f"/api/v1/changes/{parent.pk}/children/actions/",
        {"action": "approve", "schools": "all"},
        format="json",
    )
    assert response.status_code == 200
    assert {r["school"]: r["ok"] for r in response.json()["results"]} == {
        "greenfield": False,
        "hillside": True,
        "llanfair": False,
    }
    # A school's own head sees nothing of it, even where their school's RFC waits on them.
    head = people["head"]
    refused = _api(head).post(
        f"/api/v1/changes/{parent.pk}/children/actions/",
        {"action": "approve", "schools": ["greenfield"]},
        format="json",
    )
    assert refused.status_code == 404


# --- A school's RFC says it is part of a trust-wide change. ---

# Who sees Greenfield's RFC at all (its own people, and the trust's).
SEES_THE_RFC = {"root", "ada", "tom", "rhys", "head", "orla", "vera"}


@pytest.mark.parametrize("who", EVERYONE)
def test_the_rfc_panel_links_to_the_parent_only_for_who_may_see_it(client, people, parent, who):
    child = Child.objects.get(parent=parent, school__slug="greenfield")
    client.force_login(people[who])
    response = client.get(reverse("changes:detail", args=[child.change_id]))
    assert response.status_code == (200 if who in SEES_THE_RFC else 404)
    if who not in SEES_THE_RFC:
        return
    text = response.content.decode()
    assert "Part of a trust-wide change" in text
    assert "in 3 schools" in text
    assert parent.reference in text
    assert (f'href="{parent.get_absolute_url()}"' in text) is (who in SEES)


# --- A school that leaves the trust. ---


@pytest.fixture
def llanfair_left(people, parent, third_school):
    """Llanfair (with an administrator of its own) leaves the trust after the change was
    raised there: the trust's people lose every role they held there through the trust."""
    member("lowri", third_school, [Role.SCHOOL_ADMIN])
    trusts.remove_school(third_school)
    return Child.objects.get(parent=parent, school=third_school)


def test_after_a_school_leaves_the_trust_people_cannot_see_its_rfc(client, people, llanfair_left):
    client.force_login(people["ada"])
    assert client.get(reverse("changes:detail", args=[llanfair_left.change_id])).status_code == 404


def test_after_a_school_leaves_the_trust_the_parent_does_not_show_its_rfc(
    client, people, llanfair_left
):
    parent = llanfair_left.parent
    for who in ("ada", "tom", "rhys"):
        children = _api(people[who]).get(f"/api/v1/changes/{parent.pk}/children/").json()
        assert "llanfair" not in [c["school"] for c in children], who
        client.force_login(people[who])
        page = client.get(parent.get_absolute_url()).content.decode()
        assert 'id="school-llanfair"' not in page, who
