"""The release windows in the conflict engine: an RFC of an open release planned outside
the published policy's windows has a soft conflict (the final approval needs a reason);
inside one, or not in a release, or without a policy, it has none."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine

from changedesk.changes.models import Change
from changedesk.changes.workflow import perform
from changedesk.conftest import advance
from changedesk.lib.errors import InvalidAction
from changedesk.releases.conflicts import KIND, release_window_conflict
from changedesk.releases.models import Release, ReleaseChange
from changedesk.releases.services import policy as services
from changedesk.schedule.conflicts import find_conflicts, find_conflicts_many
from changedesk.schedule.tests.factories import planned

pytestmark = pytest.mark.django_db

LONDON = ZoneInfo("Europe/London")
SUMMER = {"name": "Summer holidays", "first_day": date(2027, 7, 22), "last_day": date(2027, 8, 31)}
EASTER = {"name": "Easter holidays", "first_day": date(2027, 3, 22), "last_day": date(2027, 4, 2)}


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(datetime(2027, 1, 11, 12, tzinfo=UTC), tick=False):
        yield


def at(month, day, hour=0):
    return datetime(2027, month, day, hour, tzinfo=LONDON)


def publish(school, user, windows=(SUMMER, EASTER)):
    services.save_draft(school, user, {"rules": "Only in the windows."}, list(windows))
    return services.publish(school, user)


def in_release(change, state="build"):
    release = Release.objects.create(school=change.school, title="Summer laptops", state=state)
    ReleaseChange.objects.create(school=change.school, release=release, change=change)
    return release


def rfc(school, person, start, end):
    change = planned(school, person, start, end)
    return Change.objects.select_related("school").get(pk=change.pk)


def kinds(conflicts):
    return [c.kind for c in conflicts]


def test_inside_a_window_no_conflict_outside_a_soft_one(school, team, rachel):
    publish(school, rachel)
    inside = rfc(school, team["olivia"], at(8, 3, 9), at(8, 3, 15))
    outside = rfc(school, team["olivia"], at(6, 8, 18), at(6, 8, 20))
    in_release(inside)
    in_release(outside)
    assert KIND not in kinds(find_conflicts(inside))
    found = [c for c in find_conflicts(outside) if c.kind == KIND]
    assert len(found) == 1 and found[0].hard is False
    assert found[0].message == (
        "Runs outside the release windows of the release policy (Summer holidays: 22 July to "
        "31 August 2027)."
    )  # Easter is over by 8 June: the windows still to come are named.


def test_the_message_names_the_windows_to_come(school, team, rachel):
    publish(school, rachel)
    early = rfc(school, team["olivia"], at(2, 8, 18), at(2, 8, 20))
    in_release(early)
    (found,) = [c for c in find_conflicts(early) if c.kind == KIND]
    assert found.message == (
        "Runs outside the release windows of the release policy (Easter holidays: 22 March to "
        "2 April 2027; Summer holidays: 22 July to 31 August 2027)."
    )


def test_straddling_a_windows_edge_is_outside(school, team, rachel):
    publish(school, rachel)
    # From the last evening of the summer holidays into the first day of term.
    over_end = rfc(school, team["olivia"], at(8, 31, 18), at(9, 1, 2))
    # The whole last day, to the midnight after it: inside.
    last_day = rfc(school, team["olivia"], at(8, 31, 0), at(9, 1, 0))
    # Starting the evening before the window opens.
    over_start = rfc(school, team["olivia"], at(7, 21, 22), at(7, 22, 4))
    for change in (over_end, last_day, over_start):
        in_release(change)
    found = find_conflicts_many([over_end, last_day, over_start])
    assert KIND in kinds(found[over_end.pk])
    assert KIND not in kinds(found[last_day.pk])
    assert KIND in kinds(found[over_start.pk])


def test_no_conflict_without_a_policy_a_release_or_an_open_one(school, team, rachel):
    change = rfc(school, team["olivia"], at(6, 8, 18), at(6, 8, 20))
    release = in_release(change)
    assert KIND not in kinds(find_conflicts(change))  # no policy published
    services.save_draft(school, rachel, {"rules": "Only in the windows."}, [SUMMER])
    assert KIND not in kinds(find_conflicts(change))  # a draft is not in force
    services.publish(school, rachel)
    assert KIND in kinds(find_conflicts(change))
    Release.objects.filter(pk=release.pk).update(state="closed")
    assert KIND not in kinds(find_conflicts(change))  # the release is over
    loose = rfc(school, team["olivia"], at(6, 9, 18), at(6, 9, 20))
    assert KIND not in kinds(find_conflicts(loose))  # not in a release


def test_a_policy_without_windows_says_nothing(school, team, rachel):
    publish(school, rachel, windows=())
    change = rfc(school, team["olivia"], at(6, 8, 18), at(6, 8, 20))
    in_release(change)
    assert KIND not in kinds(find_conflicts(change))


def test_another_schools_policy_is_ignored(school, other_school, team, rachel, oscar):
    from changedesk.accounts.choices import Role
    from changedesk.accounts.services import set_membership

    set_membership(oscar, other_school, [Role.RELEASE_MANAGER, Role.ORIGINATOR])
    publish(other_school, oscar)
    ours = rfc(school, team["olivia"], at(6, 8, 18), at(6, 8, 20))
    in_release(ours)
    assert KIND not in kinds(find_conflicts(ours))
    # And ours does not apply to theirs, in one call for both schools.
    publish(school, rachel, windows=[{**SUMMER, "first_day": date(2027, 6, 1)}])
    theirs = rfc(other_school, oscar, at(6, 8, 18), at(6, 8, 20))
    in_release(theirs)
    found = find_conflicts_many([ours, theirs])
    assert KIND not in kinds(found[ours.pk])  # inside Greenfield's longer summer
    assert KIND in kinds(found[theirs.pk])  # outside Hillside's


def test_the_query_count_of_a_page_is_flat(school, team, rachel, django_assert_num_queries):
    publish(school, rachel)
    changes = [rfc(school, team["olivia"], at(6, d, 18), at(6, d, 20)) for d in range(1, 4)]
    for change in changes:
        in_release(change)
    with django_assert_num_queries(5) as few:  # calendar 2, others 1, releases 1, windows 1
        find_conflicts_many(changes[:1])
    many = [rfc(school, team["olivia"], at(6, d, 18), at(6, d, 20)) for d in range(4, 20)]
    for change in many:
        in_release(change)
    with django_assert_num_queries(5):
        found = find_conflicts_many(changes + many)
    assert all(KIND in kinds(found[c.pk]) for c in changes + many)
    assert len(few.captured_queries) == 5
    # No RFC in a release: the windows are not read.
    loose = [rfc(school, team["olivia"], at(6, d, 18), at(6, d, 20)) for d in (21, 22)]
    with django_assert_num_queries(4):
        find_conflicts_many(loose)


def test_a_releases_own_window(school, rachel):
    assert release_window_conflict(school, at(6, 1), at(6, 5)) is None  # no policy
    publish(school, rachel)
    assert release_window_conflict(school, at(7, 22), at(9, 1)) is None
    conflict = release_window_conflict(school, at(7, 20), at(8, 5))
    assert conflict is not None and conflict.kind == KIND and not conflict.hard
    assert release_window_conflict(school, at(7, 22), at(7, 22)) is None  # no window at all


def test_the_final_approval_needs_a_reason(school, team, rachel, draft):
    change = advance(draft, team, "awaiting_final_approval")
    start = change.planned_start
    # A window that does not hold the plan (it is a week ahead).
    publish(
        school,
        rachel,
        windows=[
            {
                "name": "Later",
                "first_day": (start + timedelta(days=30)).date(),
                "last_day": (start + timedelta(days=40)).date(),
            }
        ],
    )
    in_release(change)
    with pytest.raises(InvalidAction) as refused:
        perform(change.pk, "approve", team["fiona"])
    assert refused.value.status == 400
    assert "release windows" in refused.value.fields["override_reason"]
    approved = perform(
        change.pk, "approve", team["fiona"], data={"override_reason": "The supplier is booked."}
    )
    assert approved.state == "approved"


def test_without_the_release_the_same_approval_needs_no_reason(school, team, rachel, draft):
    change = advance(draft, team, "awaiting_final_approval")
    start = change.planned_start
    publish(
        school,
        rachel,
        windows=[
            {
                "name": "Later",
                "first_day": (start + timedelta(days=30)).date(),
                "last_day": (start + timedelta(days=40)).date(),
            }
        ],
    )
    assert perform(change.pk, "approve", team["fiona"]).state == "approved"
