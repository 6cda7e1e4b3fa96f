"""Welsh and English: a person's own language, else their school's default, else the site's;
the pages' lang attributes; the profile and school settings that choose; the e-mails asking
for a decision in the approver's language. (The notices: communication/tests/test_bilingual.py;
the catalogue's completeness: changedesk/tests/test_welsh_catalogue.py.)"""

from __future__ import annotations

import time

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import translation
from rest_framework.test import APIClient

from changedesk.accounts.choices import Language, Role
from changedesk.accounts.languages import SCHOOL_LANGUAGE_SECONDS, SESSION_KEY, language_for
from changedesk.accounts.models import School, User
from changedesk.accounts.services import set_membership
from changedesk.changes.models import Change
from changedesk.conftest import advance
from changedesk.notifications.email import build_message
from changedesk.notifications.models import OutboxMessage


def welsh(person: User) -> User:
    person.language = Language.CY
    person.save(update_fields=["language"])
    return person


def make_welsh_medium(school: School) -> School:
    school.language = Language.CY
    school.save(update_fields=["language"])
    return school


def page(client: Client, person: User, url: str) -> str:
    client.force_login(person)
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


# Which language: the person's, else the school's, else the site's.


def test_a_persons_own_language_wins_over_their_schools(olivia, school):
    make_welsh_medium(school)
    olivia.language = Language.EN_GB
    assert language_for(olivia) == "en-gb"
    assert language_for(olivia, school) == "en-gb"


def test_someone_who_has_not_chosen_follows_their_school(olivia, school):
    assert language_for(olivia) == "en-gb"
    make_welsh_medium(school)
    assert language_for(olivia) == "cy"


def test_of_several_schools_the_one_joined_first_decides_for_pages(olivia, other_school):
    make_welsh_medium(other_school)
    set_membership(olivia, other_school, [Role.VIEWER])
    assert language_for(olivia) == "en-gb"  # Greenfield came first
    # Mail about the other school's RFC speaks that school's language.
    assert language_for(olivia, other_school) == "cy"


def test_with_no_school_it_is_the_sites_language(db, root, settings):
    assert language_for(root) == "en-gb"
    settings.LANGUAGE_CODE = "cy"
    assert language_for(root) == "cy"
    assert language_for(None) == "cy"


def test_a_staff_list_with_no_person_gets_the_schools_language(school):
    assert language_for(None, make_welsh_medium(school)) == "cy"


# The pages.


def test_my_work_is_in_welsh_for_a_welsh_speaker(client, olivia, draft):
    html = page(client, welsh(olivia), reverse("changes:my_work"))
    assert '<html lang="cy">' in html
    assert "<h1>Fy ngwaith</h1>" in html
    assert "Codi cais am newid" in html
    assert "Fy ngheisiadau" in html  # a section's title, held in English by changes
    assert "Drafft" in html  # the RFC's state
    assert "My work" not in html


def test_my_work_stays_in_english_for_everyone_else(client, olivia, draft):
    client.force_login(olivia)
    response = client.get(reverse("changes:my_work"))
    html = response.content.decode()
    assert '<html lang="en-GB">' in html
    assert "<h1>My work</h1>" in html
    assert "My requests" in html
    assert response["Content-Language"] == "en-gb"


def test_a_welsh_medium_schools_members_get_welsh_from_their_first_page(client, olivia, school):
    make_welsh_medium(school)
    client.force_login(olivia)  # the school's default goes into the session here
    response = client.get(reverse("changes:my_work"))
    assert "<h1>Fy ngwaith</h1>" in response.content.decode()
    assert response["Content-Language"] == "cy"


def test_a_schools_new_default_reaches_open_sessions_in_time(client, olivia, school):
    client.force_login(olivia)
    assert "<h1>My work</h1>" in client.get(reverse("changes:my_work")).content.decode()
    make_welsh_medium(school)
    session = client.session
    user_pk, language, stamp = session[SESSION_KEY]
    session[SESSION_KEY] = [user_pk, language, stamp - SCHOOL_LANGUAGE_SECONDS - 1]
    session.save()
    assert "<h1>Fy ngwaith</h1>" in client.get(reverse("changes:my_work")).content.decode()
    assert client.session[SESSION_KEY][1] == "cy"
    assert client.session[SESSION_KEY][2] > time.time() - 60


def test_the_sign_in_page_follows_the_browser(client, db):
    response = client.get(reverse("accounts:login"), headers={"accept-language": "cy"})
    html = response.content.decode()
    assert '<html lang="cy">' in html
    assert "<h1>Mewngofnodi</h1>" in html
    english = client.get(reverse("accounts:login"), headers={"accept-language": "en-GB"})
    assert "<h1>Sign in</h1>" in english.content.decode()


def test_a_page_not_yet_translated_says_its_content_is_english(client, olivia, rf):
    # A page of its own that does not say it is translated (the real pages all are, or
    # will be): base.html marks its content English inside the Welsh frame.
    from django.template import engines

    request = rf.get("/")
    request.user = welsh(olivia)
    untranslated = engines["django"].from_string(
        '{% extends "base.html" %}{% block content %}<p>Not yet</p>{% endblock %}'
    )
    with translation.override("cy"):
        html = untranslated.render({}, request)
    assert '<html lang="cy">' in html
    assert '<main id="main" tabindex="-1" lang="en-GB">' in html
    assert ">Amserlen</a>" in html  # the navigation is translated
    translated = page(client, olivia, reverse("changes:my_work"))
    assert '<main id="main" tabindex="-1">' in translated


def test_the_rfc_page_and_its_decision_form_in_welsh(client, draft, team):
    change = advance(draft, team, "awaiting_final_approval")
    html = page(client, welsh(team["fiona"]), reverse("changes:detail", args=[change.pk]))
    assert "Yn aros am gymeradwyaeth derfynol" in html  # the state
    assert '<h2 id="h-decide">Eich penderfyniad</h2>' in html
    assert ">Cymeradwyo</button>" in html
    assert ">Gwrthod</button>" in html
    assert "Cymeradwywr terfynol" in html
    assert '<h2 id="h-history">Hanes</h2>' in html
    assert "Awaiting final approval" not in html


def test_the_rfc_form_and_print_in_welsh(client, draft, team):
    olivia = welsh(team["olivia"])
    form = page(client, olivia, reverse("changes:edit", args=[draft.pk]))
    assert '<main id="main" tabindex="-1">' in form  # translated: no English content
    assert "<legend>Y cais</legend>" in form
    assert "Disgrifiad byr" in form  # a field's label
    printed = page(client, olivia, reverse("changes:print", args=[draft.pk]))
    assert '<main id="main" tabindex="-1">' in printed
    assert '<th scope="row">Disgrifiad byr</th>' in printed
    assert "Brief description" not in printed


@pytest.mark.parametrize(
    ("name", "of_school"),
    [
        ("accounts:schools", False),
        ("accounts:school", True),
        ("accounts:delegations", True),
        ("accounts:member_add", True),
        ("accounts:trusts", False),
    ],
)
def test_the_school_and_trust_pages_say_they_are_translated(
    client, team, school, trust, name, of_school
):
    url = reverse(name, args=[school.slug]) if of_school else reverse(name)
    html = page(client, welsh(team["sam"]), url)
    assert '<main id="main" tabindex="-1">' in html
    assert ">Ysgolion<" in html


def test_the_error_pages_speak_welsh(client, olivia, other_school):
    client.force_login(welsh(olivia))
    response = client.get(reverse("accounts:school", args=[other_school.slug]))
    assert response.status_code == 404
    assert "<h1>Heb ei ganfod</h1>" in response.content.decode()


# Choosing.


def test_a_person_chooses_welsh_on_their_profile(client, olivia):
    client.force_login(olivia)
    url = reverse("accounts:profile")
    response = client.post(url, {"language": "cy"}, follow=True)
    olivia.refresh_from_db()
    assert olivia.language == "cy"
    html = response.content.decode()
    assert "Mae eich iaith wedi&#x27;i chadw." in html
    assert '<html lang="cy">' in html
    client.post(url, {"language": ""})
    olivia.refresh_from_db()
    assert olivia.language == ""


def test_a_language_changedesk_does_not_speak_is_a_field_error(client, olivia):
    client.force_login(olivia)
    response = client.post(reverse("accounts:profile"), {"language": "fr"})
    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()
    olivia.refresh_from_db()
    assert olivia.language == ""


def test_a_school_administrator_sets_the_default_and_bilingual_notices(client, school, sam):
    client.force_login(sam)
    url = reverse("accounts:school_settings", args=[school.slug])
    form = {"name": school.name, "timezone": "Europe/London", "normal_lead_days": 2}
    response = client.post(url, form | {"standard_lead_hours": 4, "language": "cy",
                                        "bilingual_notices": "on"})  # fmt: skip
    assert response.status_code == 302
    school.refresh_from_db()
    assert (school.language, school.bilingual_notices) == ("cy", True)
    # The administrator's own pages follow at once.
    assert "<h1>Fy ngwaith</h1>" in client.get(reverse("changes:my_work")).content.decode()
    bad = client.post(url, form | {"standard_lead_hours": 4, "language": "de"})
    assert bad.status_code == 400


def test_only_a_school_administrator_may_change_the_schools_language(client, school, olivia):
    client.force_login(olivia)
    url = reverse("accounts:school_settings", args=[school.slug])
    response = client.post(url, {"name": school.name, "timezone": "Europe/London",
                                 "normal_lead_days": 2, "standard_lead_hours": 4,
                                 "language": "cy"})  # fmt: skip
    assert response.status_code == 403
    school.refresh_from_db()
    assert school.language == "en-gb"


def test_the_api_says_the_languages(olivia, school):
    make_welsh_medium(school)
    client = APIClient()
    client.force_authenticate(welsh(olivia))
    assert client.get("/api/v1/me/").json()["language"] == "cy"
    detail = client.get(f"/api/v1/schools/{school.slug}/").json()
    assert (detail["language"], detail["bilingual_notices"]) == ("cy", False)


# The e-mails asking for a decision.


@pytest.fixture
def _site(settings):
    settings.SITE_URL = "https://changes.greenfield.example"


@pytest.mark.usefixtures("_site")
def test_an_approver_is_asked_in_welsh_and_the_originator_told_in_english(draft, team):
    welsh(team["fiona"])
    change = advance(draft, team, "awaiting_final_approval")
    message = OutboxMessage.objects.filter(recipient=team["fiona"], template="change_waiting")
    mail = build_message(message.latest("id"))
    assert mail.subject == f"Mae {change.reference} yn aros amdanoch chi: {change.title}"
    assert "Helo Fiona" in mail.body
    assert "bellach yn aros i chi benderfynu a gaiff fynd yn ei flaen." in mail.body
    assert "Cyflwr: Yn aros am gymeradwyaeth derfynol" in mail.body
    [(html, _)] = mail.alternatives
    assert '<html lang="cy">' in html
    assert ">Penderfynu nawr</a>" in html
    # Rendering in Welsh left the worker's own language as it was.
    assert translation.get_language() == "en-gb"
    told = OutboxMessage.objects.filter(recipient=team["olivia"], template="change_decision")
    assert "has <strong>approved</strong>" in build_message(told.latest("id")).alternatives[0][0]


@pytest.mark.usefixtures("_site")
def test_the_planned_time_is_written_in_the_mails_language(draft, team):
    welsh(team["fiona"])
    change = advance(draft, team, "awaiting_final_approval")
    message = OutboxMessage.objects.filter(recipient=team["fiona"], template="change_waiting")
    body = build_message(message.latest("id")).body
    start = Change.objects.get(pk=change.pk).planned_start
    assert start is not None
    with translation.override("cy"):
        from django.utils import dateformat

        day = dateformat.format(start.astimezone(team["fiona"].memberships.get().school.zone), "l")
    assert f"Wedi'i gynllunio: {day}" in body
    assert " i 19:00" in body


@pytest.mark.usefixtures("_site")
def test_the_decision_link_of_a_welsh_mail_opens_a_welsh_page(client, draft, team, settings):
    welsh(team["fiona"])
    advance(draft, team, "awaiting_final_approval")
    message = OutboxMessage.objects.filter(recipient=team["fiona"], template="change_waiting")
    mail = build_message(message.latest("id"))
    [link] = [line.split(": ", 1)[1] for line in mail.body.splitlines() if "/decide/" in line]
    assert link.endswith("?lang=cy")
    response = client.get(link.removeprefix(settings.SITE_URL))  # not signed in
    html = response.content.decode()
    assert response.status_code == 200
    assert '<html lang="cy">' in html
    assert "Eich penderfyniad" in html
    assert ">Cymeradwyo</button>" in html
    # The pages after it stay Welsh: the decision's own once posted (the browser keeps it).
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "cy"
    path = link.removeprefix(settings.SITE_URL).split("?")[0]
    done = client.post(path, {"action": "approve", "comment": ""}, follow=True)
    assert "<h1>Wedi gorffen</h1>" in done.content.decode()
    # A language changedesk does not speak is no language at all.
    english = Client().get(link.removeprefix(settings.SITE_URL).replace("lang=cy", "lang=xx"))
    assert "Your decision" in english.content.decode()
    assert settings.LANGUAGE_COOKIE_NAME not in english.cookies


def test_the_change_log_in_welsh(client, draft, team):
    html = page(client, welsh(team["olivia"]), reverse("changes:list"))
    assert "<h1>Log newidiadau</h1>" in html
    assert "1 cais am newid." in html
    assert '<td data-label="Cyflwr">' in html
    assert ">Unrhyw gyflwr</option>" in html
    english = page(client, team["ian"], reverse("changes:list"))
    assert "1 request for change." in english
    assert '<td data-label="State">' in english
