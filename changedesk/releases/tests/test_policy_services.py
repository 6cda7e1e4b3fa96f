"""The release policy's services: the draft made from the version in force, versions
numbered on publishing, one published at a time, windows as the school's local days, and
who may."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from changedesk.lib.errors import InvalidAction, NotPermitted
from changedesk.releases.choices import PolicyState
from changedesk.releases.models import ReleasePolicy, ReleaseWindow
from changedesk.releases.services import policy as services

pytestmark = pytest.mark.django_db

LONDON = ZoneInfo("Europe/London")
RULES = "New computers are installed only in the release windows.\nNo releases during exams."
SUMMER = {"name": "Summer holidays", "first_day": date(2027, 7, 22), "last_day": date(2027, 8, 31)}
EASTER = {"name": "Easter holidays", "first_day": "2027-03-22", "last_day": "2027-04-02"}


def write(school, user, rules=RULES, windows=None, **more):
    return services.save_draft(
        school, user, {"title": "Release policy", "rules": rules, **more}, windows
    )


def test_a_draft_is_written_then_published_as_version_one(school, rachel):
    assert services.current(school) is None
    draft = write(school, rachel, windows=[SUMMER, EASTER])
    assert draft.state == PolicyState.DRAFT
    assert services.draft_of(school) == draft
    assert services.current(school) is None
    assert draft.rule_list == [
        "New computers are installed only in the release windows.",
        "No releases during exams.",
    ]
    windows = list(draft.windows.order_by("starts_at"))
    assert [w.name for w in windows] == ["Easter holidays", "Summer holidays"]
    # Local midnight to the local midnight after the last day (London: summer time).
    assert windows[1].starts_at == datetime(2027, 7, 22, tzinfo=LONDON)
    assert windows[1].ends_at == datetime(2027, 9, 1, tzinfo=LONDON)
    assert windows[0].starts_at == datetime(2027, 3, 22, tzinfo=LONDON)  # GMT then
    published = services.publish(school, rachel, "First version.")
    assert (published.pk, published.version, published.state) == (draft.pk, 1, "published")
    assert published.published_by == rachel and published.comment == "First version."
    assert services.current(school) == published
    assert services.draft_of(school) is None


def test_a_new_draft_starts_from_the_version_in_force_and_publishing_supersedes_it(
    school, rachel, sam
):
    write(school, rachel, windows=[SUMMER])
    first = services.publish(school, rachel)
    # Only the rules change: the title, summary and windows come from version 1.
    draft = services.save_draft(school, sam, {"rules": RULES + "\nA third rule."})
    assert draft.pk != first.pk and draft.version == 2
    assert [w.name for w in draft.windows.all()] == ["Summer holidays"]
    assert len(draft.rule_list) == 3
    # Editing the draft again edits the same row.
    again = services.save_draft(school, rachel, {"summary": "Why."}, [SUMMER, EASTER])
    assert again.pk == draft.pk and again.summary == "Why." and again.windows.count() == 2
    second = services.publish(school, sam)
    first.refresh_from_db()
    assert (second.version, second.state) == (2, PolicyState.PUBLISHED)
    assert first.state == PolicyState.SUPERSEDED and first.superseded_at is not None
    assert ReleasePolicy.objects.filter(school=school, state="published").count() == 1
    # The old version keeps its own windows.
    assert first.windows.count() == 1 and second.windows.count() == 2


def test_a_published_version_is_never_edited(school, rachel):
    write(school, rachel, windows=[SUMMER])
    first = services.publish(school, rachel)
    services.save_draft(school, rachel, {"title": "Renamed"}, [])
    first.refresh_from_db()
    assert first.title == "Release policy" and first.windows.count() == 1


def test_publishing_without_a_draft_and_discarding(school, rachel):
    with pytest.raises(InvalidAction, match="no draft"):
        services.publish(school, rachel)
    write(school, rachel)
    services.discard_draft(school, rachel)
    assert not ReleasePolicy.objects.filter(school=school).exists()
    with pytest.raises(InvalidAction, match="no draft"):
        services.discard_draft(school, rachel)
    # A discarded draft's number is used again.
    write(school, rachel)
    assert services.publish(school, rachel).version == 1


@pytest.mark.parametrize(
    ("windows", "says"),
    [
        ([{**SUMMER, "last_day": date(2027, 7, 1)}], "last day is before its first"),
        (
            [SUMMER, {"name": "Late summer", "first_day": "2027-08-31", "last_day": "2027-09-03"}],
            "overlap",
        ),
        ([{**SUMMER, "first_day": date(1999, 7, 1)}], "between 2000 and 2100"),
        ([{**SUMMER, "last_day": "2027-13-01"}], "as dates"),
        ([{**SUMMER, "name": "  "}], "give it a name"),
        ([{**SUMMER, "colour": "red"}], "colour is not a field"),
        (["Summer"], "give its name"),
        ("Summer", "list of windows"),
    ],
)
def test_bad_windows_are_refused_and_nothing_is_written(school, rachel, windows, says):
    with pytest.raises(InvalidAction) as refused:
        write(school, rachel, windows=windows)
    assert says in refused.value.fields["windows"]
    assert not ReleasePolicy.objects.exists() and not ReleaseWindow.objects.exists()


def test_a_policy_needs_a_rule_and_a_title(school, rachel):
    with pytest.raises(InvalidAction) as refused:
        write(school, rachel, rules=" \n - \n")
    assert "at least one rule" in refused.value.fields["rules"]
    with pytest.raises(InvalidAction) as refused:
        services.save_draft(school, rachel, {"title": "", "rules": RULES})
    assert "title" in refused.value.fields
    with pytest.raises(InvalidAction) as refused:
        services.save_draft(school, rachel, {"rules": RULES, "state": "published"})
    assert "state" in refused.value.fields
    assert not ReleasePolicy.objects.exists()


def test_only_the_release_manager_and_school_admin_may_write(
    school, team, rachel, bella, isaac, oscar, other_school
):
    for person in (team["olivia"], team["fiona"], bella, isaac, oscar):
        with pytest.raises(NotPermitted):
            write(school, person)
    write(school, team["sam"])
    for person in (team["fiona"], bella, oscar):
        with pytest.raises(NotPermitted):
            services.publish(school, person)
        with pytest.raises(NotPermitted):
            services.discard_draft(school, person)
    assert services.draft_of(school) is not None
    # Rachel is release manager at Greenfield only.
    with pytest.raises(NotPermitted):
        write(other_school, rachel)


def test_the_schools_are_apart(school, other_school, rachel, oscar):
    from changedesk.accounts.choices import Role
    from changedesk.accounts.services import set_membership

    set_membership(oscar, other_school, [Role.RELEASE_MANAGER])
    write(school, rachel)
    services.publish(school, rachel)
    write(other_school, oscar, windows=[SUMMER])
    theirs = services.publish(other_school, oscar)
    assert theirs.version == 1
    assert services.current(school).windows.count() == 0
