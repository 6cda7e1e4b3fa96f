"""What the meeting page offers for each RFC on the agenda: only the decisions the committee
can take for it now, by the rules the server holds a posted decision to, and the reason
for the rest in plain words; a refused decision posted anyway is still refused, in words.

Ian (initial approver) decides RFC-0001, Fiona (final approver) RFC-0002; both are
present unless a test records otherwise. Sam, the secretary, runs the meeting.
"""

from __future__ import annotations

import re

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from changedesk.accounts.choices import Role
from changedesk.accounts.services import set_membership
from changedesk.changes.choices import State
from changedesk.changes.services import create_change
from changedesk.committee import services
from changedesk.committee.models import AgendaItem
from changedesk.conftest import REQUEST, advance
from changedesk.lib.errors import WorkflowError

pytestmark = pytest.mark.django_db

FIONA_ABSENT = (
    "Fiona Fraser (final approver) is not at this meeting: the committee can only defer RFC-0002."
)


def url(name, meeting, *extra):
    return reverse(f"committee:{name}", args=[meeting.school.slug, meeting.pk, *extra])


def item_html(page: str, item: AgendaItem) -> str:
    """The part of the meeting page about one agenda item."""
    found = re.search(rf'<li [^>]*id="item-{item.pk}">(.*?)</li>', page, re.S)
    assert found, f"item {item.pk} not on the page"
    return found.group(1)


def offered(page: str, item: AgendaItem) -> list[str]:
    """The decisions the item's form offers, as posted."""
    return re.findall(rf'name="item{item.pk}-decision" value="([a-z]+)"', item_html(page, item))


@pytest.fixture
def secretary(client, team):
    client.force_login(team["sam"])
    return client


def meeting_page(client, meeting) -> str:
    response = client.get(url("detail", meeting))
    assert response.status_code == 200
    return response.content.decode()


# --- What the page offers. ---


def test_it_offers_every_decision_when_the_approver_attends(secretary, meeting, agenda):
    page = meeting_page(secretary, meeting)

    for reference in ("RFC-0001", "RFC-0002"):
        assert offered(page, agenda[reference]) == ["approve", "return", "reject", "deferred"]
        assert "can only defer" not in item_html(page, agenda[reference])
    assert "Needed to return for amendment or reject" in item_html(page, agenda["RFC-0002"])


def test_it_offers_only_deferring_when_the_approver_is_absent_and_says_why(
    secretary, meeting, agenda, team
):
    services.record_attendance(meeting.pk, team["sam"], [team["ian"]])

    page = meeting_page(secretary, meeting)

    absent = item_html(page, agenda["RFC-0002"])
    assert offered(page, agenda["RFC-0002"]) == ["deferred"]
    assert "Approve" not in absent and "Return for amendment" not in absent
    assert FIONA_ABSENT in absent
    assert "Needed to" not in absent  # no reason is needed to defer
    # Ian is there: his RFC is open to every decision.
    assert offered(page, agenda["RFC-0001"]) == ["approve", "return", "reject", "deferred"]


def test_nothing_is_offered_before_anyone_is_recorded_present(
    secretary, meeting, team, waiting_initial, waiting_final
):
    services.build_agenda(meeting.pk, team["sam"])

    page = meeting_page(secretary, meeting)

    for item in meeting.items.all():
        assert offered(page, item) == ["deferred"]
    assert "Ian Ingram (initial approver) is not at this meeting" in page
    assert FIONA_ABSENT in page


def test_a_peer_review_offers_no_rejection(secretary, meeting, team, school, draft):
    advance(draft, team, "awaiting_peer_review")
    services.build_agenda(meeting.pk, team["sam"])
    services.record_attendance(meeting.pk, team["sam"], [team["peter"]])
    item = meeting.items.get()

    page = meeting_page(secretary, meeting)

    # The workflow's table has no rejection at peer review.
    assert offered(page, item) == ["approve", "return", "deferred"]
    assert "Peter Patel (peer reviewer)" in item_html(page, item)
    assert "Needed to return for amendment:" in item_html(page, item)


def test_an_approver_present_without_their_role_may_only_be_deferred_for(
    secretary, meeting, agenda, team, school
):
    set_membership(team["ian"], school, [Role.VIEWER])

    page = meeting_page(secretary, meeting)

    assert offered(page, agenda["RFC-0001"]) == ["deferred"]
    assert (
        "Ian Ingram is named on RFC-0001 but is no longer an initial approver: "
        "the committee can only defer it."
    ) in item_html(page, agenda["RFC-0001"])


def test_the_originator_as_final_approver_may_only_be_deferred_for(
    secretary, meeting, team, school, waiting_final
):
    school.final_approver_may_be_originator = True
    school.save()
    set_membership(team["olivia"], school, [Role.ORIGINATOR, Role.FINAL_APPROVER])
    type(waiting_final).objects.filter(pk=waiting_final.pk).update(final_approver=team["olivia"])
    school.final_approver_may_be_originator = False
    school.save()
    services.build_agenda(meeting.pk, team["sam"])
    services.record_attendance(meeting.pk, team["sam"], [team["olivia"]])
    item = meeting.items.get(change=waiting_final)

    page = meeting_page(secretary, meeting)

    assert offered(page, item) == ["deferred"]
    assert "Olivia Okafor raised RFC-0002, so may not approve it as its final approver" in (
        item_html(page, item)
    )


def test_members_who_do_not_run_the_meeting_are_offered_nothing(client, meeting, agenda, team):
    client.force_login(team["ian"])

    page = meeting_page(client, meeting)

    assert offered(page, agenda["RFC-0001"]) == []
    assert "Record the decision" not in page


@pytest.mark.parametrize("present", [["ian", "fiona"], ["ian"], []])
def test_the_offer_is_exactly_what_the_server_takes(meeting, agenda, team, present):
    services.record_attendance(meeting.pk, team["sam"], [team[name] for name in present])
    for item in agenda.values():
        item = AgendaItem.objects.select_related("change", "meeting").get(pk=item.pk)
        offer = services.offer(item, services.present_with_roles(meeting))
        for decision in services.decisions_in_state(item):
            try:
                with transaction.atomic():
                    services.decide(item.pk, team["sam"], decision, "As minuted.")
                    taken = True
                    raise _Undo
            except _Undo:
                pass
            except WorkflowError as refusal:
                taken = False
                assert refusal.message in offer.why_not
            assert taken == (decision in offer.decisions), (item.change.reference, decision)


class _Undo(Exception):
    """Rolls a decision back, to try the next."""


# --- Posting a decision the page did not offer. ---


def test_a_refused_decision_posted_anyway_is_refused_in_words(secretary, meeting, agenda, team):
    services.record_attendance(meeting.pk, team["sam"], [team["ian"]])
    item = agenda["RFC-0002"]

    for decision in ("approve", "return"):
        response = secretary.post(
            url("decide", meeting, item.pk),
            {
                f"item{item.pk}-decision": decision,
                f"item{item.pk}-minute": "Go ahead.",
                f"item{item.pk}-version": item.change.version,
            },
        )

        assert response.status_code == 403  # a refusal on the form, not a server error
        page = response.content.decode()
        assert FIONA_ABSENT in item_html(page, item)
        assert 'role="alert"' in item_html(page, item)
        assert item_html(page, item).count(FIONA_ABSENT) == 1  # said once, as the refusal
        # Shown again with what can be decided now, and the minute as typed.
        assert offered(page, item) == ["deferred"]
        assert "Go ahead." in item_html(page, item)
    item.refresh_from_db()
    item.change.refresh_from_db()
    assert item.decision == ""
    assert item.change.state == State.AWAITING_FINAL_APPROVAL


def test_a_decision_on_an_rfc_changed_meanwhile_may_be_taken_again_from_the_page(
    secretary, meeting, agenda, team
):
    item = agenda["RFC-0001"]
    stale = {
        f"item{item.pk}-decision": "approve",
        f"item{item.pk}-version": item.change.version - 1,
    }

    refused = secretary.post(url("decide", meeting, item.pk), stale)

    assert refused.status_code == 409
    again = re.search(
        rf'name="item{item.pk}-version" value="(\d+)"', item_html(refused.content.decode(), item)
    )
    assert again and int(again.group(1)) == item.change.version
    taken = secretary.post(
        url("decide", meeting, item.pk), {**stale, f"item{item.pk}-version": again.group(1)}
    )
    assert taken.status_code == 302
    item.change.refresh_from_db()
    assert item.change.state == State.PLANNING


def test_the_only_decision_open_is_chosen_already(secretary, meeting, agenda, team):
    services.record_attendance(meeting.pk, team["sam"], [team["ian"]])

    page = meeting_page(secretary, meeting)

    assert re.search(r'value="deferred"[^>]*checked', item_html(page, agenda["RFC-0002"]))
    assert "checked" not in item_html(page, agenda["RFC-0001"])


def test_a_decision_not_in_the_workflow_is_a_form_error(secretary, meeting, agenda):
    item = agenda["RFC-0001"]

    response = secretary.post(
        url("decide", meeting, item.pk), {f"item{item.pk}-decision": "ratify"}
    )

    assert response.status_code == 400
    assert "field-error" in item_html(response.content.decode(), item)


# --- What the page says once decided. ---


def test_an_approval_says_who_is_asked_next(secretary, meeting, agenda, team):
    item = agenda["RFC-0001"]

    secretary.post(
        url("decide", meeting, item.pk),
        {f"item{item.pk}-decision": "approve", f"item{item.pk}-version": item.change.version},
    )

    page = meeting_page(secretary, meeting)
    assert (
        "RFC-0001 approved at the meeting. "
        "Olivia Okafor has been asked to write the plan and submit it."
    ) in page


def test_a_return_and_a_rejection_say_what_happened(secretary, meeting, agenda):
    first, second = agenda["RFC-0001"], agenda["RFC-0002"]
    secretary.post(
        url("decide", meeting, first.pk),
        {f"item{first.pk}-decision": "return", f"item{first.pk}-minute": "Add the costs."},
    )
    assert (
        "RFC-0001 returned for amendment at the meeting. "
        "Olivia Okafor has been asked to complete it and submit it."
    ) in meeting_page(secretary, meeting)

    secretary.post(
        url("decide", meeting, second.pk),
        {f"item{second.pk}-decision": "reject", f"item{second.pk}-minute": "Not this year."},
    )
    assert "RFC-0002 rejected at the meeting." in meeting_page(secretary, meeting)


def test_a_deferral_says_whom_the_rfc_still_waits_for(secretary, meeting, agenda, team):
    services.record_attendance(meeting.pk, team["sam"], [team["ian"]])
    item = agenda["RFC-0002"]

    response = secretary.post(
        url("decide", meeting, item.pk),
        {f"item{item.pk}-decision": "deferred", f"item{item.pk}-minute": "Fiona away."},
    )

    assert response.status_code == 302
    assert (
        "RFC-0002 deferred to a later meeting. "
        "It still waits for Fiona Fraser to decide whether it may go ahead."
    ) in meeting_page(secretary, meeting)


# --- Attendance: who stays on the list. ---


def test_someone_decided_for_is_not_offered_to_be_taken_off_the_list(
    secretary, meeting, agenda, team
):
    services.decide(agenda["RFC-0001"].pk, team["sam"], "approve")

    page = secretary.get(url("attendees", meeting)).content.decode()

    kept = re.search(r"<label[^>]*>(<input[^>]*>)[^<]*Ian Ingram[^<]*</label>", page)
    assert kept and "disabled" in kept.group(1)
    assert "the committee has decided for them, so they stay on the list" in page
    fiona = re.search(r"<label[^>]*>(<input[^>]*>)[^<]*Fiona Fraser[^<]*</label>", page)
    assert fiona and "disabled" not in fiona.group(1)

    # What the page sends with Fiona unticked keeps Ian, who cannot be unticked.
    response = secretary.post(url("attendees", meeting), {"members_present": [team["ian"].pk]})
    assert response.status_code == 302
    assert list(meeting.members_present.all()) == [team["ian"]]


# --- Cost. ---


def test_the_meeting_page_costs_the_same_however_long_the_agenda(
    secretary, meeting, agenda, team, school
):
    """Two items, then eleven in every state awaiting a decision, with their approvers
    present and absent: what may be decided for each costs no query per item."""
    meeting_page(secretary, meeting)  # the first request of a session sets up the rest
    with CaptureQueriesContext(connection) as short:
        meeting_page(secretary, meeting)
    for state in ["awaiting_initial_approval"] * 3 + [
        "awaiting_peer_review",
        "awaiting_final_approval",
    ] * 3:
        advance(create_change(school, team["olivia"], dict(REQUEST)), team, state)
    services.build_agenda(meeting.pk, team["sam"])
    assert meeting.items.count() == 11

    with CaptureQueriesContext(connection) as long:
        page = meeting_page(secretary, meeting)

    assert len(long.captured_queries) == len(short.captured_queries)
    assert "Peter Patel (peer reviewer) is not at this meeting" in page
    assert page.count('value="approve"') == 2 + 3 + 3  # Ian's and Fiona's, not Peter's
