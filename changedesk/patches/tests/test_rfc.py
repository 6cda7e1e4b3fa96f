"""Patches ride RFCs (patches/rfc.py): the outcome an RFC records deploys the patches it
carries, or takes them off it; its rejection or withdrawal takes them off too. The patch run
(`services.raise_run`) raises one standard change for several tested patches, all or
nothing. The RFC's page lists the patches it deploys."""

from __future__ import annotations

import dataclasses
import threading
from datetime import datetime, time, timedelta

import pytest
from django.db import connection, connections
from django.urls import reverse
from django.utils import timezone

from changedesk.accounts.choices import Role
from changedesk.changes.models import Change, ChangeEvent
from changedesk.changes.services import create_change
from changedesk.changes.workflow import perform as act
from changedesk.configuration.models import ConfigurationItem
from changedesk.conftest import REQUEST, advance, member
from changedesk.lib.errors import InvalidAction, NotPermitted
from changedesk.patches import rfc as patch_rfc
from changedesk.patches import services, workflow
from changedesk.patches.models import Patch, PatchEvent, today_in
from changedesk.patches.tests.conftest import new_patch, take
from changedesk.schedule.models import CalendarPeriod
from changedesk.standard import services as standard
from changedesk.standard.models import Raised
from changedesk.standard.tests.conftest import CONTENT, approve

pytestmark = pytest.mark.django_db


def _items(school):
    """Every item of the school: an RFC deploying patches names what they apply to."""
    from changedesk.configuration.models import ConfigurationItem

    return list(ConfigurationItem.objects.filter(school=school))


def window(days: int = 8, hour: int = 18) -> datetime:
    return (timezone.now() + timedelta(days=days)).replace(
        hour=hour, minute=0, second=0, microsecond=0
    )


@pytest.fixture
def template(school, team, pilot, laptops):
    """The school's monthly patch run, approved once."""
    made = standard.create_template(school, team["olivia"], dict(CONTENT), items=[pilot, laptops])
    return approve(made, team)


@pytest.fixture
def tested(school, pam, vendor, pilot, laptops):
    """Three tested patches: two for the run, one left waiting."""
    made = [
        new_patch(school, pam, vendor, items=[pilot, laptops], reference="KB1", title="Win 11"),
        new_patch(school, pam, vendor, items=[laptops], reference="KB2", title="Office",
                  severity="high"),
        new_patch(school, pam, vendor, items=[laptops], reference="KB3", title="Edge",
                  severity="medium"),
    ]  # fmt: skip
    return [take(p, "tested", pam) for p in made]


def fresh(patch: Patch) -> Patch:
    return Patch.objects.get(pk=patch.pk)


def last_event(patch: Patch) -> PatchEvent:
    return PatchEvent.objects.filter(patch_id=patch.pk).order_by("id").last()


def state_of(patches: list[Patch]) -> list[tuple[str, int | None]]:
    return [(fresh(p).state, fresh(p).change_id) for p in patches]


# --- The patch run. ---


def test_the_patch_run_raises_one_standard_change_and_schedules_each(
    template, pam, tested, laptops
):
    first, second, _ = tested
    change = services.raise_run(template.pk, pam, [first.pk, second.pk], planned_start=window())
    change.refresh_from_db()
    assert change.is_standard and change.state == "approved" and change.originator == pam
    assert Raised.objects.get(change=change).template_id == template.pk
    # The RFC names what the patches apply to.
    assert set(change.item_links.values_list("item_id", flat=True)) == {
        i.pk for p in (first, second) for i in p.items.all()
    }
    assert state_of(tested) == [
        ("scheduled", change.pk),
        ("scheduled", change.pk),
        ("tested", None),
    ]
    for patch in (first, second):
        event = last_event(patch)
        assert (event.kind, event.from_state, event.to_state) == ("schedule", "tested", "scheduled")
        assert event.change_id == change.pk and event.actor == pam
    assert Change.objects.filter(is_standard=True).count() == 1


@pytest.fixture
def nothing_raised(tested):
    """Asserts, after the test, that no run was raised and the patches stayed as they were."""
    before = state_of(tested)
    yield
    assert not Change.objects.filter(is_standard=True).exists()
    assert not Raised.objects.exists()
    assert state_of(tested) == before
    assert not PatchEvent.objects.filter(kind="schedule").exists()


def test_a_run_with_an_untested_patch_raises_nothing(
    template, pam, tested, nothing_raised, school, vendor, pilot
):
    untested = take(new_patch(school, pam, vendor, items=[pilot], reference="KB9"), "assessed", pam)
    with pytest.raises(InvalidAction) as refused:
        services.raise_run(
            template.pk, pam, [tested[0].pk, untested.pk, tested[1].pk], planned_start=window()
        )
    assert "KB9" in refused.value.fields["patches"]
    assert fresh(untested).state == "assessed"


def test_a_run_with_another_schools_patch_raises_nothing(
    template, pam, tested, nothing_raised, other_school
):
    otto = member("otto", other_school, [Role.PATCH_ADMINISTRATOR])
    theirs = services.save_vendor(other_school, otto, {"name": "Microsoft"})
    server = ConfigurationItem.objects.create(school=other_school, name="Hillside server")
    foreign = take(new_patch(other_school, otto, theirs, items=[server]), "tested", otto)
    with pytest.raises(InvalidAction) as refused:
        services.raise_run(template.pk, pam, [tested[0].pk, foreign.pk], planned_start=window())
    assert refused.value.fields == {"patches": f"Not patches of Greenfield Primary: {foreign.pk}."}
    assert (fresh(foreign).state, fresh(foreign).change_id) == ("tested", None)


def test_a_run_planned_in_the_teaching_day_raises_nothing(template, pam, tested, school):
    now = timezone.now()
    CalendarPeriod.objects.create(
        school=school, kind="term", name="Term", starts_at=now - timedelta(days=2),
        ends_at=now + timedelta(days=60),
    )  # fmt: skip
    day = today_in(school) + timedelta(days=8)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    start = datetime.combine(day, time(10, 0), tzinfo=school.zone)
    events = PatchEvent.objects.count()
    with pytest.raises(InvalidAction) as refused:
        services.raise_run(template.pk, pam, [t.pk for t in tested[:2]], planned_start=start)
    message = refused.value.fields["planned_start"]
    assert "teaching day" in message and "next safe slot" in message
    assert not Change.objects.filter(is_standard=True).exists()
    assert not Raised.objects.exists()
    assert state_of(tested) == [("tested", None)] * 3
    assert PatchEvent.objects.count() == events
    # After school the same day it goes ahead.
    evening = datetime.combine(day, time(18, 0), tzinfo=school.zone)
    change = services.raise_run(template.pk, pam, [t.pk for t in tested[:2]], planned_start=evening)
    assert state_of(tested) == [("scheduled", change.pk)] * 2 + [("tested", None)]


def test_a_run_refused_to_one_who_may_not_raise_it(template, team, tested, nothing_raised):
    with pytest.raises(NotPermitted):
        services.raise_run(template.pk, team["ivan"], [tested[0].pk], planned_start=window())
    with pytest.raises(InvalidAction):
        services.raise_run(template.pk, team["ivan"], [], planned_start=window())


# --- The outcome. ---


@pytest.fixture
def run(template, pam, tested):
    first, second, _ = tested
    return services.raise_run(template.pk, pam, [first.pk, second.pk], planned_start=window())


@pytest.mark.parametrize("outcome", ["succeeded", "partially_succeeded"])
def test_the_outcome_deploys_every_patch_on_the_rfc(outcome, run, tested, team, pam, school, pilot):
    first, second, waiting = tested
    elsewhere = create_change(school, team["olivia"], dict(REQUEST), items=_items(school))
    other = new_patch(school, pam, first.vendor, items=[pilot], reference="KB7")
    other = take(other, "scheduled", pam, change=elsewhere)

    act(run.pk, "record_outcome", team["ivan"], data={"outcome": outcome})

    recorded = ChangeEvent.objects.get(change=run, kind="record_outcome")
    day = today_in(school, recorded.created_at)
    for patch in (first, second):
        patch = fresh(patch)
        assert (patch.state, patch.change_id, patch.deployed_on) == ("deployed", run.pk, day)
        event = last_event(patch)
        assert (event.kind, event.from_state, event.to_state) == ("deploy", "scheduled", "deployed")
        assert event.change_id == run.pk and event.actor == team["ivan"]
        assert event.data == {"deployed_on": day.isoformat(), "on_time": True}
        assert run.reference in event.comment
    # What the RFC does not carry stays where it was.
    assert (fresh(waiting).state, fresh(waiting).change_id) == ("tested", None)
    assert (fresh(other).state, fresh(other).change_id) == ("scheduled", elsewhere.pk)


def test_a_failed_outcome_takes_the_patches_off(run, tested, team):
    first, second, _ = tested
    history = list(ChangeEvent.objects.filter(change=run).values_list("id", "kind"))

    act(run.pk, "record_outcome", team["ivan"], data={"outcome": "failed_backed_out"})

    for patch in (first, second):
        patch = fresh(patch)
        assert (patch.state, patch.change_id, patch.deployed_on) == ("tested", None, None)
        event = last_event(patch)
        assert (event.kind, event.from_state, event.to_state) == (
            "unschedule",
            "scheduled",
            "tested",
        )
        assert event.change_id == run.pk and event.actor == team["ivan"]
        assert event.data == {"change": run.pk}
        assert "failed" in event.comment and run.reference in event.comment
    # The RFC's own history has the outcome and nothing else of the patches.
    after = list(ChangeEvent.objects.filter(change=run).values_list("id", "kind"))
    assert after[: len(history)] == history
    assert [kind for _, kind in after[len(history) :]] == ["record_outcome"]
    run.refresh_from_db()
    assert (run.state, run.outcome) == ("implemented", "failed_backed_out")
    # Back on the list for the next run.
    assert [p.pk for p in services.runnable(run.school)] == sorted(p.pk for p in tested)


@pytest.mark.parametrize("end", ["rejected", "withdrawn"])
def test_an_rfc_that_ends_takes_its_patches_off(end, tested, team, pam, school):
    first, second, waiting = tested
    change = create_change(school, team["olivia"], dict(REQUEST), items=_items(school))
    for patch in (first, second):
        workflow.perform(patch.pk, "schedule", pam, {"change": change.pk})
    if end == "rejected":
        advance(change, team, "awaiting_final_approval")
        act(change.pk, "reject", team["fiona"], comment="Not in exam week")
        actor = team["fiona"]
    else:
        advance(change, team, "approved")
        act(change.pk, "withdraw", team["olivia"])
        actor = team["olivia"]
    change.refresh_from_db()
    assert change.state == end
    for patch in (first, second):
        assert (fresh(patch).state, fresh(patch).change_id) == ("tested", None)
        event = last_event(patch)
        assert (event.kind, event.change_id, event.actor) == ("unschedule", change.pk, actor)
        assert event.comment == f"RFC {change.reference} {end}."
    assert (fresh(waiting).state, fresh(waiting).change_id) == ("tested", None)
    assert not ChangeEvent.objects.filter(change=change, kind="record_outcome").exists()


def test_a_patch_taken_off_is_not_deployed_by_its_old_rfc(tested, team, pam, school):
    first, second, _ = tested
    change = create_change(school, team["olivia"], dict(REQUEST), items=_items(school))
    for patch in (first, second):
        workflow.perform(patch.pk, "schedule", pam, {"change": change.pk})
    workflow.perform(second.pk, "unschedule", pam, comment="Not this month")
    advance(change, team, "implemented")
    assert (fresh(first).state, fresh(first).change_id) == ("deployed", change.pk)
    assert (fresh(second).state, fresh(second).change_id) == ("tested", None)


# --- The RFC's page. ---


def test_the_rfc_page_lists_its_patches(client, run, tested, team, pam):
    first, second, waiting = tested
    for person in (pam, team["ian"]):
        client.force_login(person)
        response = client.get(run.get_absolute_url())
        assert response.status_code == 200
        page = response.content.decode()
        assert "Patches it deploys" in page
        assert str(fresh(first)) in page and str(fresh(second)) in page
        assert first.get_absolute_url() in page and second.get_absolute_url() in page
        assert str(fresh(waiting)) not in page


def test_the_rfc_print_lists_its_patches(client, run, tested, pam):
    """rfc.py registers the panel for the print too ("The RFC page and its print list the
    patches it deploys")."""
    first, second, _ = tested
    client.force_login(pam)
    response = client.get(reverse("changes:print", args=[run.pk]))
    assert response.status_code == 200
    page = response.content.decode()
    assert str(fresh(first)) in page and str(fresh(second)) in page


def test_an_rfc_without_patches_has_no_panel(client, team, school):
    change = create_change(school, team["olivia"], dict(REQUEST), items=_items(school))
    client.force_login(team["olivia"])
    response = client.get(change.get_absolute_url())
    assert response.status_code == 200
    assert "Patches it deploys" not in response.content.decode()


def test_the_panel_lists_the_most_severe_first(school, pam, vendor, laptops, team):
    change = create_change(school, team["olivia"], dict(REQUEST), items=_items(school))
    for severity in ("low", "medium", "critical", "high"):
        patch = new_patch(school, pam, vendor, items=[laptops], severity=severity,
                          reference=f"KB-{severity}")  # fmt: skip
        take(patch, "scheduled", pam, change=change)
    context = patch_rfc._panel(None, change)
    assert [p.severity for p in context["patches"]] == ["critical", "high", "medium", "low"]


# --- A patch put on an RFC while its outcome is being recorded (PostgreSQL only). ---


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="needs PostgreSQL: SQLite serialises every writer, so there is no race to test",
)
def test_a_patch_scheduled_while_the_outcome_is_recorded_is_not_stranded(
    tested, team, pam, school, monkeypatch
):
    """Scheduling reads the RFC; if the outcome is recorded between that read and the
    schedule's commit, the outcome must still see the patch (or the schedule be refused):
    a patch must never be left `scheduled` on an RFC whose outcome is recorded, and neither
    side may fail with a database error (e.g. a deadlock)."""
    first = tested[0]
    change = create_change(school, team["olivia"], dict(REQUEST), items=_items(school))
    advance(change, team, "approved")
    has_read, outcome_done = threading.Event(), threading.Event()
    rows = list(workflow.TRANSITIONS)
    at = next(i for i, r in enumerate(rows) if r.action == "schedule")
    reader = rows[at].reader

    def slow_reader(patch, data):
        step = reader(patch, data)
        has_read.set()
        outcome_done.wait(timeout=3)  # the outcome's turn, unless the RFC is held
        return step

    rows[at] = dataclasses.replace(rows[at], reader=slow_reader)
    monkeypatch.setattr(workflow, "TRANSITIONS", tuple(rows))
    results: dict[str, object] = {}

    def schedule():
        try:
            results["schedule"] = workflow.perform(first.pk, "schedule", pam, {"change": change.pk})
        except Exception as exc:
            results["schedule"] = exc
        finally:
            connections.close_all()

    def record():
        try:
            has_read.wait(timeout=10)
            results["outcome"] = act(
                change.pk, "record_outcome", team["olivia"], data={"outcome": "succeeded"}
            )
        except Exception as exc:
            results["outcome"] = exc
        finally:
            outcome_done.set()
            connections.close_all()

    threads = [threading.Thread(target=schedule), threading.Thread(target=record)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
        assert not thread.is_alive()
    assert isinstance(results["outcome"], Change), results
    change.refresh_from_db()
    assert change.outcome == "succeeded"
    patch = fresh(first)
    if isinstance(results["schedule"], InvalidAction):
        assert (patch.state, patch.change_id) == ("tested", None)
    else:
        assert isinstance(results["schedule"], Patch), results
        assert (patch.state, patch.change_id) == ("deployed", change.pk), (
            f"left {patch.state} on {change.reference}, whose outcome is recorded"
        )


def test_a_run_refuses_a_patch_beyond_the_templates_items(template, pam, tested, school):
    first = tested[0]
    server = ConfigurationItem.objects.create(school=school, name="Exam server")
    first.items.add(server)
    with pytest.raises(InvalidAction) as refused:
        services.raise_run(template.pk, pam, [first.pk], planned_start=window())
    assert "Exam server" not in refused.value.message
    assert str(first) in refused.value.fields["patches"]
    assert not Change.objects.filter(is_standard=True).exists()


def test_a_patch_rides_only_an_rfc_touching_its_items(pam, patch, team, school, pilot):
    only_pilot = create_change(school, team["olivia"], dict(REQUEST), items=[pilot])
    patch = take(patch, "tested", pam)
    with pytest.raises(InvalidAction) as refused:
        workflow.perform(patch.pk, "schedule", pam, {"change": only_pilot.pk})
    assert "does not touch Staff laptops" in refused.value.message
