"""The getting-started page: each preparation task ticked from the data by the real action,
where a person lands on signing in, who may do what, and the page's query count."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.urls import reverse

from changedesk.accounts.choices import Role
from changedesk.accounts.services import create_school, set_membership
from changedesk.adoption import services, tasks
from changedesk.adoption.models import Adoption
from changedesk.changes.services import create_change
from changedesk.communication import services as communication
from changedesk.conftest import PASSWORD, REQUEST, advance, member
from changedesk.lib.days import today_in
from changedesk.lib.errors import InvalidAction, NotPermitted

pytestmark = pytest.mark.django_db

PAGE = "/getting-started/"


def state(school) -> dict[str, tasks.Task]:
    return {t.key: t for t in tasks.evaluate(services.load(school))}


def ahead(school, days: int = 20) -> date:
    return today_in(school) + timedelta(days=days)


def page(client, user, school, **extra):
    client.force_login(user)
    return client.get(PAGE, {"school": school.slug, **extra})


# --- Each task: not done, then done by the real action. ---


def test_roles_task_follows_the_roles_held(school, sam, olivia, ian, peter, fiona):
    task = state(school)["roles"]
    assert not task.done
    assert task.detail == "No one holds the communicator role yet."
    set_membership(fiona, school, [])
    assert state(school)["roles"].detail == (
        "No one holds the final approver and communicator roles yet."
    )
    set_membership(fiona, school, [Role.FINAL_APPROVER])
    carol = member("carol", school, [Role.COMMUNICATOR])
    assert state(school)["roles"].done
    # Peer review off: no peer reviewer needed.
    set_membership(peter, school, [])
    assert not state(school)["roles"].done
    school.peer_review_enabled = False
    school.save()
    assert state(school)["roles"].done
    assert carol


def test_training_task_needs_every_participant_to_confirm_each_role(school, olivia, ian, sam):
    assert not state(school)["training"].done
    services.confirm_training(school, olivia, Role.ORIGINATOR)
    assert not state(school)["training"].done  # olivia is an implementer too; ian has not
    services.confirm_training(school, olivia, Role.IMPLEMENTER)
    services.confirm_training(school, ian, Role.INITIAL_APPROVER)
    task = state(school)["training"]
    assert task.done
    assert task.detail.startswith("2 of 2")


def test_go_live_date_must_be_two_weeks_ahead_and_counts_down(school, sam):
    with pytest.raises(InvalidAction) as refused:
        services.set_go_live(school, sam, ahead(school, services.MIN_LEAD_DAYS - 1))
    assert "go_live_on" in refused.value.fields
    assert not state(school)["go_live_date"].done
    services.set_go_live(school, sam, ahead(school, 30))
    task = state(school)["go_live_date"]
    assert task.done
    assert "in 30 days" in task.detail
    assert services.countdown(services.load(school)) == 30


def test_a_passed_go_live_date_is_not_done(school, sam):
    services.set_go_live(school, sam, ahead(school, 20))
    Adoption.objects.filter(school=school).update(go_live_on=today_in(school) - timedelta(days=1))
    task = state(school)["go_live_date"]
    assert not task.done
    assert "has passed" in task.detail


def test_plan_and_materials_are_recorded_with_who_and_when(school, sam):
    assert not state(school)["plan"].done
    assert not state(school)["materials"].done
    services.agree_plan(school, sam)
    services.materials_ready(school, sam)
    found = state(school)
    assert found["plan"].done and "Sam Singh" in found["plan"].detail
    assert found["materials"].done and "Sam Singh" in found["materials"].detail


def test_introduction_is_done_when_its_notice_is_published(school, sam):
    carol = member("carol", school, [Role.COMMUNICATOR])
    with pytest.raises(NotPermitted):
        services.set_go_live(school, carol, ahead(school))
    with pytest.raises(InvalidAction):  # no date yet
        services.draft_introduction(school, carol)
    services.set_go_live(school, sam, ahead(school))
    with pytest.raises(NotPermitted):  # sam is no communicator
        services.draft_introduction(school, sam)
    notice = services.draft_introduction(school, carol)
    assert notice.title == services.INTRODUCTION_TITLE
    assert f"{ahead(school):%B}" in notice.what
    assert services.draft_introduction(school, carol) == notice  # asked again: the same
    assert not state(school)["introduction"].done
    communication.publish_notice(notice.pk, carol)
    assert state(school)["introduction"].done


def test_pilot_task_needs_closed_answers_and_discussion(school, team):
    change = create_change(school, team["olivia"], dict(REQUEST))
    services.choose_pilot(school, team["sam"], change.pk)
    assert not state(school)["pilot"].done
    advance(change, team, "closed")
    for person in ("olivia", "ian", "peter", "fiona"):
        services.answer_pilot(
            school,
            team[person],
            {
                "understood_part": True,
                "needs_training": False,
                "caused_incidents": False,
                "everyone_knew": True,
            },
        )
    assert not state(school)["pilot"].done  # the discussion is not noted
    services.save_discussion(school, team["sam"], "All fine; more detail in the fallback plan.")
    assert state(school)["pilot"].done


def test_self_review_is_optional_and_recorded(school, sam):
    task = state(school)["self_review"]
    assert task.optional and not task.done
    assert "self_review" not in {t.key for t in tasks.outstanding(list(state(school).values()))}
    with pytest.raises(InvalidAction) as refused:
        services.record_self_review(school, sam, today_in(school) + timedelta(days=1), "")
    assert set(refused.value.fields) == {"self_review_on", "self_review_note"}
    services.record_self_review(school, sam, today_in(school), "Backups untested; no RFCs.")
    assert state(school)["self_review"].done


# --- The page and its buttons. ---


def test_page_lists_the_tasks_with_links(client, school, sam):
    response = page(client, sam, school)
    assert response.status_code == 200
    body = response.content.decode()
    for key in ("roles", "training", "go_live_date", "plan", "introduction", "pilot"):
        assert f'id="task-{key}"' in body
    assert reverse("adoption:roles") in body
    assert "We have the materials" in body
    assert "at least 14 days" in body


def test_the_buttons_do_the_tasks(client, school, sam):
    client.force_login(sam)
    day = ahead(school, 21)
    response = client.post(
        reverse("adoption:go_live_date"), {"school": school.slug, "go_live_on": day.isoformat()}
    )
    assert response.status_code == 302
    client.post(reverse("adoption:plan"), {"school": school.slug})
    client.post(reverse("adoption:materials_ready"), {"school": school.slug})
    adoption = Adoption.objects.get(school=school)
    assert adoption.go_live_on == day
    assert adoption.plan_agreed_by == sam and adoption.materials_ready_by == sam
    body = page(client, sam, school).content.decode()
    assert "21 days" in body


def test_a_bad_go_live_date_is_shown_on_the_form(client, school, sam):
    client.force_login(sam)
    response = client.post(
        reverse("adoption:go_live_date"),
        {"school": school.slug, "go_live_on": today_in(school).isoformat()},
    )
    assert response.status_code == 400
    assert "at least two weeks" in response.content.decode()
    response = client.post(
        reverse("adoption:go_live_date"), {"school": school.slug, "go_live_on": "soon"}
    )
    assert response.status_code == 400
    assert not Adoption.objects.filter(school=school, go_live_on__isnull=False).exists()


def test_the_introduction_button_drafts_and_opens_the_notice(client, school, sam):
    carol = member("carol", school, [Role.COMMUNICATOR])
    services.set_go_live(school, sam, ahead(school))
    client.force_login(carol)
    response = client.post(reverse("adoption:introduction"), {"school": school.slug})
    adoption = Adoption.objects.get(school=school)
    assert adoption.introduction_notice is not None
    assert response.url == reverse(
        "communication:detail", args=[school.slug, adoption.introduction_notice.pk]
    )


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("adoption:go_live_date", {"go_live_on": "2099-01-01"}),
        ("adoption:plan", {}),
        ("adoption:materials_ready", {}),
        ("adoption:self_review", {"self_review_on": "2020-01-01", "self_review_note": "x"}),
    ],
)
def test_only_the_lead_may_act(client, school, team, oscar, name, data):
    for who, expected in (("olivia", 403), ("fiona", 403), ("ian", 302), ("sam", 302)):
        client.force_login(team[who])
        response = client.post(reverse(name), {"school": school.slug, **data})
        assert response.status_code == expected, (who, name)
    client.force_login(oscar)
    assert client.post(reverse(name), {"school": school.slug, **data}).status_code == 404


def test_who_may_read_the_page(client, school, team, oscar, root):
    for who in team.values():
        assert page(client, who, school).status_code == 200
    assert page(client, oscar, school).status_code == 404
    assert page(client, root, school).status_code == 200
    client.logout()
    assert client.get(PAGE, {"school": school.slug}).status_code == 302


def test_a_member_without_the_lead_sees_no_buttons(client, school, olivia):
    body = page(client, olivia, school).content.decode()
    assert "We have the materials" not in body
    assert "Set the date</button>" not in body
    assert 'action="/getting-started/plan/"' not in body


def test_many_schools_choose_first(client, school, other_school, sam):
    set_membership(sam, other_school, [Role.SCHOOL_ADMIN])
    client.force_login(sam)
    response = client.get(PAGE)
    assert response.status_code == 200
    assert "choose the school" in response.content.decode()


def test_page_query_count_does_not_grow_with_rfcs_or_members(
    client, school, team, django_assert_max_num_queries
):
    def count() -> int:
        client.force_login(team["sam"])
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as queries:
            assert client.get(PAGE, {"school": school.slug}).status_code == 200
        return len(queries)

    change = create_change(school, team["olivia"], dict(REQUEST))
    services.choose_pilot(school, team["sam"], change.pk)
    few = count()
    for n in range(15):
        create_change(school, team["olivia"], {**REQUEST, "title": f"Change {n}"})
        person = member(f"person{n}", school, [Role.ORIGINATOR])
        services.confirm_training(school, person, Role.ORIGINATOR)
    assert count() == few
    with django_assert_max_num_queries(12):
        client.get(PAGE, {"school": school.slug})


# --- Where signing in lands. ---


def test_a_new_schools_administrator_lands_on_getting_started(client, db):
    fresh = create_school("Brook Lane Infants", "brook-lane")
    head = member("heather", fresh, [Role.SCHOOL_ADMIN])
    response = client.post(
        reverse("accounts:login"), {"username": head.username, "password": PASSWORD}
    )
    assert response.status_code == 302
    landed = client.get(response.url)
    assert landed.url == f"{PAGE}?school=brook-lane"


def test_next_still_wins_and_a_live_school_goes_to_my_work(client, school, sam, olivia):
    response = client.post(
        reverse("accounts:login") + "?next=/changes/",
        {"username": "sam", "password": PASSWORD},
    )
    assert response.url == "/changes/"
    assert client.get(reverse("adoption:welcome")).url == f"{PAGE}?school={school.slug}"
    Adoption.objects.create(school=school, live_at="2026-01-05T09:00Z")
    assert client.get(reverse("adoption:welcome")).url == "/"
    # An originator is never sent there.
    client.force_login(olivia)
    Adoption.objects.filter(school=school).update(live_at=None)
    assert client.get(reverse("adoption:welcome")).url == "/"


def test_a_school_already_running_rfcs_is_not_sent_there_until_it_begins(client, school, team):
    create_change(school, team["olivia"], dict(REQUEST))
    client.force_login(team["sam"])
    assert client.get(reverse("adoption:welcome")).url == "/"
    services.adoption_for(school)  # opening the page is not beginning
    assert client.get(reverse("adoption:welcome")).url == "/"
    services.set_go_live(school, team["sam"], ahead(school))
    assert client.get(reverse("adoption:welcome")).url.startswith(PAGE)
