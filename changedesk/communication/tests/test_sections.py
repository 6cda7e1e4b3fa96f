"""The seam for apps above `communication`: a registered board section is shown on the
school's board, its print and the public board, with the viewer (None by the secret link)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from changedesk.communication import sections
from changedesk.communication.services import settings_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def section(tmp_path, settings):
    """A made-up app's section, from a template in a folder of its own."""
    folder = tmp_path / "templates"
    (folder / "madeup").mkdir(parents=True)
    (folder / "madeup" / "_section.html").write_text(
        '<section class="madeup">Lunch menu for {{ section.school }}'
        "{% if section.viewer %}, for {{ section.viewer }}{% endif %}"
        "{% if printing %} (printed){% endif %}.</section>"
    )
    settings.TEMPLATES = [
        {**settings.TEMPLATES[0], "DIRS": [*settings.TEMPLATES[0]["DIRS"], str(folder)]}
    ]
    seen = []

    def context(school, viewer):
        seen.append((school, viewer))
        if school.slug == "quiet":
            return None
        return {"school": school.name, "viewer": viewer.username if viewer else ""}

    sections.register_section(sections.BoardSection("madeup", "madeup/_section.html", context))
    yield seen
    sections.unregister_section("madeup")


def test_a_section_is_on_the_board_and_its_print(client, school, team, section):
    client.force_login(team["fiona"])
    page = client.get(reverse("communication:school_board", args=[school.slug]))
    assert page.status_code == 200
    assert "Lunch menu for Greenfield Primary, for fiona." in page.content.decode()
    printed = client.get(reverse("communication:school_board_print", args=[school.slug]))
    assert "Lunch menu for Greenfield Primary, for fiona (printed)." in printed.content.decode()
    assert section[-1] == (school, team["fiona"])


def test_the_public_board_shows_it_to_nobody_in_particular(client, school, team, section):
    key = settings_for(school).board_key
    client.force_login(team["fiona"])  # signed in or not, the link is public
    page = client.get(reverse("communication:board", args=[key])).content.decode()
    assert "Lunch menu for Greenfield Primary." in page
    printed = client.get(reverse("communication:board_print", args=[key])).content.decode()
    assert "Lunch menu for Greenfield Primary (printed)." in printed
    assert section[-1][1] is None


def test_a_section_with_nothing_to_show_is_left_out(client, team, section):
    from changedesk.accounts.services import create_school, set_membership

    quiet = create_school("Quiet School", "quiet")
    set_membership(team["fiona"], quiet, ["viewer"])
    client.force_login(team["fiona"])
    page = client.get(reverse("communication:school_board", args=["quiet"]))
    assert page.status_code == 200 and "Lunch menu" not in page.content.decode()


def test_a_taken_key_is_refused(section):
    with pytest.raises(ValueError, match="taken"):
        sections.register_section(
            sections.BoardSection("madeup", "other.html", lambda school, viewer: None)
        )
