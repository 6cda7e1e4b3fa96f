"""Training: the guides, dated confirmations per role, and who sees who has confirmed."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.urls import reverse

from changedesk.accounts.choices import Role
from changedesk.adoption import guidance, services
from changedesk.adoption.models import TrainingConfirmation
from changedesk.lib.errors import InvalidAction, NotPermitted

pytestmark = pytest.mark.django_db

INDEX = "/getting-started/training/"


def test_every_change_role_has_a_guide_with_steps_and_a_worked_example():
    for role in guidance.CHANGE_ROLES:
        guide = guidance.GUIDES[role]
        assert guide.steps and all(n in guidance.STEPS for n in guide.steps)
        assert guide.example.title and guide.example.story
    assert [p.key for p in guidance.OVERVIEW] == ["change", "release", "patch"]


def test_confirmations_are_dated_per_role_and_kept(school, olivia):
    first = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
    services.confirm_training(school, olivia, Role.ORIGINATOR, now=first)
    later = datetime(2026, 11, 9, 9, 0, tzinfo=UTC)
    services.confirm_training(school, olivia, Role.ORIGINATOR, now=later)
    assert TrainingConfirmation.objects.filter(user=olivia).count() == 2
    facts = services.load(school)
    assert facts.confirmed[(olivia.pk, Role.ORIGINATOR)] == later
    [row] = [r for r in services.training_rows(facts) if r.user == olivia]
    assert dict((k, w) for k, _, w in row.guides) == {
        Role.ORIGINATOR: later,
        Role.IMPLEMENTER: None,
    }
    assert not row.done


def test_a_confirmation_needs_a_real_guide_and_a_member(school, olivia, oscar, root):
    with pytest.raises(InvalidAction):
        services.confirm_training(school, olivia, "wizard")
    with pytest.raises(NotPermitted):
        services.confirm_training(school, oscar, Role.ORIGINATOR)
    with pytest.raises(NotPermitted):  # an operator takes no part
        services.confirm_training(school, root, Role.ORIGINATOR)


def test_the_button_confirms(client, school, olivia):
    client.force_login(olivia)
    url = reverse("adoption:training_guide", args=[Role.ORIGINATOR])
    body = client.get(url, {"school": school.slug}).content.decode()
    assert "Replace the ICT suite 2 network switch" in body  # the demo's RFC, by title
    response = client.post(
        reverse("adoption:training_confirm", args=[Role.ORIGINATOR]), {"school": school.slug}
    )
    assert response.status_code == 302
    assert TrainingConfirmation.objects.filter(user=olivia, role=Role.ORIGINATOR).exists()
    body = client.get(url, {"school": school.slug}).content.decode()
    assert "You confirmed this guide on" in body
    client.post(reverse("adoption:training_confirm", args=["overview"]), {"school": school.slug})
    assert TrainingConfirmation.objects.filter(user=olivia, role="overview").exists()


def test_unknown_guides_are_404(client, school, olivia):
    client.force_login(olivia)
    assert client.get("/getting-started/training/wizard/").status_code == 404
    assert client.post("/getting-started/training/wizard/confirm/").status_code == 404


def test_who_has_and_has_not_is_seen_by_the_lead_and_approvers(client, school, team):
    services.confirm_training(school, team["olivia"], Role.ORIGINATOR)
    for who in ("sam", "ian", "fiona"):
        client.force_login(team[who])
        body = client.get(INDEX, {"school": school.slug}).content.decode()
        assert "Who has confirmed their guides" in body
        assert "Olivia Okafor" in body and "Peter Patel" in body
        assert "not yet" in body
    client.force_login(team["olivia"])
    body = client.get(INDEX, {"school": school.slug}).content.decode()
    assert "Your guides" in body
    assert "Olivia Okafor" in body and "Peter Patel" not in body


def test_training_pages_are_404_for_another_school(client, school, oscar):
    client.force_login(oscar)
    assert client.get(INDEX, {"school": school.slug}).status_code == 404
    assert client.get(INDEX + "overview/", {"school": school.slug}).status_code == 404
    response = client.post(INDEX + "originator/confirm/", {"school": school.slug})
    assert response.status_code == 404
