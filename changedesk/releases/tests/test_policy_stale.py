"""Stale writes of the release policy: a publish or an edit based on a draft someone else
has changed (or published) since is refused with 409 and shows the draft as it is now; a
bad publish comment is refused, not dropped; a superseded version says it is superseded."""

from __future__ import annotations

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from changedesk.lib.errors import StaleChange
from changedesk.releases.api import policy as api_module
from changedesk.releases.models import ReleasePolicy
from changedesk.releases.services import policy as services

pytestmark = pytest.mark.django_db

LIST = "/api/v1/release-policies/"
PUBLISH = "releases:policy_publish"


def api(user):
    client = APIClient()
    client.force_login(user)
    return client


def edit_data(revision, rules):
    return {
        "school": "greenfield",
        "revision": revision,
        "title": "Release policy",
        "summary": "",
        "rules": rules,
        "windows-TOTAL_FORMS": "1",
        "windows-INITIAL_FORMS": "0",
        "windows-MIN_NUM_FORMS": "0",
        "windows-MAX_NUM_FORMS": "50",
    }


# --- The services. ---


def test_the_services_refuse_a_stale_revision(school, rachel, team):
    draft = services.save_draft(school, rachel, {"rules": "Only in the summer."})
    seen = services.revision(draft)
    assert services.revision(draft) == seen  # stable
    services.save_draft(school, team["sam"], {"rules": "Any time at all."})
    with pytest.raises(StaleChange, match="Someone else changed the draft"):
        services.publish(school, rachel, "summer only", expected=seen)
    with pytest.raises(StaleChange):
        services.save_draft(school, rachel, {"rules": "Mine."}, expected=seen)
    assert services.current(school) is None
    assert services.draft_of(school).rules == "Any time at all."
    fresh = services.revision(services.draft_of(school))
    assert services.publish(school, rachel, "ok", expected=fresh).rules == "Any time at all."
    # The draft seen is gone (published): a write on it is refused, not a new draft.
    with pytest.raises(StaleChange, match="published or discarded"):
        services.save_draft(school, rachel, {"rules": "Mine."}, expected=fresh)
    with pytest.raises(StaleChange, match="published or discarded"):
        services.save_draft(school, rachel, {"rules": "Mine."}, policy_id=draft.pk)
    assert services.draft_of(school) is None
    # A form made from the version in force (no draft) while someone starts one.
    services.save_draft(school, team["sam"], {"rules": "Sam's draft."})
    with pytest.raises(StaleChange):
        services.save_draft(school, rachel, {"rules": "Mine."}, expected=services.NO_DRAFT)


# --- The pages. ---


def test_a_stale_publish_is_refused_and_shows_the_draft_now(client, school, rachel, team):
    services.save_draft(school, rachel, {"rules": "Only in the summer."})
    client.force_login(rachel)
    page = client.get(reverse("releases:policy") + "?school=greenfield").content.decode()
    assert "Only in the summer." in page
    seen = services.revision(services.draft_of(school))
    assert f'value="{seen}"' in page
    services.save_draft(school, team["sam"], {"rules": "Any time at all."})  # meanwhile
    response = client.post(
        reverse(PUBLISH), {"school": "greenfield", "comment": "summer only", "revision": seen}
    )
    assert response.status_code == 409
    body = response.content.decode()
    assert "Someone else changed the draft" in body and "Any time at all." in body
    now = services.revision(services.draft_of(school))
    assert f'value="{now}"' in body  # publishing again publishes what is shown
    assert services.current(school) is None
    # Without a revision the form is incomplete: nothing is published.
    response = client.post(reverse(PUBLISH), {"school": "greenfield", "comment": "x"})
    assert response.status_code == 400 and services.current(school) is None
    response = client.post(reverse(PUBLISH), {"school": "greenfield", "revision": now})
    assert response.status_code == 302 and services.current(school).rules == "Any time at all."


def test_a_long_publish_comment_is_refused(client, school, rachel):
    draft = services.save_draft(school, rachel, {"rules": "x"})
    client.force_login(rachel)
    response = client.post(
        reverse(PUBLISH),
        {"school": "greenfield", "comment": "y" * 3000, "revision": services.revision(draft)},
    )
    assert response.status_code == 400
    assert "Nothing was published" in response.content.decode()
    assert "at most 2000 characters" in response.content.decode()
    assert list(ReleasePolicy.objects.filter(school=school).values_list("state", flat=True)) == [
        "draft"
    ]


def test_a_stale_edit_is_refused_and_shows_the_draft_now(client, school, rachel, team):
    services.save_draft(school, rachel, {"rules": "Only in the summer."})
    client.force_login(rachel)
    url = reverse("releases:policy_edit") + "?school=greenfield"
    seen = services.revision(services.draft_of(school))
    assert f'value="{seen}"' in client.get(url).content.decode()
    services.save_draft(school, team["sam"], {"rules": "Any time at all."})  # meanwhile
    response = client.post(url, edit_data(seen, "Mine, over theirs."))
    assert response.status_code == 409
    body = response.content.decode()
    assert "Someone else changed the draft" in body
    assert "The draft as it is now" in body and "Any time at all." in body
    assert services.draft_of(school).rules == "Any time at all."
    now = services.revision(services.draft_of(school))
    assert f'value="{now}"' in body and "Mine, over theirs." in body
    # Having seen it, saving again replaces it.
    assert client.post(url, edit_data(now, "Mine, over theirs.")).status_code == 302
    assert services.draft_of(school).rules == "Mine, over theirs."


# --- The API. ---


def test_the_api_refuses_stale_revisions(school, rachel, team):
    draft = services.save_draft(school, rachel, {"rules": "Draft one."})
    body = api(rachel).get(f"{LIST}{draft.pk}/").json()
    seen = body["revision"]
    assert seen == services.revision(draft)
    services.save_draft(school, team["sam"], {"rules": "Sam's."})
    response = api(rachel).patch(
        f"{LIST}{draft.pk}/", {"rules": "Mine", "expected_revision": seen}, format="json"
    )
    assert response.status_code == 409 and "Someone else" in response.json()["detail"]
    response = api(rachel).post(
        f"{LIST}{draft.pk}/publish/", {}, format="json", HTTP_IF_MATCH=f'"{seen}"'
    )
    assert response.status_code == 409
    assert services.current(school) is None and services.draft_of(school).rules == "Sam's."
    now = api(rachel).get(f"{LIST}{draft.pk}/").json()["revision"]
    response = api(rachel).post(
        f"{LIST}{draft.pk}/publish/", {"expected_revision": now}, format="json"
    )
    assert response.status_code == 200 and response.json()["revision"] is None


def test_a_patch_racing_a_publish_writes_no_new_draft(school, rachel, team, monkeypatch):
    draft = services.save_draft(school, rachel, {"rules": "Draft one."})
    real = api_module.may_manage
    calls = {"n": 0}

    def racing(user, s):
        # Another manager publishes between the API's read of the row and its write.
        calls["n"] += 1
        if calls["n"] == 2:
            services.publish(school, team["sam"])
        return real(user, s)

    monkeypatch.setattr(api_module, "may_manage", racing)
    response = api(rachel).patch(f"{LIST}{draft.pk}/", {"rules": "Edited"}, format="json")
    assert calls["n"] >= 2
    assert response.status_code == 409, response.json()
    assert list(ReleasePolicy.objects.filter(school=school).values_list("state", "rules")) == [
        ("published", "Draft one.")
    ]


def test_a_superseded_version_says_so(school, rachel):
    services.save_draft(school, rachel, {"rules": "x"})
    first = services.publish(school, rachel)
    services.save_draft(school, rachel, {"rules": "y"})
    services.publish(school, rachel)
    services.save_draft(school, rachel, {"rules": "z"})
    response = api(rachel).post(f"{LIST}{first.pk}/publish/", {}, format="json")
    assert response.status_code == 400
    assert response.json()["detail"] == "Version 1 is not a draft: it is superseded."
