"""The patch cycle's one door (`workflow.perform`): every row of the table from each state it
allows and refused from every other, who may take each step, what each step's payload must
hold, and the append-only history each step writes (exactly one event)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from django.contrib.auth.models import AnonymousUser
from django.db import transaction

from changedesk.accounts.choices import Role
from changedesk.changes.services import create_change
from changedesk.configuration.models import ConfigurationItem
from changedesk.conftest import REQUEST, advance, member
from changedesk.lib.errors import InvalidAction, NotPermitted, UnknownAction
from changedesk.patches import services, workflow
from changedesk.patches.choices import PatchAction, PatchState
from changedesk.patches.models import Installation, Patch, PatchCheck, PatchEvent, today_in
from changedesk.patches.tests.conftest import new_patch, take

pytestmark = pytest.mark.django_db

# The cycle as FITS describes it, written out by hand (not read off the table under test):
# action -> (the states it may be taken from, the state it leads to).
EXPECTED: dict[str, tuple[frozenset[str], str]] = {
    "assess": (frozenset({"available"}), "assessed"),
    "defer": (frozenset({"available", "assessed", "tested"}), "deferred"),
    "not_applicable": (
        frozenset({"available", "assessed", "tested", "deferred"}),
        "not_applicable",
    ),
    "reassess": (frozenset({"deferred", "not_applicable"}), "available"),
    "test": (frozenset({"assessed"}), "tested"),
    "schedule": (frozenset({"tested"}), "scheduled"),
    "unschedule": (frozenset({"scheduled"}), "tested"),
    "deploy": (frozenset({"scheduled"}), "deployed"),
    "verify": (frozenset({"deployed"}), "verified"),
    "close": (frozenset({"verified"}), "closed"),
}
CYCLE_ACTIONS = tuple(EXPECTED)
STATES = tuple(PatchState.values)
ADMIN_ONLY = {Role.PATCH_ADMINISTRATOR}
TECHNICIANS = {Role.PATCH_ADMINISTRATOR, Role.IMPLEMENTER}


# --- Helpers. ---


def _items(school):
    """Every item of the school: an RFC deploying patches names what they apply to."""
    from changedesk.configuration.models import ConfigurationItem

    return list(ConfigurationItem.objects.filter(school=school))


def events(patch: Patch) -> list[PatchEvent]:
    return list(PatchEvent.objects.filter(patch_id=patch.pk).order_by("id"))


def reach(patch: Patch, state: str, pam, rfc) -> Patch:
    """`patch` (available) taken to `state`, through the door."""
    if state == "available":
        return patch
    if state == "deferred":
        future = today_in(patch.school) + timedelta(days=30)
        return workflow.perform(
            patch.pk,
            "defer",
            pam,
            {"reason": "Waiting for the vendor's fix", "defer_until": future},
        )
    if state == "not_applicable":
        return workflow.perform(patch.pk, "not_applicable", pam, {"reason": "No such software"})
    order = ["assessed", "tested", "scheduled", "deployed", "verified", "closed"]
    patch = take(patch, min(state, "scheduled", key=order.index), pam, change=rfc)
    if order.index(state) >= order.index("deployed"):
        patch = workflow.perform(patch.pk, "deploy", None, by_change=True)
    if order.index(state) >= order.index("verified"):
        patch = workflow.perform(patch.pk, "verify", pam, _results(patch, "passed"))
    if state == "closed":
        patch = workflow.perform(patch.pk, "close", pam, {"version": "10.0.22631.4317"})
    assert patch.state == state
    return patch


def _results(patch: Patch, result: str) -> dict:
    first = patch.items.order_by("id").first()
    return {"results": [{"item": first.pk, "result": result, "notes": "Rebooted fine"}]}


def payload(action: str, patch: Patch, rfc) -> dict:
    """A valid payload for `action` on `patch`."""
    return {
        "assess": {},
        "defer": {
            "reason": "Breaks the MIS client",
            "defer_until": today_in(patch.school) + timedelta(days=10),
        },
        "not_applicable": {"reason": "We do not run that product"},
        "reassess": {},
        "test": _results(patch, "passed"),
        "schedule": {"change": rfc.pk},
        "unschedule": {},
        "deploy": {},
        "verify": _results(patch, "passed"),
        "close": {"version": "10.0.22631.4317"},
    }[action]


def snapshot(patch: Patch) -> dict:
    fresh = Patch.objects.get(pk=patch.pk)
    return {
        "state": fresh.state,
        "due_on": fresh.due_on,
        "change": fresh.change_id,
        "reason": fresh.reason,
        "defer_until": fresh.defer_until,
        "deployed_on": fresh.deployed_on,
        "severity": fresh.severity,
        "events": PatchEvent.objects.filter(patch_id=patch.pk).count(),
        "checks": PatchCheck.objects.filter(patch_id=patch.pk).count(),
        "installs": Installation.objects.filter(patch_id=patch.pk).count(),
    }


@pytest.fixture
def rfc(team, school, pilot, laptops):
    """An open RFC of the school (a draft) touching its items, for scheduling."""
    return create_change(school, team["olivia"], dict(REQUEST), items=_items(school))


# --- The table. ---


def test_the_table_is_the_cycle():
    found = {row.action: (frozenset(row.sources), row.target) for row in workflow.TRANSITIONS}
    assert found == EXPECTED
    assert len(workflow.TRANSITIONS) == len(EXPECTED)  # one row per action
    roles = {row.action: set(row.roles) for row in workflow.TRANSITIONS}
    assert roles == {
        **{a: ADMIN_ONLY for a in EXPECTED},
        "test": TECHNICIANS,
        "verify": TECHNICIANS,
        "deploy": set(),
    }
    by_change = {row.action for row in workflow.TRANSITIONS if row.by_change}
    assert by_change == {"reassess", "unschedule", "deploy"}


@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize("action", CYCLE_ACTIONS)
def test_each_action_from_each_state(action, state, patch, pam, rfc):
    patch = reach(patch, state, pam, rfc)
    sources, target = EXPECTED[action]
    before = snapshot(patch)
    by_change = action == "deploy"
    actor = None if by_change else pam
    data = payload(action, patch, rfc)
    if state in sources:
        done = workflow.perform(patch.pk, action, actor, data, by_change=by_change)
        assert done.state == target
        assert Patch.objects.get(pk=patch.pk).state == target
        last = events(patch)[-1]
        assert (last.kind, last.from_state, last.to_state) == (action, state, target)
        assert snapshot(patch)["events"] == before["events"] + 1
    else:
        with pytest.raises(InvalidAction) as refused:
            workflow.perform(patch.pk, action, actor, data, by_change=by_change)
        assert type(refused.value) is InvalidAction
        assert refused.value.fields == {"action": f"Not allowed while it is {state}."}
        assert snapshot(patch) == before


@pytest.mark.parametrize("action", ["create", "edit", "frobnicate", ""])
def test_an_unknown_action_is_refused(action, patch, pam):
    before = snapshot(patch)
    with pytest.raises(UnknownAction):
        workflow.perform(patch.pk, action, pam)
    assert snapshot(patch) == before


# --- Who may. ---


@pytest.fixture
def people(team, pam, oscar, school, other_school):
    inactive = member("ina", school, [Role.PATCH_ADMINISTRATOR])
    inactive.is_active = False
    inactive.save()
    return {
        "pam": pam,
        "olivia": team["olivia"],  # originator and implementer
        "ivan": team["ivan"],  # implementer only
        "orla": member("orla", school, [Role.ORIGINATOR]),
        "ian": team["ian"],
        "peter": team["peter"],
        "fiona": team["fiona"],
        "vera": member("vera", school, [Role.VIEWER]),
        "carla": member("carla", school, [Role.COMMUNICATOR]),
        "sam": team["sam"],
        "oscar": oscar,
        # A patch administrator, but of the other school.
        "otto": member("otto", other_school, [Role.PATCH_ADMINISTRATOR]),
        "ina": inactive,
        "anonymous": AnonymousUser(),
    }


def _may(person: str, action: str) -> bool:
    if action == "deploy":
        return False
    if person == "pam":
        return True
    return person in ("ivan", "olivia") and action in ("test", "verify")


PEOPLE = ("pam", "olivia", "ivan", "orla", "ian", "peter", "fiona", "vera", "carla", "sam",
          "oscar", "otto", "ina", "anonymous")  # fmt: skip


@pytest.mark.parametrize("person", PEOPLE)
@pytest.mark.parametrize("action", CYCLE_ACTIONS)
def test_who_may_take_each_step(action, person, people, patch, pam, rfc):
    sources, target = EXPECTED[action]
    state = sorted(sources, key=STATES.index)[0]
    patch = reach(patch, state, pam, rfc)
    before = snapshot(patch)
    actor = people[person]
    data = payload(action, patch, rfc)
    if _may(person, action):
        done = workflow.perform(patch.pk, action, actor, data)
        assert done.state == target
        assert events(patch)[-1].actor == actor
    else:
        with pytest.raises(NotPermitted):
            workflow.perform(patch.pk, action, actor, data)
        assert snapshot(patch) == before


@pytest.mark.parametrize("action", ["assess", "reassess"])
def test_no_one_at_all_is_not_permitted(action, patch, pam, rfc):
    """`actor` None is the worker: it acts only where a row allows it (`by_change`)."""
    sources, _ = EXPECTED[action]
    patch = reach(patch, sorted(sources, key=STATES.index)[0], pam, rfc)
    before = snapshot(patch)
    with pytest.raises(NotPermitted):
        workflow.perform(patch.pk, action, None, payload(action, patch, rfc))
    assert snapshot(patch) == before


def test_deploy_is_done_only_by_the_rfc(patch, pam, rfc, team):
    patch = take(patch, "scheduled", pam, change=rfc)
    for person in (pam, team["olivia"], team["sam"], team["fiona"]):
        with pytest.raises(NotPermitted):
            workflow.perform(patch.pk, "deploy", person)
    assert Patch.objects.get(pk=patch.pk).state == "scheduled"
    done = workflow.perform(patch.pk, "deploy", team["olivia"], by_change=True)
    assert done.state == "deployed"
    assert done.deployed_on == today_in(patch.school)
    last = events(patch)[-1]
    assert last.actor == team["olivia"] and last.change_id == rfc.pk
    assert last.data == {"deployed_on": done.deployed_on.isoformat(), "on_time": True}


@pytest.mark.parametrize("action", ["assess", "defer", "not_applicable", "test", "schedule"])
def test_a_step_of_a_person_is_not_taken_by_an_rfc(action, patch, pam, rfc):
    sources, _ = EXPECTED[action]
    patch = reach(patch, sorted(sources, key=STATES.index)[0], pam, rfc)
    before = snapshot(patch)
    with pytest.raises(NotPermitted):
        workflow.perform(patch.pk, action, None, payload(action, patch, rfc), by_change=True)
    assert snapshot(patch) == before


def test_available_actions_follow_the_table(patch, pam, team):
    assert [r.action for r in workflow.available_actions(pam, patch)] == [
        "assess",
        "defer",
        "not_applicable",
    ]
    assert workflow.available_actions(team["ivan"], patch) == []
    assessed = workflow.perform(patch.pk, "assess", pam)
    assert [r.action for r in workflow.available_actions(team["ivan"], assessed)] == ["test"]
    assert workflow.available_actions(team["sam"], assessed) == []


# --- Payloads. ---


def _refused(patch: Patch, action: str, actor, data: dict) -> InvalidAction:
    before = snapshot(patch)
    with pytest.raises(InvalidAction) as refused:
        workflow.perform(patch.pk, action, actor, data)
    assert snapshot(patch) == before
    return refused.value


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"defer_until": "+10"}, "reason"),
        ({"reason": "   ", "defer_until": "+10"}, "reason"),
        ({"reason": 42, "defer_until": "+10"}, "reason"),
        ({"reason": "Breaks the MIS"}, "defer_until"),
        ({"reason": "Breaks the MIS", "defer_until": ""}, "defer_until"),
        ({"reason": "Breaks the MIS", "defer_until": "+0"}, "defer_until"),
        ({"reason": "Breaks the MIS", "defer_until": "-3"}, "defer_until"),
        ({"reason": "Breaks the MIS", "defer_until": "+400"}, "defer_until"),
        ({"reason": "Breaks the MIS", "defer_until": "next week"}, "defer_until"),
        ({"reason": "Breaks the MIS", "defer_until": "2026-02-30"}, "defer_until"),
    ],
)
def test_defer_needs_a_reason_and_a_later_day(data, field, patch, pam):
    today = today_in(patch.school)
    data = dict(data)
    until = data.get("defer_until")
    if isinstance(until, str) and until[:1] in ("+", "-"):
        data["defer_until"] = (today + timedelta(days=int(until))).isoformat()
    refused = _refused(patch, "defer", pam, data)
    assert list(refused.fields) == [field]


def test_defer_records_its_reason_and_date(patch, pam):
    until = today_in(patch.school) + timedelta(days=1)
    done = workflow.perform(
        patch.pk, "defer", pam, {"reason": "  Breaks the MIS client  ", "defer_until": until}
    )
    assert done.state == "deferred"
    assert done.reason == "Breaks the MIS client" and done.defer_until == until
    fresh = Patch.objects.get(pk=patch.pk)
    assert fresh.defer_until == until and fresh.severity_confirmed
    assert events(patch)[-1].data == {
        "reason": "Breaks the MIS client",
        "defer_until": until.isoformat(),
    }


def test_defer_for_at_most_a_year(school, pam, vendor, pilot):
    # 15 June 2026 to 15 June 2027: a year of 365 days (no 29 February in it).
    with time_machine.travel(datetime(2026, 6, 15, 11, 0, tzinfo=UTC), tick=False):
        first = new_patch(school, pam, vendor, items=[pilot])
        second = new_patch(school, pam, vendor, items=[pilot], reference="KB2")
        done = workflow.perform(
            first.pk, "defer", pam, {"reason": "Vendor says wait", "defer_until": "2027-06-15"}
        )
        assert done.defer_until == date(2027, 6, 15)
        refused = _refused(
            second, "defer", pam, {"reason": "Vendor says wait", "defer_until": "2027-06-16"}
        )
        assert list(refused.fields) == ["defer_until"]


def test_defer_given_a_datetime_is_read_or_refused_never_a_crash(patch, pam):
    when = datetime.now(UTC) + timedelta(days=5)
    try:
        done = workflow.perform(patch.pk, "defer", pam, {"reason": "Wait", "defer_until": when})
    except InvalidAction as refused:
        assert list(refused.fields) == ["defer_until"]
    else:
        assert Patch.objects.get(pk=done.pk).defer_until == when.date()


def test_defer_uses_the_schools_day(school, pam, vendor, pilot):
    # 23:30 UTC on 14 July 2026 is 00:30 on 15 July in London (summer time): "tomorrow"
    # there is the 16th.
    with time_machine.travel(datetime(2026, 7, 14, 23, 30, tzinfo=UTC), tick=False):
        patch = new_patch(school, pam, vendor, items=[pilot])
        refused = _refused(
            patch, "defer", pam, {"reason": "Wait", "defer_until": date(2026, 7, 15)}
        )
        assert list(refused.fields) == ["defer_until"]
        done = workflow.perform(
            patch.pk, "defer", pam, {"reason": "Wait", "defer_until": date(2026, 7, 16)}
        )
        assert done.state == "deferred"


def test_not_applicable_needs_a_reason(patch, pam):
    assert list(_refused(patch, "not_applicable", pam, {}).fields) == ["reason"]
    assert list(_refused(patch, "not_applicable", pam, {"reason": " "}).fields) == ["reason"]
    done = workflow.perform(patch.pk, "not_applicable", pam, {"reason": "No Office here"})
    assert done.state == "not_applicable" and done.reason == "No Office here"
    assert events(patch)[-1].data == {"reason": "No Office here"}


def test_not_applicable_after_a_deferral_clears_its_date(patch, pam, rfc):
    patch = reach(patch, "deferred", pam, rfc)
    assert patch.defer_until is not None
    done = workflow.perform(patch.pk, "not_applicable", pam, {"reason": "Removed the app"})
    assert Patch.objects.get(pk=done.pk).defer_until is None


@pytest.fixture
def elsewhere(other_school):
    return ConfigurationItem.objects.create(school=other_school, name="Hillside server")


def test_test_needs_results_for_the_schools_items(patch, pam, pilot, elsewhere):
    patch = workflow.perform(patch.pk, "assess", pam)
    for data in ({}, {"results": []}, {"results": None}, {"results": "all fine"}):
        assert list(_refused(patch, "test", pam, data).fields) == ["results"]
    for rows in (
        [{"item": elsewhere.pk, "result": "passed"}],
        [{"item": pilot.pk, "result": "passed"}, {"item": elsewhere.pk, "result": "passed"}],
        [{"item": str(pilot.pk), "result": "passed"}],
        [{"item": True, "result": "passed"}],
        [{"item": pilot.pk, "result": "fine"}],
        [{"item": pilot.pk, "result": "passed", "notes": 5}],
        [{"item": pilot.pk, "result": "passed", "notes": "x" * 2001}],
        ["passed"],
    ):
        refused = _refused(patch, "test", pam, {"results": rows})
        assert list(refused.fields) == ["results"], rows
    refused = _refused(
        patch, "test", pam, {"results": [{"item": elsewhere.pk, "result": "passed"}]}
    )
    assert "Not an item of Greenfield Primary" in refused.fields["results"]


def test_a_failed_test_is_refused_with_advice(patch, pam, pilot, laptops):
    patch = workflow.perform(patch.pk, "assess", pam)
    refused = _refused(
        patch,
        "test",
        pam,
        {
            "results": [
                {"item": pilot.pk, "result": "passed"},
                {"item": laptops.pk, "result": "failed", "notes": "Blue screen"},
            ]
        },
    )
    assert "Staff laptops" in refused.message and "Defer it" in refused.message
    assert "not applicable" in refused.fields["results"]
    assert "Pilot laptop" not in refused.message


def test_a_failure_is_not_lost_among_repeated_results(patch, pam, pilot, laptops):
    """The same machine named twice must not shift the other machines' results."""
    patch = workflow.perform(patch.pk, "assess", pam)
    rows = [
        {"item": pilot.pk, "result": "passed"},
        {"item": pilot.pk, "result": "passed"},
        {"item": laptops.pk, "result": "failed", "notes": "Blue screen"},
    ]
    before = snapshot(patch)
    try:
        workflow.perform(patch.pk, "test", pam, {"results": rows})
    except InvalidAction:
        assert snapshot(patch) == before
    else:
        checks = {c.item_id: c.result for c in PatchCheck.objects.filter(patch=patch)}
        pytest.fail(f"a failed result was recorded as {checks}")


def test_a_retired_item_is_not_tested_on(patch, pam, pilot):
    patch = workflow.perform(patch.pk, "assess", pam)
    ConfigurationItem.objects.filter(pk=pilot.pk).update(is_active=False)
    refused = _refused(patch, "test", pam, {"results": [{"item": pilot.pk, "result": "passed"}]})
    assert list(refused.fields) == ["results"]


def test_a_passed_test_records_a_check_per_machine(patch, pam, pilot, laptops, team):
    patch = workflow.perform(patch.pk, "assess", pam)
    done = workflow.perform(
        patch.pk,
        "test",
        team["ivan"],
        {
            "results": [
                {"item": laptops.pk, "result": "passed", "notes": " Rebooted once "},
                {"item": pilot.pk, "result": "passed"},
            ]
        },
    )
    assert done.state == "tested"
    event = events(patch)[-1]
    checks = list(PatchCheck.objects.filter(patch=patch).order_by("id"))
    assert [(c.kind, c.item_id, c.result, c.notes, c.event_id) for c in checks] == [
        ("test", laptops.pk, "passed", "Rebooted once", event.pk),
        ("test", pilot.pk, "passed", "", event.pk),
    ]
    assert event.data == {
        "results": [
            {"item": laptops.pk, "name": "Staff laptops", "result": "passed",
             "notes": "Rebooted once"},
            {"item": pilot.pk, "name": "Pilot laptop ICT-01", "result": "passed", "notes": ""},
        ]
    }  # fmt: skip


def test_a_failed_verification_is_refused_with_advice(patch, pam, pilot, rfc):
    patch = reach(patch, "deployed", pam, rfc)
    refused = _refused(patch, "verify", pam, {"results": [{"item": pilot.pk, "result": "failed"}]})
    assert "Pilot laptop ICT-01" in refused.message and "RFC" in refused.message
    done = workflow.perform(patch.pk, "verify", pam, _results(patch, "passed"))
    assert done.state == "verified"
    assert list(PatchCheck.objects.filter(patch=patch).values_list("kind", flat=True)) == [
        "test",
        "verify",
    ]


def test_schedule_needs_an_open_rfc_of_the_school(patch, pam, team, school, oscar, other_school):
    patch = take(patch, "tested", pam)
    theirs = create_change(other_school, oscar, dict(REQUEST))
    for data in ({}, {"change": None}, {"change": "1"}, {"change": True}, {"change": 10**9}):
        assert list(_refused(patch, "schedule", pam, data).fields) == ["change"]
    refused = _refused(patch, "schedule", pam, {"change": theirs.pk})
    assert refused.fields == {"change": "No RFC of Greenfield Primary has that id."}
    refused = _refused(patch, "schedule", pam, {"change": theirs})
    assert list(refused.fields) == ["change"]


@pytest.mark.parametrize("end", ["closed", "withdrawn", "rejected", "implemented"])
def test_schedule_refuses_an_rfc_that_is_over(end, patch, pam, team, school):
    patch = take(patch, "tested", pam)
    change = create_change(school, team["olivia"], dict(REQUEST), items=_items(school))
    if end == "withdrawn":
        from changedesk.changes.workflow import perform as act

        act(change.pk, "withdraw", team["olivia"])
    elif end == "rejected":
        from changedesk.changes.workflow import perform as act

        advance(change, team, "awaiting_initial_approval")
        act(change.pk, "reject", team["ian"], comment="Not now")
    else:
        advance(change, team, end)
    change.refresh_from_db()
    assert change.state == end
    refused = _refused(patch, "schedule", pam, {"change": change.pk})
    assert refused.fields == {"change": "Choose an RFC still to be carried out."}
    assert change.reference in refused.message


def test_schedule_and_unschedule(patch, pam, rfc):
    patch = take(patch, "tested", pam)
    done = workflow.perform(patch.pk, "schedule", pam, {"change": rfc.pk})
    assert done.state == "scheduled" and Patch.objects.get(pk=patch.pk).change_id == rfc.pk
    event = events(patch)[-1]
    assert event.change_id == rfc.pk and event.data == {"change": rfc.pk}
    done = workflow.perform(patch.pk, "unschedule", pam, comment="Wrong run")
    fresh = Patch.objects.get(pk=patch.pk)
    assert fresh.state == "tested" and fresh.change_id is None
    event = events(patch)[-1]
    assert event.change_id == rfc.pk and event.data == {"change": rfc.pk}
    assert event.comment == "Wrong run"


def test_close_records_what_each_item_now_has(patch, pam, pilot, laptops, rfc):
    patch = reach(patch, "verified", pam, rfc)
    deployed_on = Patch.objects.get(pk=patch.pk).deployed_on
    done = workflow.perform(patch.pk, "close", pam, {"version": "  Windows 11 24H2 26100.2314 "})
    assert done.state == "closed"
    rows = Installation.objects.filter(patch=patch).order_by("item__name")
    assert [(r.school_id, r.item_id, r.version, r.installed_on) for r in rows] == [
        (patch.school_id, pilot.pk, "Windows 11 24H2 26100.2314", deployed_on),
        (patch.school_id, laptops.pk, "Windows 11 24H2 26100.2314", deployed_on),
    ]
    assert events(patch)[-1].data == {
        "version": "Windows 11 24H2 26100.2314",
        "items": sorted([pilot.pk, laptops.pk]),
    }


def test_close_without_a_version_records_the_reference(patch, pam, rfc):
    patch = reach(patch, "verified", pam, rfc)
    workflow.perform(patch.pk, "close", pam)
    assert set(Installation.objects.filter(patch=patch).values_list("version", flat=True)) == {
        "KB5031234"
    }


def test_close_refuses_a_version_too_long(patch, pam, rfc):
    patch = reach(patch, "verified", pam, rfc)
    refused = _refused(patch, "close", pam, {"version": "v" * 201})
    assert list(refused.fields) == ["version"]


# --- Assessment. ---


def test_assess_with_a_new_severity_moves_the_deadline(patch, pam):
    assert patch.severity == "critical"
    assert patch.due_on == patch.release_date + timedelta(days=14)
    done = workflow.perform(patch.pk, "assess", pam, {"severity": "low"})
    fresh = Patch.objects.get(pk=done.pk)
    assert fresh.severity == "low" and fresh.severity_confirmed
    assert fresh.due_on == patch.release_date + timedelta(days=30)
    assert events(patch)[-1].data == {"severity": "low", "was": "critical"}


def test_assess_with_the_same_severity_keeps_the_deadline(school, pam, vendor, pilot, team):
    services.save_policy(school, team["sam"], {"medium_days": 21})
    patch = new_patch(school, pam, vendor, items=[pilot], severity="medium")
    assert patch.due_on == patch.release_date + timedelta(days=21)
    done = workflow.perform(patch.pk, "assess", pam, {"severity": "medium"})
    assert Patch.objects.get(pk=done.pk).due_on == patch.release_date + timedelta(days=21)
    other = new_patch(school, pam, vendor, items=[pilot], severity="critical", reference="KB9")
    workflow.perform(other.pk, "assess", pam, {"severity": "medium"})
    assert Patch.objects.get(pk=other.pk).due_on == other.release_date + timedelta(days=21)


def test_assess_refuses_an_unknown_severity(patch, pam):
    refused = _refused(patch, "assess", pam, {"severity": "urgent"})
    assert list(refused.fields) == ["severity"]


def test_assess_may_name_the_items(patch, pam, laptops, elsewhere):
    assert list(_refused(patch, "assess", pam, {"items": [elsewhere.pk]}).fields) == ["items"]
    assert list(_refused(patch, "assess", pam, {"items": "all"}).fields) == ["items"]
    workflow.perform(patch.pk, "assess", pam, {"items": [laptops.pk]})
    assert list(Patch.objects.get(pk=patch.pk).items.values_list("pk", flat=True)) == [laptops.pk]
    assert events(patch)[-1].data["items"] == [laptops.pk]


def test_assess_records_the_items_the_patch_has(patch, pam):
    """The event says what the assessment left the patch applying to."""
    workflow.perform(patch.pk, "assess", pam, {"items": []})
    recorded = events(patch)[-1].data["items"]
    assert sorted(recorded) == sorted(
        Patch.objects.get(pk=patch.pk).items.values_list("pk", flat=True)
    )


# --- The history. ---


def test_each_step_writes_one_event(patch, pam, rfc, pilot, team):
    history = events(patch)
    assert [(e.kind, e.from_state, e.to_state, e.actor) for e in history] == [
        ("create", "", "available", pam)
    ]
    steps = [
        ("assess", pam, {}, "available", "assessed", False),
        ("test", team["ivan"], {"results": [{"item": pilot.pk, "result": "passed"}]},
         "assessed", "tested", False),
        ("schedule", pam, {"change": rfc.pk}, "tested", "scheduled", False),
        ("deploy", None, {}, "scheduled", "deployed", True),
        ("verify", team["olivia"], {"results": [{"item": pilot.pk, "result": "passed"}]},
         "deployed", "verified", False),
        ("close", pam, {"version": "1.2"}, "verified", "closed", False),
    ]  # fmt: skip
    for action, actor, data, source, target, by_change in steps:
        count = PatchEvent.objects.count()
        workflow.perform(patch.pk, action, actor, data, by_change=by_change, comment=f"{action}!")
        assert PatchEvent.objects.count() == count + 1
        last = events(patch)[-1]
        assert (last.kind, last.from_state, last.to_state) == (action, source, target)
        assert last.actor == actor and last.comment == f"{action}!"
        assert last.school_id == patch.school_id
    data = [e.data for e in events(patch)[1:]]
    today = today_in(patch.school)
    assert data[0] == {"severity": "critical", "was": "critical"}
    assert data[1]["results"][0]["item"] == pilot.pk
    assert data[2] == {"change": rfc.pk}
    assert data[3] == {"deployed_on": today.isoformat(), "on_time": True}
    assert data[4]["results"][0]["result"] == "passed"
    assert data[5]["version"] == "1.2"


def test_the_history_is_append_only(patch, pam):
    workflow.perform(patch.pk, "assess", pam)
    event = events(patch)[-1]
    event.comment = "rewritten"
    with pytest.raises(TypeError):
        event.save()
    with pytest.raises(TypeError):
        event.delete()
    with pytest.raises(TypeError):
        PatchEvent.objects.filter(pk=event.pk).update(comment="rewritten")
    with pytest.raises(TypeError):
        PatchEvent.objects.filter(pk=event.pk).delete()
    with pytest.raises(TypeError):
        PatchEvent.objects.all().delete()
    with pytest.raises(TypeError):
        patch.events.update(comment="rewritten")
    with pytest.raises(TypeError):
        patch.events.all().delete()
    with pytest.raises(TypeError), transaction.atomic():
        PatchEvent.objects.bulk_update([event], ["comment"])
    fresh = PatchEvent.objects.get(pk=event.pk)
    assert fresh.comment == "" and fresh.kind == "assess"
    assert PatchEvent.objects.filter(patch=patch).count() == 2


def test_a_comment_too_long_is_refused_before_anything_is_written(patch, pam):
    before = snapshot(patch)
    with pytest.raises(InvalidAction) as refused:
        workflow.perform(patch.pk, "assess", pam, comment="x" * 5001)
    assert list(refused.value.fields) == ["comment"]
    assert snapshot(patch) == before


def test_action_values_are_the_choices():
    assert set(CYCLE_ACTIONS) | {"create", "edit"} == set(PatchAction.values)
