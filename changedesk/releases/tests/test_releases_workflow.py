"""A release's steps: each transition's guards (every refusal), who may, the history, and
the rules for adding and removing builds and RFCs."""

from __future__ import annotations

import pytest

from changedesk.conftest import advance
from changedesk.lib.errors import InvalidAction, NotPermitted, UnknownAction
from changedesk.releases import workflow
from changedesk.releases.models import Release, ReleaseChange, ReleaseEvent
from changedesk.releases.services import releases as services
from changedesk.releases.tests.releases_factories import make_build, make_release, window


@pytest.fixture
def release(school, rachel):
    return make_release(school, rachel)


def _kinds(release):
    return list(ReleaseEvent.objects.filter(release=release).values_list("kind", flat=True))


def test_the_whole_path_and_its_history(school, rachel, release):
    build = make_build(school, "Curriculum laptop image 2027")
    services.add_build(release.pk, rachel, build)
    services.update_release(release.pk, rachel, window())
    for action, state in (
        ("build", "build"),
        ("release", "release"),
        ("install", "install"),
        ("close", "closed"),
    ):
        assert workflow.perform(release.pk, action, rachel).state == state
    release.refresh_from_db()
    assert release.closed_at is not None
    assert _kinds(release) == [
        "create",
        "add_build",
        "edit",
        "build",
        "release",
        "install",
        "close",
    ]
    events = list(ReleaseEvent.objects.filter(release=release))
    assert events[0].from_state == "" and events[0].to_state == "define"
    assert (events[3].from_state, events[3].to_state) == ("define", "build")
    assert events[4].data == {"versions": {str(build.pk): build.approved_version_id}}
    assert all(e.actor == rachel for e in events)


def test_build_needs_a_build(release, rachel):
    with pytest.raises(InvalidAction) as refused:
        workflow.perform(release.pk, "build", rachel)
    assert "builds" in refused.value.fields
    release.refresh_from_db()
    assert release.state == "define"
    assert _kinds(release) == ["create"]


def test_release_needs_every_build_documented(school, rachel, release):
    services.add_build(release.pk, rachel, make_build(school, "Image", documented=True))
    services.add_build(release.pk, rachel, make_build(school, "Office", documented=False))
    workflow.perform(release.pk, "build", rachel)
    with pytest.raises(InvalidAction) as refused:
        workflow.perform(release.pk, "release", rachel)
    assert "Office" in refused.value.fields["builds"]
    assert Release.objects.get(pk=release.pk).state == "build"


def test_install_needs_a_planned_window(school, rachel, release):
    services.add_build(release.pk, rachel, make_build(school, "Image"))
    workflow.perform(release.pk, "build", rachel)
    workflow.perform(release.pk, "release", rachel)
    with pytest.raises(InvalidAction) as refused:
        workflow.perform(release.pk, "install", rachel)
    assert "planned_start" in refused.value.fields
    assert Release.objects.get(pk=release.pk).state == "release"


@pytest.mark.parametrize("blank", ["", "   ", None])
def test_cancel_needs_a_reason(release, rachel, blank):
    with pytest.raises(InvalidAction) as refused:
        workflow.perform(release.pk, "cancel", rachel, {"reason": blank})
    assert "reason" in refused.value.fields
    done = workflow.perform(release.pk, "cancel", rachel, {"reason": "The budget went."})
    assert done.state == "cancelled" and done.closed_at is not None
    assert ReleaseEvent.objects.filter(release=release).last().data == {
        "reason": "The budget went."
    }


def test_cancel_is_refused_once_ended(release, rachel):
    workflow.perform(release.pk, "cancel", rachel, {"reason": "No money."})
    with pytest.raises(InvalidAction):
        workflow.perform(release.pk, "cancel", rachel, {"reason": "Again."})


def test_reopen_goes_back_to_the_step_before(school, rachel, release):
    services.add_build(release.pk, rachel, make_build(school, "Image"))
    workflow.perform(release.pk, "build", rachel)
    workflow.perform(release.pk, "cancel", rachel, {"reason": "Wrong term."})
    reopened = workflow.perform(release.pk, "reopen", rachel, comment="Back on.")
    assert reopened.state == "build" and reopened.closed_at is None
    last = ReleaseEvent.objects.filter(release=release).last()
    assert (last.kind, last.from_state, last.to_state) == ("reopen", "cancelled", "build")


def test_reopen_of_a_closed_release_goes_back_to_install(school, rachel, release):
    services.add_build(release.pk, rachel, make_build(school, "Image"))
    services.update_release(release.pk, rachel, window())
    for action in ("build", "release", "install", "close"):
        workflow.perform(release.pk, action, rachel)
    assert workflow.perform(release.pk, "reopen", rachel).state == "install"


@pytest.mark.parametrize("action", ["release", "install", "close", "reopen"])  # not from define
def test_steps_out_of_order_are_refused(release, rachel, action):
    with pytest.raises(InvalidAction) as refused:
        workflow.perform(release.pk, action, rachel)
    assert "action" in refused.value.fields


def test_an_unknown_action_is_refused(release, rachel):
    with pytest.raises(UnknownAction):
        workflow.perform(release.pk, "create", rachel)


@pytest.mark.parametrize("who", ["bella", "isaac", "olivia", "fiona", "oscar"])
def test_only_the_release_manager_or_school_admin_may(
    release, who, bella, isaac, olivia, fiona, oscar
):
    person = {"bella": bella, "isaac": isaac, "olivia": olivia, "fiona": fiona, "oscar": oscar}
    with pytest.raises(NotPermitted):
        workflow.perform(release.pk, "cancel", person[who], {"reason": "No."})
    assert Release.objects.get(pk=release.pk).state == "define"


def test_the_school_admin_may(release, sam):
    done = workflow.perform(release.pk, "cancel", sam, {"reason": "Budget."})
    assert done.state == "cancelled"
    assert [r.action for r in workflow.available_actions(sam, done)] == ["reopen"]


def test_available_actions(release, rachel, fiona):
    assert [r.action for r in workflow.available_actions(rachel, release)] == ["build", "cancel"]
    assert workflow.available_actions(fiona, release) == []


# --- The services. ---


def test_create_checks_the_role_and_the_fields(school, rachel, bella, peter):
    with pytest.raises(NotPermitted):
        make_release(school, bella)
    with pytest.raises(InvalidAction) as refused:
        services.create_release(school, rachel, {"title": "  "})
    assert "title" in refused.value.fields
    with pytest.raises(InvalidAction) as refused:
        services.create_release(school, rachel, {"title": "X", "manager": peter})
    assert "manager" in refused.value.fields
    with pytest.raises(InvalidAction) as refused:
        services.create_release(school, rachel, {"title": "X", "colour": "red"})
    assert "colour" in refused.value.fields
    made = make_release(school, rachel)
    assert made.manager == rachel and made.state == "define"
    assert Release.objects.count() == 1


def test_edit_refuses_an_end_before_the_start(release, rachel):
    planned = window()
    with pytest.raises(InvalidAction) as refused:
        services.update_release(
            release.pk,
            rachel,
            {"planned_start": planned["planned_end"], "planned_end": planned["planned_start"]},
        )
    assert "planned_end" in refused.value.fields
    with pytest.raises(InvalidAction) as refused:
        services.update_release(release.pk, rachel, {"planned_start": planned["planned_start"]})
    assert "planned_end" in refused.value.fields
    services.update_release(release.pk, rachel, {**planned, "title": "Autumn"})
    release.refresh_from_db()
    assert release.title == "Autumn"
    edit = ReleaseEvent.objects.filter(release=release, kind="edit").get()
    assert set(edit.data["changed"]) == {"title", "planned_start", "planned_end"}
    # Nothing changed: no event.
    services.update_release(release.pk, rachel, {"title": "Autumn"})
    assert ReleaseEvent.objects.filter(release=release, kind="edit").count() == 1


def test_build_rules(school, other_school, rachel, release):
    build = make_build(school, "Image")
    theirs = make_build(other_school, "Their image")
    with pytest.raises(InvalidAction):
        services.add_build(release.pk, rachel, theirs)
    services.add_build(release.pk, rachel, build)
    with pytest.raises(InvalidAction):
        services.add_build(release.pk, rachel, build)  # twice
    retired = make_build(school, "Old")
    retired.is_active = False
    retired.save()
    with pytest.raises(InvalidAction):
        services.add_build(release.pk, rachel, retired)
    with pytest.raises(InvalidAction):
        services.remove_build(release.pk, rachel, make_build(school, "Other"))  # not in it
    workflow.perform(release.pk, "build", rachel)
    workflow.perform(release.pk, "release", rachel)
    with pytest.raises(InvalidAction):
        services.remove_build(release.pk, rachel, build)  # released: fixed
    assert list(release.builds.all()) == [build]
    assert _kinds(release).count("add_build") == 1


def test_change_rules(school, team, rachel, release, draft, fiona):
    other = make_release(school, rachel, "Other")
    services.add_change(release.pk, rachel, draft)
    with pytest.raises(InvalidAction) as refused:
        services.add_change(other.pk, rachel, draft)
    assert "Other" not in refused.value.message and "Summer refresh" in refused.value.message
    with pytest.raises(InvalidAction):
        services.add_change(release.pk, rachel, draft)  # twice
    with pytest.raises(NotPermitted):
        services.remove_change(release.pk, fiona, draft)
    services.remove_change(release.pk, rachel, draft)
    assert not ReleaseChange.objects.exists()
    with pytest.raises(InvalidAction):
        services.remove_change(release.pk, rachel, draft)
    assert _kinds(release) == ["create", "add_change", "remove_change"]


def test_a_closed_rfc_or_another_schools_is_refused(
    school, other_school, team, rachel, release, draft, oscar
):
    from changedesk.changes.services import create_change
    from changedesk.conftest import REQUEST

    theirs = create_change(other_school, oscar, dict(REQUEST))
    with pytest.raises(InvalidAction):
        services.add_change(release.pk, rachel, theirs)
    advance(draft, team, "closed")
    with pytest.raises(InvalidAction) as refused:
        services.add_change(release.pk, rachel, draft)
    assert "change" in refused.value.fields
    assert not ReleaseChange.objects.exists()


def test_an_ended_release_takes_no_rfc(release, rachel, draft):
    workflow.perform(release.pk, "cancel", rachel, {"reason": "No."})
    with pytest.raises(InvalidAction):
        services.add_change(release.pk, rachel, draft)
    with pytest.raises(InvalidAction):
        services.update_release(release.pk, rachel, {"title": "New"})


def test_history_is_append_only(release):
    event = ReleaseEvent.objects.filter(release=release).get()
    with pytest.raises(TypeError):
        event.save()
    with pytest.raises(TypeError):
        ReleaseEvent.objects.all().delete()
