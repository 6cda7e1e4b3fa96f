"""The item services ask the rulebook (`accounts.permissions`): who may manage items (the
school administrator, a superuser as one, an originator) and who may import them (the
administrator); the items page and `/api/v1/items/` share one filter set, and a bad filter
value is a 400 from the API."""

from __future__ import annotations

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from changedesk.configuration import importer, jobs, services
from changedesk.configuration.models import ConfigurationItem, ImportState
from changedesk.lib.errors import NotPermitted

pytestmark = pytest.mark.django_db

CSV = "name,kind,identifier\nMIS server,server,SRV-MIS\n"


def writes(school, switch):
    return [
        lambda who: services.create_item(school, who, {"name": "Projector", "kind": "other"}),
        lambda who: services.update_item(switch.pk, who, {"location": "Room 9"}),
        lambda who: services.update_item(switch.pk, who, {"is_active": False}),
        lambda who: services.delete_item(switch.pk, who),
    ]


def test_members_without_a_managing_role_outsiders_and_the_deactivated_may_not(
    team, school, switch, vera, oscar
):
    olivia = team["olivia"]
    olivia.is_active = False
    olivia.save()
    for who in (vera, team["ivan"], team["fiona"], oscar, olivia):
        assert not services.may_manage(who, school)
        for write in writes(school, switch):
            with pytest.raises(NotPermitted):
                write(who)
    switch.refresh_from_db()
    assert (switch.location, switch.is_active) == ("ICT suite 2", True)
    assert ConfigurationItem.objects.count() == 1


@pytest.mark.parametrize("who", ["sam", "olivia", "root"])
def test_the_administrator_a_superuser_and_an_originator_manage_items(
    team, school, switch, root, who
):
    actor = root if who == "root" else team[who]
    assert services.may_manage(actor, school)
    for write in writes(school, switch):
        write(actor)
    assert list(ConfigurationItem.objects.values_list("name", flat=True)) == ["Projector"]


def test_only_the_administrator_or_a_superuser_imports(team, school, root, oscar):
    for who in (team["olivia"], team["fiona"], oscar):
        assert not services.may_import(who, school)
        with pytest.raises(NotPermitted):
            importer.start(school, who, CSV)
    assert not ConfigurationItem.objects.exists()
    first = importer.start(school, team["sam"], CSV)
    jobs.process_now(first.pk)
    for who in (team["olivia"], team["fiona"], oscar, root):
        # Only the administrator who uploaded it confirms it (a superuser not for another).
        with pytest.raises(NotPermitted):
            importer.confirm(first.pk, who)
    for who in (team["sam"], root):
        assert services.may_import(who, school)
        job = importer.start(school, who, CSV)
        jobs.process_now(job.pk)
        importer.confirm(job.pk, who)
        jobs.process_now(job.pk)
        job.refresh_from_db()
        assert job.state == ImportState.DONE
    assert ConfigurationItem.objects.get().identifier == "SRV-MIS"


def test_the_page_and_the_api_list_the_same_items(client, team, school, switch):
    sam = team["sam"]
    services.create_item(school, sam, {"name": "MIS", "kind": "service", "notes": "Pupils"})
    old = services.create_item(school, sam, {"name": "Old fax", "kind": "other"})
    services.update_item(old.pk, sam, {"is_active": False})
    client.force_login(sam)
    api = APIClient()
    api.force_login(sam)
    for query in ({}, {"kind": "service"}, {"q": "pupil"}, {"status": "retired"},
                  {"status": "all", "school": school.slug}, {"school": "hillside"}):  # fmt: skip
        page = client.get(reverse("configuration:list"), query)
        listed = api.get("/api/v1/items/", query).json()["results"]
        assert [i.name for i in page.context["page"].object_list] == [i["name"] for i in listed], (
            query
        )


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"kind": "spaceship"}, "kind"),
        ({"status": "gone"}, "status"),
        ({"q": "a\x00b"}, "q"),
        ({"school": "\x00"}, "school"),
    ],
)
def test_a_bad_filter_is_a_400_with_the_fields_error(team, switch, params, field):
    api = APIClient()
    api.force_login(team["olivia"])
    response = api.get("/api/v1/items/", params)
    assert response.status_code == 400
    body = response.json()
    assert body["detail"] and body[field]


def test_a_refusal_for_the_role_on_a_button_is_a_403_and_others_a_message(
    client, team, switch, monkeypatch
):
    """The page checks first; the service's own check (a role lost meanwhile) reads the same."""
    from changedesk.configuration import views
    from changedesk.lib.errors import InvalidAction

    client.force_login(team["sam"])
    status_url = reverse("configuration:status", args=[switch.pk])

    def refuse(error):
        def run(*args, **kwargs):
            raise error

        return run

    monkeypatch.setattr(views, "update_item", refuse(NotPermitted("Not yours.")))
    assert client.post(status_url, {"action": "retire"}).status_code == 403
    monkeypatch.setattr(views, "delete_item", refuse(InvalidAction("Named on an RFC.")))
    response = client.post(status_url, {"action": "delete"}, follow=True)
    assert response.redirect_chain[-1][0] == switch.get_absolute_url()
    assert "Named on an RFC." in response.content.decode()
