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
    with django_assert_num_queries(7) as few:  # calendar 2, others 1; releases, policies,
        # windows near, windows named: 1 each
        find_conflicts_many(changes[:1])
    many = [rfc(school, team["olivia"], at(6, d, 18), at(6, d, 20)) for d in range(4, 20)]
    for change in many:
        in_release(change)
    with django_assert_num_queries(7):
        found = find_conflicts_many(changes + many)
    assert all(KIND in kinds(found[c.pk]) for c in changes + many)
    assert len(few.captured_queries) == 7
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


# --- Each plan decided on its own, wherever it lies; touching windows are one. ---


def test_a_far_plan_gets_the_same_answer_alone_or_with_others(school, team, rachel):
    publish(school, rachel, [SUMMER])
    far = rfc(school, team["olivia"], datetime(2028, 10, 3, 9, tzinfo=LONDON),
              datetime(2028, 10, 3, 12, tzinfo=LONDON))  # fmt: skip
    near = rfc(school, team["olivia"], at(6, 2, 9), at(6, 2, 10))
    in_release(far)
    in_release(near)
    alone = find_conflicts(far)
    assert KIND in kinds(alone)  # more than a year after the window: still outside
    together = find_conflicts_many([far, near])
    assert kinds(together[far.pk]) == kinds(alone)
    assert [c.message for c in together[far.pk]] == [c.message for c in alone]
    assert KIND in kinds(find_conflicts(near)) and KIND in kinds(together[near.pk])


def test_a_window_far_ahead_still_counts(school, team, rachel):
    far_window = {"name": "Next summer", "first_day": date(2029, 7, 20),
                  "last_day": date(2029, 8, 31)}  # fmt: skip
    publish(school, rachel, [far_window])
    inside = rfc(school, team["olivia"], datetime(2029, 8, 1, 9, tzinfo=LONDON),
                 datetime(2029, 8, 1, 10, tzinfo=LONDON))  # fmt: skip
    early = rfc(school, team["olivia"], at(6, 2, 9), at(6, 2, 10))
    in_release(inside)
    in_release(early)
    assert KIND not in kinds(find_conflicts(inside))
    flagged = [c for c in find_conflicts(early) if c.kind == KIND]
    assert len(flagged) == 1 and "Next summer: 20 July to 31 August 2029" in flagged[0].message
    both = find_conflicts_many([inside, early])
    assert KIND not in kinds(both[inside.pk]) and KIND in kinds(both[early.pk])


def test_a_plan_across_back_to_back_windows_is_inside(school, team, rachel):
    september = {"name": "Training week", "first_day": date(2027, 9, 1),
                 "last_day": date(2027, 9, 5)}  # fmt: skip
    publish(school, rachel, [SUMMER, september])
    across = rfc(school, team["olivia"], at(8, 31, 22), at(9, 1, 2))
    beyond = rfc(school, team["olivia"], at(9, 5, 22), at(9, 6, 2))
    in_release(across)
    in_release(beyond)
    assert KIND not in kinds(find_conflicts(across))
    assert KIND in kinds(find_conflicts(beyond))
    assert release_window_conflict(school, at(8, 30), at(9, 3)) is None


def test_no_rfc_flagged_reads_no_names(school, team, rachel, django_assert_num_queries):
    publish(school, rachel)
    changes = [rfc(school, team["olivia"], at(8, d, 9), at(8, d, 10)) for d in range(2, 6)]
    for change in changes:
        in_release(change)
    # calendar 2, others 1, releases 1, published policies 1, windows near 1
    with django_assert_num_queries(6):
        found = find_conflicts_many(changes)
    assert not any(KIND in kinds(found[c.pk]) for c in changes)


# --- The next safe slots keep to the release windows of a change in an open release. ---

SLOTS = "/api/v1/schedule/slots/"


def test_the_slots_of_a_change_in_a_release_are_inside_the_windows(client, school, team, rachel):
    publish(school, rachel, [SUMMER])
    change = rfc(school, team["olivia"], at(6, 2, 9), at(6, 2, 10))
    loose = rfc(school, team["olivia"], at(6, 3, 9), at(6, 3, 10))
    in_release(change)
    client.force_login(team["olivia"])
    query = {"school": school.slug, "minutes": 60, "count": 3, "after": "2027-06-01T09:00:00Z"}
    body = client.get(SLOTS, {**query, "change": change.reference}).json()
    assert len(body["slots"]) == 3, body
    window_start, window_end = at(7, 22), at(9, 1)
    for slot in body["slots"]:
        start = datetime.fromisoformat(slot["start"])
        end = datetime.fromisoformat(slot["end"])
        assert window_start <= start and end <= window_end
        assert KIND not in kinds(find_conflicts(change, start=start, end=end, item_ids=[]))
    # A change in no release is offered June.
    free = client.get(SLOTS, {**query, "change": loose.reference}).json()
    assert datetime.fromisoformat(free["slots"][0]["start"]) < window_start
    # Within the search's horizon there is no window at all: no slot, rather than a wrong one.
    soon = client.get(SLOTS, {**query, "after": "2027-01-20T09:00:00Z",
                              "change": change.reference}).json()  # fmt: skip
    assert soon["slots"] == []


def test_the_slots_of_a_closed_release_or_without_windows_are_free(client, school, team, rachel):
    change = rfc(school, team["olivia"], at(6, 2, 9), at(6, 2, 10))
    in_release(change)
    client.force_login(team["olivia"])
    query = {"school": school.slug, "minutes": 60, "count": 1, "after": "2027-06-01T09:00:00Z",
             "change": change.reference}  # fmt: skip
    assert client.get(SLOTS, query).json()["slots"]  # no policy: nothing to keep to
    publish(school, rachel, [SUMMER])
    first = client.get(SLOTS, query).json()["slots"][0]
    assert datetime.fromisoformat(first["start"]) >= at(7, 22)
    Release.objects.filter(change_links__change=change).update(state="closed")
    first = client.get(SLOTS, query).json()["slots"][0]
    assert datetime.fromisoformat(first["start"]) < at(7, 22)


def test_the_slots_query_count_is_bounded(client, school, team, rachel,
                                          django_assert_max_num_queries):  # fmt: skip
    publish(school, rachel, [SUMMER, EASTER])
    change = rfc(school, team["olivia"], at(6, 2, 9), at(6, 2, 10))
    in_release(change)
    client.force_login(team["olivia"])
    with django_assert_max_num_queries(16):
        response = client.get(SLOTS, {"school": school.slug, "minutes": 60, "count": 5,
                                      "after": "2027-06-01T09:00:00Z",
                                      "change": change.reference})  # fmt: skip
    assert response.status_code == 200 and len(response.json()["slots"]) == 5
