"""Drafting a notice from an approved RFC, who may write one, and what the school was told."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.utils import timezone

from changedesk.changes.workflow import perform
from changedesk.communication.models import Notice
from changedesk.communication.services import (
    draft_from_change,
    is_untold,
    notice_for,
    notice_panel,
    publish_notice,
    untold_changes_starting,
    update_notice,
    users_told,
    withdraw_notice,
)
from changedesk.conftest import advance
from changedesk.lib.errors import InvalidAction, NotPermitted, StaleChange

pytestmark = pytest.mark.django_db


def test_it_drafts_from_the_rfc_in_plain_words(school, team, draft):
    # Monday 3 March 2025, 09:00 in London (GMT): the plan is for 18:00 a week later.
    with time_machine.travel(datetime(2025, 3, 3, 9, tzinfo=UTC), tick=False):
        change = advance(draft, team, "approved")
        notice, created = draft_from_change(change.pk, team["olivia"])

    assert created
    assert notice.status == "draft"
    assert notice.kind == "change"
    assert notice.title == "Replace the ICT suite 2 switch"
    assert notice.what == change.description
    assert notice.what_you_will_notice == "ICT suite 2 offline for an hour after school."
    assert notice.when_text == "Monday 10 March, 18:00 to 19:00"
    assert notice.who_to_ask == "Olivia Okafor, ICT technician"
    assert (notice.starts_at, notice.ends_at) == (change.planned_start, change.planned_end)
    assert notice.created_by == team["olivia"]


def test_the_when_is_written_in_the_school_time_zone(team, draft, school):
    school.timezone = "Europe/Paris"
    school.save()
    with time_machine.travel(datetime(2025, 3, 3, 9, tzinfo=UTC), tick=False):
        change = advance(draft, team, "approved")
        notice, _ = draft_from_change(change.pk, team["olivia"])
    assert notice.when_text == "Monday 10 March, 19:00 to 20:00"


def test_a_communicator_may_draft_and_a_second_draft_opens_the_first(approved, carol, olivia):
    first, created = draft_from_change(approved.pk, carol)
    again, created_again = draft_from_change(approved.pk, olivia)

    assert created and not created_again
    assert again.pk == first.pk
    assert Notice.objects.count() == 1


@pytest.mark.parametrize("who", ["ian", "fiona", "ivan", "sam"])
def test_others_in_the_school_may_not_draft(approved, team, who):
    with pytest.raises(NotPermitted):
        draft_from_change(approved.pk, team[who])
    assert Notice.objects.count() == 0


def test_a_viewer_may_not_draft(approved, vera):
    with pytest.raises(NotPermitted):
        draft_from_change(approved.pk, vera)


def test_a_change_not_yet_approved_has_no_notice(draft, olivia):
    with pytest.raises(InvalidAction, match="once the change is approved"):
        draft_from_change(draft.pk, olivia)


def test_the_originator_edits_the_words_but_not_the_window(approved, olivia):
    notice, _ = draft_from_change(approved.pk, olivia)

    update_notice(notice.pk, olivia, {"what_to_do": "Save your work before 6pm."})
    notice.refresh_from_db()
    assert notice.what_to_do == "Save your work before 6pm."

    with pytest.raises(InvalidAction) as error:
        update_notice(notice.pk, olivia, {"starts_at": timezone.now()})
    assert "starts_at" in error.value.fields


def test_a_notice_needs_a_title(approved, carol):
    notice, _ = draft_from_change(approved.pk, carol)
    with pytest.raises(InvalidAction) as error:
        update_notice(notice.pk, carol, {"title": "  "})
    assert error.value.fields == {"title": "Give the notice a title."}


def test_publishing_records_who_and_when_and_users_told(approved, carol):
    notice, _ = draft_from_change(approved.pk, carol)
    assert users_told(approved) is None

    published = publish_notice(notice.pk, carol)

    assert published.status == "published"
    assert published.published_by == carol
    assert users_told(approved) == published.published_at
    assert notice_for(approved).pk == notice.pk
    with pytest.raises(StaleChange):
        publish_notice(notice.pk, carol)


def test_withdrawing_and_publishing_again_keeps_the_first_time_told(approved, carol):
    notice, _ = draft_from_change(approved.pk, carol)
    first = publish_notice(notice.pk, carol).published_at

    withdraw_notice(notice.pk, carol)
    assert users_told(approved) is None

    later = publish_notice(notice.pk, carol, now=timezone.now() + timedelta(hours=1))
    assert later.published_at > first
    assert users_told(approved) == first


def test_a_notice_of_a_withdrawn_change_cannot_be_published(approved, team, carol):
    notice, _ = draft_from_change(approved.pk, carol)
    perform(approved.pk, "withdraw", team["olivia"])

    with pytest.raises(InvalidAction, match="nothing to tell"):
        publish_notice(notice.pk, carol)


def test_an_approved_change_starting_soon_without_a_notice_is_flagged(approved, carol, school):
    soon = approved.planned_start - timedelta(days=2)
    far = approved.planned_start - timedelta(days=30)

    assert list(untold_changes_starting(school, now=soon)) == [approved]
    assert list(untold_changes_starting(school, now=far)) == []
    assert is_untold(approved, now=soon)

    notice, _ = draft_from_change(approved.pk, carol)
    [flagged] = untold_changes_starting(school, now=soon)
    assert flagged.notice_id == notice.pk  # a draft does not tell anyone

    publish_notice(notice.pk, carol)
    assert list(untold_changes_starting(school, now=soon)) == []
    assert not is_untold(approved, now=soon)


def test_a_change_under_way_is_still_flagged_until_it_ends(approved, school):
    during = approved.planned_start + timedelta(minutes=30)
    after = approved.planned_end + timedelta(minutes=1)
    assert list(untold_changes_starting(school, now=during)) == [approved]
    assert list(untold_changes_starting(school, now=after)) == []


def test_the_rfc_panel_offers_a_draft_to_the_originator_only(approved, team, carol):
    assert notice_panel(approved, team["olivia"]).may_draft
    assert notice_panel(approved, carol).may_draft
    assert not notice_panel(approved, team["ian"]).may_draft

    notice, _ = draft_from_change(approved.pk, carol)
    panel = notice_panel(approved, team["olivia"])
    assert panel.notice == notice
    assert panel.may_edit and not panel.may_draft
    assert panel.told_at is None
    assert panel.notice_url == f"/notices/greenfield/{notice.pk}/"
