"""Refusals speak the person's language: the 403 page and the API's 403 and 400 bodies say
in Welsh, to a person whose language is Welsh, what the catalogue says, and in English to
everyone else.

The expected text is the catalogue's own (`gettext` under `translation.override`), and
each test first checks that the catalogue's Welsh differs from the English.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.utils import translation
from django.utils.html import escape
from rest_framework.test import APIClient

from changedesk.accounts.choices import Role
from changedesk.accounts.models import School, User
from changedesk.changes.services import create_change
from changedesk.conftest import member
from changedesk.lib.errors import InvalidAction
from changedesk.releases.services import policy

pytestmark = pytest.mark.django_db

RULES = "New computers are installed only in the release windows."


@pytest.fixture(autouse=True)
def _language_put_back():
    """A request activates its person's language in the thread and leaves it so (the next
    request activates its own): Welsh must not stay active for the tests that follow."""
    yield
    translation.deactivate()


def _speaking(user: User, language: str) -> User:
    user.language = language
    user.save(update_fields=["language"])
    return user


def _said(language: str, message: str, **values: Any) -> str:
    """`message` as the catalogue says it in `language`, filled in."""
    with translation.override(language):
        return translation.gettext(message) % values if values else translation.gettext(message)


def _page(user: User, path: str) -> Any:
    client = Client()
    client.force_login(user)
    return client.get(path)


def _api(user: User) -> APIClient:
    client = APIClient()
    client.force_login(user)
    return client


def test_the_403_page_says_who_may_in_welsh(school: School, olivia: User) -> None:
    refusal = "Only a school administrator of %(school)s may do this."
    welsh = _said("cy", refusal, school=school.name)
    assert welsh != refusal % {"school": school.name}

    response = _page(_speaking(olivia, "cy"), f"/signin/schools/{school.slug}/")

    assert response.status_code == 403
    assert escape(welsh) in response.content.decode()


def test_the_403_page_stays_english_for_an_english_speaker(school: School, olivia: User) -> None:
    response = _page(_speaking(olivia, "en-gb"), f"/signin/schools/{school.slug}/")

    assert response.status_code == 403
    assert "Only a school administrator of Greenfield Primary may do this." in (
        response.content.decode()
    )


def test_a_role_named_in_a_constant_is_said_at_request_time(school: School, olivia: User) -> None:
    # releases/views/policy.py: WHO is translated when the request refuses, not at import.
    refusal = "Only a release manager or the school administrator of %(school)s may do that."
    welsh = _said("cy", refusal, school=school.name)
    assert welsh != refusal % {"school": school.name}

    response = _page(_speaking(olivia, "cy"), f"/releases/policy/edit/?school={school.slug}")

    assert response.status_code == 403
    assert escape(welsh) in response.content.decode()


def test_an_api_403_says_who_may_in_welsh(school: School, olivia: User) -> None:
    rachel = member("rachel", school, [Role.RELEASE_MANAGER])
    policy.save_draft(school, rachel, {"rules": RULES})
    published = policy.publish(school, rachel)
    with translation.override("cy"):
        what = translation.gettext("write the release policy")
    refusal = "Only a release manager or a school administrator of %(school)s may %(what)s."
    welsh = _said("cy", refusal, school=school.name, what=what)
    assert welsh != refusal % {"school": school.name, "what": "write the release policy"}

    response = _api(_speaking(olivia, "cy")).patch(
        f"/api/v1/release-policies/{published.pk}/", {"rules": "Mine."}, format="json"
    )

    assert response.status_code == 403
    assert response.json()["detail"] == welsh


def test_an_api_400_says_what_to_fix_in_welsh(school: School, olivia: User) -> None:
    message = "Choose a time between 1900 and 2998."
    assert _said("cy", message) != message

    response = _api(_speaking(olivia, "cy")).get(
        "/api/v1/schedule/slots/",
        {"school": school.slug, "minutes": 60, "after": "1850-01-01T09:00:00Z"},
    )

    assert response.status_code == 400
    assert response.json()["after"] == [_said("cy", message)]


def test_a_service_refusal_of_unknown_fields_is_in_welsh(olivia: User, school: School) -> None:
    with translation.override("cy"), pytest.raises(InvalidAction) as refused:
        create_change(school, olivia, {"title": "Swap the switch", "state": "approved"})

    assert refused.value.message == _said("cy", "Unknown fields.") != "Unknown fields."
    assert refused.value.fields == {"state": _said("cy", "This field cannot be set.")}
