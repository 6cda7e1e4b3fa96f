"""The standard change panel on the RFC page, in each of its forms, and what it costs."""

from __future__ import annotations

from django.db import connection
from django.test.utils import CaptureQueriesContext

from changedesk.standard import rfc, services
from changedesk.standard.tests.conftest import CONTENT, propose_and_approve


def _panel(client, user, change) -> str:
    client.force_login(user)
    page = client.get(change.get_absolute_url()).content.decode()
    start = page.find('<section class="panel standard-panel"')
    return page[start : page.index("</section>", start)] if start >= 0 else ""


def test_a_proposal_naming_its_raisers_names_them(client, team, school, laptops):
    template = services.create_template(
        school, team["olivia"], dict(CONTENT), items=[laptops], raisers=[team["olivia"]]
    )
    proposal = services.propose(template.pk, team["olivia"])
    panel = _panel(client, team["olivia"], proposal)
    assert "Proposes a standard change" in panel and template.get_absolute_url() in panel
    assert f"raised by {team['olivia'].display_name}." in panel


def test_a_proposal_approved_no_longer_names_who_raises(client, team, template):
    proposal = propose_and_approve(template, team)
    panel = _panel(client, team["olivia"], proposal)
    assert "Proposes a standard change" in panel
    assert "RFCs raised from it will then go ahead without the approvals.</p>" in panel


def test_an_rfc_neither_raised_nor_proposing_shows_none_for_one_query(rf, team, draft):
    request = rf.get("/")
    request.user = team["olivia"]
    with CaptureQueriesContext(connection) as queries:
        assert rfc._panel(request, draft) is None
    assert len(queries) == 1
