"""The materials: the blank printable RFC, the role cards and the worked examples, read by
every member; copying an example opens the new-RFC form filled in with it."""

from __future__ import annotations

import html
import re

import pytest
from django.urls import reverse

from changedesk.accounts.choices import Role
from changedesk.accounts.services import create_user, set_membership
from changedesk.adoption import examples
from changedesk.conftest import member

pytestmark = pytest.mark.django_db

PAGES = [
    reverse("adoption:materials"),
    reverse("adoption:materials_blank"),
    reverse("adoption:materials_cards"),
    reverse("adoption:materials_example", args=[examples.EXAMPLES[0].slug]),
]


def _get(client, user, url, **query):
    client.force_login(user)
    return client.get(url, query)


def test_anonymous_is_sent_to_sign_in(client, school):
    for url in PAGES:
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("accounts:login"))


def test_every_member_reads_them(client, team):
    viewer = member("vera", team["olivia"].memberships.get().school, [Role.VIEWER])
    for person in [*team.values(), viewer]:
        for url in PAGES:
            assert _get(client, person, url).status_code == 200, (person, url)


def test_another_school_or_none_is_a_404(client, team, oscar, school):
    for url in PAGES:
        assert _get(client, oscar, url, school=school.slug).status_code == 404
    nobody = create_user("nobody", email="n@example.org", password=None, check_password=False)
    assert _get(client, nobody, PAGES[0]).status_code == 404
    missing = reverse("adoption:materials_example", args=["no-such-example"])
    assert _get(client, team["olivia"], missing).status_code == 404


def test_the_blank_rfc_has_every_box_of_the_fits_form_on_a4(client, team, school):
    page = _get(client, team["sam"], PAGES[1], school=school.slug).content.decode()
    for box in (
        "Reference",
        "Name",
        "Brief description",
        "Reason for change",
        "Originator",
        "Initial approver",
        "Full details of the change",
        "Impact on ICT services and users",
        "Risk of failure and impact of failure",
        "Fallback plan",
        "Date and time",
        "Peer reviewer",
        "Final approver",
        "Name and signature",
        "Outcome",
        "Configuration records updated",
        "Review",
        "Closure",
    ):
        assert box in page, box
    assert school.name in page
    assert "changedesk/adoption.css" in page
    assert "data-print" in page


def test_the_stylesheet_prints_on_a4():
    from pathlib import Path

    css = (Path(__file__).parents[2] / "static/changedesk/adoption.css").read_text()
    assert "@page { size: A4" in css


def test_the_role_cards_cover_each_role(client, team):
    page = html.unescape(_get(client, team["olivia"], PAGES[2]).content.decode())
    for card in examples.role_cards():
        assert card.name in page
        assert card.who in page
        assert card.steps in page
    for name in ("Originator", "Initial approver", "Peer reviewer", "Final approver",
                 "Implementer", "Communicator", "Installer"):  # fmt: skip
        assert f">{name}</h2>" in page


def test_the_cards_take_the_training_guides_words():
    from changedesk.adoption.guidance import GUIDES

    cards = {card.role: card for card in examples.role_cards()}
    guide = GUIDES[Role.FINAL_APPROVER]
    assert cards[Role.FINAL_APPROVER].who == guide.usually
    assert cards[Role.FINAL_APPROVER].does == tuple(guide.what_you_do)
    # A role without a guide keeps the card's own words.
    assert cards[Role.INSTALLER].who == "A technician."


def test_the_library_holds_six_or_more_complete_examples(client, team):
    assert len(examples.EXAMPLES) >= 6
    assert any(e.is_emergency for e in examples.EXAMPLES)
    for example in examples.EXAMPLES:
        for name in ("title", "description", "reason", "details", "impact", "risk",
                     "fallback_plan", "when", "originator", "initial_approver",
                     "final_approver", "outcome", "records", "review", "closure"):  # fmt: skip
            assert str(getattr(example, name)).strip(), (example.slug, name)
    index = _get(client, team["olivia"], PAGES[0]).content.decode()
    for example in examples.EXAMPLES:
        assert reverse("adoption:materials_example", args=[example.slug]) in index


def _copy_link(page: str) -> str:
    start = page.index('href="/changes/new/?') + len('href="')
    return html.unescape(page[start : page.index('"', start)])


def test_copying_an_example_prefills_the_new_rfc_form(client, team, school):
    example = examples.BY_SLUG["mis-upgrade"]
    url = reverse("adoption:materials_example", args=[example.slug])
    page = _get(client, team["olivia"], url).content.decode()
    assert "Copy into a new RFC" in page
    link = _copy_link(page)
    assert f"school={school.slug}" in link
    form = client.get(link)
    assert form.status_code == 200
    body = html.unescape(form.content.decode())
    assert f'value="{example.title}"' in body
    for name in ("description", "reason", "details", "impact", "risk", "fallback_plan"):
        assert getattr(example, name) in body, name
    # Nothing is saved until the person saves it.
    from changedesk.changes.models import Change

    assert not Change.objects.filter(title=example.title).exists()


def test_copying_the_emergency_example_marks_it_an_emergency(client, team):
    example = next(e for e in examples.EXAMPLES if e.is_emergency)
    page = _get(client, team["olivia"], reverse("adoption:materials_example", args=[example.slug]))
    form = client.get(_copy_link(page.content.decode()))
    body = html.unescape(form.content.decode())
    tag = re.search(r'<input[^>]*name="is_emergency"[^>]*>', body)
    assert tag is not None and "checked" in tag.group(0)
    assert example.emergency_justification in body


def test_someone_who_may_not_raise_an_rfc_sees_no_copy_button(client, team):
    url = reverse("adoption:materials_example", args=[examples.EXAMPLES[0].slug])
    page = _get(client, team["fiona"], url).content.decode()
    assert "Copy into a new RFC" not in page
    assert examples.EXAMPLES[0].details.splitlines()[0] in html.unescape(page)


def test_a_person_of_two_schools_copies_into_the_school_they_choose(client, team, other_school):
    olivia = team["olivia"]
    set_membership(olivia, other_school, [Role.ORIGINATOR])
    url = reverse("adoption:materials_example", args=[examples.EXAMPLES[0].slug])
    page = html.unescape(_get(client, olivia, url).content.decode())
    assert "Copy into a new RFC at Greenfield Primary" in page
    assert "Copy into a new RFC at Hillside Academy" in page
    chosen = html.unescape(_get(client, olivia, url, school="hillside").content.decode())
    assert "school=hillside" in chosen and "school=greenfield" not in chosen


def test_the_pages_cost_a_fixed_number_of_queries(client, team, django_assert_max_num_queries):
    client.force_login(team["olivia"])
    for url in PAGES:
        with django_assert_max_num_queries(6):
            assert client.get(url).status_code == 200
