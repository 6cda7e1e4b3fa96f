"""The pilot: choosing it, answers only after it closes and only from participants, the
discussion, and going live (refused before the pilot closes; peer review back on)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from changedesk.accounts.choices import Role
from changedesk.accounts.models import School
from changedesk.accounts.services import set_membership
from changedesk.adoption import services
from changedesk.adoption.models import Adoption, PilotAnswer
from changedesk.changes.services import create_change
from changedesk.changes.workflow import perform
from changedesk.conftest import REQUEST, advance, member
from changedesk.lib.errors import InvalidAction, NotPermitted, StaleChange

pytestmark = pytest.mark.django_db

PAGE = "/getting-started/pilot/"
YES = {"understood_part": True, "needs_training": False, "caused_incidents": False}
ANSWER = {**YES, "everyone_knew": True, "sections_lacking": ["fallback_plan"], "comment": "OK"}


@pytest.fixture
def pilot(school, team):
    change = create_change(school, team["olivia"], dict(REQUEST))
    services.choose_pilot(school, team["sam"], change.pk)
    return change


def test_choosing_the_pilot_records_peer_review_off(school, team):
    school.peer_review_enabled = False
    school.save()
    change = create_change(school, team["olivia"], dict(REQUEST))
    with pytest.raises(NotPermitted):
        services.choose_pilot(school, team["olivia"], change.pk)
    adoption = services.choose_pilot(school, team["ian"], change.pk)
    assert adoption.pilot == change and adoption.started_without_peer_review


def test_a_rejected_or_foreign_rfc_cannot_be_the_pilot(school, team, oscar, other_school):
    change = create_change(school, team["olivia"], dict(REQUEST))
    perform(change.pk, "withdraw", team["olivia"])
    with pytest.raises(InvalidAction):
        services.choose_pilot(school, team["sam"], change.pk)
    foreign = create_change(other_school, oscar, dict(REQUEST))
    with pytest.raises(InvalidAction):
        services.choose_pilot(school, team["sam"], foreign.pk)
    with pytest.raises(InvalidAction):
        services.choose_pilot(school, team["sam"], "x")


def test_answers_only_after_close_and_only_from_participants(school, team, pilot):
    carol = member("carol", school, [Role.COMMUNICATOR])
    with pytest.raises(StaleChange):
        services.answer_pilot(school, team["olivia"], ANSWER)
    advance(pilot, team, "closed")
    for outsider in (team["ivan"], team["sam"]):  # ivan did not implement this one
        with pytest.raises(NotPermitted):
            services.answer_pilot(school, outsider, ANSWER)
    participants = services.pilot_participants(services.load(school))
    assert set(participants) == {u.pk for u in (team["olivia"], team["ian"], team["peter"])} | {
        team["fiona"].pk,
        carol.pk,
    }
    services.answer_pilot(school, carol, ANSWER)
    services.answer_pilot(school, carol, {**ANSWER, "comment": "Changed my mind"})
    answer = PilotAnswer.objects.get(user=carol)
    assert answer.comment == "Changed my mind" and answer.sections_lacking == ["fallback_plan"]
    with pytest.raises(InvalidAction) as refused:
        services.answer_pilot(school, carol, {"sections_lacking": ["nonsense"]})
    assert {"understood_part", "sections_lacking", "everyone_knew"} <= set(refused.value.fields)


def test_the_pilot_cannot_change_once_answered(school, team, pilot):
    advance(pilot, team, "closed")
    services.answer_pilot(school, team["olivia"], ANSWER)
    other = create_change(school, team["olivia"], {**REQUEST, "title": "Another"})
    with pytest.raises(StaleChange):
        services.choose_pilot(school, team["sam"], other.pk)


def test_go_live_is_refused_before_the_pilot_closes(client, school, team, pilot):
    with pytest.raises(InvalidAction) as refused:
        services.go_live(school, team["sam"])
    assert "closed" in refused.value.message
    client.force_login(team["sam"])
    response = client.post(reverse("adoption:go_live"), {"school": school.slug}, follow=True)
    assert "go live once it is closed" in response.content.decode()
    assert not Adoption.objects.get(school=school).is_live


def test_go_live_without_a_pilot_is_refused(school, sam):
    with pytest.raises(InvalidAction):
        services.go_live(school, sam)


def test_go_live_switches_peer_review_back_on_when_asked(client, school, team):
    school.peer_review_enabled = False
    school.save()
    change = create_change(school, team["olivia"], dict(REQUEST))
    services.choose_pilot(school, team["sam"], change.pk)
    advance(change, team, "closed")
    client.force_login(team["sam"])
    body = client.get(PAGE, {"school": school.slug}).content.decode()
    assert "Switch peer review back on" in body
    client.force_login(team["olivia"])
    assert client.post(reverse("adoption:go_live"), {"school": school.slug}).status_code == 403
    client.force_login(team["sam"])
    response = client.post(
        reverse("adoption:go_live"), {"school": school.slug, "peer_review": "on"}
    )
    assert response.status_code == 302
    adoption = Adoption.objects.get(school=school)
    assert adoption.is_live and adoption.live_by == team["sam"]
    assert School.objects.get(pk=school.pk).peer_review_enabled
    with pytest.raises(StaleChange):
        services.go_live(school, team["sam"])


def test_go_live_leaves_peer_review_off_unless_asked(school, team):
    school.peer_review_enabled = False
    school.save()
    change = create_change(school, team["olivia"], dict(REQUEST))
    services.choose_pilot(school, team["sam"], change.pk)
    advance(change, team, "closed")
    services.go_live(school, team["sam"], peer_review=False)
    assert not School.objects.get(pk=school.pk).peer_review_enabled


def test_peer_review_is_not_switched_on_with_no_one_to_do_it(client, school, team):
    # Meadowbank's journey: started without peer review and no peer reviewer; ticking the
    # (once pre-ticked) box went live with every future plan waiting for no one.
    school.peer_review_enabled = False
    school.save()
    set_membership(team["peter"], school, [])
    change = create_change(school, team["olivia"], dict(REQUEST))
    services.choose_pilot(school, team["sam"], change.pk)
    advance(change, team, "closed")
    client.force_login(team["sam"])
    body = client.get(PAGE, {"school": school.slug}).content.decode()
    assert 'id="no-peer-reviewer"' in body
    assert "checked" not in body.split('name="peer_review"')[1].split(">")[0]
    response = client.post(
        reverse("adoption:go_live"), {"school": school.slug, "peer_review": "on"}, follow=True
    )
    assert "No one holds the peer reviewer role yet" in response.content.decode()
    assert not Adoption.objects.get(school=school).is_live
    assert not School.objects.get(pk=school.pk).peer_review_enabled
    # With someone to do it, the box is ticked for them and going live switches it on.
    set_membership(team["peter"], school, [Role.PEER_REVIEWER])
    body = client.get(PAGE, {"school": school.slug}).content.decode()
    assert 'id="no-peer-reviewer"' not in body
    assert "checked" in body.split('name="peer_review"')[1].split(">")[0]
    services.go_live(school, team["sam"], peer_review=True)
    assert School.objects.get(pk=school.pk).peer_review_enabled


def test_the_offer_is_not_shown_when_the_school_had_peer_review(client, school, team, pilot):
    advance(pilot, team, "closed")
    client.force_login(team["sam"])
    body = client.get(PAGE, {"school": school.slug}).content.decode()
    assert ">Go live</button>" in body
    assert "Switch peer review back on" not in body


def test_the_answer_page_and_the_gathered_answers(client, school, team, pilot):
    client.force_login(team["olivia"])
    response = client.get(reverse("adoption:pilot_answer"), {"school": school.slug})
    assert "open once the pilot RFC is closed" in response.content.decode()
    advance(pilot, team, "closed")
    client.force_login(team["sam"])  # not a participant
    assert client.get(reverse("adoption:pilot_answer"), {"school": school.slug}).status_code == 403
    client.force_login(team["olivia"])
    url = reverse("adoption:pilot_answer") + f"?school={school.slug}"
    response = client.post(url, {"school": school.slug, "understood_part": "yes"})
    assert response.status_code == 400
    response = client.post(
        url,
        {
            "school": school.slug,
            "understood_part": "yes",
            "needs_training": "no",
            "caused_incidents": "no",
            "everyone_knew": "yes",
            "sections_lacking": ["risk", "fallback_plan"],
            "comment": "The fallback plan was thin.",
        },
    )
    assert response.status_code == 302
    client.force_login(team["sam"])
    client.post(
        reverse("adoption:pilot_discussion"),
        {"school": school.slug, "pilot_discussion": "More practice on fallback plans."},
    )
    body = client.get(PAGE, {"school": school.slug}).content.decode()
    assert "Risk of failure and its impact, Fallback plan" in body
    assert "The fallback plan was thin." in body
    assert "More practice on fallback plans." in body
    assert "1 of 4 people have answered" in body


def test_pilot_pages_permissions(client, school, team, oscar, pilot):
    other = create_change(school, team["olivia"], {**REQUEST, "title": "Another"})
    client.force_login(oscar)
    assert client.get(PAGE, {"school": school.slug}).status_code == 404
    data = {"school": school.slug, "change": other.pk}
    assert client.post(reverse("adoption:pilot_choose"), data).status_code == 404
    client.force_login(team["olivia"])
    assert client.get(PAGE, {"school": school.slug}).status_code == 200
    assert client.post(reverse("adoption:pilot_choose"), data).status_code == 403
    data = {"school": school.slug, "pilot_discussion": "x"}
    assert client.post(reverse("adoption:pilot_discussion"), data).status_code == 403
    client.force_login(team["ian"])
    data = {"school": school.slug, "change": other.pk}
    assert client.post(reverse("adoption:pilot_choose"), data).status_code == 302
    assert Adoption.objects.get(school=school).pilot == other
    assert client.post(reverse("adoption:pilot_choose"), {**data, "change": 0}).status_code == 400
