"""The RFC pages: who may see and do what, the forms' errors, and query counts."""

from __future__ import annotations

import csv
import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from changedesk.changes.models import Change
from changedesk.changes.services import create_change
from changedesk.conftest import PASSWORD, REQUEST, advance, plan_data

pytestmark = pytest.mark.django_db


def signed_in(client, user):
    client.force_login(user)
    return client


def test_anonymous_is_sent_to_sign_in(client, draft):
    for url in (
        reverse("changes:my_work"),
        reverse("changes:list"),
        reverse("changes:export"),
        reverse("changes:create"),
        reverse("changes:detail", args=[draft.pk]),
        reverse("changes:edit", args=[draft.pk]),
        reverse("changes:print", args=[draft.pk]),
    ):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("accounts:login")), url
    response = client.post(reverse("changes:act", args=[draft.pk]), {"action": "submit"})
    assert response.status_code == 302
    draft.refresh_from_db()
    assert draft.state == "draft"


def test_sign_in_with_password_then_my_work(client, olivia):
    response = client.post(
        reverse("accounts:login"), {"username": "olivia", "password": PASSWORD}, follow=True
    )
    assert response.status_code == 200
    assert b"My work" in response.content


def test_outsider_gets_404_everywhere(client, draft, oscar):
    signed_in(client, oscar)
    for name in ("detail", "edit", "print"):
        assert client.get(reverse(f"changes:{name}", args=[draft.pk])).status_code == 404
    response = client.post(reverse("changes:act", args=[draft.pk]), {"action": "submit"})
    assert response.status_code == 404
    listing = client.get(reverse("changes:list"))
    assert draft.title.encode() not in listing.content
    export = client.get(reverse("changes:export"))
    assert draft.title not in b"".join(export.streaming_content).decode()


def test_create_shows_field_errors_and_saves_nothing(client, olivia, ian):
    signed_in(client, olivia)
    response = client.post(reverse("changes:create"), {"title": "", "description": "x"})
    assert response.status_code == 400
    assert b"This field is required" in response.content
    assert Change.objects.count() == 0


def test_create_then_detail_shows_only_my_actions(client, olivia, ian, fiona):
    signed_in(client, olivia)
    response = client.post(reverse("changes:create"), {**REQUEST, "initial_approver": ian.pk})
    change = Change.objects.get()
    assert response.status_code == 302
    assert response["Location"] == change.get_absolute_url()
    page = client.get(change.get_absolute_url()).content.decode()
    assert 'value="submit"' in page
    assert 'value="withdraw"' in page
    assert 'value="approve"' not in page
    signed_in(client, ian)
    page = client.get(change.get_absolute_url()).content.decode()
    assert 'value="approve"' not in page  # still a draft: nothing for ian to do


def test_non_originator_cannot_create(client, ian):
    signed_in(client, ian)
    assert client.get(reverse("changes:create")).status_code == 403


def test_act_from_the_page_and_refusals(client, draft, team):
    signed_in(client, team["ian"])
    response = client.post(
        reverse("changes:act", args=[draft.pk]), {"action": "submit", "version": draft.version}
    )
    assert response.status_code == 403
    assert "Only the originator" in response.content.decode()
    signed_in(client, team["olivia"])
    response = client.post(
        reverse("changes:act", args=[draft.pk]), {"action": "submit", "version": draft.version}
    )
    assert response.status_code == 302
    draft.refresh_from_db()
    assert draft.state == "awaiting_initial_approval"
    signed_in(client, team["ian"])
    response = client.post(
        reverse("changes:act", args=[draft.pk]), {"action": "return", "version": draft.version}
    )
    assert response.status_code == 400
    assert "Say why" in response.content.decode()
    stale = client.post(
        reverse("changes:act", args=[draft.pk]),
        {"action": "approve", "version": draft.version - 1},
    )
    assert stale.status_code == 409
    assert "has changed since you loaded it" in stale.content.decode()
    draft.refresh_from_db()
    assert draft.state == "awaiting_initial_approval"


def test_close_from_the_page_needs_the_review(client, draft, team):
    change = advance(draft, team, "implemented")
    signed_in(client, team["olivia"])
    url = reverse("changes:act", args=[change.pk])
    response = client.post(url, {"action": "close", "version": change.version})
    assert response.status_code == 400
    response = client.post(
        url,
        {
            "action": "close",
            "version": change.version,
            "records_updated": "yes",
            "caused_incidents": "no",
            "users_informed": "yes",
        },
    )
    assert response.status_code == 302
    change.refresh_from_db()
    assert change.state == "closed"
    assert change.users_informed is True


def test_edit_only_by_originator_and_only_editable_sections(client, draft, team):
    url = reverse("changes:edit", args=[draft.pk])
    signed_in(client, team["ian"])
    assert client.get(url).status_code == 403
    change = advance(draft, team, "planning")
    signed_in(client, team["olivia"])
    page = client.get(url).content.decode()
    assert 'name="details"' in page
    assert 'name="title"' not in page  # approved by the initial approver: read-only
    data = plan_data()
    response = client.post(
        url,
        {
            **{k: v for k, v in data.items() if k not in ("planned_start", "planned_end")},
            "planned_start": "2030-03-04T18:00",
            "planned_end": "2030-03-04T17:00",
            "version": change.version,
        },
    )
    assert response.status_code == 400
    assert "after the planned start" in response.content.decode()
    response = client.post(
        url,
        {
            **{k: v for k, v in data.items() if k not in ("planned_start", "planned_end")},
            "planned_start": "2030-03-04T18:00",
            "planned_end": "2030-03-04T19:00",
            "peer_reviewer": team["peter"].pk,
            "version": change.version,
        },
    )
    assert response.status_code == 302
    change.refresh_from_db()
    assert change.details == data["details"]
    assert change.planned_start.isoformat() == "2030-03-04T18:00:00+00:00"


def test_print_has_signature_rows_from_history(client, draft, team):
    change = advance(draft, team, "closed")
    signed_in(client, team["fiona"])
    page = client.get(reverse("changes:print", args=[change.pk])).content.decode()
    for name in ("Ian Ingram", "Peter Patel", "Fiona Fraser", "Olivia Okafor"):
        assert name in page
    assert "Signatures" in page


def test_list_filters_and_csv(client, draft, team, school):
    other = create_change(school, team["olivia"], {**REQUEST, "title": "Upgrade the MIS"})
    signed_in(client, team["ian"])
    page = client.get(reverse("changes:list"), {"q": "MIS"}).content.decode()
    assert "Upgrade the MIS" in page
    assert REQUEST["title"] not in page
    page = client.get(reverse("changes:list"), {"q": draft.reference}).content.decode()
    assert REQUEST["title"] in page
    bad = client.get(reverse("changes:list"), {"starts_after": "not-a-date"})
    assert bad.status_code == 200
    assert "Enter a valid date" in bad.content.decode()
    response = client.get(reverse("changes:export"), {"q": "MIS"})
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0][0] == "reference"
    assert [r[2] for r in rows[1:]] == ["Upgrade the MIS"]
    assert rows[1][0] == f"greenfield:{other.reference}"


def _make(school, olivia, n):
    """Many RFCs quickly, in every open state and naming everyone, as a busy school has."""
    states = ["draft", "awaiting_initial_approval", "planning", "approved", "implemented"]
    people = {name: olivia for name in ("initial_approver", "implementer")}
    start = Change.objects.filter(school=school).count()
    Change.objects.bulk_create(
        Change(
            school=school,
            originator=olivia,
            number=start + i + 1,
            state=states[i % len(states)],
            **{**REQUEST, "title": f"Change {i}"},
            **people,
        )
        for i in range(n)
    )


@pytest.mark.parametrize("name", ["changes:list", "changes:my_work"])
def test_query_counts_do_not_grow(client, team, school, name):
    signed_in(client, team["olivia"])
    _make(school, team["olivia"], 10)
    client.get(reverse(name))
    with CaptureQueriesContext(connection) as small:
        assert client.get(reverse(name)).status_code == 200
    _make(school, team["olivia"], 1000 - 10)
    with CaptureQueriesContext(connection) as large:
        assert client.get(reverse(name)).status_code == 200
    assert len(large) == len(small)


def test_detail_query_count_does_not_grow_with_other_changes(client, draft, team, school):
    signed_in(client, team["olivia"])
    url = reverse("changes:detail", args=[draft.pk])
    client.get(url)
    with CaptureQueriesContext(connection) as small:
        client.get(url)
    _make(school, team["olivia"], 200)
    with CaptureQueriesContext(connection) as large:
        client.get(url)
    assert len(large) == len(small)


def test_new_rfc_is_offered_only_to_originators(client, team):
    client.force_login(team["olivia"])
    assert 'href="/changes/new/"' in client.get(reverse("changes:my_work")).content.decode()
    client.force_login(team["fiona"])
    assert 'href="/changes/new/"' not in client.get(reverse("changes:my_work")).content.decode()


def test_print_signature_rows_follow_the_paper_form(draft, team):
    from changedesk.changes.views import signature_rows

    change = advance(draft, team, "closed")
    events = list(change.events.order_by("sequence"))
    labels = [row["label"] for row in signature_rows(change, events)]
    assert labels == [
        "Originator",
        "Initial approver",
        "Peer reviewer",
        "Final approver",
        "Implementer (outcome)",
        "Closed by originator",
    ]
    assert all(row["event"] is not None for row in signature_rows(change, events))


def test_an_unratified_emergency_waits_on_the_main_path(client, school, team):
    from changedesk.changes.services import update_change
    from changedesk.changes.views import signature_rows
    from changedesk.changes.workflow import perform, waiting_on
    from changedesk.conftest import plan_data

    change = create_change(
        school,
        team["olivia"],
        {**REQUEST, "is_emergency": True, "emergency_justification": "Registers are down."},
    )
    perform(change.pk, "submit", team["olivia"])
    change = perform(change.pk, "approve", team["ian"])
    # Approved: the implementer carries it out; ratifying is the final approver's side step.
    assert waiting_on(change)[0].action == "record_outcome"
    update_change(change.pk, team["olivia"], {**plan_data(), "implementer": team["ivan"]})
    change = perform(change.pk, "record_outcome", team["ivan"], data={"outcome": "succeeded"})
    assert waiting_on(change)[1] == team["olivia"]
    labels = [row["label"] for row in signature_rows(change, list(change.events.all()))]
    assert labels.index("Final approver (ratified)") == labels.index("Final approver") + 1


def test_the_history_gives_the_outcome_in_words(client, draft, team):
    from changedesk.changes.workflow import perform

    change = advance(draft, team, "approved")
    perform(change.pk, "record_outcome", team["olivia"], data={"outcome": "failed_backed_out"})
    signed_in(client, team["olivia"])
    page = client.get(reverse("changes:detail", args=[change.pk])).content.decode()
    assert "Outcome: failed, fallback plan carried out</p>" in page
    assert "failed_backed_out" not in page


def test_the_decision_box_fits_the_person(client, draft, team):
    signed_in(client, team["olivia"])
    own = client.get(reverse("changes:detail", args=[draft.pk])).content.decode()
    assert "Your next step" in own and "Your decision" not in own
    assert "A comment is needed" not in own  # she may submit or withdraw, not return

    from changedesk.changes.workflow import perform

    perform(draft.pk, "submit", team["olivia"])
    signed_in(client, team["ian"])
    theirs = client.get(reverse("changes:detail", args=[draft.pk])).content.decode()
    assert "Your decision" in theirs
    assert "A comment is needed to return for amendment or reject," in theirs


def test_a_confirmation_says_what_happens_next(client, draft, team):
    signed_in(client, team["olivia"])
    response = client.post(
        reverse("changes:act", args=[draft.pk]),
        {"action": "submit", "version": draft.version},
        follow=True,
    )
    page = response.content.decode()
    assert (
        f"{draft.reference} submitted for approval. Ian Ingram has been asked to decide "
        "whether it may be planned." in page
    )


def test_an_emergency_tells_the_headteacher_what_waits_before_she_can_ratify(client, school, team):
    from changedesk.changes.services import update_change
    from changedesk.changes.workflow import perform
    from changedesk.conftest import plan_data

    change = create_change(
        school,
        team["olivia"],
        {**REQUEST, "is_emergency": True, "emergency_justification": "Registers are down."},
    )
    perform(change.pk, "submit", team["olivia"])
    perform(change.pk, "approve", team["ian"])
    signed_in(client, team["fiona"])
    url = reverse("changes:detail", args=[change.pk])

    page = client.get(url).content.decode()
    assert "Olivia Okafor must fill in the full details of the change" in page
    assert "before you can ratify the emergency change." in page
    assert 'value="ratify"' not in page  # no button that can only fail

    update_change(change.pk, team["olivia"], plan_data())
    page = client.get(url).content.decode()
    assert 'value="ratify"' in page
    assert "must fill in" not in page


# --- The new-RFC form: the request first, the plan folded, and "Save and submit". ---


def test_the_new_rfc_form_folds_the_plan_and_offers_save_and_submit(client, olivia, ian):
    page = signed_in(client, olivia).get(reverse("changes:create")).content.decode()

    folded = page.index('<details class="section plan-later">')
    assert page.index("Add the plan now") > folded
    assert page.index('name="details"') > folded
    assert page.index('name="title"') < folded
    # Enter in a field saves a draft; sending is the second button, said in words.
    draft_button = page.index(">Save as draft</button>")
    assert draft_button < page.index('value="submit">Save and submit for approval</button>')


def test_a_plan_written_or_refused_stays_open(client, olivia, ian):
    signed_in(client, olivia)
    # A slot taken from the slot finder arrives as the planned window: the plan is open.
    slot = client.get(reverse("changes:create") + "?planned_start=2030-01-07T18:00").content
    assert b"plan-later" not in slot
    bad = {**REQUEST, "initial_approver": ian.pk, "planned_start": "soon", "planned_end": ""}
    refused = client.post(reverse("changes:create"), bad)
    assert refused.status_code == 400
    assert b"plan-later" not in refused.content


def test_save_and_submit_raises_and_sends_it_in_one_step(client, olivia, ian):
    signed_in(client, olivia)

    response = client.post(
        reverse("changes:create"), {**REQUEST, "initial_approver": ian.pk, "then": "submit"}
    )

    change = Change.objects.get()
    assert response.status_code == 302
    assert change.state == "awaiting_initial_approval"
    assert [e.kind for e in change.events.order_by("sequence")] == ["create", "submit"]
    page = client.get(change.get_absolute_url()).content.decode()
    assert (
        f"{change.reference} submitted for approval. Ian Ingram has been asked to decide "
        "whether it may be planned."
    ) in page


def test_save_and_submit_refused_keeps_nothing(client, olivia, school):
    # No initial approver in the school: the RFC cannot be sent, so it is not saved either.
    signed_in(client, olivia)

    response = client.post(reverse("changes:create"), {**REQUEST, "then": "submit"})

    assert response.status_code == 400
    assert "initial approver" in response.content.decode().lower()
    assert Change.objects.count() == 0


def test_a_draft_may_be_saved_and_submitted_from_its_edit_page(client, draft, team):
    signed_in(client, team["olivia"])
    url = reverse("changes:edit", args=[draft.pk])
    assert b"Save and submit for approval" in client.get(url).content

    response = client.post(
        url,
        {
            **REQUEST,
            "title": "Replace the switch in ICT suite 2",
            "initial_approver": team["ian"].pk,
            "version": draft.version,
            "then": "submit",
        },
    )

    assert response.status_code == 302
    draft.refresh_from_db()
    assert (draft.title, draft.state) == (
        "Replace the switch in ICT suite 2",
        "awaiting_initial_approval",
    )
    # Once submitted, the edit page only saves.
    planning = advance(draft, team, "planning")
    page = client.get(reverse("changes:edit", args=[planning.pk])).content
    assert b"Save and submit" not in page
    assert b"plan-later" not in page


def test_the_csv_export_cannot_be_opened_as_formulas(client, team, school):
    """Issue 8: "semi;=cmd|' /C calc'!A0" was written unquoted; Excel in a ";" locale split it
    and ran the second half as a formula."""
    for title in ("semi;=cmd|' /C calc'!A0", '=HYPERLINK("http://x")', "\uff1dSUM(A1)"):
        create_change(school, team["olivia"], {**REQUEST, "title": title})
    signed_in(client, team["olivia"])

    body = b"".join(client.get(reverse("changes:export")).streaming_content).decode()

    lines = body.splitlines()
    assert all(line.startswith('"') and line.endswith('"') for line in lines)
    titles = {row[2] for row in csv.reader(io.StringIO(body))}
    assert {"semi;=cmd|' /C calc'!A0", '\'=HYPERLINK("http://x")', "'\uff1dSUM(A1)"} <= titles
    # Split on ";" as such a spreadsheet does: no piece outside quotes starts a formula.
    assert '"semi;=cmd' in body
