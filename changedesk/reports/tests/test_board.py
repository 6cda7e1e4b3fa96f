"""The latest frozen report pinned to the school's notice board: none before the first is
frozen, then the newest, with its headline figures and decisions; links to the report for
its readers only (never on the public board)."""

from __future__ import annotations

from datetime import date

import pytest
from django.urls import reverse

from changedesk.communication.services import settings_for
from changedesk.reports import archive, board
from changedesk.reports.tests.test_archive_pages import client_of, october, stored  # noqa: F401

pytestmark = pytest.mark.django_db


def test_the_section_is_registered_and_shows_nothing_before_the_first_report(school, team):
    from changedesk.communication.sections import _SECTIONS

    assert _SECTIONS["report_archive"] is board.SECTION
    assert board.archive_section(school, team["fiona"]) is None


def test_the_latest_snapshot_is_pinned_with_its_figures_and_decisions(school, team):
    stored(school, date(2026, 9, 1), ids=5)
    latest = stored(school, date(2026, 10, 1), ids=7)
    archive.record_decision(
        latest, team["fiona"], "Fewer emergencies.", "Committee", date(2026, 11, 3)
    )
    section = board.archive_section(school, team["fiona"])
    assert section["snapshot"] == latest
    assert section["figures"] == [{"label": "RFCs raised", "value": 7}]
    assert [d.text for d in section["decisions"]] == ["Fewer emergencies."]
    assert section["url"] == reverse("reports:snapshot", args=[latest.pk])


def test_links_are_for_the_readers_only(school, team):
    stored(school, date(2026, 10, 1))
    assert board.archive_section(school, team["sam"])["url"]
    assert board.archive_section(school, team["olivia"])["url"] is None
    assert board.archive_section(school, None)["url"] is None


def test_the_board_pages_show_the_frozen_report(client, school, team, october):  # noqa: F811
    page = client_of(client, team["fiona"]).get(
        reverse("communication:school_board", args=[school.slug])
    )
    text = page.content.decode()
    assert page.status_code == 200
    assert "Our latest change report: October 2026" in text
    assert reverse("reports:snapshot", args=[october.pk]) in text
    client.logout()
    public = client.get(reverse("communication:board", args=[settings_for(school).board_key]))
    assert "Our latest change report: October 2026" in public.content.decode()
    assert reverse("reports:snapshot", args=[october.pk]) not in public.content.decode()


def test_the_section_costs_two_queries_however_many_snapshots(
    school, team, django_assert_num_queries
):
    for month in range(1, 12):
        stored(school, date(2025, month, 1))
    with django_assert_num_queries(2):
        board.archive_section(school, None)
